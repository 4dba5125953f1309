"""A page of the transcript reader through the excerpt position index (issue 18, 0016).

``turn_page`` reads a page's passages, their notes and their tensions in one joined
query over the index on excerpt ``(transcript_id, start)``. Each page is compared with
the same page built here from the store's public reads (``excerpts``, ``notes``,
``evidence``): the demo, the second study early and late, as a blinded researcher and
as the lead, and a long transcript built small (passages across turns and across
page boundaries). Migration 0016 up and down on SQLite and PostgreSQL, and a study
stamped 0016 while it was a placeholder gets the index when it is opened.
"""

from __future__ import annotations

import random
import shutil

import pytest
from alembic import command
from sqlalchemy import inspect, text

from coprod_nb.domain import RawTurn
from coprod_nb.storage import Store, head_revision
from coprod_nb.storage.database import _alembic_config, current_revision
from coprod_nb.storage.models import Base
from coprod_nb.storage.pages import POSITION_INDEX, turn_page
from tests.acting import as_

PAGE = 7  # a page size that does not divide the transcripts' lengths


def _expected(st, tid: int, start: int, stop: int) -> tuple[list, list]:
    """The page's turn ids and marks, from the store's public, policy-checked reads."""
    turns = st.turns(tid, start, stop)
    if not turns:
        return [], []
    lo, hi = turns[0].char_start, turns[-1].char_end
    me = next(
        (
            r
            for r in st.researchers()
            if st.actor.casefold() in {(r.login or "").casefold(), r.name.casefold()}
        ),
        None,
    )
    my_names = {x.casefold() for x in ((me.login, me.name) if me else ()) if x}
    notes = st.notes()
    evidence = st.evidence()
    code = {t.id: t.code for t in st.tensions()} if evidence else {}
    marks = []
    for ex in st.excerpts(tid):
        if not (ex.start < hi and ex.end > lo):
            continue
        anchored = sorted(
            (n for n in notes if any(e.id == ex.id for e in n.excerpts)),
            key=lambda n: (me is None or n.researcher_id != me.id, n.id),
        )
        ids = {n.id for n in anchored}
        codes = sorted(code[e.tension_id] for e in evidence if e.excerpt_id == ex.id)
        for n in anchored:
            codes += sorted(code[e.tension_id] for e in evidence if e.note_id == n.id)
        marks.append(
            (
                ex.id,
                ex.start,
                ex.end,
                tuple(n.id for n in anchored),
                tuple(dict.fromkeys(n.category for n in anchored)),
                tuple(dict.fromkeys(codes)),
                (ex.created_by or "").casefold() in my_names
                or (me is not None and any(n.researcher_id == me.id for n in anchored)),
            )
        )
        assert ids == set(marks[-1][3])
    marks.sort(key=lambda m: (m[1], m[0]))
    return [t.id for t in turns], marks


def _got(st, tid: int, start: int, stop: int) -> tuple[list, list]:
    page = turn_page(st, tid, start, stop)
    marks = [
        (m.excerpt_id, m.start, m.end, m.notes, m.categories, m.tensions, m.mine)
        for m in page.marks
    ]
    return [t.id for t in page.turns], marks


def _every_page_agrees(st) -> int:
    """Compare every page of every transcript; returns how many marks were compared."""
    compared = 0
    for tr in st.transcripts(text=False):
        total = st.turn_count(tr.id)
        for start in range(0, total + PAGE, PAGE):
            got, want = (
                _got(st, tr.id, start, start + PAGE),
                _expected(st, tr.id, start, start + PAGE),
            )
            assert got == want, f"{tr.title}, turns {start}-{start + PAGE}"
            compared += len(want[1])
    return compared


def test_every_page_of_the_demo_as_each_researcher(demo_template, tmp_path):
    shutil.copytree(demo_template, tmp_path / "demo")
    with Store(tmp_path / "demo", actor="owner") as st:
        names = [r.login or r.name for r in st.researchers()]
        assert len(names) >= 2
        for who in names:
            assert _every_page_agrees(as_(st, who)) > 0, who


@pytest.mark.parametrize("stage", ["recall", "workshop"])
def test_every_page_of_the_second_study_early_and_late(second_study, stage):
    st = second_study(stage, "rowan")
    seen = {}
    for r in st.researchers():
        seen[r.name] = _every_page_agrees(as_(st, r.login or r.name))
    assert sum(seen.values()) > 0
    if stage == "recall":  # blinded: not everyone sees the same passages
        assert len(set(seen.values())) > 1, seen


