"""Step 3 widgets driven headless: set values, click, assert on the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from io import StringIO

import matplotlib

matplotlib.use("Agg")

import docx  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from coprod_nb.domain.decisions import Decision  # noqa: E402
from coprod_nb.errors import Forbidden  # noqa: E402
from coprod_nb.exchange.pack_builder import write_resource_pack  # noqa: E402
from coprod_nb.widgets.workshop import (  # noqa: E402
    CircleSortView,
    DecisionLog,
    PollView,
    ResponsesView,
    SpectrumEditor,
    WorkshopEditor,
)
from tests.acting import as_, as_lead  # noqa: E402

SCRIPT = "<script>x</script>"
PEOPLE = ["Jo Linden", "Sam Arrow", "Kit Moreland", "Lee Harrow", "Max Tolley"]


@pytest.fixture(autouse=True)
def _no_open_figures():
    yield
    assert plt.get_fignums() == [], "a view left a matplotlib figure open"


@pytest.fixture
def ws(joint_demo):
    """The step-2 demo with a workshop recorded on framework v1 (no response, no poll)."""
    as_lead(joint_demo).add_workshop(
        date(2021, 11, 10), facilitators=["Alder"], participants=PEOPLE
    )
    return joint_demo


def table(html: str) -> pd.DataFrame:
    """The first HTML table in a widget's value."""
    return pd.read_html(StringIO(html))[0]


def row_of(df: pd.DataFrame, column: str, value) -> pd.Series:
    [row] = [r for _, r in df.iterrows() if r[column] == value]
    return row


# -- WorkshopEditor ------------------------------------------------------------------------


def test_record_a_workshop_with_its_threshold(joint_demo):
    ed = WorkshopEditor(as_lead(joint_demo))
    assert "cp-workshop-editor" in ed._dom_classes
    assert "none yet" in ed.existing.value and "fixed now" in ed.threshold_note.value
    assert ed.threshold.value == 0.75 and (ed.threshold.min, ed.threshold.max) == (0.55, 1.0)
    assert ("Jo Linden (LAHRP)", "Jo Linden") in ed.participants.options
    assert ed.base_version.value == 1
    ed.record.click()
    assert "cp-error" in ed.status.value and joint_demo.workshops() == []

    ed.date.value = date(2021, 11, 10)
    ed.facilitators.value = ("Alder", "Cedar")
    ed.participants.value = tuple(PEOPLE)
    ed.threshold.value = 0.8
    ed.record.click()
    [ws] = joint_demo.workshops()
    assert (ws.date, ws.base_version, ws.consensus_threshold) == (date(2021, 11, 10), 1, 0.8)
    assert (ws.mode, ws.facilitators, sorted(ws.participants)) == (
        "online",
        ["Alder", "Cedar"],
        sorted(PEOPLE),
    )
    assert "cp-ok" in ed.status.value and "80%" in ed.status.value
    assert "<td>2021-11-10</td>" in ed.existing.value and "<td>80%</td>" in ed.existing.value


def test_views_without_a_workshop_say_so(joint_demo):
    for view in (
        ResponsesView(joint_demo),
        PollView(as_lead(joint_demo)),
        CircleSortView(as_lead(joint_demo)),
        DecisionLog(as_lead(joint_demo)),
    ):
        assert "No workshop recorded yet" in view.header.value


# -- ResponsesView -------------------------------------------------------------------------


def test_response_form_saves_and_the_table_escapes(ws):
    view = ResponsesView(ws)
    assert "cp-responses-view" in view._dom_classes
    assert [c for _, c in view.tension.options] == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert view.table.value.count("(no response yet)") == 5
    view.participant.value = "Kit Moreland"
    view.entry_tension.value = "T2"
    view.comment.value = SCRIPT
    view.suggestion.value = "Name late payment"
    view.circle.value = "inner"
    view.reason.value = "still true"
    view.save.click()
    [r] = ws.responses()
    assert (r.code, r.comment, r.suggestion, r.circle, r.reason, r.source) == (
        "T2",
        SCRIPT,
        "Name late payment",
        "inner",
        "still true",
        "widget",
    )
    assert view.tension.value == "T2"
    assert "&lt;script&gt;x&lt;/script&gt;" in view.table.value
    assert "<script>" not in view.table.value and "<td>TCP</td>" in view.table.value
    view.entry_tension.value = "T1"  # the form follows the chosen card
    assert view.comment.value == "" and view.circle.value == "none"
    view.entry_tension.value = "T2"
    assert view.comment.value == SCRIPT and view.circle.value == "inner"


