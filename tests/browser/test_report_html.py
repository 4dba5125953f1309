"""The HTML report in headless Chromium: nothing leaves the page, no console error, prints."""

from __future__ import annotations

import pytest

from coprod_nb.exchange.report import write_report

pytestmark = pytest.mark.browser


def test_the_report_opens_offline_and_prints(demo, page, tmp_path):
    path = write_report(demo, "html", tmp_path / "report.html")
    requests, problems = [], []

    def handle(route):
        requests.append(route.request.url)
        route.abort()

    page.route("**/*", handle)
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.set_content(path.read_text(encoding="utf-8"), wait_until="load")

    images = page.evaluate(
        "() => Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
    )
    assert len(images) == 5 and all(done and width > 0 for done, width, _ in images)
    assert page.locator("section.tension").count() == 4
    assert page.locator("table.worksheet tbody tr").count() == 6
    assert page.locator("table.audit tbody tr", has_text="D6").count() == 1
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    leaving = [u for u in requests if not u.startswith(("data:", "about:"))]
    assert leaving == [], leaving
    assert problems == [], problems
