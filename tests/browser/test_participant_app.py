"""The live participant app in a real browser: ``coprod-nb serve-workshop`` (Voilà) with two
participants at once, then the facilitator's tally; wrong and replaced links refused."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from coprod_nb.storage.access import as_lead  # noqa: E402
from coprod_nb.storage.local_server import free_port
from tests.browser.conftest import _wait_for_port

pytestmark = pytest.mark.browser

TIMEOUT = 120_000  # ms: a Voilà kernel per page, two at once on a small machine


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo at the workshop stage plus a live follow-up workshop with its poll open,
    served by ``coprod-nb serve-workshop`` on a free port; one server for the module."""
    from coprod_nb.seed.demo import build_demo, start_live_workshop

    base = tmp_path_factory.mktemp("live")
    study = base / "study"
    store = build_demo(study)
    poll = start_live_workshop(store)
    with as_lead(store):  # the lead issues the links
        first = store.issue_links()
        again = store.issue_links(participants=["Jo Linden"])  # Jo's first link is now dead
    store.close()
    port = free_port()
    script = Path(sys.executable).with_name("coprod-nb")
    cmd = [str(script), "serve-workshop", str(study), "--port", str(port)]
    env = {**os.environ, "COPROD_USER": "facilitator"}
    env.pop("COPROD_DB", None)
    log = base / "serve.log"
    with log.open("w") as out:
        # A session of its own, so that the server and its kernels stop together.
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        _wait_for_port(port, proc, log)
        yield {
            "url": f"http://127.0.0.1:{port}/",
            "study": study,
            "poll": poll.id,
            "jo": again["Jo Linden"],
            "sam": first["Sam Arrow"],
            "jo_old": first["Jo Linden"],
            "log": log,
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _open(browser, url: str):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    # "commit": Voilà streams the page while the kernel runs; locators do the waiting.
    page.goto(url, wait_until="commit")
    return context, page


def _answer(page, code: str, comment: str, circle: str, how: str = "keys") -> None:
    """Comment on a card (saved as typed), then place it on the board: with the keys, or
    by dragging it with the mouse onto the circle."""
    card = page.locator(f".cp-card-{code}")
    card.locator(".cp-card-comment textarea").fill(comment)
    expect(card.locator(".cp-card-state")).to_contain_text("saved")
    ring = circle.split()[0]
    chip = page.locator(f".cp-circle-pane .cp-cb-card[data-code='{code}']")
    if how == "keys":
        chip.focus()
        page.keyboard.press(ring[0])  # i(nner), o(uter)
    else:
        chip.scroll_into_view_if_needed()
        box = chip.bounding_box()
        zone = page.locator(f".cp-circle-pane .cp-cb-{ring}").bounding_box()
        x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        # the inner circle's centre, or the outer ring just inside its top edge
        x1 = zone["x"] + zone["width"] / 2
        y1 = zone["y"] + zone["height"] * (0.5 if ring == "inner" else 0.06)
        page.mouse.move(x0, y0)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(x0 + (x1 - x0) * step / 10, y0 + (y1 - y0) * step / 10)
        page.mouse.up()
    zone = page.locator(f".cp-circle-pane .cp-cb-zone-{ring}")
    expect(zone.locator(f".cp-cb-card[data-code='{code}']")).to_have_count(1)


def _has_comment(study, who: str, text: str) -> bool:
    from coprod_nb.storage import Store

    with Store(study, actor="alder") as store:
        return any(r.comment == text for r in store.responses(None, who))


def test_two_participants_at_once_and_the_facilitators_tally(served, browser):
    from coprod_nb.analysis.workshop import poll_tally
    from coprod_nb.storage import Store
    from coprod_nb.widgets.participant import LiveResponses

    jo_ctx, jo = _open(browser, f"{served['url']}?key={served['jo']}")
    sam_ctx, sam = _open(browser, f"{served['url']}?key={served['sam']}")
    try:
        for page, name in ((jo, "Jo Linden"), (sam, "Sam Arrow")):
            expect(page.locator(".cp-participant-app")).to_contain_text(
                f"Welcome, {name}", timeout=TIMEOUT
            )
            expect(page.locator(".cp-card")).to_have_count(4)
        # the two fill in their cards side by side
        _answer(jo, "T1", "Our ladder of involvement still helps.", "inner circle", "drag")
        _answer(sam, "T8", "Structures first, then motivation.", "inner circle")
        _answer(jo, "T3", "Papers sent too late exclude people.", "outer circle")
        _answer(sam, "T2", "Budgets show where power sits.", "outer circle")
        jo.locator(".cp-nominate-T1 input[type=checkbox]").check()
        jo.locator(".cp-nominate-T3 input[type=checkbox]").check()
        sam.locator(".cp-nominate-T8 input[type=checkbox]").check()
        # each change saves itself (no Submit), and says so
        expect(jo.locator(".cp-poll-state")).to_contain_text("saved: T1, T3")
        expect(sam.locator(".cp-poll-state")).to_contain_text("saved: T8")
        expect(jo.locator(".cp-poll-picks")).to_be_visible()
        assert jo.locator(".cp-submit").count() == 0
        # a change later updates Sam's ballot and card, it adds nothing
        sam.locator(".cp-nominate-T2 input[type=checkbox]").check()
        _answer(sam, "T8", "Structures first; motivation follows.", "inner circle")
        expect(sam.locator(".cp-poll-state")).to_contain_text("saved: T2, T8")
        t8 = sam.locator(".cp-card-T8 .cp-card-state")
        expect(t8).to_contain_text("saved")
        # nobody sees others' answers, nor the results while the poll is open
        expect(jo.locator(".cp-participant-app")).not_to_contain_text("Structures first")
        sam.locator(".cp-check-results").click()
        expect(sam.locator(".cp-results")).to_contain_text("once the facilitator closes")

        deadline = time.time() + 30  # the last comment's debounce
        while time.time() < deadline and not _has_comment(
            served["study"], "Sam Arrow", "Structures first; motivation follows."
        ):
            time.sleep(0.3)
        with Store(served["study"], actor="alder") as store:  # the lead facilitates
            poll = store.current_poll()
            assert poll.id == served["poll"] and poll.closed_at is None
            # while the poll is open only who voted is known; the ballots after it closes
            assert sorted(store.voters(poll.id)) == ["Jo Linden", "Sam Arrow"]
            mine = {(r.code, r.comment, r.circle) for r in store.responses(None, "Sam Arrow")}
            assert mine == {
                ("T8", "Structures first; motivation follows.", "inner"),
                ("T2", "Budgets show where power sits.", "outer"),
            }
            assert len(store.responses()) == 4
            view = LiveResponses(store)
            progress = pd.read_html(StringIO(view.progress.value))[0].set_index("participant")
            assert progress.loc[["Jo Linden", "Sam Arrow"], "cards"].tolist() == [2, 2]
            assert progress.loc[["Jo Linden", "Sam Arrow"], "voted"].tolist() == ["yes", "yes"]
            view.close_button.click()
            submitted = {"Jo Linden": ["T1", "T3"], "Sam Arrow": ["T2", "T8"]}
            assert store.ballots(poll.id) == submitted
            expected = poll_tally(submitted, poll.options).set_index("option")["count"]
            shown = pd.read_html(StringIO(view.tally.value))[0].set_index("option")["count"]
            assert shown.to_dict() == expected.to_dict() == {"T1": 1, "T2": 1, "T3": 1, "T8": 1}
            view.close()

        # once closed, the participants see the tally when they check
        jo.locator(".cp-check-results").click()
        expect(jo.locator(".cp-results table")).to_be_visible()
        expect(jo.locator(".cp-results")).to_contain_text("2 ballots")
    finally:
        jo_ctx.close()
        sam_ctx.close()


@pytest.mark.parametrize("which", ["wrong", "replaced"])
def test_a_wrong_or_replaced_link_is_refused(served, browser, which):
    key = "W" * 43 if which == "wrong" else served["jo_old"]
    context, page = _open(browser, f"{served['url']}?key={key}")
    try:
        refused = page.locator(".cp-participant-refused")
        expect(refused).to_contain_text("not valid", timeout=TIMEOUT)
        expect(page.locator(".cp-card")).to_have_count(0)
        expect(page.locator(".cp-participant-app")).not_to_contain_text("Jo Linden")
        expect(page.locator(".cp-submit")).to_have_count(0)
    finally:
        context.close()


def test_the_page_asks_nothing_of_any_other_host_and_its_icons_render(served, browser):
    from urllib.parse import urlsplit

    own = urlsplit(served["url"]).netloc
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.on("websocket", lambda ws: asked.append(ws.url))
    try:
        page.goto(f"{served['url']}?key={served['jo']}", wait_until="commit")
        expect(page.locator(".cp-participant-app")).to_contain_text("Welcome", timeout=TIMEOUT)
        icon = page.locator(".cp-check-results i.fa").first
        expect(icon).to_be_visible()
        page.wait_for_function(
            "() => [...document.fonts].some(f => /Font Awesome/.test(f.family)"
            " && f.status === 'loaded')"
        )
        family = icon.evaluate("el => getComputedStyle(el, '::before').fontFamily")
        glyph = icon.evaluate("el => getComputedStyle(el, '::before').content")
        assert "Font Awesome" in family and glyph not in ("none", "normal", "")
        assert icon.bounding_box()["width"] > 4  # the glyph takes room: the font is there
        page.locator(".cp-check-results").click()  # a round trip through the kernel
        # The module's earlier tests may have closed the poll: either state's text will do.
        expect(page.locator(".cp-results")).to_contain_text(
            re.compile("closes the poll|share", re.IGNORECASE)
        )
    finally:
        context.close()
    others = sorted(
        {
            u
            for u in asked
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own
        }
    )
    assert others == [], others
    assert any(urlsplit(u).scheme == "ws" for u in asked)  # the kernel's socket, on our host


def test_a_page_open_when_its_link_is_revoked_cannot_save(served, browser):
    """Runs last: it revokes Sam's link."""
    from coprod_nb.storage import Store

    context, page = _open(browser, f"{served['url']}?key={served['sam']}")
    try:
        expect(page.locator(".cp-participant-app")).to_contain_text(
            "Welcome, Sam Arrow", timeout=TIMEOUT
        )
        with Store(served["study"], actor="alder") as store:
            before = {(r.code, r.comment) for r in store.responses(None, "Sam Arrow")}
            assert store.revoke_links(participants=["Sam Arrow"]) == 1
        comment = page.locator(".cp-card-T1 .cp-card-comment textarea")
        comment.fill("Written after the link was revoked.")  # saves itself after a pause
        expect(page.locator(".cp-participant-status")).to_contain_text("no longer valid")
        expect(page.locator(".cp-card-T1 .cp-card-state")).to_contain_text("not saved")
        expect(comment).to_be_disabled()
        expect(page.locator("body")).not_to_contain_text("Traceback")
        with Store(served["study"], actor="alder") as store:
            after = {(r.code, r.comment) for r in store.responses(None, "Sam Arrow")}
        assert after == before
    finally:
        context.close()


def test_nothing_is_cut_at_390_px(served, browser):
    from tests.browser.layout import overflowing, save_screenshot

    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        page.goto(f"{served['url']}?key={served['jo']}", wait_until="commit")
        expect(page.locator(".cp-participant-app")).to_contain_text("Welcome", timeout=TIMEOUT)
        page.locator(".cp-circle-pane .cp-cb-card").first.wait_for()
        expect(page.locator(".cp-poll-picks")).to_be_visible()
        shot = save_screenshot(page, "participant-app-390px")
        bad = overflowing(page)
        assert not bad, f"content cut at 390 px (screenshot {shot}):\n" + "\n".join(map(str, bad))
    finally:
        context.close()
