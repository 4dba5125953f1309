"""CircleBoard driven headless: the front end's messages, as the browser sends them."""

from __future__ import annotations

from datetime import date

import pytest

from coprod_nb.widgets.circle_board import CircleBoard
from coprod_nb.widgets.participant import ParticipantApp
from coprod_nb.widgets.workshop import CircleSortView
from tests.acting import as_lead

PEOPLE = ["Jo Linden", "Sam Arrow", "Kit Moreland"]


def send(board: CircleBoard, **content) -> None:
    """A message from the board's front end (what circle_board.js sends)."""
    board.pane._handle_custom_msg(content, [])


def rings(store, ws_id, who) -> dict[str, str]:
    return {r.code: r.circle for r in store.responses(ws_id, who)}


@pytest.fixture
def demo_ws(joint_demo):
    """The demo at step 2 with a workshop on framework v1: an early step-3 stage."""
    ws = as_lead(joint_demo).add_workshop(
        date(2021, 11, 10), facilitators=["Alder"], participants=PEOPLE
    )
    return as_lead(joint_demo), ws


@pytest.fixture
def second_ws(second_study):
    """The late second study with its follow-up workshop on v2 still open (the first one's
    result is frozen, so its record no longer changes: see the read-only tests below)."""
    st = second_study("two_workshops", "rowan")
    ws = st.workshop()
    assert st.workshop_frozen_as(ws.id) is None
    return st, ws


@pytest.fixture(params=["demo", "second"])
def board_on(request):
    return request.getfixturevalue({"demo": "demo_ws", "second": "second_ws"}[request.param])


def test_a_drop_from_the_front_end_stores_the_placement(board_on):
    store, ws = board_on
    board = CircleBoard(store, ws.id)
    assert "cp-circle-board" in board._dom_classes
    who = board.participant
    codes = [c["code"] for c in board.pane.cards]
    assert codes == store.framework(ws.base_version).codes and who == ws.participants[0]
    send(board, kind="place", code=codes[0], circle="inner")
    assert rings(store, ws.id, who)[codes[0]] == "inner"
    assert board.pane.placements[codes[0]] == "inner" and "cp-ok" in board.status.value
    send(board, kind="place", code=codes[0], circle="outer")
    assert rings(store, ws.id, who)[codes[0]] == "outer"
    assert store.responses(ws.id, who)[0].source == "widget"


def test_keys_move_a_card_in_and_out(board_on):
    store, ws = board_on
    board = CircleBoard(store, ws.id)
    who, code = board.participant, board.pane.cards[1]["code"]
    send(board, kind="key", code=code, key="i")
    assert rings(store, ws.id, who)[code] == "inner"
    send(board, kind="key", code=code, key="ArrowDown")
    assert rings(store, ws.id, who)[code] == "outer"
    send(board, kind="key", code=code, key="ArrowDown")
    send(board, kind="key", code=code, key="ArrowDown")  # already outside: stays
    assert rings(store, ws.id, who)[code] == "none"
    send(board, kind="key", code=code, key="ArrowUp")
    assert board.pane.placements[code] == "outer"
    send(board, kind="key", code=code, key="x")  # not a key of the board: nothing
    assert rings(store, ws.id, who)[code] == "outer"


def test_undo_reverses_the_last_changes_one_by_one(board_on):
    store, ws = board_on
    board = CircleBoard(store, ws.id)
    who = board.participant
    a, b = (c["code"] for c in board.pane.cards[:2])
    start = {a: rings(store, ws.id, who).get(a, "none"), b: rings(store, ws.id, who).get(b, "none")}
    send(board, kind="place", code=a, circle="inner")
    send(board, kind="place", code=b, circle="outer")
    send(board, kind="place", code=a, circle="none")
    board.undo.click()
    assert rings(store, ws.id, who)[a] == "inner" and "undone" in board.status.value
    board.undo.click()
    assert rings(store, ws.id, who)[b] == start[b]
    board.undo.click()
    assert rings(store, ws.id, who)[a] == start[a]
    assert board.pane.placements[a] == start[a]
    with store.session(write=False) as s:
        from sqlalchemy import select

        from coprod_nb.storage.models import Event

        undos = s.scalars(select(Event).where(Event.action == "undo")).all()
    assert len(undos) == 3 and all(e.actor == store.actor for e in undos)


def test_nothing_to_undo_says_so(board_on):
    store, ws = board_on
    board = CircleBoard(store, ws.id)
    board.picker.value = ws.participants[-1]
    board.undo.click()
    assert "Nothing to undo" in board.status.value


