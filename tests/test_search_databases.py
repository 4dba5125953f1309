"""Search finds the same turns on SQLite (FTS5) and PostgreSQL (a stored tsvector).

Each database is checked against one oracle: the query's terms (``search.parse_query``)
looked for in every turn's words in plain Python. Prefixes (``fund*``), phrases and
several words (all must occur) are in the mix, on the demo and on the second study.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from coprod_nb.errors import InvalidInput
from coprod_nb.seed.demo import build_demo
from coprod_nb.storage import Store
from coprod_nb.storage.search import (
    PHRASE_PLAN,
    RANK_WINDOW,
    SearchHits,
    fts5_query,
    parse_query,
    rank_window,
    search_turns,
    tsquery,
)
from tests.second_study import build_second_study
from tests.test_team_postgres import team  # noqa: F401 (a fixture: PostgreSQL roles)

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


def _bounded(store: Store, query: str, limit: int, window: int) -> SearchHits:
    with store.session(write=False) as s:
        return search_turns(s, query, limit, window=window)


@pytest.mark.parametrize(
    ("build", "query"),
    [
        (lambda d, url: build_demo(d, url=url, stage="transcripts"), "the"),
        (lambda d, url: build_second_study(d, "transcripts", url), "the"),
        (lambda d, url: build_second_study(d, "transcripts", url), "b*"),
    ],
    ids=["demo", "second-study", "second-study-prefix"],
)
def test_a_query_matching_more_than_the_window_ranks_its_first_turns_and_says_so(
    tmp_path, db_url, build, query
):
    store = build(tmp_path / "study", db_url)
    try:
        every = sorted(oracle(store, query))
        window = len(every) // 3
        assert window > 5  # the study is large enough for the bound to apply

        # The window is the first matching turns in study order (turn id), on both
        # databases: a limit as large as the window returns exactly those turns.
        whole = _bounded(store, query, limit=window, window=window)
        assert {h.turn_id for h in whole} == set(every[:window])
        assert whole.more and whole.ranked == window
        assert f"the first {window:,} matching turns" in whole.summary()
        assert "add a word to narrow" in whole.summary()

        # The best few are chosen from that window only, in the window's own order.
        best = _bounded(store, query, limit=5, window=window)
        assert [h.turn_id for h in best] == [h.turn_id for h in whole][:5]
        assert best.more and best.ranked == window
        assert best.summary().startswith(f"best 5 of the first {window:,}")
        assert all("\ue000" in h.snippet for h in best)

        # A window holding every match is no bound: all are ranked, nothing more.
        exact = _bounded(store, query, limit=5, window=len(every))
        assert not exact.more and exact.ranked == len(every)
        assert exact.summary() == f"best 5 of {len(every):,} matching turns"
        # ... and the store's own window is the documented one
        hits = store.search(query, limit=5)
        assert hits.ranked == min(len(every), RANK_WINDOW) and not hits.more
    finally:
        store.close()


@pytest.mark.parametrize(
    "build",
    [
        lambda d, url: build_demo(d, url=url, stage="transcripts"),
        lambda d, url: build_second_study(d, "transcripts", url),
        lambda d, url: build_second_study(d, "workshop", url),
    ],
    ids=["demo", "second-study-early", "second-study-late"],
)
def test_the_window_step_alone_is_the_first_matching_turns_with_their_scores(
    tmp_path, db_url, build
):
    # rank_window is step (1) of search_turns, timed on its own by the benchmark: the
    # first window + 1 matches by turn id, each scored, the phrase plan restored.
    store = build(tmp_path / "study", db_url)
    try:
        for query in ("the", "b*", '"the board"', "fund*", "xylophone"):
            every = sorted(oracle(store, query))
            window = max(3, len(every) // 2)  # at least the limit asked for below
            with store.session(write=False) as s:
                scored = rank_window(s, query, window)
                settings = (
                    {n: s.execute(text(f"SHOW {n}")).scalar() for n in PHRASE_PLAN}
                    if db_url
                    else {}
                )
            assert [turn_id for _, turn_id in scored] == every[: window + 1], query
            assert all(isinstance(score, float) for score, _ in scored)
            assert all(v == "on" for v in settings.values()), (query, settings)
            # the search keeps the best of exactly that window
            hits = _bounded(store, query, limit=3, window=window)
            best = sorted(scored[:window])[:3]
            assert [h.turn_id for h in hits] == [turn_id for _, turn_id in best], query
            assert hits.more == (len(every) > window)
    finally:
        store.close()


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
            vectors = {i["name"] for i in inspect(store.engine).get_indexes("turn_search")}
            assert "ix_turn_fts" not in indexes and "ix_turn_search_vector" in vectors
        assert before and {h.turn_id for h in store.search("resid*", limit=1000)} == before
    finally:
        store.close()


def _fts_table_sql(store: Store) -> str:
    with store.engine.connect() as conn:
        return conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'turn_fts'")
        ).scalar_one()


def _triggers(store: Store) -> dict[str, str]:
    """The triggers on ``turn`` (the ones 0014 drops and creates again around its swap);
    the guards of later migrations on other tables go with their own downgrades."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'turn'")
        )
        return dict(rows.all())


