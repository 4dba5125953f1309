"""Step 2 widgets driven headless: set values, click, assert on the store."""

from __future__ import annotations

from datetime import date

import pytest

from coprod_nb.domain.framework import compare_frameworks
from coprod_nb.errors import Forbidden, InvalidInput, OutOfOrder
from coprod_nb.seed.demo import build_demo
from coprod_nb.widgets._common import escape, short
from coprod_nb.widgets.interpretation import (
    EXCERPT_LABEL_CHARS,
    LIST_LIMIT,
    NOTE_LABEL_CHARS,
    MeetingEditor,
    TensionBoard,
    parse_positions,
)
from coprod_nb.widgets.recall import ResearcherPicker
from tests.acting import as_

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def demo(joint_demo):
    """These tests play step 2: the demo study after the joint meeting, before the workshop."""
    return joint_demo


def dissents(store, meeting_id):
    return next(m for m in store.meetings() if m.id == meeting_id).dissents


def evidence_of(store, code):
    items = store.evidence(code)
    return sorted(e.note_id for e in items if e.note_id), [
        e.excerpt_id for e in items if e.excerpt_id
    ]


def new_tension(board, name="Motivation vs lack of skills", code="", status="agreed"):
    board.tension.value = None
    board.code.value = code
    board.name.value = name
    board.pole_a.value = "Motivation"
    board.pole_b.value = "Lack of skills"
    board.description.value = "Keen people without the skills to run a room."
    board.subthemes.value = "facilitation\n\n  responding to distress  "
    board.proposer.value = "Cedar"
    board.status.value = status
    board.save.click()


@pytest.fixture
def open_study(tmp_path):
    """The demo as step 1 stands: notes written, step 1 still OPEN, one tension named."""
    store = build_demo(tmp_path / "s", stage="recall")
    store.add_tension("Power", "Shared", "Held")
    yield store
    store.close()


# -- MeetingEditor -------------------------------------------------------------------


def test_meeting_editor_shows_the_demo_meeting_and_its_dissents(demo):
    ed = MeetingEditor(demo)
    [m] = demo.meetings()
    assert "cp-meeting-editor" in ed._dom_classes
    assert ed.meeting.value == m.id and ed.date.value == m.date
    assert ed.attendees.value == ("Alder", "Birch", "Cedar")
    log = ed.dissent_log.value
    assert log.count("<tr") == 1 + 4 and log.count(">open<") == 1 and "Cedar: Notes" in log
    [(label, open_id)] = ed.open_dissent.options
    assert "motivation versus skills" in label
    assert open_id == next(d.id for d in m.dissents if not d.settled)


def test_create_a_meeting_log_a_dissent_and_settle_it(demo):
    ed = MeetingEditor(demo)
    ed.meeting.value = None
    assert ed.date.value is None and ed.minutes.value == ""
    ed.date.value = date(2021, 10, 5)
    ed.attendees.value = ("Alder", "Cedar")
    ed.minutes.value = "Second pass over the evidence."
    ed.save.click()
    new = demo.meetings()[-1]
    assert (new.date, new.attendees, new.minutes) == (
        date(2021, 10, 5),
        ["Alder", "Cedar"],
        "Second pass over the evidence.",
    )
    assert ed.meeting.value == new.id and "cp-ok" in ed.status.value
    ed.minutes.value = "Revised minutes"
    ed.save.click()
    assert len(demo.meetings()) == 2 and demo.meetings()[-1].minutes == "Revised minutes"

    ed.topic.value = "Is payment a power issue?"
    ed.positions.value = "Alder: yes, it is\n\nCedar: no: a finance rule \n"
    ed.log_dissent.click()
    [d] = dissents(demo, new.id)
    assert d.positions == [
        {"who": "Alder", "position": "yes, it is"},
        {"who": "Cedar", "position": "no: a finance rule"},
    ]
    assert d.settled is False and ed.topic.value == "" and ed.positions.value == ""
    assert "Alder: yes, it is" in ed.dissent_log.value
    assert ed.open_dissent.value == d.id
    ed.settlement.value = "Recorded as a sub-theme of T2"
    ed.settle.click()
    [d] = dissents(demo, new.id)
    assert d.settled and d.resolution == "Recorded as a sub-theme of T2"
    assert ed.open_dissent.options == (("(no open dissent)", None),)
    assert ">settled<" in ed.dissent_log.value


