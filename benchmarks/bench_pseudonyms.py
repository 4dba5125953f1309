"""Pseudonyms re-applied over the large study (``Store.reapply_pseudonyms``).

On a copy of the large study: re-applying the key when nothing changes (what every
change of a person's name triggers), then a new pseudonym for a word spoken in many
transcripts (its turns rewritten). Median of 3. Floor: reading every transcript's
text with plain ``sqlite3`` (the least a re-apply must do). Target: the re-apply on 200
transcripts under 0.5 s.

A re-apply skips a transcript whose text and key give its stored digest (migration
0012); the first re-apply of a study whose digests are not stored yet (a study built
before 0012, or stamped while it was a placeholder) passes the key over every text and
is reported on its own line.
"""

from __future__ import annotations

import shutil
import sqlite3

from benchmarks._util import Context, Figure, median_time, timed

TARGET_S = 0.5


def run(ctx: Context, repeat: int = 3) -> list[Figure]:
    from coprod_nb.storage import Store

    study = ctx.workdir / "pseudonym-study"
    shutil.rmtree(study, ignore_errors=True)
    shutil.copytree(ctx.study_dir, study, ignore=shutil.ignore_patterns("backups", "exports"))
    store = Store(study, actor="bench")
    lead = next(r for r in store.researchers() if r.lead)
    store.actor = lead.login or lead.name
    n = len(store.transcripts(text=False))

    def floor_read():
        with sqlite3.connect(study / "study.db") as con:
            return len(con.execute("SELECT id, text FROM transcript").fetchall())

    floor = median_time(floor_read, repeat=repeat)
    first, _ = timed(store.reapply_pseudonyms)
    reapply = median_time(store.reapply_pseudonyms, repeat=repeat)
    seconds, changed = timed(lambda: store.set_pseudonym("Brackenford", "Placeholder Town"))
    store.close()
    shutil.rmtree(study, ignore_errors=True)
    figures = [
        Figure(
            "pseudonyms",
            f"re-apply the key, nothing to change ({n} transcripts)",
            reapply,
            "s",
            floor,
            "sqlite3: read every transcript's text",
            "value",
            TARGET_S,
        ),
        Figure(
            "pseudonyms",
            "  the first re-apply, before the digests are stored (info)",
            first,
            "s",
            floor,
            "sqlite3: read every transcript's text",
        ),
        Figure(
            "pseudonyms",
            f"  a new pseudonym ({changed} turns rewritten, info)",
            seconds,
            "s",
            floor,
            "sqlite3: read every transcript's text",
        ),
    ]
    ctx.add(*figures)
    return figures