PREFIX_QUERIES = ["co*", "b*", "bo*", "fun*", "res* board", '"health board" bo*', "resid*"]


@pytest.mark.parametrize(
    "build",
    [
        lambda d: build_demo(d, stage="transcripts"),
        lambda d: build_second_study(d, "transcripts"),
        lambda d: build_second_study(d, "workshop"),
    ],
    ids=["demo", "second-study", "second-study-late"],
)
def test_0014_prefix_index_after_a_fresh_init_and_after_its_downgrade_and_upgrade(tmp_path, build):
    # SQLite only: PostgreSQL's prefixes are the GIN index of 0011, unchanged by 0014.
    from alembic import command

    from coprod_nb.storage.database import _alembic_config

    store = build(tmp_path / "study")
    cfg = _alembic_config()

    def migrate(fn, rev):
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, rev)

    def hits() -> dict[str, list[int]]:
        return {q: [h.turn_id for h in store.search(q, limit=100_000)] for q in PREFIX_QUERIES}

    try:
        # a fresh study (built by running the migrations) has the prefix index
        assert "prefix='2 3'" in _fts_table_sql(store)
        triggers = _triggers(store)
        assert {"turn_fts_ad", "turn_fts_au"} <= set(triggers)
        fresh = hits()
        assert all(set(fresh[q]) == oracle(store, q) for q in PREFIX_QUERIES)
        assert fresh["co*"] and fresh["b*"]

        migrate(command.downgrade, "0013")
        assert "prefix" not in _fts_table_sql(store)
        assert _triggers(store) == triggers  # kept as they were
        assert hits() == fresh

        migrate(command.upgrade, "head")
        assert "prefix='2 3'" in _fts_table_sql(store)
        assert _triggers(store) == triggers
        assert hits() == fresh

        # the triggers still keep the rebuilt index current
        with store.engine.begin() as conn:
            first = conn.execute(text("SELECT min(id) FROM turn")).scalar()
            conn.execute(
                text("UPDATE turn SET text = 'Quokkaville cooperative' WHERE id = :id"),
                {"id": first},
            )
        assert [h.turn_id for h in store.search("quokk*")] == [first]
        assert first in {h.turn_id for h in store.search("coo*", limit=100_000)}
        assert store.search("Quokkaville")[0].turn_id == first
    finally:
        store.close()


def test_0014_rebuilds_a_study_that_kept_the_per_row_trigger(tmp_path):
    # A study stamped 0011 while it was a placeholder kept 0001's insert trigger: the
    # rebuild keeps it too (Store.add_transcript then leaves indexing to it).
    from alembic import command

    from coprod_nb.storage.database import _alembic_config

    store = build_second_study(tmp_path / "second", "transcripts")
    cfg = _alembic_config()

    def migrate(fn, rev):
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, rev)

    try:
        before = {q: {h.turn_id for h in store.search(q, limit=100_000)} for q in PREFIX_QUERIES}
        migrate(command.downgrade, "0013")
        with store.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TRIGGER turn_fts_ai AFTER INSERT ON turn BEGIN "
                    "INSERT INTO turn_fts(rowid, text) VALUES (new.id, new.text); END"
                )
            )
        migrate(command.upgrade, "head")
        assert "prefix='2 3'" in _fts_table_sql(store)
        assert "turn_fts_ai" in _triggers(store)
        after = {q: {h.turn_id for h in store.search(q, limit=100_000)} for q in PREFIX_QUERIES}
        assert after == before
    finally:
        store.close()