def test_a_bad_positions_line_is_a_message_and_nothing_is_stored(demo):
    ed = MeetingEditor(demo)
    mid = ed.meeting.value
    before = len(dissents(demo, mid))
    ed.topic.value = "Who owns the data?"
    ed.positions.value = "Alder: the partnership\nBirch thinks the trust does"
    ed.log_dissent.click()
    assert "cp-error" in ed.dissent_status.value and "line 2" in ed.dissent_status.value
    assert len(dissents(demo, mid)) == before
    assert ed.topic.value == "Who owns the data?"  # kept for correcting
    with pytest.raises(InvalidInput, match="Name: position"):
        parse_positions("no colon here")


def test_meeting_errors_are_messages(demo):
    ed = MeetingEditor(demo)
    ed.meeting.value = None
    ed.save.click()  # no date
    assert "cp-error" in ed.status.value and "date" in ed.status.value
    ed.topic.value = "x"
    ed.positions.value = "Alder: y"
    ed.log_dissent.click()
    assert "cp-error" in ed.dissent_status.value and "Save the meeting" in ed.dissent_status.value
    assert len(demo.meetings()) == 1 and len(demo.meetings()[0].dissents) == 4


def test_dissent_text_is_escaped(demo):
    ed = MeetingEditor(demo)
    ed.topic.value = SCRIPT
    ed.positions.value = "Birch: <img src=x onerror=alert(1)>"
    ed.log_dissent.click()
    log = ed.dissent_log.value
    assert "&lt;script&gt;" in log and "<script>" not in log and "<img" not in log


# -- TensionBoard: the form ------------------------------------------------------------


def test_new_tension_gets_the_next_code_or_the_given_one(demo):
    board = TensionBoard(as_(demo, "Alder"), "Alder")
    assert "cp-tension-board" in board._dom_classes
    assert board.tension.value is None and len(board.tension.options) == 7
    new_tension(board)
    t7 = demo.tension("T7")
    assert (t7.name, t7.pole_a, t7.pole_b, t7.proposer, t7.status) == (
        "Motivation vs lack of skills",
        "Motivation",
        "Lack of skills",
        "Cedar",
        "agreed",
    )
    assert t7.subthemes == ["facilitation", "responding to distress"]
    assert board.tension.value == t7.id and board.code.disabled
    assert "cp-ok" in board.form_status.value
    new_tension(board, name="Given a code", code="M1", status="candidate")
    assert demo.tension("M1").status == "candidate"
    new_tension(board, name="Twice", code="M1")
    assert "cp-error" in board.form_status.value and "already exists" in board.form_status.value
    board.tension.value = None
    board.name.value, board.pole_a.value, board.pole_b.value = "One pole", "Only", " "
    board.save.click()
    assert "two poles" in board.form_status.value
    assert len(demo.tensions()) == 8


def test_edit_t1_poles(demo):
    before = demo.tension("T1")
    board = TensionBoard(as_(demo, "Alder"), "Alder")
    board.show("T1")
    assert board.name.value == before.name and board.code.value == "T1"
    board.pole_a.value = "Idealistic, tokenistic narratives"
    board.pole_b.value = "Realistic, lived narratives"
    board.save.click()
    after = demo.tension("T1")
    assert (after.pole_a, after.pole_b) == (
        "Idealistic, tokenistic narratives",
        "Realistic, lived narratives",
    )
    assert (after.name, after.subthemes, after.status, after.proposer) == (
        before.name,
        before.subthemes,
        before.status,
        before.proposer,
    )
    assert "Idealistic, tokenistic narratives ⟷ Realistic, lived narratives" in board.map.value


# -- TensionBoard: evidence, links --------------------------------------------------------


