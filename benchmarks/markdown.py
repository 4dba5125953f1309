"""``python -m benchmarks.markdown [RESULTS.json]``: a run's figures as Markdown tables.

For docs/performance.md: the machine and load, then one table of every figure (value,
floor, ratio, target, PASS/MISS), the search growth table (transcripts x database) and,
after ``--only scale``, the PostgreSQL growth table (import, search, notebooks).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks._util import RESULTS


def _num(x, unit: str = "") -> str:
    if x is None or x != x:  # None or NaN
        return ""
    if unit == "x":
        return f"{x:.3g}x" if x < 100 else f"{x:,.0f}x"
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
    return f"{text} {unit}".strip()


def render(data: dict) -> str:
    m = data["machine"]
    lines = [
        f"Run started {data['started']} ({'quick' if data['quick'] else 'full'}), "
        f"{m['cpus']} CPUs, {m['memory_gb']} GB, Python {m['python']}, {m['platform']}; "
        f"load average {', '.join(f'{x:.2f}' for x in m['load_average'] or [])} at the start, "
        f"{', '.join(f'{x:.2f}' for x in data.get('load_average_end') or [])} at the end.",
        "",
        "| benchmark | figure | value | floor | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in data["figures"]:
        result = {True: "**PASS**", False: "**MISS**", None: ""}[f["passed"]]
        floor = _num(f["floor"], f["unit"])
        if floor and f.get("floor_name"):
            floor += f" ({f['floor_name']})"
        note = f" — {f['note']}" if f.get("note") else ""
        lines.append(
            f"| {f['bench']} | {f['name'].strip()}{note} | {_num(f['value'], f['unit'])} | "
            f"{floor} | {_num(f['ratio'], 'x')} | {f['target']} | {result} |"
        )
    met = sum(1 for f in data["figures"] if f["passed"])
    missed = sum(1 for f in data["figures"] if f["passed"] is False)
    lines += ["", f"{met} targets met, {missed} missed.", ""]
    growth = growth_table(data)
    if growth:
        lines += [growth, ""]
    scale = scale_table(data)
    if scale:
        lines += [scale, ""]
    return "\n".join(lines)


def scale_table(data: dict) -> str:
    """``--only scale``: per size, the study, its import, search and each notebook."""
    sizes = data.get("notes", {}).get("scale")
    if not isinstance(sizes, dict) or not sizes:
        return ""
    names = sorted({nb for row in sizes.values() for nb in row["notebooks"]})
    head = ["transcripts", "turns", "words", "import", "search median / p95"]
    head += [f"{name.split('_')[0]} time / ratio / peak" for name in names]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in sorted(sizes, key=int):
        row = sizes[key]
        cells = [
            f"{row['transcripts']:,}",
            f"{row['turns']:,}",
            f"{row['words'] / 1e6:.1f} M",
            _num(row["phases_s"]["import_s"], "s")
            + (
                f" (CPU here {_num(row['phases_s']['import_cpu_s'], 's')})"
                if "import_cpu_s" in row["phases_s"]
                else ""
            ),
            f"{_num(row['search_median_ms'], 'ms')} / {_num(row['search_p95_ms'], 'ms')}",
        ]
        for name in names:
            nb = row["notebooks"].get(name)
            cells.append(
                f"{_num(nb['seconds'], 's')} / {_num(nb['ratio'], 'x')} / "
                f"{_num(nb['peak_mb'], 'MB')}" + (" (raised)" if nb["errors"] else "")
                if nb
                else ""
            )
        out.append("| " + " | ".join(cells) + " |")
    floors = ", ".join(
        f"{int(k):,}: {_num(v['floor_s'], 's')}, {_num(v['floor_mb'], 'MB')}"
        for k, v in sorted(sizes.items(), key=lambda kv: int(kv[0]))
    )
    out += ["", f"Floor (import-only notebook on the same database), by size: {floors}."]
    return "\n".join(out)


def growth_table(data: dict) -> str:
    """Search at each size: median and 95th percentile per database, and the import time."""
    rows: dict[int, dict[str, str]] = {}
    for f in data["figures"]:
        if f["bench"] != "search" or "transcripts" not in f.get("detail", {}):
            continue
        n = f["detail"]["transcripts"]
        db = "sqlite" if "sqlite" in f["name"] else "postgresql"
        times = sorted(t * 1000 for v in f["detail"]["queries"].values() for t in v["runs_ms"])
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] if times else None
        rows.setdefault(n, {})[db] = f"{_num(f['value'], 'ms')} / {_num(p95, 'ms')}"
    if not rows:
        return ""
    notes = data.get("notes", {})
    imports = {k: v for k, v in notes.items() if k.startswith("search_") and "_import_" in k}
    out = [
        "| transcripts | SQLite median / p95 | PostgreSQL median / p95 | import of the slice, "
        "SQLite / PostgreSQL |",
        "|---|---|---|---|",
    ]
    previous = 0
    for n in sorted(rows):
        sq = imports.get(f"search_sqlite_import_{previous}_to_{n}_s")
        pg = imports.get(f"search_postgresql_import_{previous}_to_{n}_s")
        out.append(
            f"| {n:,} | {rows[n].get('sqlite', '')} | {rows[n].get('postgresql', '')} | "
            f"{_num(sq, 's')} / {_num(pg, 's')} |"
        )
        previous = n
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else RESULTS / "latest.json"
    print(render(json.loads(path.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