def _fill_pack(path, name: str, comment: str, inner: str) -> bytes:
    document = docx.Document(str(path))

    def first(text):
        return next(t for t in document.tables if t.rows[0].cells[0].text.strip() == text)

    def row(tab, label):
        return next(r for r in tab.rows if r.cells[0].text.strip().startswith(label))

    row(first("Your name"), "Your name").cells[1].paragraphs[0].text = name
    row(first("T1"), "Comment").cells[1].paragraphs[0].text = comment
    row(first("Code"), inner).cells[2].paragraphs[0].text = "X"
    document.save(str(path))
    return path.read_bytes()


def _upload(name: str, content: bytes) -> dict:
    return {
        "name": name,
        "type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime(2021, 11, 9, tzinfo=UTC),
    }


def test_upload_a_filled_word_pack(ws, tmp_path):
    pack = write_resource_pack(ws, "docx", tmp_path / "p.docx", version=1)
    content = _fill_pack(pack, "Jo Linden", "Only the paper counted.", "T3")
    view = ResponsesView(ws)
    view.upload.value = (_upload("../../C:\\tmp\\my pack<1>.docx", content),)
    assert "cp-error" not in view.import_status.value, view.import_status.value
    assert "imported" in view.import_status.value
    mine = {r.code: r for r in ws.responses()}
    assert sorted(mine) == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert mine["T1"].comment == "Only the paper counted." and mine["T1"].source == "docx"
    assert ws.placements()["Jo Linden"]["T3"] == "inner"
    assert ws.placements()["Jo Linden"]["T1"] == "none"
    [kept] = (ws.study_dir / "imports").iterdir()
    assert kept.name.startswith("my_pack_1-") and kept.suffix == ".docx"
    assert kept.read_bytes() == content
    assert "imports/my_pack_1-" in view.import_status.value
    assert view.upload.value == ()
    assert "Only the paper counted." in view.table.value


def test_upload_refuses_other_files_and_keeps_nothing(ws):
    view = ResponsesView(ws)
    view.upload.value = (_upload("notes.txt", b"hello"), _upload("fake.docx", b"not a zip"))
    status = view.import_status.value
    assert "cp-error" in status and "notes.txt" in status and "fake.docx" in status
    assert ws.responses() == []
    assert list((ws.study_dir / "imports").iterdir()) == []


def test_import_a_pack_from_a_path(ws, tmp_path):
    pack = write_resource_pack(ws, "docx", tmp_path / "p.docx", version=1)
    _fill_pack(pack, "Kit Moreland", "The red card worked.", "T1")
    view = ResponsesView(ws)
    view.import_path.click()
    assert "cp-error" in view.import_status.value
    view.path.value = str(pack)
    view.import_path.click()
    assert "imported" in view.import_status.value
    assert ws.placements()["Kit Moreland"]["T1"] == "inner"
    assert not (ws.study_dir / "imports").exists()  # a file on disk is read where it is
    _fill_pack(pack, "Nobody Known", "x", "T1")
    view.import_path.click()
    assert "cp-error" in view.import_status.value and "not in the study" in view.import_status.value


# -- PollView ------------------------------------------------------------------------------


def vote(view, who, *choices):
    view.participant.value = who
    for pick, choice in zip(view.picks.children, [*choices, None, None, None], strict=False):
        pick.value = choice
    view.cast_button.click()