def test_filtered_notes_attach_then_excerpt_then_detach(demo):
    board = TensionBoard(as_(demo, "Alder"), "Alder")
    new_tension(board)
    assert "no evidence yet" in board.evidence_list.value
    assert len(board.notes.options) == len(as_(demo, "Alder").notes())  # step 1 closed: everyone's
    board.filter_partnership.value = "TCP"
    board.filter_researcher.value = "Birch"
    expected = as_(demo, "Alder").notes(researcher="Birch", partnership="TCP")
    assert [v for _, v in board.notes.options] == [n.id for n in expected]
    assert len(expected) >= 2
    assert all(" Birch · TCP · " in label for label, _ in board.notes.options)
    picked = [n.id for n in expected[:2]]
    board.notes.value = tuple(picked)
    board.attach_notes.click()
    assert evidence_of(demo, "T7") == (sorted(picked), [])
    assert "2 notes attached to T7" in board.evidence_status.value
    board.filter_category.value = "barrier"
    assert {v for _, v in board.notes.options} == {
        n.id
        for n in as_(demo, "Alder").notes(researcher="Birch", partnership="TCP", category="barrier")
    }

    # the excerpts listed are those of the chosen partnership's transcripts
    tcp = demo.partnership("TCP").id
    in_tcp = [e for e in demo.excerpts() if demo.transcript(e.transcript_id).partnership_id == tcp]
    assert [v for _, v in board.excerpts.options] == [e.id for e in in_tcp]
    ex = in_tcp[0]
    label = dict((v, k) for k, v in board.excerpts.options)[ex.id]
    assert demo.transcript(ex.transcript_id).title in label
    board.excerpts.value = (ex.id,)
    board.attach_excerpts.click()
    assert evidence_of(demo, "T7") == (sorted(picked), [ex.id])
    assert f"excerpt #{ex.id}" in board.evidence_list.value
    assert f"note #{picked[0]}" in board.evidence_list.value

    board.detach_choice.value = (("note", picked[0]),)
    board.detach.click()
    assert evidence_of(demo, "T7") == ([picked[1]], [ex.id])
    assert f"note #{picked[0]}" not in board.evidence_list.value


def test_link_t7_contradicts_t1(demo):
    board = TensionBoard(as_(demo, "Alder"), "Alder")
    new_tension(board)
    t1 = demo.tension("T1").id
    assert board.tension.value not in [v for _, v in board.link_target.options]
    board.link_target.value = t1
    board.link_kind.value = "contradicts"
    board.link.click()
    assert ("T7", "contradicts", "T1") in demo.tension_links()
    assert "T7 contradicts T1" in board.links.value
    assert "contradicts T1" in board.map.value
    board.link.click()  # the same link twice: the store refuses
    assert "cp-error" in board.evidence_status.value
    assert demo.tension_links().count(("T7", "contradicts", "T1")) == 1


def test_freeze_v2_and_compare_with_v1(demo):
    v1 = demo.framework(1)
    v1_state = [t.to_dict() for t in v1.tensions]
    board = TensionBoard(as_(demo, "Alder"), "Alder")
    assert board.compare_old.options == board.compare_new.options and "v1" in board.versions.value
    new_tension(board)
    board.show("T1")
    board.pole_b.value = "Realistic, lived narratives"
    board.save.click()
    board.freeze_label.value = "v2: after the second meeting"
    board.freeze.click()
    assert "framework v2 agreed (7 tensions)" in board.freeze_status.value
    [_, fv2] = demo.framework_versions()
    assert (fv2.version, fv2.label, fv2.frozen_by) == (2, "v2: after the second meeting", "Alder")
    assert (board.compare_old.value, board.compare_new.value) == (1, 2)
    changes = compare_frameworks(demo.framework(1), demo.framework(2))
    assert changes == [
        {"code": "T1", "change": "changed", "fields": ["pole_b"]},
        {"code": "T7", "change": "added", "fields": []},
    ]
    html = board.comparison.value
    assert "<td>T1</td>" in html and "<td>changed</td>" in html and "<td>pole_b</td>" in html
    assert "<td>T7</td>" in html and "<td>added</td>" in html
    assert [t.to_dict() for t in demo.framework(1).tensions] == v1_state  # v1 is frozen
    board.compare_new.value = 1
    assert "different versions" in board.comparison.value


