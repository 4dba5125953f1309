"""The live participant app, headless: personal links, ParticipantApp, LiveResponses, CLI.

Storage and widget tests run on SQLite and PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from datetime import date
from io import StringIO

import ipywidgets as w
import pandas as pd
import pytest
from sqlalchemy import select

from coprod_nb.analysis.audit import audit_trail
from coprod_nb.analysis.live import live_progress, live_responses
from coprod_nb.analysis.workshop import poll_tally
from coprod_nb.cli import main
from coprod_nb.errors import Forbidden, InvalidInput
from coprod_nb.participant_app import key_from_query, page
from coprod_nb.participant_app.serve import link_root, normalise_base_url, voila_command
from coprod_nb.storage import Store
from coprod_nb.storage.local_server import free_port
from coprod_nb.storage.models import Ballot, CardResponse, Event, ParticipantToken
from coprod_nb.widgets.participant import LiveResponses, ParticipantApp, participant_link
from tests.acting import as_, as_lead

HOSTILE = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'
NOT_VALID = "not valid"


@pytest.fixture
def live(store):
    """A small study with a workshop (Pat and Sol; Kim is not invited) and an open poll."""
    store.add_partnership("P", "Partnership P")
    store.add_researcher("Ash", lead=True)
    for name in ("Pat", "Sol", "Kim"):
        store.add_participant(name, "P")
    store.add_tension(f"Rules {HOSTILE} vs play", "rules", "play", status="agreed")
    store.add_tension("Speed vs care", "speed", f"care {IMG}", status="agreed")
    store.add_tension("Near vs far", "near", "far", status="agreed")
    as_(store, "Ash").close_recall()
    as_(store, "Ash").freeze_framework()
    ws = as_lead(store).add_workshop(
        date(2022, 11, 9), facilitators=["Ash"], participants=["Pat", "Sol"]
    )
    store.open_poll(ws.id, "opening", ["T1", "T2", "T3"], max_choices=2)
    store.ws = ws
    return store


def texts(widget) -> str:
    """Every text a widget tree holds (values, labels, options), joined."""
    out, stack = [], [widget]
    while stack:
        x = stack.pop()
        for attr in ("value", "description", "placeholder", "options", "_options_labels"):
            value = getattr(x, attr, None)
            if value is not None:
                out.append(str(value))
        stack.extend(getattr(x, "children", ()))
    return "\n".join(out)


def cards(app) -> list:
    return [c for c in app.children if "cp-card" in c._dom_classes]


def table(html: str) -> pd.DataFrame:
    return pd.read_html(StringIO(html))[0]


# -- links -------------------------------------------------------------------------------


def test_links_are_issued_to_the_workshop_and_only_hashes_are_stored(live):
    links = as_lead(live).issue_links()
    assert sorted(links) == ["Pat", "Sol"]  # Kim is not a participant of this workshop
    assert len(set(links.values())) == 2 and all(len(k) >= 40 for k in links.values())
    ws, person = live.participant_for_token(links["Pat"])
    assert (ws.id, person.name) == (live.ws.id, "Pat")
    assert live.participant_for_token(links["Sol"], live.ws.id)[1].name == "Sol"
    with live.session(write=False) as s:
        hashes = set(s.scalars(select(ParticipantToken.token_hash)))
        logged = " ".join(
            f"{e.before} {e.after} {e.detail}" for e in s.scalars(select(Event)).all()
        )
    assert hashes == {hashlib.sha256(k.encode()).hexdigest() for k in links.values()}
    for key in links.values():
        assert key not in hashes and key not in logged
        assert hashlib.sha256(key.encode()).hexdigest() not in logged
    issued = [e for e in live.history("workshop", live.ws.id) if e.action == "issue links"]
    assert issued[-1].after == {"to": ["Pat", "Sol"]}
    trail = audit_trail(live)
    assert "personal links issued to: Pat, Sol" in set(trail.summary)
    assert not any(k in trail.to_string() for k in links.values())
    assert sorted(live.active_links()) == ["Pat", "Sol"]
    with pytest.raises(InvalidInput, match="not a participant"):
        as_lead(live).issue_links(participants=["Kim"])


def test_a_reissued_revoked_wrong_or_malformed_key_is_refused(live):
    first = as_lead(live).issue_links()
    second = as_lead(live).issue_links(participants=["Pat"])
    with pytest.raises(Forbidden, match=NOT_VALID) as reused:
        live.participant_for_token(first["Pat"])
    with pytest.raises(Forbidden, match=NOT_VALID) as unknown:
        live.participant_for_token("A" * 43)
    # the same words for a key that existed and one that never did
    assert str(reused.value) == str(unknown.value)
    assert live.participant_for_token(second["Pat"])[1].name == "Pat"
    assert live.participant_for_token(first["Sol"])[1].name == "Sol"  # untouched
    assert as_lead(live).revoke_links(participants=["Sol"]) == 1
    with pytest.raises(Forbidden, match=NOT_VALID):
        live.participant_for_token(first["Sol"])
    for bad in ("abc", "../../etc/passwd", first["Pat"][:10], "key with spaces in it ok"):
        with pytest.raises(Forbidden, match="malformed"):
            live.participant_for_token(bad)
    for empty in ("", None, "   "):
        with pytest.raises(Forbidden, match="no key"):
            live.participant_for_token(empty)
    assert sorted(live.active_links()) == ["Pat"]


def test_a_key_of_another_workshop_is_refused(live):
    other = as_lead(live).add_workshop(date(2023, 1, 5), facilitators=["Ash"], participants=["Pat"])
    key = as_lead(live).issue_links(other.id)["Pat"]
    with pytest.raises(Forbidden, match=NOT_VALID):
        live.participant_for_token(key, live.ws.id)
    assert live.participant_for_token(key)[0].id == other.id
    app = ParticipantApp(live, key, workshop=live.ws.id)
    assert not cards(app) and "cp-participant-refused" in app.status._dom_classes


def test_a_participant_taken_off_the_workshop_loses_the_link(live):
    key = as_lead(live).issue_links()["Sol"]
    with live.session() as s:
        from coprod_nb.storage.models import Workshop

        s.get(Workshop, live.ws.id).participants = ["Pat"]
    with pytest.raises(Forbidden, match=NOT_VALID):
        live.participant_for_token(key)


# -- the participant app -----------------------------------------------------------------


def test_a_refused_key_shows_nothing_of_the_study(live):
    as_lead(live).issue_links()
    live.set_response(live.ws.id, "Sol", "T1", comment="Sol's own thought")
    for key in ("A" * 43, "abc", ""):
        app = ParticipantApp(live, key)
        shown = texts(app)
        assert "Sorry" in shown and "cp-participant-refused" in app.status._dom_classes
        assert not cards(app) and app.participant is None
        for secret in ("Pat", "Sol", "Rules", "Speed", "T1", "Sol's own thought", "2022"):
            assert secret not in shown


def test_the_app_shows_the_participant_only_their_own_answers(live):
    links = as_lead(live).issue_links()
    live.set_response(live.ws.id, "Sol", "T1", comment="Sol's own thought", circle="outer")
    live.cast_ballot(live.current_poll().id, "Sol", ["T3"])
    live.set_response(live.ws.id, "Pat", "T2", comment="Pat wrote this", circle="inner")
    app = ParticipantApp(live, links["Pat"])
    shown = texts(app)
    assert "Welcome, Pat" in app.greeting.value
    assert [c.code for c in cards(app)] == ["T1", "T2", "T3"]
    assert "Sol" not in shown and "Sol's own thought" not in shown
    assert app.cards["T2"].values() == ("Pat wrote this", "")
    assert app.cards["T1"].values() == ("", "")
    assert app.board.pane.placements == {"T1": "none", "T2": "inner", "T3": "none"}
    assert not any(box.value for box in app.approve.values())  # Sol's T3 is not Pat's
    assert "hidden" not in app.results.value and "closes the poll" in app.results.value


def test_hostile_text_is_escaped_in_cards_and_in_the_live_view(live):
    links = as_lead(live).issue_links()
    app = ParticipantApp(live, links["Pat"])
    title = app.cards["T1"].title.value
    assert HOSTILE not in title and "&lt;script&gt;" in title
    assert IMG not in app.cards["T2"].title.value and "&lt;img" in app.cards["T2"].title.value
    assert not app.approve["T1"].description_allow_html  # a label stays plain text
    app.cards["T1"].comment.value = IMG
    app.flush()
    view = LiveResponses(as_lead(live), links=links)
    assert IMG not in view.table.value and "&lt;img src=x" in view.table.value
    assert HOSTILE not in view.tally.value + view.progress.value


def test_each_change_saves_itself_with_a_visible_state(live):
    links = as_lead(live).issue_links()
    poll = live.current_poll()
    app = ParticipantApp(live, links["Pat"])
    assert not [c for c in app.children if isinstance(c, w.Button) and "Submit" in c.description]
    app.cards["T1"].comment.value = "first thought"
    # waiting for the debounce: shown as saving, not written yet
    assert "cp-state-saving" in app.cards["T1"].state._dom_classes
    assert "saving" in app.cards["T1"].state.value
    app.flush()
    assert "cp-state-saved" in app.cards["T1"].state._dom_classes
    assert app.board.place("T1", "inner")
    app.approve["T1"].value = app.approve["T2"].value = True
    app.flush()
    assert "saved: T1, T2" in app.poll_state.value
    # untouched cards are not answers
    assert [(r.code, r.comment, r.circle) for r in live.responses(None, "Pat")] == [
        ("T1", "first thought", "inner")
    ]
    assert live.own_ballot_by_link(links["Pat"], poll.id) == ["T1", "T2"]
    app.cards["T1"].comment.value = "second thought"
    app.board.place("T3", "outer")
    app.approve["T2"].value = False
    app.flush()
    again = ParticipantApp(live, links["Pat"])  # a reload shows what was saved
    assert again.cards["T1"].values() == ("second thought", "")
    assert again.board.pane.placements["T1"] == "inner"
    assert again.approve["T1"].value and not again.approve["T2"].value
    with live.session(write=False) as s:
        rows = s.scalars(select(CardResponse).where(CardResponse.code == "T1")).all()
        ballots = s.scalars(select(Ballot).where(Ballot.poll_id == poll.id)).all()
    assert len(rows) == 1 and rows[0].comment == "second thought"
    assert rows[0].source == "participant app"
    assert len(ballots) == 1 and ballots[0].choices == ["T1"]
    assert {r.code for r in live.responses(None, "Pat")} == {"T1", "T3"}


def test_without_debounce_a_change_is_saved_at_once(live):
    links = as_lead(live).issue_links()
    app = ParticipantApp(live, links["Sol"], debounce=0)
    app.cards["T2"].suggestion.value = "split it"
    assert [(r.code, r.suggestion) for r in live.responses(None, "Sol")] == [("T2", "split it")]
    assert "cp-state-saved" in app.cards["T2"].state._dom_classes


def test_the_poll_text_follows_its_state(live):
    links = as_lead(live).issue_links()
    app = ParticipantApp(live, links["Pat"], debounce=0)
    assert "<b>open</b>: tick up to 2 tensions" in app.poll_header.value
    app.approve["T3"].value = True
    as_lead(live).close_poll(live.current_poll().id)
    app.check.click()
    text = app.poll_header.value
    assert "<b>closed</b>" in text and "tick" not in text and "yours: T3" in text
    assert "cp-poll-tally-table" in app.results.value


def test_the_store_rules_reach_the_participant_as_messages(live):
    links = as_lead(live).issue_links()
    poll = live.current_poll()
    app = ParticipantApp(live, links["Pat"])
    app.cards["T2"].suggestion.value = "split it"
    for box in app.approve.values():
        box.value = True
    app.flush()
    assert "at most 2 nominations" in app.poll_state.value
    assert "cp-state-failed" in app.poll_state._dom_classes
    assert "cp-state-saved" in app.cards["T2"].state._dom_classes  # the card is kept
    assert live.own_ballot_by_link(links["Pat"], poll.id) is None
    as_lead(live).close_poll(poll.id)
    app.approve["T3"].value = False
    app.flush()  # a page opened before the poll closed
    assert "closed" in app.last_status and live.own_ballot_by_link(links["Pat"], poll.id) is None
    assert all(box.disabled for box in app.approve.values())


def test_results_are_hidden_until_the_poll_closes_then_shown(live):
    links = as_lead(live).issue_links()
    poll = live.current_poll()
    pat, sol = ParticipantApp(live, links["Pat"]), ParticipantApp(live, links["Sol"])
    pat.approve["T1"].value = pat.approve["T3"].value = True
    sol.approve["T3"].value = True
    pat.flush()
    sol.flush()
    pat.check.click()
    assert "cp-poll-tally-table" not in pat.results.value
    as_lead(live).close_poll(poll.id)
    assert "cp-poll-tally-table" not in pat.results.value  # not until asked
    pat.check.click()
    shown = table(pat.results.value).set_index("option")
    expected = poll_tally({"Pat": ["T1", "T3"], "Sol": ["T3"]}, ["T1", "T2", "T3"])
    assert shown["count"].to_dict() == expected.set_index("option")["count"].to_dict()
    assert shown.loc["T3", "count"] == 2 and shown.loc["T3", "share"] == "100%"
    assert "Sol" not in texts(pat)  # the tally, not who voted for what


def test_a_ranked_poll_needs_an_order(live):
    poll = live.current_poll()
    as_lead(live).close_poll(poll.id)
    ranked = live.open_poll(live.ws.id, "revote", ["T1", "T2", "T3"], max_choices=2, ranked=True)
    links = as_lead(live).issue_links()
    app = ParticipantApp(live, links["Sol"])
    assert [d.description for d in app.rank] == ["Choice 1", "Choice 2"]
    app.rank[1].value = "T2"
    app.flush()
    assert (
        "in order" in app.last_status and live.own_ballot_by_link(links["Sol"], ranked.id) is None
    )
    app.rank[0].value = "T3"
    app.flush()
    assert live.own_ballot_by_link(links["Sol"], ranked.id) == ["T3", "T2"]


def test_page_reads_the_key_from_the_query_string(live):
    links = as_lead(live).issue_links()
    assert key_from_query("key=abc&x=1") == "abc" and key_from_query("") == ""
    assert key_from_query("?token=zzz") == ""
    env = {
        "COPROD_STUDY": str(live.study_dir),
        "COPROD_DB": live.url if live.url.startswith("postgresql") else "",
        "COPROD_WORKSHOP": str(live.ws.id),
        "QUERY_STRING": f"key={links['Sol']}",
    }
    app = page(env)
    assert app.participant == "Sol" and app.store.actor == "Sol"
    app.store.close()
    assert page({**env, "COPROD_STUDY": ""}) is None


# -- the facilitator's live view -----------------------------------------------------------


def test_live_responses_counts_closes_and_reveals(live):
    links = as_lead(live).issue_links()
    view = LiveResponses(as_lead(live), links=links, root="http://127.0.0.1:9999/")
    assert "no response yet" in view.table.value
    progress = table(view.progress.value).set_index("participant")
    assert progress["cards"].to_dict() == {"Pat": 0, "Sol": 0}
    pat, sol = ParticipantApp(live, links["Pat"]), ParticipantApp(live, links["Sol"])
    pat.cards["T1"].comment.value = "one"
    pat.board.place("T2", "outer")
    pat.approve["T2"].value = True
    pat.flush()
    sol.board.place("T3", "inner")
    sol.flush()  # no nomination
    view.refresh_button.click()
    progress = table(view.progress.value).set_index("participant")
    assert progress["cards"].to_dict() == {"Pat": 2, "Sol": 1}
    assert progress["voted"].to_dict() == {"Pat": "yes", "Sol": "no"}
    assert "1 of 2 have voted" in view.header.value
    assert len(table(view.table.value)) == 3
    assert live_progress(live).attrs["poll"] == "opening"
    assert list(live_responses(live).participant).count("Pat") == 2
    assert "when you close the poll" in view.tally.value
    view.close_button.click()
    assert live.current_poll().closed_at is not None and view.close_button.disabled
    tally = table(view.tally.value).set_index("option")
    assert tally["count"].to_dict() == {"T2": 1, "T1": 0, "T3": 0}
    view.close_button.click()  # closing twice is refused with a message
    assert "no open poll" in view.status.value


def test_live_responses_links_and_new_links(live):
    links = as_lead(live).issue_links()
    view = LiveResponses(as_lead(live), root="http://127.0.0.1:9999/base/")
    view.links_button.click()
    assert "Participants with a working link: 2." in view.status.value
    assert "?key=" not in view.links_list.value
    view.new_links_button.click()
    shown = table(view.links_list.value).set_index("participant")["link"].to_dict()
    assert sorted(shown) == ["Pat", "Sol"]
    assert shown["Pat"] == participant_link("http://127.0.0.1:9999/base/", view.links["Pat"])
    assert shown["Pat"].startswith("http://127.0.0.1:9999/base/?key=")
    with pytest.raises(Forbidden):
        live.participant_for_token(links["Pat"])  # replaced by the new links
    assert LiveResponses(as_lead(live), links=links).links == links


def test_auto_refresh_runs_in_the_background_and_stops_when_closed(live):
    view = LiveResponses(as_lead(live), interval=0.05)
    calls = []
    original = view.refresh
    view.refresh = lambda: (calls.append(1), original())
    view.auto.value = True
    deadline = time.time() + 10
    while len(calls) < 2 and time.time() < deadline:
        time.sleep(0.02)
    assert len(calls) >= 2
    view.close()
    time.sleep(0.2)
    n = len(calls)
    time.sleep(0.3)
    assert len(calls) == n  # the timer stopped with the widget


# -- serving -------------------------------------------------------------------------------


def test_the_voila_command_listens_on_localhost_by_default():
    cmd = voila_command()
    assert "--Voila.ip=127.0.0.1" in cmd and "--show_tracebacks=False" in cmd
    assert cmd[3].endswith("participant.ipynb") and "--no-browser" in cmd
    assert cmd[1:3] == ["-m", "coprod_nb.participant_app.server"]  # the gated server
    assert "--MappingKernelManager.cull_idle_timeout=600" in cmd
    assert "--MappingKernelManager.cull_connected=False" in cmd
    assert not any("0.0.0.0" in part for part in cmd)
    assert "--Voila.base_url=/user/alder/proxy/absolute/8866/" in voila_command(
        base_url="user/alder/proxy/absolute/8866"
    )
    assert normalise_base_url("") == "/" and normalise_base_url("/a/b") == "/a/b/"
    with pytest.raises(InvalidInput, match="base-url"):
        normalise_base_url("/a b/")
    assert link_root("127.0.0.1", 8866) == "http://127.0.0.1:8866/"
    assert link_root("h", 1, "/x/", "https://hub.example.org/u/") == "https://hub.example.org/u/"
    assert participant_link("http://h:1/", "abc") == "http://h:1/?key=abc"


def test_serve_workshop_refuses_bad_input_in_one_line(tmp_path, capsys, recall_demo, joint_demo):
    cases = [
        ([str(tmp_path / "missing")], "no study folder"),
        ([str(recall_demo.study_dir)], "no frozen framework"),
        ([str(joint_demo.study_dir)], "no workshop has been recorded"),
        ([str(joint_demo.study_dir), "--base-url", "/a b/"], "base-url"),
    ]
    for args, expected in cases:
        assert main(["serve-workshop", *args, "--dry-run"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expected in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_serve_workshop_issues_links_once_and_warns_off_localhost(joint_demo, capsys):
    people = ["Jo Linden", "Sam Arrow"]
    ws = as_lead(joint_demo).add_workshop(
        date(2021, 11, 10), facilitators=["Alder"], participants=people
    )
    joint_demo.open_poll(ws.id, "opening", joint_demo.framework().codes, max_choices=2)
    d, port = str(joint_demo.study_dir), str(free_port())
    assert main(["serve-workshop", d, "--port", port, "--dry-run", "--as", "alder"]) == 0
    out = capsys.readouterr().out
    keys = [line.split("?key=")[1] for line in out.splitlines() if "?key=" in line]
    assert len(keys) == 2 and "poll 'opening' open" in out
    assert f"http://127.0.0.1:{port}/?key=" in out and "--Voila.ip=127.0.0.1" in out
    assert {joint_demo.participant_for_token(k)[1].name for k in keys} == set(people)
    assert main(["serve-workshop", d, "--port", port, "--dry-run", "--as", "alder"]) == 0
    out = capsys.readouterr().out
    assert "?key=" not in out and "issued earlier still work" in out  # keys are shown once
    assert (
        main(["serve-workshop", d, "--port", port, "--dry-run", "--new-links", "--as", "alder"])
        == 0
    )
    captured = capsys.readouterr()
    assert captured.out.count("?key=") == 2 and "warning" not in captured.err
    with pytest.raises(Forbidden):
        joint_demo.participant_for_token(keys[0])
    assert (
        main(
            ["serve-workshop", d, "--host", "0.0.0.0", "--port", port, "--dry-run", "--as", "alder"]
        )
        == 0
    )
    assert "warning: serving on 0.0.0.0" in capsys.readouterr().err
    fresh = [line.split("?key=")[1] for line in captured.out.splitlines() if "?key=" in line]
    assert main(["serve-workshop", d, "--revoke", "--as", "alder"]) == 0
    assert f"2 personal links revoked for workshop {ws.id}" in capsys.readouterr().out
    for key in fresh:
        with pytest.raises(Forbidden):
            joint_demo.participant_for_token(key)
    assert joint_demo.active_links(ws.id) == {}


def test_the_app_notebook_is_one_cell_calling_the_library():
    import nbformat

    from coprod_nb.participant_app.serve import NOTEBOOK

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1 and "page()" in code[0].source and not code[0].outputs


@pytest.mark.parametrize(
    ("base_url", "public_url"),
    [("/../../x/", None), ("/a/./b/", None), ("/", "http://x/?a=1"), ("/", "https://x/#f")],
)
def test_addresses_that_would_break_the_links_are_refused(base_url, public_url):
    with pytest.raises(InvalidInput):
        link_root("127.0.0.1", 8866, base_url, public_url)


# -- revocation ends a page already open ----------------------------------------------------


def _revoked_page_cannot_submit(store, person, code, lead, how):
    """A page open on ``person``'s link; the link is revoked (``how``); then Submit."""
    links = as_lead(store).issue_links()
    app = ParticipantApp(store, links[person])
    assert app.participant == person
    before = len(store.responses(None, person))
    how(lead(store), person)
    app.cards[code].comment.value = "typed after the link was revoked"
    box = next(iter(app.approve.values()), None)
    if box is not None:
        box.value = True
    app.flush()
    assert "no longer valid" in app.last_status and "Traceback" not in app.last_status
    assert "cp-participant-revoked" in app.status._dom_classes
    assert app.cards[code].comment.disabled and app.board.pane.disabled
    assert not app.board.place(code, "inner")
    assert len(store.responses(None, person)) == before
    poll = store.current_poll()
    if poll is not None:
        assert person not in store.voters(poll.id)


