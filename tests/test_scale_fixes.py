"""The fixes for study scale (issue 18) give what the slow versions gave.

Each test keeps the version it replaced as its oracle: overlaps of every pair of
passages, and pseudonyms re-applied through ORM objects. No timing is asserted.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

from coprod_nb.analysis.interpretation import (  # noqa: E402
    MAX_FIGSIZE,
    MAX_NAMED_COLUMNS,
    _team_notes,
    compare_counts,
    overlaps,
    plot_compare,
    side_by_side,
)
from coprod_nb.analysis.recall import plot_progress, progress_table  # noqa: E402
from coprod_nb.domain import canonical_text, word_count  # noqa: E402
from coprod_nb.seed.synth import build_synthetic_study  # noqa: E402
from coprod_nb.storage import Store, events  # noqa: E402
from coprod_nb.storage.models import Excerpt, Transcript  # noqa: E402
from tests.acting import as_  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# -- overlaps: a sweep per transcript, the same pairs as every pair ----------------------


def old_overlaps(store: Store, viewer: str | None = None) -> pd.DataFrame:
    """The implementation before the sweep: every pair of anchored passages."""
    notes = _team_notes(store, viewer)
    spans = [
        (row.note, row.researcher, row.category, tid, start, end, text)
        for row in notes.itertuples()
        for tid, start, end, text in row.anchors
    ]
    rows = []
    for i, a in enumerate(spans):
        for b in spans[i + 1 :]:
            if a[1] == b[1] or a[3] != b[3] or a[0] == b[0]:
                continue
            if a[4] < b[5] and b[4] < a[5]:
                passage = a[6] if len(a[6]) <= len(b[6]) else b[6]
                rows.append(
                    {
                        "transcript_id": a[3],
                        "passage": passage,
                        "note_a": a[0],
                        "researcher_a": a[1],
                        "category_a": a[2],
                        "note_b": b[0],
                        "researcher_b": b[1],
                        "category_b": b[2],
                        "same_category": a[2] == b[2],
                    }
                )
    return pd.DataFrame(rows, columns=list(overlaps_columns())).drop_duplicates(
        ["note_a", "note_b"]
    )


def overlaps_columns():
    return (
        "transcript_id",
        "passage",
        "note_a",
        "researcher_a",
        "category_a",
        "note_b",
        "researcher_b",
        "category_b",
        "same_category",
    )


def _same_overlaps(store: Store) -> int:
    new, old = overlaps(store), old_overlaps(store)
    pd.testing.assert_frame_equal(new.reset_index(drop=True), old.reset_index(drop=True))
    return len(new)


def test_overlaps_are_those_of_every_pair_on_a_synthetic_study(tmp_path):
    # Many notes on few short transcripts: passages overlap often, also within a note.
    store = build_synthetic_study(
        tmp_path / "synth",
        transcripts=3,
        words=900,
        researchers=6,
        notes=500,
        tensions=4,
        participants=6,
        partnerships=3,
        progress=False,
    )
    try:
        assert _same_overlaps(store) > 50
        # a deleted note drops out of both
        first = overlaps(store).iloc[0]
        victim = int(first.note_a)
        as_(store, first.researcher_a).delete_note(victim, first.researcher_a)
        assert victim not in set(overlaps(store).note_a) | set(overlaps(store).note_b)
        _same_overlaps(store)
    finally:
        store.close()


def test_overlaps_are_those_of_every_pair_on_the_second_study_and_the_demo(
    second_study, joint_demo
):
    _same_overlaps(second_study("joint"))
    _same_overlaps(joint_demo)


def old_side_by_side(store: Store, viewer: str | None, partnership: str) -> pd.DataFrame:
    """The implementation before: every note loaded, one partnership kept."""
    notes = _team_notes(store, viewer)
    notes = notes[notes.partnership == store.partnership(partnership).short]
    columns = {}
    for r in store.researchers():
        mine = notes[notes.researcher == r.name]
        columns[r.name] = [f"[{c}] {t}" for c, t in zip(mine.category, mine.text, strict=True)]
    depth = max((len(v) for v in columns.values()), default=0)
    return pd.DataFrame({k: v + [""] * (depth - len(v)) for k, v in columns.items()})


def test_side_by_side_loads_one_partnership_and_gives_the_same_table(second_study, joint_demo):
    for store in (second_study("joint"), joint_demo):
        for p in store.partnerships():
            got = side_by_side(store, None, p.short)
            pd.testing.assert_frame_equal(got, old_side_by_side(store, None, p.short))


def test_plot_compare_of_a_large_grid_is_bounded():
    counts = pd.DataFrame(
        [
            {"researcher": f"R{r:02}", "partnership": f"P{p:02}", "category": c, "notes": r + p}
            for r in range(30)
            for p in range(20)
            for c in ("a", "b", "c", "d")
        ]
    )
    ax = plot_compare(counts)
    ax.figure.canvas.draw()
    width, height = ax.figure.get_size_inches()
    assert width <= MAX_FIGSIZE[0] and height <= MAX_FIGSIZE[1]
    assert len(ax.texts) == 0 and 0 < len(ax.get_xticklabels()) <= MAX_NAMED_COLUMNS


def test_plot_compare_of_the_second_study_names_every_column(second_study):
    counts = compare_counts(second_study("joint"))
    ax = plot_compare(counts)
    assert len(ax.get_xticklabels()) == 3 * 3  # partnerships x categories
    assert len(ax.texts) == 3 * 3 * 3  # small: every cell labelled


def test_plot_evidence_is_bounded_and_labels_a_small_study(second_study):
    from coprod_nb.analysis.interpretation import evidence_matrix, plot_evidence

    big = pd.DataFrame(
        [
            {"tension": f"T{t:02}", "partnership": f"P{p:02}", "total": t * p}
            for t in range(40)
            for p in range(20)
        ]
    )
    ax = plot_evidence(big)
    width, height = ax.figure.get_size_inches()
    assert width <= MAX_FIGSIZE[0] and height <= MAX_FIGSIZE[1] and len(ax.texts) == 0
    small = evidence_matrix(second_study("joint"))
    ax = plot_evidence(small)
    assert len(ax.texts) == small.tension.nunique() * 3  # three partnerships


# -- pseudonyms: set-based rewrites, the same study as through the ORM ----------------


def old_reapply(store: Store) -> int:
    """The implementation before set-based SQL: every turn through the ORM."""
    key = store.pseudonym_key()
    changed_total = 0
    with store.session() as s:
        for tr in s.scalars(select(Transcript)):
            new_text, moved = key.apply_mapped(tr.text)
            if new_text == tr.text:
                continue
            changed, pairs = 0, []
            for turn in tr.turns:
                speaker, text = key.apply(turn.speaker), key.apply(turn.text)
                if (speaker, text) != (turn.speaker, turn.text):
                    changed += 1
                turn.speaker, turn.text = speaker, text
                pairs.append((speaker, text))
            tr.text, spans = canonical_text(pairs)
            for turn, span in zip(tr.turns, spans, strict=True):
                turn.char_start, turn.char_end = span.start, span.end
            for ex in s.scalars(select(Excerpt).where(Excerpt.transcript_id == tr.id)):
                ex.start, ex.end = moved(ex.start), moved(ex.end)
                ex.text = tr.text[ex.start : ex.end]
            tr.word_count = sum(word_count(t) for _, t in pairs)
            events.log(
                s,
                store.actor,
                "pseudonymise",
                "transcript",
                tr.id,
                detail=f"{changed} turns changed",
            )
            changed_total += changed
    return changed_total


def _dump(db) -> dict:
    with closing(sqlite3.connect(db)) as con:
        out = {
            "turn": con.execute("SELECT * FROM turn ORDER BY id").fetchall(),
            "transcript": con.execute(
                "SELECT id, text, word_count FROM transcript ORDER BY id"
            ).fetchall(),
            "excerpt": con.execute(
                'SELECT id, start, "end", text FROM excerpt ORDER BY id'
            ).fetchall(),
            # the wording of the detail is not the point, the number of turns is
            "events": [
                (a, t, i, re.findall(r"\d+", d))
                for a, t, i, d in con.execute(
                    "SELECT action, object_type, object_id, detail FROM event ORDER BY id"
                )
            ],
            # the search index follows the changed turns
            "fts": con.execute(
                "SELECT rowid FROM turn_fts WHERE turn_fts MATCH '\"Shuttlecraft\"' ORDER BY rowid"
            ).fetchall(),
        }
    return out


def _first_speaker(db) -> str:
    # A word of a speaker label the study itself holds (no demo name in the test): the
    # last name of the first two-word label, which is not a pseudonym on its own.
    with closing(sqlite3.connect(db)) as con:
        sql = "SELECT speaker FROM turn WHERE speaker LIKE '% %' ORDER BY id"
        return con.execute(sql).fetchone()[0].split()[-1]


@pytest.fixture(params=["second", "demo"])
def two_copies(request, tmp_path, second_templates, demo_template):
    """Two copies of a study (the second at recall, the full demo): new and oracle."""
    base = second_templates("recall") if request.param == "second" else demo_template
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    shutil.copytree(base, old_dir)
    shutil.copytree(base, new_dir)
    with closing(sqlite3.connect(new_dir / "study.db")) as con:
        actor = con.execute("SELECT login FROM researcher WHERE lead ORDER BY id").fetchone()[0]
    new, old = Store(new_dir, actor=actor), Store(old_dir, actor=actor)
    yield new, old
    new.close()
    old.close()


@pytest.mark.parametrize(
    "names",
    [
        # words every study has, so that no name of either study is in the test
        [("we", "Shuttlecraft")],
        [("because", "Shuttlecraft"), ("that", "Panel")],
        [("The", "Shuttlecraft")],  # at the start of turns, right after "Speaker: "
        [("and", "Shuttlecraft"), ("of", "Shuttlecraft Panel")],  # most turns, twice
        [("the", "Shuttlecraft"), ("the", "Shuttlecraft Panels")],  # an entry changed
        [("speaker", "Shuttlecraft")],  # a speaker label: every one of its turns
    ],
)
def test_pseudonyms_reapplied_set_based_give_the_orm_result(two_copies, names):
    new, old = two_copies
    for i, (real, pseudo) in enumerate(names):
        real = _first_speaker(new.study_dir / "study.db") if real == "speaker" else real
        changed = new.set_pseudonym(real, pseudo)
        old.set_pseudonym(real, pseudo, reapply=False)
        # a changed entry changes nothing more: the text holds the first pseudonym
        assert changed == old_reapply(old) and (changed > 0 or i > 0)
    assert new.reapply_pseudonyms() == 0 == old_reapply(old)  # nothing left to change
    got, want = _dump(new.study_dir / "study.db"), _dump(old.study_dir / "study.db")
    assert got["excerpt"] and (got["fts"] or names[0][0] == "speaker")  # labels: not indexed
    assert got == want


def test_a_transcript_whose_text_changed_is_pseudonymised_again(two_copies):
    # The key is unchanged, but a real name came into one transcript's text since the
    # last re-apply (written here with plain SQL, as any other writer would): its stored
    # digest no longer matches, so it is not skipped.
    new, old = two_copies
    for st in (new, old):
        st.set_pseudonym("Zebulon", "Shuttlecraft")
    assert new.reapply_pseudonyms() == 0
    for st in (new, old):
        with closing(sqlite3.connect(st.study_dir / "study.db")) as con, con:
            tid, tid_text = con.execute("SELECT id, text FROM transcript ORDER BY id").fetchone()
            last = con.execute(
                "SELECT id FROM turn WHERE transcript_id = ? ORDER BY seq DESC", (tid,)
            ).fetchone()[0]
            con.execute(
                "UPDATE turn SET text = text || ' Zebulon', char_end = char_end + 8 WHERE id = ?",
                (last,),
            )
            con.execute(
                "UPDATE transcript SET text = ?, word_count = word_count + 1 WHERE id = ?",
                (tid_text[:-1] + " Zebulon\n", tid),
            )
    assert new.reapply_pseudonyms() == 1 == old_reapply(old)
    assert new.reapply_pseudonyms() == 0 == old_reapply(old)
    got, want = _dump(new.study_dir / "study.db"), _dump(old.study_dir / "study.db")
    assert got == want
    assert "Zebulon" not in "".join(text for _, text, _ in got["transcript"])


# -- plot_progress: bounded like plot_compare, no transcript text loaded ---------------


def test_plot_progress_of_a_large_study_is_bounded():
    progress = pd.DataFrame(
        [
            {
                "researcher": f"R{r:02}",
                "transcript": f"T{t:03}",
                "partnership": "P",
                "read": (r + t) % 3 == 0,
                "notes": (r * t) % 7,
            }
            for r in range(30)
            for t in range(200)
        ]
    )
    ax = plot_progress(progress)
    ax.figure.canvas.draw()
    width, height = ax.figure.get_size_inches()
    assert width <= MAX_FIGSIZE[0] and height <= MAX_FIGSIZE[1]
    assert len(ax.texts) == 0  # no 6,000 labels
    assert 0 < len(ax.get_xticklabels()) <= MAX_NAMED_COLUMNS
    # the cells a mesh (no image resampled to the figure's pixels), the read ones dotted
    mesh, dots = ax.collections
    assert type(mesh).__name__ == "QuadMesh" and not ax.images[0].get_visible()
    assert len(dots.get_offsets()) == int(progress["read"].sum())


def test_progress_of_the_second_study_is_labelled_and_reads_no_transcript_text(second_study):
    store = as_(second_study("recall"), "Quill")
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        table = progress_table(store)
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    assert not [q for q in statements if "transcript.text" in q]
    assert statements  # the listener saw the queries
    ax = plot_progress(table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Quill", "Rowan", "Tamsin"]
    assert len(ax.texts) == table.shape[0]  # small: every cell labelled, as before


# -- the command line's search imports neither pandas nor pyplot -----------------------


def test_cli_search_imports_no_pandas_or_pyplot(second_study):
    store = second_study("transcripts")
    store.close()
    code = (
        "import sys\n"
        "from coprod_nb.cli import main\n"
        f"status = main(['search', {str(store.study_dir)!r}, 'resid*'])\n"
        "heavy = sorted(m for m in ('pandas', 'matplotlib.pyplot', 'ipywidgets', 'numpy')"
        " if m in sys.modules)\n"
        "print('HEAVY', heavy, status)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert "HEAVY [] 0" in out, out
    assert "**residents**" in out


# -- Store.turns finds its transcript without reading the text ------------------------


def test_turns_read_no_transcript_text(second_study):
    from coprod_nb.errors import NotFound

    store = second_study("transcripts")
    tr = store.transcripts(text=False)[0]
    statements = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        for ref in (tr.id, str(tr.id), tr.title, tr.title.upper(), tr.source_name):
            assert [t.seq for t in store.turns(ref, 1, 3)] == [1, 2]
            assert store.turn_count(ref) == len(store.turns(tr.id))
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    assert statements and not [q for q in statements if "transcript.text" in q]
    with pytest.raises(NotFound, match="no transcript"):
        store.turns("no such conversation")


def test_migration_0012_downgrades_and_upgrades_and_the_key_still_applies(two_copies):
    # Without the digests (downgraded, or a study stamped while 0012 was a placeholder)
    # the key is applied to every transcript, as the oracle does; back at the head the
    # digests are stored again and a second re-apply finds nothing to do.
    from alembic import command
    from sqlalchemy import inspect

    from coprod_nb.storage import head_revision
    from coprod_nb.storage.database import _alembic_config, current_revision

    new, old = two_copies
    cfg = _alembic_config()

    def digests() -> list:
        with closing(sqlite3.connect(new.study_dir / "study.db")) as con:
            return [d for (d,) in con.execute("SELECT key_digest FROM transcript")]

    with new.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
    assert "key_digest" not in {c["name"] for c in inspect(new.engine).get_columns("transcript")}
    for st in (new, old):
        st.set_pseudonym("because", "Shuttlecraft", reapply=False)
    assert new.reapply_pseudonyms() == old_reapply(old) > 0
    with new.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert current_revision(new.engine) == head_revision()
    assert set(digests()) == {None}  # the column came back empty
    assert new.reapply_pseudonyms() == 0 == old_reapply(old)
    assert None not in digests()
    assert _dump(new.study_dir / "study.db") == _dump(old.study_dir / "study.db")