def test_store_text_is_escaped_in_the_board(demo):
    demo.add_tension(SCRIPT, "<b>rich</b>", "poor", status="agreed")
    nid = demo.add_note("Birch", "TCP", "<img src=x onerror=alert(1)>").id
    board = TensionBoard(as_(demo, "Alder"), "Alder")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in board.map.value
    assert "<script>" not in board.map.value and "<b>rich" not in board.map.value
    board.show("T7")
    board.notes.value = (nid,)
    board.attach_notes.click()
    assert "&lt;img src=x" in board.evidence_list.value and "<img" not in board.evidence_list.value


# -- TensionBoard: blinding while step 1 is open ----------------------------------------


def test_step1_open_attaching_notes_is_refused_and_listing_is_blind(open_study):
    birch = {n.id for n in as_(open_study, "Birch").notes()}
    board = TensionBoard(as_(open_study, "Birch"), "Birch")
    listed = {v for _, v in board.notes.options}
    assert listed == birch and listed
    birch_id = open_study.researcher("Birch").id
    assert all(as_(open_study, "Birch").note(i).researcher_id == birch_id for i in listed)
    board.show("T1")
    board.notes.value = tuple(sorted(listed)[:2])
    board.attach_notes.click()
    status = board.evidence_status.value
    assert "cp-error" in status and "after the lead closes step 1" in status
    assert "Traceback" not in status
    assert open_study.evidence("T1") == []
    board.filter_researcher.value = "Alder"  # a colleague's notes: refused, nothing listed
    assert "cp-error" in board.evidence_status.value and board.notes.options == ()


def test_step1_open_the_list_follows_the_picker(open_study):
    open_study.actor = "birch"
    picker = ResearcherPicker(open_study)
    board = TensionBoard(open_study, picker)
    open_study.actor = "cedar"  # another login in the same kernel
    picker.refresh()
    assert {v for _, v in board.notes.options} == {n.id for n in as_(open_study, "Cedar").notes()}
    assert board.viewer == "Cedar"


def test_refresh_picks_up_what_others_changed(demo):
    board = TensionBoard(as_(demo, "Alder"), "Alder")
    board.show("T2")
    nid = demo.add_note("Cedar", "WVC", "written in another notebook").id
    demo.add_tension("Elsewhere", "here", "there")
    as_(demo, "Alder").freeze_framework("v2")
    board.refresh()
    assert board.tension.value == demo.tension("T2").id and board.name.value.startswith("Power")
    assert nid in {v for _, v in board.notes.options}
    assert "T7: Elsewhere" in [label for label, _ in board.tension.options]
    assert (board.compare_old.value, board.compare_new.value) == (1, 2)
    board.show(None)
    assert board.name.value == "" and not board.code.disabled
    assert "save the tension" in board.evidence_list.value


# -- the board at scale: the same notes and counts as the ORM listing it replaced -----------


def old_note_options(store, viewer, **filters):
    """The board's note list as it was built before (every Note object, through notes())."""
    names = {r.id: r.name for r in store.researchers()}
    pships = {p.id: p.short for p in store.partnerships()}
    return [
        (
            f"#{n.id} {names[n.researcher_id]} · {pships[n.partnership_id]} · {n.category}"
            f" · {short(n.text, NOTE_LABEL_CHARS)}",
            n.id,
        )
        for n in store.notes(viewer, **filters)
    ]


def old_excerpt_options(store, viewer, partnership=None):
    """The board's excerpt list as built before, kept to one partnership's transcripts."""
    pships = {p.id: p.short for p in store.partnerships()}
    titles = {t.id: (t.title, t.partnership_id) for t in store.transcripts()}
    keep = None if partnership is None else store.partnership(partnership).id
    out = []
    for e in store.excerpts(viewer=viewer):
        title, pid = titles[e.transcript_id]
        if keep is None or pid == keep:
            out.append(
                (f"{pships.get(pid, '-')}/{title}: “{short(e.text, EXCERPT_LABEL_CHARS)}”", e.id)
            )
    return out


