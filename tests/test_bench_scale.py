"""The scale benchmark's size loop, at a tiny size on a real PostgreSQL server.

No timings are asserted: only that one size is built, searched and its notebook run as
the lead's own role, and that every figure is reported (and printable as Markdown).
"""

from __future__ import annotations

import random

from benchmarks import bench_scale
from benchmarks._util import FULL, Context
from benchmarks.markdown import scale_table


def test_study_sizes_grow_with_the_study_within_bounds():
    assert bench_scale.study_sizes(200, FULL)["notes"] == 20_000
    assert bench_scale.study_sizes(200, FULL)["researchers"] == 30
    assert bench_scale.study_sizes(5000, FULL)["notes"] == FULL["notes"]
    assert bench_scale.study_sizes(5000, {**FULL, "notes": 5000})["notes"] == 5000
    assert bench_scale.study_sizes(5000, FULL)["researchers"] == bench_scale.MAX_TEAM
    small = bench_scale.study_sizes(2, FULL)
    assert (small["transcripts"], small["notes"], small["researchers"]) == (2, 200, 3)


def test_one_tiny_size_is_measured_on_postgresql(pg_server, tmp_path):
    ctx = Context(
        sizes={
            **FULL,
            "words": 300,
            "notes": 40,
            "tensions": 6,
            "participants": 4,
            "partnerships": 3,
        },
        seed=random.Random().randrange(100),
        quick=True,
        workdir=tmp_path,
    )
    figures, summary = bench_scale.measure_size(ctx, pg_server, 2, steps=("04_",))

    assert summary["transcripts"] == 2
    assert summary["turns"] > 0 and summary["words"] > summary["turns"]
    assert summary["phases_s"]["import_s"] > 0
    assert summary["phases_s"]["import_cpu_s"] > 0
    assert summary["search_median_ms"] > 0
    assert list(summary["notebooks"]) == ["04_report.ipynb"]
    run = summary["notebooks"]["04_report.ipynb"]
    # The notebook ran to its end on the server, as the lead's role.
    assert run["errors"] == []
    assert run["peak_mb"] and run["peak_mb"] > 0
    names = [f.name for f in figures]
    assert any("import" in n for n in names)
    assert any("search median" in n for n in names)
    assert any("04_report.ipynb, every cell" in n for n in names)
    by_name = {f.name.strip(): f for f in figures}
    whole = by_name["2 transcripts: 04_report.ipynb, every cell"]
    assert whole.floor and whole.floor > 0 and whole.passed is not None
    memory = by_name["kernel peak memory (VmHWM)"]
    assert memory.target_on == "value" and memory.passed is not None
    # The database of the size is dropped once measured.
    import psycopg

    conninfo = pg_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(conninfo) as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'bench_%'")
        assert left.fetchone()[0] == 0

    table = scale_table({"notes": {"scale": {"2": summary}}})
    assert "| 2 |" in table and "04 time / ratio / peak" in table