@pytest.mark.parametrize(
    "how",
    [
        lambda lead, who: lead.revoke_links(participants=[who]),
        lambda lead, who: lead.issue_links(participants=[who]),  # a new link replaces it
    ],
    ids=["revoked", "replaced"],
)
def test_a_revoked_link_cannot_submit_from_a_page_already_open(live, how):
    _revoked_page_cannot_submit(live, "Pat", "T1", as_lead, how)


def test_a_revoked_link_cannot_submit_on_the_second_study(second_study):
    st = second_study("two_workshops", "rowan")  # the follow-up workshop, its poll open
    ws = st.workshop()
    voted = set(st.voters(st.current_poll().id))
    person = [
        n for n in (ws.participants or [p.name for p in st.participants()]) if n not in voted
    ][0]
    code = st.framework(ws.base_version).tensions[0].code
    _revoked_page_cannot_submit(
        st, person, code, as_lead, lambda lead, who: lead.revoke_links(participants=[who])
    )


def test_a_write_through_a_link_is_checked_in_its_transaction(live):
    links = as_lead(live).issue_links()
    poll = live.current_poll()
    live.set_response(live.ws.id, "Pat", "T1", comment="ok", link=links["Pat"])
    live.cast_ballot(poll.id, "Pat", ["T1"], link=links["Pat"])
    with pytest.raises(Forbidden, match="no longer valid"):  # Sol's key is not Pat's
        live.set_response(live.ws.id, "Pat", "T2", comment="x", link=links["Sol"])
    as_lead(live).revoke_links(participants=["Pat"])
    with pytest.raises(Forbidden, match="no longer valid"):
        live.set_response(live.ws.id, "Pat", "T1", comment="late", link=links["Pat"])
    with pytest.raises(Forbidden, match="no longer valid"):
        live.cast_ballot(poll.id, "Pat", ["T2"], link=links["Pat"])
    assert [r.comment for r in live.responses(None, "Pat")] == ["ok"]
    assert live.own_ballot_by_link(links["Sol"], poll.id) is None