def test_bad_messages_are_refused_with_a_message(board_on):
    store, ws = board_on
    board = CircleBoard(store, ws.id)
    before = store.placements(ws.id)
    send(board, kind="place", code="<b>NOPE</b>", circle="inner")
    assert "not a card on this board" in board.status.value and "<b>" not in board.status.value
    send(board, kind="place", code=board.pane.cards[0]["code"], circle="centre")
    assert "not a circle" in board.status.value
    send(board, kind="place")  # no code at all
    assert store.placements(ws.id) == before


def test_a_participant_places_only_their_own_cards(second_ws):
    store, ws = second_ws
    lead = as_lead(store)
    links = lead.issue_links(ws.id)
    me, other = ws.participants[0], ws.participants[1]
    theirs = rings(store, ws.id, other)
    app = ParticipantApp(store, links[me], ws.id)
    board = app.board
    assert board.participant == me and board.picker is None  # no choice of person
    code = board.pane.cards[0]["code"]
    # a message naming someone else still places the page's own participant's card
    send(board, kind="place", code=code, circle="inner", participant=other)
    assert rings(store, ws.id, me)[code] == "inner"
    assert rings(store, ws.id, other) == theirs
    assert store.responses(ws.id, me)[0].source == "participant app"
    # undo in the app reverses this participant's change only
    board.undo.click()
    assert rings(store, ws.id, other) == theirs


def test_circle_sort_view_shows_the_board_and_refreshes_results(demo_ws):
    store, ws = demo_ws
    view = CircleSortView(store, ws.id)
    assert view.board in view.children and view.board.picker is view.participant
    view.participant.value = "Sam Arrow"
    send(view.board, kind="place", code="T2", circle="inner")
    assert view.rings["T2"].value == "inner"  # the form follows the board
    assert "no placements yet" not in view.results.value
    view.rings["T3"].value = "outer"
    view.save.click()
    assert view.board.pane.placements["T3"] == "outer"  # and the board the form


def test_without_a_workshop_the_board_is_disabled(second_study):
    st = second_study("joint", "rowan")
    board = CircleBoard(st)
    assert board.pane.disabled and board.pane.cards == []
    board.undo.click()
    assert "cp-error" in board.status.value


# -- a frozen workshop: the record is shown, not edited --------------------------------


@pytest.fixture(params=["late demo", "late second"])
def frozen_ws(request, demo, second_study):
    """A workshop whose result is frozen: the demo's and the second study's first one."""
    store = demo if request.param == "late demo" else second_study("two_workshops", "rowan")
    ws = store.workshops()[0]
    assert store.workshop_frozen_as(ws.id) == 2
    return store, ws


def test_on_a_frozen_workshop_the_board_is_read_only(frozen_ws):
    store, ws = frozen_ws
    before = store.placements(ws.id)
    board = CircleBoard(store, ws.id)
    who = board.participant
    assert who and board.pane.placements == {
        c["code"]: before.get(who, {}).get(c["code"], "none") for c in board.pane.cards
    }
    assert board.pane.disabled and board.undo.layout.display == "none"
    assert "frozen as framework v2" in board.status.value and "new workshop" in board.status.value
    code = board.pane.cards[0]["code"]
    move = "outer" if board.pane.placements[code] == "inner" else "inner"
    send(board, kind="place", code=code, circle=move)
    send(board, kind="key", code=code, key="i")
    assert store.placements(ws.id) == before
    assert "Traceback" not in board.status.value and "frozen as framework v2" in board.status.value


def test_on_a_frozen_workshop_circle_sort_shows_the_record_read_only(frozen_ws):
    store, ws = frozen_ws
    before = store.placements(ws.id)
    view = CircleSortView(store, ws.id)
    assert view.save.layout.display == "none"
    assert "frozen as framework v2" in view.read_only.value
    assert all(r.disabled for r in view.rings.values())
    assert all(r.disabled for r in view.reasons.values())
    # the record is still there to read: the rings follow the stored placements
    who = view.participant.value
    shown = {code: ring.value for code, ring in view.rings.items()}
    assert shown == {code: before.get(who, {}).get(code, "none") for code in view.rings}
    assert "no placements yet" not in view.results.value
    view.save.click()  # a click that got through anyway: refused in one line
    assert store.placements(ws.id) == before and "cp-error" in view.status.value
    # the open follow-up (second study) offers the board again
    open_ = store.open_workshop()
    if open_ is not None:
        editable = CircleSortView(store, open_.id)
        assert editable.save.layout.display is None and not editable.board.pane.disabled
        assert editable.read_only.value == ""
