"""The transcript widget in real JupyterLab (notebook 01): select-to-code and playback.

A span selected with the mouse (after emoji, which JS counts twice) becomes an excerpt
with exactly those offsets and is drawn highlighted; Shift+arrows and ``a`` do the same
from the keyboard; clicking a turn's time sets the recording's ``currentTime`` to the
turn's start. The recording is a WAV written here with Python's ``wave`` module. A
transcript of HTML and script is shown as text.
"""

from __future__ import annotations

import time
import wave
from datetime import date

import pytest

from coprod_nb.domain import RawTurn, paragraph_spans
from coprod_nb.storage import Store
from coprod_nb.storage.media import attach_media

pytestmark = pytest.mark.browser

TITLE = "Recorded talk about the pier"
EMOJI_TEXT = "Party 🎉🎉 then the pier 🙂 was ours, we said."
SPAN = "the pier"
HOSTILE_TITLE = "Hostile talk"
HOSTILE = (
    '<script>window.__xss = "script"</script> <img src=x onerror="window.__xss = \'img\'"> '
    "<a href=\"javascript:window.__xss = 'link'\">click</a>"
)
START_S = 4.2  # the second turn's start in the recording


def _seed(study_dir) -> None:
    with Store(study_dir, actor="cedar") as study:
        tr = study.add_transcript(
            [
                RawTurn("Kit Moreland", "Shall we begin with the pier?", 0, 4200),
                RawTurn("Kit Moreland", EMOJI_TEXT, 4200, 9000),
            ],
            title=TITLE,
            source_name="pier-talk.vtt",
            source_format="vtt",
            content_hash="browser-pier-talk",
            partnership="TCP",
            date=date(2030, 1, 1),  # last in the list: other tests see the demo's first
        )
        wav = study_dir / "pier-talk.wav"
        with wave.open(str(wav), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\x00\x00" * 8000 * 10)
        attach_media(study, tr.id, wav)
        wav.unlink()
        study.add_transcript(
            [RawTurn("Kit Moreland", f"About the card: {HOSTILE}", 1000)],
            title=HOSTILE_TITLE,
            source_name="hostile-talk.vtt",
            source_format="vtt",
            content_hash="browser-hostile-talk",
            partnership="TCP",
            date=date(2030, 1, 2),
        )


def _excerpts(study_dir, text: str) -> list:
    with Store(study_dir, actor="cedar") as study:
        tr = study.transcript(TITLE)
        [turn] = [t for t in study.turns(tr.id) if t.seq == 1]
        found = [e for e in study.excerpts(tr.id) if e.text == text]
        return [(e.start - turn.char_start, e.end - turn.char_start) for e in found]


def _wait_for(check, timeout: float = 30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    return check()


def test_select_to_code_and_play_from_a_turn(lab, open_notebook, page):
    if not (lab["study"] / ".pier-seeded").exists():
        _seed(lab["study"])
        (lab["study"] / ".pier-seeded").write_text("seeded")
    page = open_notebook("01_individual_recall.ipynb")
    panel = page.locator(".jp-NotebookPanel:visible")
    view = panel.locator(".cp-coding-view .cp-transcript-view").first
    view.wait_for(timeout=120_000)
    view.locator(".cp-transcript-pane .cp-turn-text").first.wait_for(timeout=60_000)
    view.locator("select").nth(1).select_option(label=TITLE)
    text = view.locator(".cp-turn-text", has_text="was ours").first
    text.wait_for()
    text.scroll_into_view_if_needed()

    # The mouse: drag across "the pier" (its box from a DOM range over the text).
    box = text.evaluate(
        """(el, span) => {
            const node = el.firstChild, at = node.data.indexOf(span);
            const r = document.createRange();
            r.setStart(node, at); r.setEnd(node, at + span.length);
            const b = r.getBoundingClientRect();
            return {left: b.left, right: b.right, y: b.top + b.height / 2};
        }""",
        SPAN,
    )
    page.mouse.move(box["left"] + 1, box["y"])
    page.mouse.down()
    page.mouse.move((box["left"] + box["right"]) / 2, box["y"], steps=4)
    page.mouse.move(box["right"] - 1, box["y"], steps=4)
    page.mouse.up()
    assert page.evaluate("() => window.getSelection().toString()") == SPAN
    view.locator(".cp-anchor").click()
    at = EMOJI_TEXT.index(SPAN)  # code points, as the database counts
    assert _wait_for(lambda: _excerpts(lab["study"], SPAN)) == [(at, at + len(SPAN))]
    view.locator(".cp-hl", has_text=SPAN).first.wait_for()

    # The keyboard: focus the turn, Shift+Right five times selects "Party", a anchors it.
    view.locator(".cp-turn", has_text="was ours").locator(".cp-speaker").click()
    for _ in range(5):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("a")
    assert _wait_for(lambda: _excerpts(lab["study"], "Party")) == [(0, 5)]
    view.locator(".cp-hl", has_text="Party").first.wait_for()

    # Playback: the time of the second turn seeks the recording to its start.
    media = view.locator(".cp-media-box audio")
    media.wait_for(state="attached")
    page.wait_for_function(
        "() => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) "
        ".cp-media-box audio')?.readyState >= 1"
    )
    view.locator(".cp-turn", has_text="was ours").locator(".cp-time").click()
    page.wait_for_function(
        "(t) => Math.abs(document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) "
        ".cp-media-box audio').currentTime - t) < 0.1",
        arg=START_S,
        timeout=10_000,
    )

    # Hostile text is drawn as text: no script runs, no element is made from it.
    view.locator("select").nth(1).select_option(label=HOSTILE_TITLE)
    hostile = view.locator(".cp-turn-text", has_text="About the card")
    hostile.wait_for()
    assert hostile.text_content() == f"About the card: {HOSTILE}"
    assert hostile.locator("script, img, a").count() == 0
    assert page.evaluate("() => window.__xss === undefined")


PLAIN_TITLE = "Field notes without speakers"
PLAIN = "First paragraph, 🎉 with an emoji.\nIts second line.\n\n\n  Second paragraph, indented."


def test_a_plain_document_shows_paragraphs_without_a_speaker(lab, open_notebook, page):
    """A plain document's turns have no speaker: no empty label, blank lines and
    indentation shown as they are."""
    if not (lab["study"] / ".plain-seeded").exists():
        with Store(lab["study"], actor="cedar") as study:
            study.add_transcript(
                [RawTurn("", PLAIN[p.start : p.end]) for p in paragraph_spans(PLAIN)],
                title=PLAIN_TITLE,
                source_name="notes.qdpx",
                source_format="qdpx",
                content_hash="browser-plain-notes",
                partnership="TCP",
                date=date(2030, 1, 3),
            )
        (lab["study"] / ".plain-seeded").write_text("seeded")
    page = open_notebook("01_individual_recall.ipynb")
    panel = page.locator(".jp-NotebookPanel:visible")
    view = panel.locator(".cp-coding-view .cp-transcript-view").first
    view.wait_for(timeout=120_000)
    view.locator(".cp-transcript-pane .cp-turn-text").first.wait_for(timeout=60_000)
    view.locator("select").nth(1).select_option(label=PLAIN_TITLE)
    second = view.locator(".cp-turn", has_text="Second paragraph").first
    second.wait_for()
    turns = view.locator(".cp-transcript-pane .cp-turn")
    assert turns.count() == 2
    assert view.locator(".cp-transcript-pane .cp-speaker").count() == 0
    texts = [turns.nth(i).locator(".cp-turn-text").text_content() for i in range(2)]
    assert texts == [
        "First paragraph, 🎉 with an emoji.\nIts second line.\n\n",
        "  Second paragraph, indented.",
    ]
    head = turns.nth(0).locator(".cp-turn-head").inner_text()
    assert ":" not in head and "None" not in head and "undefined" not in head
