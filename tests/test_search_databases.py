"""Search finds the same turns on SQLite (FTS5) and PostgreSQL (a stored tsvector).

Each database is checked against one oracle: the query's terms (``search.parse_query``)
looked for in every turn's words in plain Python. Prefixes (``fund*``), phrases and
several words (all must occur) are in the mix, on the demo and on the second study.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from coprod_nb.errors import InvalidInput
from coprod_nb.seed.demo import build_demo
from coprod_nb.storage import Store
from coprod_nb.storage.search import fts5_query, parse_query, tsquery
from tests.second_study import build_second_study

_WORDS = re.compile(r"[^\W_]+")

DEMO_QUERIES = [
    "fund*",
    "funding",
    "partner*",
    "co*",
    '"the funding"',
    '"lived experience"',
    "funding time",
    "power AND money",
    "community partnership",
    "recruit*",
    "xylophone",
]
SECOND_QUERIES = [
    "fund*",
    "residents",
    "resid* board",
    '"the board"',
    '"health board"',
    "nurse AND park",
    "bids spring",
    "caravan*",
    "it's",
    "minibus-figures",
    "xylophone",
]


def oracle(store: Store, query: str) -> set[int]:
    """Ids of the turns whose words hold every term of ``query``."""
    terms = parse_query(query)
    with store.session(write=False) as s:
        rows = s.execute(text("SELECT id, text FROM turn")).all()
    found = set()
    for turn_id, body in rows:
        words = [w.casefold() for w in _WORDS.findall(body)]
        if all(_has(words, term) for term in terms):
            found.add(turn_id)
    return found


def _has(words: list[str], term: tuple[tuple[str, ...], bool]) -> bool:
    wanted, prefix = [w.casefold() for w in term[0]], term[1]
    n = len(wanted)
    for i in range(len(words) - n + 1):
        head, last = words[i : i + n - 1], words[i + n - 1]
        if head == wanted[:-1] and (last.startswith(wanted[-1]) if prefix else last == wanted[-1]):
            return True
    return False


def _same_hits(store: Store, queries: list[str]) -> dict[str, int]:
    counts = {}
    for query in queries:
        hits = store.search(query, limit=100_000)
        assert {h.turn_id for h in hits} == oracle(store, query), query
        assert len(hits) == len({h.turn_id for h in hits})
        counts[query] = len(hits)
    return counts


def test_demo_search_hits_are_the_same_on_both_databases(tmp_path, db_url):
    store = build_demo(tmp_path / "demo", url=db_url, stage="transcripts")
    try:
        counts = _same_hits(store, DEMO_QUERIES)
    finally:
        store.close()
    # the oracle is not trivially empty: prefixes and phrases find turns
    assert counts["fund*"] > counts["funding"] > 0
    assert counts['"the funding"'] > 0 and counts["xylophone"] == 0


def test_second_study_search_hits_are_the_same_on_both_databases(tmp_path, db_url):
    store = build_second_study(tmp_path / "second", "transcripts", db_url)
    try:
        counts = _same_hits(store, SECOND_QUERIES)
        hits = store.search("resid*")
        assert hits and all("\ue000" in h.snippet for h in hits)
        assert {h.partnership for h in hits} <= {"GULL", "PIER", "DUNE"}
    finally:
        store.close()
    assert counts["fund*"] > 0 and counts["resid* board"] > 0
    assert counts['"health board"'] > 0 and counts["xylophone"] == 0


def test_a_query_with_nothing_to_find_is_invalid_input_on_both(tmp_path, db_url):
    store = build_second_study(tmp_path / "second", "transcripts", db_url)
    try:
        for query in ("", "   ", '""', "*", "_ -- !", '"*"'):
            with pytest.raises(InvalidInput, match="nothing to search for"):
                store.search(query)
        # operators and stray quotes are text, never a syntax error of either database
        for query in ('AND ( " OR NEAR', "fund* OR NOT", "a:* & b | !c", "'quoted'", "\\x"):
            store.search(query)
    finally:
        store.close()


def test_the_two_query_languages_say_the_same():
    assert fts5_query('fund* "lived experience" co-op') == ('"fund"* "lived experience" "co" "op"')
    assert tsquery('fund* "lived experience" co-op') == (
        "'fund':* & ('lived' <-> 'experience') & 'co' & 'op'"
    )
    assert tsquery("foo_ba*") == "('foo' <-> 'ba':*)"
    assert tsquery("it's & | !") == "'it' & 's'"


def test_0011_downgrades_and_upgrades_keeping_every_hit(tmp_path, db_url):
    from alembic import command
    from sqlalchemy import inspect

    from coprod_nb.storage.database import _alembic_config

    store = build_second_study(tmp_path / "second", "transcripts", db_url)
    cfg = _alembic_config()
    sqlite = store.engine.dialect.name == "sqlite"

    def triggers() -> set[str]:
        with store.engine.connect() as conn:
            return set(
                conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
            )

    def migrate(fn, rev):
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, rev)

    try:
        before = {h.turn_id for h in store.search("resid*", limit=1000)}
        migrate(command.downgrade, "0010")
        if sqlite:
            assert "turn_fts_ai" in triggers()  # 0010's per-row indexing is back
        else:
            columns = {c["name"] for c in inspect(store.engine).get_columns("turn")}
            assert "search_vector" not in columns
        migrate(command.upgrade, "head")
        if sqlite:
            # add_transcript fills FTS5 per transcript; no trigger would index twice
            assert "turn_fts_ai" not in triggers() and "turn_fts_au" in triggers()
        else:
            indexes = {i["name"] for i in inspect(store.engine).get_indexes("turn")}
            assert "ix_turn_search_vector" in indexes and "ix_turn_fts" not in indexes
        assert before and {h.turn_id for h in store.search("resid*", limit=1000)} == before
    finally:
        store.close()


def test_a_transcript_imported_is_indexed_once(tmp_path, db_url):
    store = build_second_study(tmp_path / "second", "transcripts", db_url)
    try:
        _same_hits(store, ["nurse*", '"health board"'])
        if store.engine.dialect.name == "sqlite":
            with store.session(write=False) as s:
                indexed = s.execute(
                    text("SELECT count(*) FROM turn_fts WHERE turn_fts MATCH 'nurse'")
                ).scalar()
            assert indexed == len(store.search("nurse", limit=1000)) > 0
    finally:
        store.close()
