"""The study store on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from coprod_nb.domain import RawTurn
from coprod_nb.errors import DuplicateSource, InvalidInput, NotFound
from coprod_nb.storage import Store, head_revision
from coprod_nb.storage.database import _head_from_files, _stored_revision, current_revision


def _turns():
    return [
        RawTurn("Helen Marsh", "Hello Margaret, shall we start with funding?", 0, 4000),
        RawTurn(
            "Margaret Okafor", "Funding was always tight, Helen. Tokenism crept in.", 4000, 9000
        ),
        RawTurn("Stranger Person", "Sorry, wrong meeting.", 9000, 9500),
    ]


def _seed(store: Store) -> None:
    store.add_partnership("LAHRP", "Larkmoor", {"region": "north", "members": 14})
    store.add_participant("Jo Linden", "LAHRP", "theme lead", True, True)
    store.add_researcher("Alder", "alder", lead=True)
    store.set_pseudonym("Margaret Okafor", "Jo Linden")
    store.set_pseudonym("Helen Marsh", "Alder")


def _add(store: Store, digest: str = "h1"):
    return store.add_transcript(
        _turns(), title="conv", source_name="conv.vtt", source_format="vtt", content_hash=digest
    )


def test_fresh_study_is_at_newest_schema(store):
    assert current_revision(store.engine) == head_revision()
    # the shortcut that opens an up-to-date study without alembic agrees with alembic
    assert _head_from_files() == head_revision()
    assert _stored_revision(store.engine) == head_revision()
    assert store.study().name == "study"


def test_entities_round_trip(store):
    _seed(store)
    p = store.partnership("lahrp")  # case-insensitive lookup
    assert p.attributes == {"region": "north", "members": 14}
    part = store.participant("Jo Linden")
    assert (part.partnership_id, part.consent_quote) == (p.id, True)
    assert store.researcher("alder").lead is True
    with pytest.raises(NotFound):
        store.partnership("nope")
    with pytest.raises(InvalidInput, match="already exists"):
        store.add_partnership("LAHRP", "again")


def test_transcript_is_pseudonymised_and_linked(store):
    _seed(store)
    tr = _add(store)
    turns = store.turns(tr.id)
    assert [t.speaker for t in turns] == ["Alder", "Jo Linden", "Stranger Person"]
    assert turns[0].text == "Hello Jo, shall we start with funding?"
    assert "Margaret" not in tr.text and "Helen" not in tr.text
    assert turns[1].participant_id == store.participant("Jo Linden").id
    assert turns[0].researcher_id == store.researcher("Alder").id
    # partnership inferred from the participant; people from matched speakers
    assert tr.partnership_id == store.partnership("LAHRP").id
    assert store.people_of(tr.id) == {"participants": ["Jo Linden"], "interviewers": ["Alder"]}
    assert store.unmatched_speakers() == {"Stranger Person": ["conv"]}
    # offsets of each turn point at its text in the canonical text
    for t in turns:
        assert tr.text[t.char_start : t.char_end] == t.text
    assert tr.word_count == 7 + 8 + 3


def test_turns_inserted_in_one_statement_are_searchable_and_logged_once(store):
    # add_transcript inserts its turns with one Core executemany, bypassing the ORM:
    # the search index, the event log and the transcript's own turns must not notice.
    _seed(store)
    with store.session() as s:
        tr = store.add_transcript(
            _turns(),
            title="conv",
            source_name="conv.vtt",
            source_format="vtt",
            content_hash="h1",
            session=s,
        )
        assert [t.seq for t in tr.turns] == [0, 1, 2]  # loaded in the same transaction
    assert [h.turn_id for h in store.search("tokenism")] == [store.turns(tr.id)[1].id]
    events = store.history("transcript", tr.id)
    assert [(e.action, e.detail) for e in events] == [("import", "3 turns from vtt")]


def test_duplicate_content_is_refused(store):
    _seed(store)
    _add(store)
    with pytest.raises(DuplicateSource, match="already in the study"):
        _add(store)
    assert len(store.transcripts()) == 1


def test_map_speaker_and_late_pseudonym_keep_excerpts(store):
    _seed(store)
    tr = _add(store)
    ex = store.excerpt_of_quote(tr.id, "Tokenism crept in")
    late = store.excerpt_of_quote(tr.id, "wrong meeting")
    store.add_participant("Pat Vale", "LAHRP")
    assert store.map_speaker("Stranger Person", "Pat Vale") == 1
    assert store.unmatched_speakers() == {}
    assert store.turns(tr.id)[2].speaker == "Pat Vale"  # relabelled
    after = {e.id: e for e in store.excerpts(tr.id)}
    text = store.transcript(tr.id).text
    assert text[after[late.id].start : after[late.id].end] == "wrong meeting"
    assert "Stranger" not in text
    assert "Pat Vale" in store.people_of(tr.id)["participants"]
    # a name learnt after import: replaced everywhere, excerpt still on the same words
    changed = store.set_pseudonym("Tokenism", "Symbolism")
    assert changed == 1
    moved = store.excerpts(tr.id)[0]
    assert moved.id == ex.id and moved.text == "Symbolism crept in"
    tr2 = store.transcript(tr.id)
    assert tr2.text[moved.start : moved.end] == "Symbolism crept in"


def test_excerpt_bounds_are_checked(store):
    _seed(store)
    tr = _add(store)
    turn = store.turns(tr.id)[1]
    ex = store.excerpt_of_turn(turn.id, 0, 7)
    assert ex.text == "Funding"
    with pytest.raises(InvalidInput, match="outside"):
        store.add_excerpt(tr.id, 5, 10_000)
    with pytest.raises(NotFound):
        store.excerpt_of_quote(tr.id, "not said at all")


def test_search_returns_marked_snippets(store):
    _seed(store)
    _add(store)
    hits = store.search("funding")
    assert {h.speaker for h in hits} == {"Alder", "Jo Linden"}
    assert all("\ue000" in h.snippet for h in hits)
    assert [h.speaker for h in store.search('"always tight"')] == ["Jo Linden"]
    assert store.search("nowhere") == []
    # operators and stray quotes are text, never a syntax error
    store.search('AND ( " OR NEAR')


def test_every_change_is_in_the_event_log(store):
    _seed(store)
    tr = _add(store)
    store.set_pseudonym("Tokenism", "Symbolism")
    actions = [(e.action, e.actor) for e in store.history("transcript", tr.id)]
    assert actions == [("import", "tester"), ("pseudonymise", "tester")]
    created = store.history("partnership")
    assert created[0].after["short"] == "LAHRP"
    # the real name never reaches the log
    pseudonym_events = store.history("pseudonym")
    assert all("Margaret" not in str(e.after) for e in pseudonym_events)


def test_event_log_is_append_only(store):
    _seed(store)
    with pytest.raises(DBAPIError), store.engine.begin() as conn:
        conn.execute(text("UPDATE event SET actor = 'someone else'"))
    with pytest.raises(DBAPIError), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM event"))
    assert {e.actor for e in store.history("partnership")} == {"tester"}


def test_sqlite_settings(tmp_path):
    st = Store(tmp_path / "s", actor="t")
    with st.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    st.close()


def test_study_from_a_newer_package_is_refused_untouched(tmp_path):
    st = Store(tmp_path / "s", actor="t")
    _seed(st)
    st.close()
    db = tmp_path / "s" / "study.db"
    with sqlite3.connect(db) as conn:  # as if a later coprod_nb had upgraded it
        conn.execute("UPDATE alembic_version SET version_num = 'from-the-future'")
    with pytest.raises(InvalidInput, match="newer coprod_nb"):
        Store(tmp_path / "s")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            "from-the-future"
        )
        assert conn.execute("SELECT count(*) FROM partnership").fetchone()[0] == 1


def test_unrelated_database_is_not_touched(tmp_path):
    db = tmp_path / "other" / "study.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE mine (x)")
    with pytest.raises(InvalidInput, match="no coprod_nb schema"):
        Store(db.parent)


def test_bad_url_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="not a database URL"):
        Store(tmp_path, "::nonsense::")


def test_opening_a_missing_sqlite_study_leaves_no_file_behind(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere" / "x.db"
    elsewhere.parent.mkdir()
    with pytest.raises(NotFound, match="no study database"):
        Store(folder, f"sqlite:///{elsewhere}", actor="t", create=False)
    assert not elsewhere.exists()
    assert sorted(p.name for p in folder.iterdir()) == []