def filter_choices(board):
    """Each filter alone, all of them at '(all)', and partnership with category."""
    pships = [v for _, v in board.filter_partnership.options if v]
    cats = [v for _, v in board.filter_category.options if v]
    people = [v for _, v in board.filter_researcher.options if v]
    yield {}
    yield from ({"partnership": p} for p in pships)
    yield from ({"category": c} for c in cats)
    yield from ({"researcher": r} for r in people)
    yield from ({"partnership": p, "category": c} for p in pships for c in cats[:2])


def choose(board, partnership=None, category=None, researcher=None):
    board.filter_partnership.value = partnership
    board.filter_category.value = category
    board.filter_researcher.value = researcher


def check_lists_as_before(store, who, limit):
    board = TensionBoard(store, who, list_limit=limit)
    for filters in filter_choices(board):
        choose(board, **filters)
        try:
            expected = old_note_options(store, who, **filters)
        except Forbidden:
            assert board.notes.options == () and "cp-error" in board.evidence_status.value
            continue
        assert list(board.notes.options) == expected[:limit], filters
        assert f"{len(expected)} note" in board.notes_count.value
        assert ("are listed" in board.notes_count.value) == (len(expected) > limit)
        excerpts = old_excerpt_options(store, who, filters.get("partnership"))
        assert sorted(board.excerpts.options, key=lambda o: o[1]) == sorted(
            excerpts[:limit] if len(excerpts) <= limit else board.excerpts.options,
            key=lambda o: o[1],
        )
        assert len(board.excerpts.options) == min(limit, len(excerpts))
        assert f"{len(excerpts)} excerpt" in board.excerpts_count.value
        assert set(board.excerpts.options) <= set(excerpts)
    return board


@pytest.mark.parametrize("limit", [LIST_LIMIT, 3])
def test_the_board_lists_the_notes_and_counts_it_listed_before_demo(demo, limit):
    check_lists_as_before(as_(demo, "Alder"), "Alder", limit)


@pytest.mark.parametrize("limit", [LIST_LIMIT, 2])
def test_the_board_lists_the_notes_and_counts_it_listed_before_second_study(second_study, limit):
    store = second_study("joint", actor="quill")
    board = check_lists_as_before(store, "Quill", limit)
    assert {o[1] for o in board.notes.options} <= {n.id for n in store.notes()}


@pytest.mark.parametrize("stage_study", ["demo", "second"])
def test_the_board_stays_blind_during_step_1(stage_study, open_study, second_study):
    if stage_study == "demo":
        store, who, colleague = as_(open_study, "Birch"), "Birch", "Cedar"
    else:
        store, who, colleague = second_study("recall", actor="tamsin"), "Tamsin", "Rowan"
    board = check_lists_as_before(store, who, LIST_LIMIT)
    choose(board)
    mine = {n.id for n in store.notes()}
    assert mine and {v for _, v in board.notes.options} == mine
    assert all(f"#{i} {who} · " in label for label, i in board.notes.options)
    choose(board, researcher=colleague)
    assert board.notes.options == () and "step 1 is open" in board.evidence_status.value
    assert {v for _, v in board.excerpts.options} == {e.id for e in store.excerpts()}


def test_the_evidence_list_names_the_notes_and_excerpts_as_before(second_study):
    store = second_study("joint", actor="rowan")
    board = TensionBoard(store, "Rowan", list_limit=2)
    t = store.tensions()[0]
    board.tension.value = t.id
    notes = store.notes()[:3]
    excerpt = store.excerpts()[0]
    store.attach_evidence(t.id, notes=[n.id for n in notes], excerpts=[excerpt.id])
    board.refresh()
    names = {r.id: r.name for r in store.researchers()}
    for n in store.notes(include_deleted=True):
        if n.id in {x.id for x in notes}:
            assert f"note #{n.id}" in board.evidence_list.value
            assert escape(short(n.text, 300)) in board.evidence_list.value
            assert f"{names[n.researcher_id]} · " in board.evidence_list.value
    assert escape(short(excerpt.text, 300)) in board.evidence_list.value
    counts = {e.tension_id for e in store.evidence()}
    assert t.id in counts and board.map.value.count("<tr") == 1 + len(store.tensions())


