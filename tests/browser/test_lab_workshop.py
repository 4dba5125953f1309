"""Notebook 03 in real JupyterLab: cast poll votes, close the poll, see the tally."""

from __future__ import annotations

import time

import pytest

from coprod_nb.storage import Store

pytestmark = pytest.mark.browser


def _ballots(study_dir) -> int:
    with Store(study_dir) as study:
        return study.ballot_count(study.poll("closing round").id)


def test_cast_votes_close_the_poll_and_see_the_tally(lab, open_notebook):
    page = open_notebook("tour/03_workshop_sensemaking.ipynb")
    poll = page.locator(".jp-NotebookPanel:visible .cp-poll-view", has_text="closing round")
    poll.wait_for(timeout=120_000)
    assert poll.locator(".cp-poll-tally-table").count() == 0  # hidden while the poll is open
    for participant, code in (("Sam Arrow (WVC)", "T8"), ("Kit Moreland (TCP)", "T3")):
        before = _ballots(lab["study"])
        poll.locator("select").first.select_option(label=participant)
        poll.get_by_label(code, exact=False).first.check()
        poll.locator(".cp-cast-ballot").click()
        deadline = time.time() + 20
        while time.time() < deadline and _ballots(lab["study"]) == before:
            time.sleep(0.3)
        assert _ballots(lab["study"]) == before + 1
    poll.locator(".cp-close-poll").click()
    tally = poll.locator(".cp-poll-tally-table")
    tally.wait_for(timeout=30_000)
    with Store(lab["study"]) as study:
        ballots = study.ballots(study.poll("closing round").id)
    assert ballots["Sam Arrow"] == ["T8"] and ballots["Kit Moreland"] == ["T3"]
    # the tally on the page matches the store: T8 was nominated by Jo Linden and Sam Arrow
    row = tally.locator("tr", has_text="T8").first
    assert "2" in row.inner_text()
    # The chart is drawn when its closed section is opened (the kernel hears the click).
    chart = poll.locator(".cp-figures")
    assert chart.locator("img.cp-figure").count() == 0
    chart.get_by_text("Chart of the results").click()
    image = chart.locator("img.cp-figure")
    image.wait_for(timeout=30_000)
    assert image.evaluate("img => img.naturalWidth") > 0