def test_ranked_poll_hides_results_until_closed(ws):
    view = PollView(as_lead(ws))
    assert "cp-poll-view" in view._dom_classes and view.open_box in view.children
    assert view.poll_options.value == ("T1", "T2", "T3", "T4", "T5", "T6")
    view.max_choices.value = 3
    view.ranked.value = True
    view.open_button.click()
    poll = ws.poll("opening")
    assert (poll.options, poll.max_choices, poll.ranked) == (
        ["T1", "T2", "T3", "T4", "T5", "T6"],
        3,
        True,
    )
    assert view.vote_box in view.children and len(view.picks.children) == 3

    vote(view, "Jo Linden", "T1", "T3")
    vote(view, "Sam Arrow", "T2", "T4", "T1")
    vote(view, "Jo Linden", "T2", "T1", "T3")  # only the last ballot counts
    assert "2 of 5 participants have voted" in view.count.value
    assert "<table" not in view.tally.value and "hidden" in view.tally.value
    with pytest.raises(Forbidden):
        ws.ballots(poll.id)
    vote(view, "Max Tolley", "T1", "T1")
    assert "cp-error" in view.vote_status.value and "once" in view.vote_status.value
    assert ws.ballot_count(poll.id) == 2

    view.close_button.click()
    assert ws.ballots(poll.id) == {"Jo Linden": ["T2", "T1", "T3"], "Sam Arrow": ["T2", "T4", "T1"]}
    assert "cp-poll-tally" in view.tally._dom_classes
    tally = table(view.tally.value)
    t2, t1, t4 = (row_of(tally, "option", c) for c in ("T2", "T1", "T4"))
    assert (t2["count"], t2["share"], t2["rank 1"], t2["borda"], t2["order"]) == (
        2,
        "100%",
        2,
        6,
        1,
    )
    assert (t1["count"], t1["rank 2"], t1["rank 3"], t1["borda"]) == (2, 1, 1, 3)
    assert (t4["count"], t4["rank 2"], t4["borda"]) == (1, 1, 2)
    assert tally.option.iloc[0] == "T2"
    assert "2 of 5 participants voted" in view.count.value

    vote(view, "Lee Harrow", "T6")  # after the close
    assert "cp-error" in view.vote_status.value and "closed" in view.vote_status.value
    assert ws.ballot_count(poll.id) == 2


def test_approval_poll_refuses_too_many_choices(ws):
    view = PollView(ws, poll_name="check-in")
    view.max_choices.value = 2
    view.open_button.click()
    assert len(view.picks.children) == 6 and not ws.poll("check-in").ranked
    view.participant.value = "Lee Harrow"
    for box in view.picks.children[:3]:
        box.value = True
    view.cast_button.click()
    assert "cp-error" in view.vote_status.value and "at most 2" in view.vote_status.value
    assert ws.ballot_count(ws.poll("check-in").id) == 0


def test_closed_demo_poll_shows_its_tally(demo):
    view = PollView(as_lead(demo))
    assert view.cast_button.disabled and "5 of 5 participants voted" in view.count.value
    t1 = row_of(table(view.tally.value), "option", "T1")
    assert (t1["count"], t1["share"], t1["borda"]) == (4, "80%", 9)


# -- CircleSortView ------------------------------------------------------------------------


def test_save_placements_for_one_participant(ws):
    view = CircleSortView(ws)
    assert "cp-circle-sort" in view._dom_classes and list(view.rings) == [
        f"T{i}" for i in range(1, 7)
    ]
    view.participant.value = "Lee Harrow"
    view.rings["T2"].value = "inner"
    view.rings["T6"].value = "outer"
    view.reasons["T2"].value = "clinical settings"
    view.save.click()
    assert ws.placements() == {
        "Lee Harrow": {"T1": "none", "T2": "inner", "T3": "none", "T4": "none", "T5": "none"}
        | {"T6": "outer"}
    }
    assert {r.code: r.reason for r in ws.responses()}["T2"] == "clinical settings"
    assert "cp-ok" in view.status.value
    view.participant.value = "Jo Linden"
    assert view.rings["T2"].value == "none"
    view.participant.value = "Lee Harrow"
    assert view.rings["T2"].value == "inner" and view.reasons["T2"].value == "clinical settings"


def test_circle_results_with_the_fixed_threshold(demo):
    view = CircleSortView(as_lead(demo))
    assert "75%" in view.threshold.value and "before any result" in view.threshold.value
    results = table(view.results.value)
    t1 = row_of(results, "option", "T1")
    assert (t1["inner"], t1["outer"], t1["none"], t1["share inner"]) == (4, 1, 0, "80%")
    assert t1["consensus"] == "inner"
    assert pd.isna(row_of(results, "option", "T3")["consensus"])
    assert "Kendall's W (tie-corrected) = <b>0.37</b>" in view.agreement.value


# -- DecisionLog ---------------------------------------------------------------------------


def test_a_frozen_workshop_refuses_a_decision_with_the_reason(demo):
    log = DecisionLog(as_lead(demo))  # the demo's workshop is finished: its result is v2
    log.kind.value = "rename"
    log.targets.value = ("T8",)
    log.name.value = "Motivated people vs structures"
    log.rationale.value = "Shorter"
    log.record.click()
    assert "cp-error" in log.status.value and "already frozen as framework v2" in log.status.value
    assert len(demo.decisions()) == 6