# -- undo -----------------------------------------------------------------------------


def test_undo_last_change_walks_back_edits_evidence_and_links_demo(demo):
    alder = as_(demo, "Alder")
    board = TensionBoard(alder, "Alder")
    assert board.undo.disabled
    t1, t2 = demo.tension("T1"), demo.tension("T2")
    had_evidence = evidence_of(demo, "T1")
    board.tension.value = t1.id
    board.pole_a.value = "Pole changed"
    board.status.value = "parked"
    board.save.click()
    assert demo.tension("T1").pole_a == "Pole changed" and not board.undo.disabled
    note = next(n for n in alder.notes() if n.id not in had_evidence[0])
    board.notes.options = [("n", note.id)]
    board.notes.value = (note.id,)
    board.attach_notes.click()
    assert note.id in evidence_of(demo, "T1")[0]
    board.link_target.value = t2.id
    board.link_kind.value = "contradicts"
    board.link.click()
    assert ("T1", "contradicts", "T2") in demo.tension_links()
    detached = had_evidence[0][0]
    board.detach_choice.value = (("note", detached),)
    board.detach.click()
    assert detached not in evidence_of(demo, "T1")[0]

    board.undo.click()
    assert "undone: 1 note detached from T1" in board.undo_status.value
    assert detached in evidence_of(demo, "T1")[0]
    board.undo.click()
    assert ("T1", "contradicts", "T2") not in demo.tension_links()
    board.undo.click()
    assert evidence_of(demo, "T1") == had_evidence
    board.undo.click()
    back = demo.tension("T1")
    assert (back.pole_a, back.status) == (t1.pole_a, t1.status)
    assert board.pole_a.value == t1.pole_a and board.undo.disabled
    # each undo is an ordinary write in the log, by the person at the board
    log = demo.history("tension", t1.id)
    assert [(e.action, e.actor) for e in log[-6:]] == [
        ("update", "Alder"),  # the edit
        ("attach", "Alder"),
        ("detach", "Alder"),
        ("attach", "Alder"),  # undo of the detach
        ("detach", "Alder"),  # undo of the attach
        ("update", "Alder"),  # undo of the edit
    ]
    assert log[-1].before["pole_a"] == "Pole changed" and log[-1].after["pole_a"] == t1.pole_a
    links = demo.history("tension_link")
    assert [(e.action, e.actor) for e in links[-2:]] == [("create", "Alder"), ("delete", "Alder")]
    assert board.history.changes == ()
    with pytest.raises(InvalidInput, match="nothing to undo"):
        board.history.undo()


def test_undo_on_the_second_study_and_its_refusals(second_study):
    store = second_study("joint", actor="quill")  # not the lead
    board = TensionBoard(store, "Quill")
    t = store.tensions()[0]
    board.tension.value = t.id
    board.name.value = "A new name"
    board.save.click()
    assert store.tension(t.id).name == "A new name"
    # someone else changes the tension meanwhile: the undo is refused, nothing changes
    as_(store, "tamsin").update_tension(t.id, description="Tamsin's words")
    board.undo.click()
    assert "cp-error" in board.undo_status.value and "Tamsin" in board.undo_status.value
    assert store.tension(t.id).name == "A new name"
    assert store.tension(t.id).description == "Tamsin's words"

    # a framework agreed after a change holds it: refused
    other = store.tensions()[1]
    board.tension.value = other.id
    board.excerpts.value = (board.excerpts.options[0][1],)
    board.attach_excerpts.click()
    attached = evidence_of(store, other.code)
    as_(store, "rowan").freeze_framework("v2: with the new excerpt")
    with pytest.raises(OutOfOrder, match="framework v2 was agreed after"):
        board.history.undo()
    assert evidence_of(store, other.code) == attached

    # a change after the freeze is undone as usual
    board2 = TensionBoard(store, "Quill")
    board2.tension.value = other.id
    board2.subthemes.value = "one\ntwo"
    board2.save.click()
    assert store.tension(other.id).subthemes == ["one", "two"]
    board2.undo.click()
    assert "cp-ok" in board2.undo_status.value
    assert list(store.tension(other.id).subthemes or ()) == list(other.subthemes or ())
    assert store.history("tension", other.id)[-1].actor == "quill"


