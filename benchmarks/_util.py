"""What the benchmark modules share: figures, timing, the run's context, profiles."""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

#: The full study of ``python -m benchmarks``; ``--quick`` uses QUICK instead.
FULL = dict(
    transcripts=200,
    words=8000,
    researchers=30,
    notes=20_000,
    tensions=40,
    participants=30,
    partnerships=20,
)
QUICK = {**FULL, "transcripts": 20, "notes": 2_000}


@dataclass
class Figure:
    """One measured figure, with its floor and its target.

    ``value`` and ``floor`` are in ``unit``; ``ratio`` is value / floor. ``limit`` applies
    to ``ratio`` when ``target_on == "ratio"``, else to ``value``. ``passed`` is None for
    figures reported for information only.
    """

    bench: str
    name: str
    value: float
    unit: str
    floor: float | None = None
    floor_name: str = ""
    target_on: str = ""  # "value", "ratio" or "" (information only)
    limit: float | None = None
    note: str = ""
    detail: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.floor in (None, 0):
            return None
        return self.value / self.floor

    @property
    def passed(self) -> bool | None:
        if not self.target_on or self.limit is None:
            return None
        measured = self.ratio if self.target_on == "ratio" else self.value
        return measured is not None and measured <= self.limit

    @property
    def target(self) -> str:
        if not self.target_on or self.limit is None:
            return ""
        if self.target_on == "ratio":
            return f"ratio <= {self.limit:g}"
        return f"<= {self.limit:g} {self.unit}"

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(ratio=self.ratio, passed=self.passed, target=self.target)
        return d


@dataclass
class Context:
    """Shared by the benchmarks of one run."""

    sizes: dict
    seed: int
    quick: bool
    workdir: Path
    study_dir: Path | None = None  # the large synthetic study, once built
    corpus: Path | None = None  # its transcripts as files (written by bench_ingest)
    profile: bool = False
    search_sizes: tuple[int, ...] | None = None  # bench_search's growth (default: 50, 200, 800)
    scale_sizes: tuple[int, ...] | None = None  # bench_scale's sizes (opt-in: --only scale)
    checkpoint: Callable[[], None] | None = None  # saves the results so far (long runs)
    figures: list[Figure] = field(default_factory=list)
    notes: dict = field(default_factory=dict)

    def rng(self) -> random.Random:
        return random.Random(self.seed)

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_time(fn: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> float:
    """Median seconds of ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    return statistics.median(timed(fn)[0] for _ in range(repeat))


def profile_to_file(ctx: Context, name: str, fn: Callable[[], object], top: int = 30) -> None:
    """With ``--profile``: run ``fn`` once under cProfile, keep the top entries as text."""
    if not ctx.profile:
        return
    prof = cProfile.Profile()
    prof.enable()
    try:
        fn()
    finally:
        prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"profile-{name}.txt").write_text(out.getvalue(), encoding="utf-8")


def machine() -> dict:
    """Facts about the machine the figures were measured on."""
    import platform
    import sys

    mem = None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gb": mem,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