def test_record_a_rename_with_its_rationale(workshop_open):
    demo = workshop_open  # during the workshop, before its result is frozen
    log = DecisionLog(as_lead(demo))
    assert "cp-decision-log" in log._dom_classes
    assert [c for _, c in log.targets.options] == ["T1", "T2", "T3", "T8"]
    log.kind.value = "rename"
    log.targets.value = ("T8",)
    log.name.value = "Motivated people vs structures"
    log.rationale.value = f"Shorter, said the group {SCRIPT}"
    log.proposer.value = "Sam Arrow"
    log.prompted_by.value = "poll\nresponse:Sam Arrow:T5\n"
    log.record.click()
    assert "cp-ok" in log.status.value and "D7 recorded" in log.status.value
    assert demo.current_framework().get("T8").name == "Motivated people vs structures"
    d7 = demo.decisions()[-1]
    assert (d7.ref, d7.proposer, d7.prompted_by, d7.date) == (
        "D7",
        "Sam Arrow",
        ("poll", "response:Sam Arrow:T5"),
        date(2021, 11, 10),
    )
    assert "Motivated people vs structures" in log.framework_table.value
    assert "&lt;script&gt;" in log.log_table.value and "<script>" not in log.log_table.value
    assert log.name.value == "" and log.rationale.value == ""
    assert "Motivated people vs structures" in table(log.lineage.value)["target name"].tolist()


def test_a_decision_needs_a_rationale_and_must_apply(workshop_open):
    demo = workshop_open
    log = DecisionLog(as_lead(demo))
    log.kind.value = "rename"
    log.targets.value = ("T1",)
    log.name.value = "Narratives"
    log.rationale.value = "  \n"
    log.record.click()
    assert "cp-error" in log.status.value and "rationale" in log.status.value
    assert len(demo.decisions()) == 6

    # Another notebook merges T4, T5, T6 again after this view was loaded: the view
    # still offers T4, and the store refuses a decision that no longer applies.
    as_lead(demo).revert_decision(1, "D2", rationale="try again")
    log.refresh()
    as_lead(demo).record_decision(1, replace(demo.decisions()[1], ref="", reverted=False))
    log.kind.value = "drop"
    log.targets.value = ("T4",)
    log.name.value = ""
    log.rationale.value = "nobody put it in the inner circle"
    log.record.click()
    assert "cp-error" in log.status.value and "T4 is not in the framework" in log.status.value
    assert len(demo.decisions()) == 7 and demo.current_framework().codes == ["T1", "T2", "T3", "T8"]
    assert log.rationale.value  # the form is kept for a correction


def test_revert_d2_restores_t4_to_t6(workshop_open):
    demo = workshop_open
    log = DecisionLog(as_lead(demo))
    log.revert_choice.value = "D2"
    log.revert.click()
    assert "cp-error" in log.revert_status.value and "reason" in log.revert_status.value
    assert not demo.decisions()[1].reverted
    log.revert_reason.value = "the group wants to keep them apart"
    log.revert.click()  # not confirmed yet: nothing reverted
    assert "cp-error" in log.revert_status.value and "confirm" in log.revert_status.value
    assert not demo.decisions()[1].reverted
    log.revert_confirm.value = True
    log.revert.click()
    assert "cp-ok" in log.revert_status.value and demo.decisions()[1].reverted
    assert not log.revert_confirm.value  # the next revert asks again
    assert demo.current_framework().codes == ["T1", "T2", "T3", "T4", "T5", "T6"]
    codes = table(log.framework_table.value).code.tolist()
    assert codes == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert "D2" not in [v for _, v in log.revert_choice.options]
    assert "reverted" in row_of(table(log.log_table.value), "ref", "D2")["reverted"]
    t4 = row_of(table(log.lineage.value), "source", "T4")
    assert (t4["target"], t4["path"]) == ("T4", "unchanged")


def test_lineage_and_freeze(demo):
    member = DecisionLog(as_(demo, "Birch"))  # not the lead: no freezing, whoever is named
    assert not hasattr(member, "lead")
    member.freeze.click()
    assert "cp-error" in member.freeze_status.value and len(demo.framework_versions()) == 2
    assert "only the study lead (Alder)" in member.freeze_status.value
    log = DecisionLog(as_lead(demo))
    t7 = row_of(table(log.lineage.value), "source", "T7")
    assert (t7["target"], t7["final"], t7["path"]) == ("T3", "F3", "added, folded into T3")
    log.freeze_label.value = "v3: checked"
    log.freeze.click()
    assert "cp-ok" in log.freeze_status.value
    assert demo.framework(3).codes == ["T1", "T2", "T3", "T8"]