def test_undo_is_refused_once_a_workshop_is_recorded(second_study):
    store = second_study("joint", actor="rowan")
    board = TensionBoard(store, "Rowan")
    t = store.tensions()[0]
    board.tension.value = t.id
    board.status.value = "parked" if t.status != "parked" else "agreed"
    board.save.click()
    with store.session() as s:  # a workshop recorded after the change, as the log shows it
        from coprod_nb.storage import events

        events.log(s, "rowan", "create", "workshop", 99)
    board.undo.click()
    assert "step 2 is over" in board.undo_status.value
    assert store.tension(t.id).status != t.status


# -- ComparisonView: tabs worked out when shown ------------------------------------------


@pytest.mark.parametrize("which", ["demo", "second"])
def test_comparison_fills_overlaps_and_gaps_when_their_tab_is_shown(which, demo, second_study):
    from coprod_nb.analysis import gaps, overlaps
    from coprod_nb.widgets import ComparisonView

    store, who = (
        (as_(demo, "Alder"), "Alder")
        if which == "demo"
        else (
            second_study("joint", actor="quill"),
            "Quill",
        )
    )
    view = ComparisonView(store, who)
    assert view.overlap.value == "" and view.gap.value == ""  # not worked out yet
    view.show_tab("Overlaps")
    pairs = overlaps(store, who)
    rows = 1 + len(pairs) if len(pairs) else 0
    assert view.overlap.value.count("<tr") == rows and view.overlap.value != ""
    assert view.gap.value == ""
    view.show_tab("Gaps")
    alone = gaps(store, who)
    if len(alone):
        assert view.gap.value.count("<tr") == 1 + len(alone)
    else:
        assert "one reader only" in view.gap.value
    shown = view.overlap.value
    view.show_tab("Counts")
    view.show_tab("Overlaps")  # shown again: not redone, the same table
    assert view.overlap.value == shown
    view.refresh()  # a refresh works out the tab on screen again
    assert view.overlap.value == shown and view.gap.value == ""


@pytest.mark.parametrize("which", ["demo", "second-joint", "second-workshop"])
def test_comparison_opens_on_the_counts_and_draws_the_heatmap_when_opened(
    which, demo, second_study
):
    from coprod_nb.analysis import compare_counts
    from coprod_nb.widgets import ComparisonView
    from coprod_nb.widgets._common import png_size

    if which == "demo":
        store, who = as_(demo, "Alder"), "Alder"
    else:
        store, who = second_study(which.removeprefix("second-"), actor="quill"), "Quill"
    view = ComparisonView(store, who)
    counts = compare_counts(store, who)
    assert counts.notes.sum() > 0, "the study has notes to compare"
    # The Counts tab shows the table first; the heatmap waits, closed, under it.
    assert view.tabs.selected_index == 0
    assert view.tabs.children[0].children == (view.counts, view.heatmap)
    for name in counts.researcher.unique():
        assert name in view.counts.value
    assert view.heatmap.selected_index is None and view.heatmap.layout.display is None
    assert (view.figure.draws, view.figure.children) == (0, ())
    view.heatmap.selected_index = 0
    assert view.figure.draws == 1
    [panel] = view.figure.children
    image = panel.children[0]
    assert png_size(image.value)[0] >= 2 * int(image.layout.width.removesuffix("px"))
    view.refresh()  # the same notes: the heatmap drawn stays
    view.heatmap.selected_index = None
    view.heatmap.selected_index = 0
    assert view.figure.draws == 1 and len(view.figure.children) == 1