def _long_study(path, db_url=None, stage: str = "joint") -> tuple[Store, int]:
    """A long transcript built small: 400 turns, passages inside, across turns and across
    page boundaries, some anchored by notes, some evidence for tensions."""
    from tests.second_study import build_second_study

    st = build_second_study(path, stage, db_url)
    rng = random.Random(7)
    words = "pier tide board funding volunteer trust logo chair budget".split()
    turns = [
        RawTurn(
            "Speaker A" if k % 2 else "Interviewer",
            " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + ".",
            k * 3000,
        )
        for k in range(400)
    ]
    pship = st.partnerships()[0].short
    tr = st.add_transcript(
        turns,
        title="Long, built small",
        source_name="long.vtt",
        source_format="vtt",
        content_hash="long-built-small",
        partnership=pship,
    )
    lead = next(r for r in st.researchers() if r.lead)
    other = next(r for r in st.researchers() if not r.lead)
    n = len(tr.text)
    ids = {lead.name: [], other.name: []}
    for k in range(120):
        who = lead if k % 3 else other
        a = rng.randrange(n - 400)
        b = a + rng.randint(1, 300 if k % 5 == 0 else 30)  # every fifth spans turns
        ex = as_(st, who.login or who.name).add_excerpt(tr.id, a, b)
        ids[who.name].append(ex.id)
    categories = st.note_categories()
    for who in (lead, other):
        mine = ids[who.name]
        for k in range(0, len(mine), 4):
            as_(st, who.login or who.name).add_note(
                who.name,
                pship,
                f"on passages {k}",
                category=categories[k % len(categories)],
                excerpts=mine[k : k + 2],
            )
    return st, tr.id


@pytest.mark.parametrize("closed", [False, True], ids=["step 1 open", "step 1 closed"])
def test_a_long_transcript_built_small(tmp_path, closed):
    st, tid = _long_study(tmp_path / "long", stage="joint" if closed else "recall")
    try:
        lead = next(r for r in st.researchers() if r.lead)
        assert (st.step_closure() is not None) == closed
        if closed:
            code = st.tensions()[0].code
            some = [e.id for e in as_(st, lead.login or lead.name).excerpts(tid)][:9]
            as_(st, lead.login or lead.name).attach_evidence(code, excerpts=some)
        counts = []
        for r in st.researchers():
            who = as_(st, r.login or r.name)
            total = st.turn_count(tid)
            compared = 0
            for start in range(0, total, PAGE):
                got = _got(who, tid, start, start + PAGE)
                assert got == _expected(who, tid, start, start + PAGE), (r.name, start)
                compared += len(got[1])
            counts.append(compared)
        assert max(counts) > 40  # passages across page boundaries count on both pages
        if closed:
            assert len(set(counts)) == 1  # everyone sees every passage
            marks = turn_page(st, tid, 0, st.turn_count(tid)).marks
            assert any(m.tensions for m in marks)
        else:
            assert len(set(counts)) > 1
    finally:
        st.close()


def _indexes(engine) -> set[str]:
    return {i["name"] for i in inspect(engine).get_indexes("excerpt")}


def test_the_model_and_the_migrations_declare_the_same_indexes(store):
    """A fresh study (made by the migrations) has the indexes the model declares."""
    insp = inspect(store.engine)
    for table in Base.metadata.sorted_tables:
        declared = {i.name for i in table.indexes}
        found = {i["name"] for i in insp.get_indexes(table.name)}
        assert declared <= found, table.name
    assert POSITION_INDEX in _indexes(store.engine)


def test_migration_0016_down_and_up_on_both_databases(tmp_path, db_url):
    st, tid = _long_study(tmp_path / "long", db_url)
    try:
        before = _got(st, tid, 0, 50)
        cfg = _alembic_config()
        with st.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0015")
        assert POSITION_INDEX not in _indexes(st.engine)
        assert "ix_excerpt_transcript_id" in _indexes(st.engine)
        assert _got(st, tid, 0, 50) == before  # right without it, only slower
        with st.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        assert current_revision(st.engine) == head_revision()
        assert POSITION_INDEX in _indexes(st.engine)
        assert _got(st, tid, 0, 50) == before
    finally:
        st.close()


def test_a_study_stamped_0016_as_a_placeholder_gets_the_index(tmp_path, db_url):
    st = Store(tmp_path / "study", db_url, actor="owner")
    url = st.url
    with st.engine.begin() as conn:
        conn.execute(text(f"DROP INDEX {POSITION_INDEX}"))
    assert POSITION_INDEX not in _indexes(st.engine)
    assert current_revision(st.engine) == head_revision()  # alembic has nothing to run
    st.close()
    with Store(tmp_path / "study", url, actor="owner") as again:
        assert POSITION_INDEX in _indexes(again.engine)


def test_a_page_reads_the_excerpts_through_the_index(tmp_path):
    """SQLite's plan for the page's passages uses the index as a range on ``start``."""
    st, tid = _long_study(tmp_path / "long")
    try:
        with st.engine.connect() as conn:
            plan = conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT id FROM excerpt WHERE transcript_id = :t "
                    'AND start < :hi AND "end" > :lo'
                ),
                {"t": tid, "hi": 500, "lo": 400},
            ).all()
        detail = " ".join(str(r[-1]) for r in plan)
        assert POSITION_INDEX in detail and "start<" in detail.replace(" ", ""), detail
    finally:
        st.close()