# -- SpectrumEditor ------------------------------------------------------------------------


def test_spectrum_editor_saves_a_position(demo):
    ed = SpectrumEditor(as_lead(demo))
    assert "cp-spectrum-editor" in ed._dom_classes
    assert [c for _, c in ed.tension.options] == ["T1", "T2", "T3", "T8"]
    ed.partnership.value = "LAHRP"
    ed.tension.value = "T1"
    ed.when.value = "2021"
    assert ed.position.value == 70  # the recorded position is shown
    assert ed.pole_a.value.startswith("Idealistic") and ed.pole_b.value.endswith("narratives")
    ed.tension.value = "T8"
    ed.when.value = "2024"
    ed.position.value = 35
    ed.save.click()
    assert "cp-ok" in ed.status.value
    assert {
        "partnership": "LAHRP",
        "tension": "T8",
        "when": "2024",
        "position": 35.0,
    } in demo.positions()
    ed.when.value = " "
    ed.save.click()
    assert "cp-error" in ed.status.value


@pytest.mark.parametrize("study", ["demo", "second"])
def test_the_decision_form_shows_the_fields_of_the_chosen_kind_only(
    study, workshop_open, second_study
):
    from coprod_nb.domain.decisions import DECISION_KINDS, decision_fields

    st = workshop_open if study == "demo" else second_study("workshop", "rowan")
    log = DecisionLog(as_lead(st))
    for kind in DECISION_KINDS:
        log.kind.value = kind
        shown = {k for k, wdg in log._fields().items() if wdg.layout.display != "none"}
        assert shown == set(decision_fields(kind)), kind
    log.kind.value = "add"
    assert log.targets.layout.display == "none"
    log.kind.value = "rename"
    assert log.name.layout.display is None and log.pole_a.layout.display == "none"
    # a value typed for another kind, now hidden, is not part of the decision
    log.kind.value = "add"
    log.pole_a.value = "left over"
    log.kind.value = "rename"
    assert log._decision().pole_a is None


# -- undo of the last decision ------------------------------------------------------------


def _record(log, kind: str, target: str, why: str) -> None:
    log.kind.value = kind
    log.targets.value = (target,)
    log.rationale.value = why
    log.record.click()


def test_undo_last_decision_on_the_demo(workshop_open):
    demo = workshop_open
    log = DecisionLog(as_lead(demo))
    assert log.undo_last.disabled  # nothing recorded in this panel yet
    before = demo.current_framework().codes
    _record(log, "drop", "T3", "tried in the room")
    assert "D7 recorded" in log.status.value and not log.undo_last.disabled
    assert "T3" not in demo.current_framework().codes
    log.undo_last.click()
    assert "cp-ok" in log.status.value and "D7 undone" in log.status.value
    assert demo.current_framework().codes == before
    assert [(d.ref, d.reverted) for d in demo.decisions()][-1] == ("D7", True)
    assert table(log.framework_table.value).code.tolist() == before
    assert log.undo_last.disabled  # one undo per recorded decision
    # a decision recorded meanwhile elsewhere: this panel's is no longer the last
    _record(log, "drop", "T3", "tried again")
    as_lead(demo).record_decision(
        None, Decision(kind="keep", targets=("T1",), rationale="from another notebook")
    )
    log.undo_last.click()
    assert "cp-error" in log.status.value and "cannot undo D8: D9 was recorded" in log.status.value
    assert not demo.decisions()[-2].reverted and "T3" not in demo.current_framework().codes
    assert log.undo_last.disabled