def _window_plans(store: Store, query: str) -> tuple[list[str], dict[str, str]]:
    """The plans PostgreSQL chose for one search (auto_explain, as notices), and the
    planner settings left in its transaction afterwards."""
    plans: list[str] = []
    with store.session(write=False) as s:
        raw = s.connection().connection.driver_connection
        raw.add_notice_handler(lambda diag: plans.append(diag.message_primary or ""))
        for statement in (
            "LOAD 'auto_explain'",
            "SET LOCAL auto_explain.log_min_duration = 0",
            "SET LOCAL auto_explain.log_level = notice",
            "SET LOCAL client_min_messages = notice",
        ):
            s.execute(text(statement))
        search_turns(s, query)
        after = {name: s.execute(text(f"SHOW {name}")).scalar() for name in PHRASE_PLAN}
    return [p for p in plans if "ORDER BY t.id LIMIT" in p], after


def test_a_phrase_on_postgresql_is_found_through_the_gin_index(tmp_path, pg_url):
    store = build_second_study(tmp_path / "second", "transcripts", pg_url)
    try:
        for query in ('"the board"', 'resid* "health board"'):
            (plan,), after = _window_plans(store, query)
            assert "Bitmap Index Scan on ix_turn_search_vector" in plan, plan
            assert "pk_turn" not in plan and "Seq Scan" not in plan, plan
            assert after == {name: "on" for name in PHRASE_PLAN}  # for that statement only
        # words without a phrase keep the planner's own choice
        (plan,), _ = _window_plans(store, "the")
        assert "Bitmap Index Scan" not in plan, plan
    finally:
        store.close()


def test_the_phrase_plan_on_postgresql_finds_what_the_plain_plan_finds(tmp_path, pg_url):
    # Phrases are looked for through the GIN index (its words), then checked: the same
    # turns as the planner's own plan and the oracle.
    store = build_second_study(tmp_path / "second", "transcripts", pg_url)
    plain = (
        "SELECT t.id FROM turn_search t, to_tsquery('simple', :q) q "
        "WHERE t.search_vector @@ q ORDER BY t.id"
    )
    found = {}
    try:
        for query in ['"the board"', '"health board"', 'resid* "the board"', '"board the"']:
            with store.session(write=False) as s:
                expected = s.execute(text(plain), {"q": tsquery(query)}).scalars().all()
            got = [h.turn_id for h in store.search(query, limit=100_000)]
            assert sorted(got) == expected == sorted(oracle(store, query)), query
            found[query] = len(got)
    finally:
        store.close()
    assert found['"the board"'] >= found['"health board"'] > 0
    assert found['"the board"'] >= found['resid* "the board"']


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


def test_the_search_view_and_the_command_line_say_how_the_hits_were_chosen(
    tmp_path, db_url, capsys
):
    from coprod_nb.cli import main
    from coprod_nb.widgets import SearchView

    store = build_second_study(tmp_path / "second", "transcripts", db_url)
    try:
        matches = len(oracle(store, "the"))
        view = SearchView(store, limit=3)
        view.query.value = "the"
        assert f"best 3 of {matches:,} matching turns" in view.status.value
        view.query.value = "xylophone"
        assert "0 matching turns" in view.status.value
    finally:
        store.close()
    args = ["search", str(tmp_path / "second"), "the", "--limit", "3", "--json"]
    assert main(args + (["--db", db_url] if db_url else [])) == 0
    out = capsys.readouterr()
    assert len(json.loads(out.out)) == 3  # stdout stays plain JSON
    assert out.err == f"best 3 of {matches:,} matching turns\n"


_LOADED = """
import json, sys
from coprod_nb.cli import main
status = main(sys.argv[1:])
heavy = ("pandas", "matplotlib.pyplot", "sqlalchemy.orm", "coprod_nb.storage.models",
         "coprod_nb.storage.store", "alembic")
print(json.dumps({"status": status, "loaded": [m for m in heavy if m in sys.modules]}),
      file=sys.stderr)
"""


def test_the_command_line_search_loads_neither_pandas_pyplot_nor_the_orm(tmp_path, db_url):
    import subprocess
    import sys

    store = build_second_study(tmp_path / "second", "transcripts", db_url)
    try:
        expected = [h.turn_id for h in store.search("b*", limit=100_000)]
    finally:
        store.close()
    args = ["search", str(tmp_path / "second"), "b*", "--json", "--limit", "100000"]
    args += ["--db", db_url] if db_url else []
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *args], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stderr.splitlines()[-1])
    assert report == {"status": 0, "loaded": []}
    # the light path finds what the store finds, in the same order
    assert [h["turn_id"] for h in json.loads(done.stdout)] == expected