# -- the server: no kernel without a valid key ----------------------------------------------


def kernels(server) -> list:
    """The kernel processes the app's server runs now (its children running ipykernel)."""
    import psutil

    found = []
    for child in psutil.Process(server["proc"].pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any("ipykernel" in part for part in child.cmdline()):
                found.append(child)
    return found


def visit(
    server, query: str, source: str = "127.0.0.2", headers: dict | None = None
) -> tuple[int, str]:
    """GET the app's page from the loopback address ``source``; returns (status, body)."""
    import http.client

    conn = http.client.HTTPConnection(
        "127.0.0.1", server["port"], timeout=120, source_address=(source, 0)
    )
    try:
        conn.request("GET", "/?" + query if query else "/", headers=headers or {})
        reply = conn.getresponse()
        return reply.status, reply.read().decode("utf-8", "replace")
    finally:
        conn.close()


@contextlib.contextmanager
def _serving(base, study, behind_proxy: bool = False):
    """``serve-workshop``'s server on ``study`` (a copy of the second study's follow-up
    workshop, poll open), with kernels culled after 20 idle seconds."""
    from coprod_nb.participant_app.serve import prepare
    from tests.browser.conftest import _wait_for_port

    shutil.copytree(study, base / "study")
    port = free_port()
    plan = prepare(
        base / "study", port=port, new_links=True, actor="rowan", behind_proxy=behind_proxy
    )
    with Store(base / "study", actor="rowan") as st:
        first = st.workshops()[0]
        other = as_lead(st).issue_links(first.id)  # keys of the other workshop
        revoked = as_lead(st).issue_links(participants=[sorted(plan.links)[0]])
        links = dict(plan.links)
        dead = links.pop(sorted(plan.links)[0])  # replaced just now
        links.update(revoked)
    cmd = voila_command(
        port=port, cull_idle=20, bad_key_burst=10, bad_key_refill=600, behind_proxy=behind_proxy
    )
    log = base / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd,
            env=plan.env,
            cwd=plan.cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_port(port, proc, log)
        yield {
            "proc": proc,
            "port": port,
            "links": links,
            "dead": dead,
            "other": next(iter(other.values())),
            "log": log,
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, second_templates):
    """One server for the module, as ``serve-workshop`` starts it."""
    with _serving(tmp_path_factory.mktemp("app-server"), second_templates("two_workshops")) as s:
        yield s


def test_thirty_bad_keys_start_no_kernel_and_are_rate_limited(app_server):
    bad = [
        "",
        "key=",
        "key=abc",
        "key=" + "W" * 43,
        "key=../../etc/passwd",
        f"key={app_server['dead']}",
        f"key={app_server['other']}",
        "token=zzz",
    ]
    statuses = []
    for i in range(30):
        status, body = visit(app_server, bad[i % len(bad)])
        statuses.append(status)
        assert "Traceback" not in body and "cp-participant-refused" in body
        assert "<script" not in body and "://" not in body  # nothing from another host
    assert statuses == [403] * 10 + [429] * 20  # 10 bad keys, then refused unchecked
    assert kernels(app_server) == []
    # rate-limited: even a valid key from that address is refused (the limit is no oracle)
    assert visit(app_server, f"key={next(iter(app_server['links'].values()))}")[0] == 429
    assert kernels(app_server) == []
    assert "Too many wrong links" in visit(app_server, "key=x")[1]
    # without --behind-proxy a client cannot name another address to escape the limit
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Real-Ip": "203.0.113.9"}
    assert visit(app_server, "key=x", headers=spoofed)[0] == 429


def test_behind_a_proxy_bad_keys_count_per_client_address(tmp_path, second_templates):
    """All visits arrive from the proxy's address; one stranger's bad keys must not
    lock out the participants behind the same proxy."""
    with _serving(tmp_path, second_templates("two_workshops"), behind_proxy=True) as server:
        stranger = {"X-Forwarded-For": "203.0.113.7"}
        statuses = [visit(server, "key=abc", headers=stranger)[0] for _ in range(12)]
        assert statuses == [403] * 10 + [429] * 2
        # another client behind the same proxy (same socket address) still gets in
        name, key = sorted(server["links"].items())[0]
        status, body = visit(server, f"key={key}", headers={"X-Forwarded-For": "203.0.113.8"})
        assert status == 200 and "cp-participant-refused" not in body
        assert visit(server, "key=abc", headers={"X-Forwarded-For": "203.0.113.8"})[0] == 403
        assert len(kernels(server)) == 1


def test_behind_proxy_is_refused_off_loopback(joint_demo):
    from coprod_nb.participant_app.serve import prepare

    with pytest.raises(InvalidInput, match="--behind-proxy needs --host 127.0.0.1"):
        prepare(joint_demo, host="0.0.0.0", behind_proxy=True, actor="cedar")


def test_one_kernel_per_link_and_idle_kernels_are_culled(app_server):
    (a, key_a), (b, key_b) = sorted(app_server["links"].items())[:2]
    status, body = visit(app_server, f"key={key_a}", source="127.0.0.3")
    assert status == 200 and "cp-participant-refused" not in body
    assert "cdn.jsdelivr.net" not in body and "font-awesome" not in body.lower()
    [first] = kernels(app_server)
    # the same link again (a reload, another device): the new page's kernel replaces it
    assert visit(app_server, f"key={key_a}", source="127.0.0.3")[0] == 200
    [second] = kernels(app_server)
    assert second.pid != first.pid
    assert visit(app_server, f"key={key_b}", source="127.0.0.4")[0] == 200
    assert len(kernels(app_server)) == 2  # one per link
    deadline = time.time() + 90  # no page holds them: culled after 20 idle seconds
    while kernels(app_server) and time.time() < deadline:
        time.sleep(0.5)
    assert kernels(app_server) == []
    assert "Culling 'idle' kernel" in app_server["log"].read_text()


def test_the_rate_limit_refills():
    from coprod_nb.participant_app.server import TokenBucket

    now = [0.0]
    bucket = TokenBucket(burst=3, refill=10.0, clock=lambda: now[0])
    for _ in range(3):
        assert bucket.allows("a")
        bucket.take("a")
    assert not bucket.allows("a") and bucket.allows("b")  # per address
    assert bucket.retry_after("a") == 10
    now[0] = 9.0
    assert not bucket.allows("a")
    now[0] = 10.0
    assert bucket.allows("a")
    now[0] = 1000.0
    bucket.take("a")
    assert bucket.allows("a")  # never more than the burst: two left


@pytest.mark.parametrize("frozen_now", [False, True], ids=["frozen before", "frozen meanwhile"])
def test_a_page_of_a_frozen_workshop_writes_nothing(second_study, frozen_now):
    """A link to a workshop whose result is frozen (issued before or after the freeze)
    shows the participant's record with the board read only, and a changed card or
    nomination is refused on the card in one line, naming the version; nothing changes."""
    st = as_lead(second_study("two_workshops", "rowan"))
    ws = st.workshops()[-1]  # the follow-up, its poll open with Ash's ballot
    if not frozen_now:
        st.freeze_workshop_framework(ws.id, "v3")
    key = st.issue_links(ws.id, participants=["Nico Trevail"])["Nico Trevail"]
    app = ParticipantApp(st, key, debounce=0)
    before = st.placements(ws.id), [r.comment for r in st.responses(ws.id)]
    if frozen_now:  # the page was open: the store refuses the drop, then the board reloads
        st.freeze_workshop_framework(ws.id, "v3")
        assert not app.board.place("H4", "outer")
        assert "not saved" in app.board.status.value
        app.board.refresh()
    ballots = st.ballot_count(st.current_poll(ws.id).id)
    assert app.board.pane.disabled and "frozen as framework v3" in app.board.status.value
    assert not app.board.place("H4", "outer")
    app.cards["H4"].comment.value = "after the freeze"
    assert "cp-state-failed" in app.cards["H4"].state._dom_classes
    assert "frozen as framework v3" in app.cards["H4"].state.value
    assert "Traceback" not in texts(app)
    if app.approve:
        next(iter(app.approve.values())).value = True
        app.flush()
        assert "not saved" in app.poll_state.value
    assert (st.placements(ws.id), [r.comment for r in st.responses(ws.id)]) == before
    assert st.ballot_count(st.current_poll(ws.id).id) == ballots