def test_undo_last_decision_on_the_second_study_and_its_refusals(second_study):
    live = second_study("two_workshops")
    open_ws = live.workshops()[-1].id
    log = DecisionLog(live, open_ws)
    code = live.current_framework(open_ws).codes[-1]
    _record(log, "drop", code, "nobody placed it")
    log.undo_last.click()
    assert "D1 undone" in log.status.value and code in live.current_framework(open_ws).codes
    # someone other than the lead at the keyboard: refused by name, nothing changes
    _record(log, "drop", code, "nobody placed it, really")
    live.actor = "quill"
    log.undo_last.click()
    assert "cp-error" in log.status.value
    assert "only the study lead (Rowan) can revert a decision" in log.status.value
    live.actor = "rowan"
    assert code not in live.current_framework(open_ws).codes
    # the result frozen meanwhile (another notebook): the undo is refused with the reason
    other = DecisionLog(live, open_ws)
    _record(other, "keep", live.current_framework(open_ws).codes[0], "named by most")
    live.freeze_workshop_framework(open_ws, "v3")
    other.undo_last.click()
    assert (
        "cp-error" in other.status.value and "already frozen as framework v3" in other.status.value
    )
    assert [d.reverted for d in live.decisions(open_ws)] == [True, False, False]
    other.refresh()
    assert other.undo_last.disabled and other.record.disabled


# -- a frozen workshop: its record is shown read only -----------------------------------


@pytest.fixture(params=["late demo", "late second"])
def finished(request, demo, second_study):
    """A study whose first workshop's result is frozen as v2 (the second study has an
    open follow-up besides, with a poll left open)."""
    store = demo if request.param == "late demo" else second_study("two_workshops", "rowan")
    ws = store.workshops()[0]
    assert store.workshop_frozen_as(ws.id) == 2
    return as_lead(store), ws


def test_responses_of_a_frozen_workshop_are_read_not_edited(finished):
    store, ws = finished
    before = store.placements(ws.id), [r.comment for r in store.responses(ws.id)]
    view = ResponsesView(store, ws.id)
    assert view.entry_box.layout.display == "none" and view.import_box.layout.display == "none"
    assert "frozen as framework v2" in view.read_only.value
    assert "new workshop" in view.read_only.value and "Traceback" not in view.read_only.value
    assert "<table" in view.table.value  # the responses are still there to read
    view.comment.value = "after the freeze"
    view.save.click()  # got through anyway: refused in one line, nothing written
    assert "cp-error" in view.status.value and "frozen as framework v2" in view.status.value
    assert (store.placements(ws.id), [r.comment for r in store.responses(ws.id)]) == before
    follow_up = store.open_workshop()
    if follow_up is not None:  # the second study: the open follow-up offers the form
        live = ResponsesView(store, follow_up.id)
        assert live.entry_box.layout.display is None and live.read_only.value == ""


def test_a_poll_of_a_frozen_workshop_is_shown_without_voting(finished):
    store, ws = finished
    closed = PollView(store, workshop=ws.id)
    assert closed.poll.closed_at is not None and "ballots" in closed.tally.value
    assert closed.ballot_box.layout.display == "none"
    assert closed.cast_button.layout.display == "none"
    assert closed.close_button.layout.display == "none"  # nothing left to do with it
    assert "frozen as framework v2" in closed.read_only.value
    # a poll not opened before the freeze cannot be opened: no open form, a reason
    polls = [p.name for p in store.polls(ws.id)]
    later = PollView(store, "closing round", workshop=ws.id)
    assert later.open_box not in later.children and later.read_only in later.children
    assert "frozen as framework v2" in later.read_only.value
    later.open_button.click()  # got through anyway: refused in one line, no poll
    assert "frozen as framework v2" in later.open_status.value
    assert [p.name for p in store.polls(ws.id)] == polls


def test_a_poll_left_open_at_the_freeze_can_be_closed_not_voted(second_study):
    store = as_lead(second_study("two_workshops", "rowan"))
    follow_up = store.workshops()[-1]
    live = PollView(store, workshop=follow_up.id)
    assert live.ballot_box.layout.display is None and not live.cast_button.disabled
    store.freeze_workshop_framework(follow_up.id, "v3")
    view = PollView(store, workshop=follow_up.id)
    assert view.poll.closed_at is None and view.ballot_box.layout.display == "none"
    assert "frozen as framework v3" in view.read_only.value
    assert view.close_button.layout.display is None and not view.close_button.disabled
    view.participant.value = "Nico Trevail"
    view.cast_button.click()  # got through anyway: refused in one line
    assert "frozen as framework v3" in view.vote_status.value
    assert store.ballot_count(view.poll.id) == 1
    view.close_button.click()
    assert store.ballots(view.poll.id) == {"Ash Penhale": ["H4"]}
    assert "<table" in view.tally.value  # what was cast before the freeze, shown once closed