def test_the_command_line_search_checks_who_is_acting_like_every_command(tmp_path, capsys):
    from coprod_nb.cli import main

    assert main(["search", str(tmp_path / "missing"), "the"]) == 1
    assert capsys.readouterr().err.startswith("error: no study")
    (tmp_path / "empty").mkdir()
    assert main(["search", str(tmp_path / "empty"), "the"]) == 1
    assert capsys.readouterr().err.startswith("error: no study")
    # nothing to search for: refused before the study is opened
    assert main(["search", str(tmp_path / "missing"), '"*"']) == 1
    assert "nothing to search for" in capsys.readouterr().err


def test_the_command_line_search_runs_as_the_connected_role(team, capsys):  # noqa: F811
    from coprod_nb.cli import main

    folder = team.tmp / "moss"
    folder.mkdir()
    args = ["search", str(folder), "library", "--db", team.url("Moss"), "--json"]
    assert main(args) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [h["transcript_id"] for h in hits] == [team.transcript]
    # the store's rule: a declared actor other than the connected role is refused
    assert main([*args, "--as", "Wren"]) == 1
    assert capsys.readouterr().err == (
        f"error: you are connected to the database as {team.logins['Moss']}; "
        "you cannot act as Wren\n"
    )


def _vectors_out_of_step(store: Store) -> tuple[int, int, int]:
    """PostgreSQL: turns, rows of turn_search, and rows whose vector is not their turn's
    text as migration 0018 makes it."""
    from importlib import import_module

    vector_of = import_module(
        "coprod_nb.storage.migrations.versions.0018_turn_search_table"
    ).vector_of
    with store.engine.connect() as conn:
        return tuple(
            conn.exec_driver_sql(
                "SELECT (SELECT count(*) FROM turn), (SELECT count(*) FROM turn_search), "
                "(SELECT count(*) FROM turn t LEFT JOIN turn_search s ON s.id = t.id "
                f"WHERE s.search_vector IS DISTINCT FROM {vector_of('t.text')})"
            ).one()
        )


@pytest.mark.parametrize("stage", ["transcripts", "workshop"])
def test_search_follows_a_pseudonym_that_rewrites_the_turns(tmp_path, db_url, stage):
    store = build_second_study(tmp_path / "second", stage, db_url, actor="rowan")
    postgres = store.engine.dialect.name == "postgresql"
    try:
        if postgres:  # one vector per turn, from the bulk import (the insert trigger)
            turns, vectors, stale = _vectors_out_of_step(store)
            assert turns == vectors > 0 and stale == 0
        before = _same_hits(store, ["minibus", "minibus park"])
        assert before["minibus"] > 0
        assert store.set_pseudonym("Minibus", "Wagonette") > 0  # an UPDATE of those turns
        after = _same_hits(store, ["minibus", "wagonette", "wagon*", '"the wagonette"'])
        assert after["minibus"] == 0 and after["wagonette"] == before["minibus"]
        assert after["wagon*"] == after["wagonette"]
        if postgres:  # the update trigger recomputed exactly the changed turns' vectors
            assert _vectors_out_of_step(store) == (turns, turns, 0)
    finally:
        store.close()


def test_0018_moves_postgresqls_vectors_to_turn_search_and_back(tmp_path, pg_url):
    from alembic import command
    from sqlalchemy import inspect

    from coprod_nb.storage.database import _alembic_config

    store = build_second_study(tmp_path / "second", "joint", pg_url)
    cfg = _alembic_config()

    def migrate(fn, rev):
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, rev)

    def layout():
        found = inspect(store.engine)
        return (
            "turn_search" in found.get_table_names(),
            "search_vector" in {c["name"] for c in found.get_columns("turn")},
        )

    queries = ["resid*", '"health board"', "nurse AND park"]
    try:
        hits = {q: [h.turn_id for h in store.search(q, limit=1000)] for q in queries}
        assert all(hits.values()) and layout() == (True, False)
        migrate(command.downgrade, "0017")
        assert layout() == (False, True)  # the generated column of 0011 again
        migrate(command.upgrade, "head")
        assert layout() == (True, False)
        assert _vectors_out_of_step(store)[1:] == (_vectors_out_of_step(store)[0], 0)
        assert {q: [h.turn_id for h in store.search(q, limit=1000)] for q in queries} == hits
    finally:
        store.close()
