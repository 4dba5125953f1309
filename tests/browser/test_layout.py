"""Layout at 1280 px in JupyterLab: every working notebook run on the demo (at the
workshop stage) and on the second study, no coprod widget with content cut or an inner
horizontal scrollbar; a screenshot of each in ``tests/browser/artifacts/``. And the circle
board in notebook 03: a card dragged into the inner circle is stored as ``inner``."""

from __future__ import annotations

import time

import pytest

from coprod_nb.storage import Store
from tests.browser.conftest import run_all, running_lab
from tests.browser.layout import overflowing, save_screenshot

pytestmark = pytest.mark.browser

# Still cut when this test was written (issue 17), in views not yet given their layout:
# strict, so a notebook that is fixed fails here until its mark is removed.
_OPEN: dict[str, str] = {}
NOTEBOOKS = [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=_OPEN[n])) if n in _OPEN else n
    for n in (
        "00_study_setup.ipynb",
        "01_individual_recall.ipynb",
        "02_joint_interpretation.ipynb",
        "03_workshop_sensemaking.ipynb",
        "04_report.ipynb",
        "05_course_dashboard.ipynb",
        "06_live_workshop.ipynb",
    )
]
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def _run_and_settle(page, lab, name: str) -> None:
    """Run every cell of ``name`` and wait until the kernel is done and widgets drawn."""
    run_all(page, lab, name)
    page.wait_for_function(
        """(panel) => {
          const p = document.querySelector(panel);
          if (!p) return false;
          const prompts = [...p.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
            .map((e) => e.textContent);
          const kernel = window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel;
          return prompts.length && prompts.some((t) => /\\d/.test(t))
            && !prompts.some((t) => t.includes('*')) && kernel?.status === 'idle'
            && !p.innerText.includes('Loading widget');
        }""",
        arg=PANEL,
        timeout=240_000,
    )


@pytest.fixture(scope="module")
def second_lab(tmp_path_factory):
    """JupyterLab on the second study at the workshop stage, as its lead rowan, with the
    follow-up workshop open (the first one's result is frozen, so its record is shown read
    only: the demo's lab covers that layout; the board is dragged on the open one)."""
    from tests.second_study import build_second_study

    base = tmp_path_factory.mktemp("lab-second")
    build_second_study(base / "study", "workshop", second_workshop=True).close()
    with running_lab(base, base / "study", "rowan") as lab:
        yield lab


def _check(page, lab, name: str, label: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 1600})
    _run_and_settle(page, lab, name)
    shot = save_screenshot(page, f"lab-{label}-{name.removesuffix('.ipynb')}")
    # A notebook that stopped on an error draws nothing to measure: that is a failure too.
    errors = page.evaluate(
        """() => {
          const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
          const found = [];
          for (let i = 0; i < cells.length; i++) {
            const outs = cells.get(i).outputs;
            for (let j = 0; outs && j < outs.length; j++) {
              const o = outs.get(j).toJSON();
              if (o.output_type === 'error') found.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
            }
          }
          return found;
        }"""
    )
    assert not errors, f"{name} on {label} stopped on an error (screenshot {shot}): {errors}"
    assert page.locator(f"{PANEL} [class*='cp-']").count(), f"{name} on {label}: no coprod view"
    bad = overflowing(page, PANEL)
    assert not bad, f"{name} on {label}: content cut (screenshot {shot}):\n" + "\n".join(
        map(str, bad)
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_nothing_is_cut_at_1280_px_on_the_demo(lab, page, name):
    _check(page, lab, name, "demo")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_nothing_is_cut_at_1280_px_on_the_second_study(second_lab, page, name):
    _check(page, second_lab, name, "second")


def _ring(study, who: str, code: str) -> str:
    with Store(study) as st:
        return {r.code: r.circle for r in st.responses(None, who)}.get(code, "none")


def test_a_card_dragged_into_the_inner_circle_is_stored_inner(second_lab, page):
    page.set_viewport_size({"width": 1280, "height": 1600})
    _run_and_settle(page, second_lab, "03_workshop_sensemaking.ipynb")
    view = page.locator(f"{PANEL} .cp-circle-sort")
    view.scroll_into_view_if_needed()
    select = view.locator("select").first
    labels = select.evaluate("s => Array.from(s.options).map(o => o.text)")
    who_label = labels[-1]
    select.select_option(label=who_label)
    who = who_label.replace("\xa0", " ").split(" (")[0]
    with Store(second_lab["study"]) as st:
        ws = st.default_workshop()
        now = {r.code: r.circle for r in st.responses(ws.id, who)}
        codes = st.framework(ws.base_version).codes
    code = next(c for c in codes if now.get(c, "none") != "inner")
    pane = view.locator(".cp-circle-pane")
    # the board has loaded this participant's placements once the card sits where the store says
    card = pane.locator(f".cp-cb-card-{now.get(code, 'none')}[data-code='{code}']")
    card.wait_for()
    card.scroll_into_view_if_needed()
    start, target = card.bounding_box(), pane.locator(".cp-cb-inner").bounding_box()
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    cx, cy = target["x"] + target["width"] / 2, target["y"] + target["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, 11):  # a real drag passes through the points between
        page.mouse.move(x0 + (cx - x0) * step / 10, y0 + (cy - y0) * step / 10)
    page.mouse.up()
    deadline = time.time() + 30
    while time.time() < deadline and _ring(second_lab["study"], who, code) != "inner":
        time.sleep(0.3)
    assert _ring(second_lab["study"], who, code) == "inner"
    pane.locator(f".cp-cb-zone-inner .cp-cb-card[data-code='{code}']").wait_for()
    # the keyboard alternative: focus the card, press "o"
    pane.locator(f".cp-cb-card[data-code='{code}']").focus()
    page.keyboard.press("o")
    deadline = time.time() + 30
    while time.time() < deadline and _ring(second_lab["study"], who, code) != "outer":
        time.sleep(0.3)
    assert _ring(second_lab["study"], who, code) == "outer"
