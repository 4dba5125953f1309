"""Layout checks shared by the browser tests: nothing inside a coprod widget is cut.

:func:`overflowing` lists every element inside a ``cp-*`` widget whose content is wider
than its box (``scrollWidth > clientWidth + 1``: an inner horizontal scrollbar, or
content running past the edge) or whose text is cut by ``text-overflow``.
:func:`save_screenshot` writes a full-page screenshot under ``tests/browser/artifacts/``
(git-ignored), the folder a CI run keeps as its artifact.
"""

from __future__ import annotations

import re
from pathlib import Path

ARTIFACTS = Path(__file__).parent / "artifacts"

# Runs in the page: `scope` is a CSS selector for where the widgets are (a visible notebook
# panel in Lab, the body in Voilà).
_FIND = """
(scope) => {
  const out = [];
  const seen = new Set();
  const where = document.querySelector(scope) || document.body;
  const roots = where.querySelectorAll('[class*="cp-"]');
  const describe = (el) => {
    const cls = (typeof el.className === 'string' ? el.className : '').trim();
    return `${el.tagName.toLowerCase()}.${cls.split(/\\s+/).slice(0, 4).join('.')}`;
  };
  for (const root of roots) {
    for (const el of [root, ...root.querySelectorAll('*')]) {
      if (seen.has(el)) continue;
      seen.add(el);
      if (!(el instanceof HTMLElement) || !el.getClientRects().length) continue;
      const cs = getComputedStyle(el);
      if (cs.display === 'inline' || cs.visibility === 'hidden') continue;
      if (el.clientWidth === 0) continue;
      // a slider's handle track is wider than its box by design (noUiSlider)
      if (el.closest('.noUi-base')) continue;
      const over = el.scrollWidth > el.clientWidth + 1;
      const cut = over && cs.textOverflow !== 'clip' && cs.overflowX !== 'visible';
      if (over) {
        out.push({
          element: describe(el),
          widget: describe(el.closest('[class*="cp-"]')),
          scrollWidth: el.scrollWidth,
          clientWidth: el.clientWidth,
          cutText: cut,
          text: (el.innerText || el.value || '').slice(0, 60),
        });
      }
    }
  }
  return out;
}
"""


def overflowing(page, scope: str = "body") -> list[dict]:
    """Elements inside ``cp-*`` widgets under ``scope`` whose content does not fit."""
    return page.evaluate(_FIND, scope)


def save_screenshot(page, name: str) -> Path:
    """A full-page screenshot ``artifacts/NAME.png``; returns its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
