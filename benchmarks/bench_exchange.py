"""REFI-QDA exchange at study scale: the large study exported, and imported into an empty one.

Timed once each (an import of the full study takes seconds): ``export_qdpx`` as the lead,
then ``import_qdpx`` of that file into an empty study as the person working, in wall and
CPU time of the process. Floor of the import: the same file's ``project.qde`` parsed with
lxml and its sources, selections and notes (and one event each) inserted with plain
``executemany`` into a fresh SQLite file: what any importer must do at least. For
information (issue 18 sets no target for it); the import is one transaction since
2026-12-02 (docs/performance.md).
"""

from __future__ import annotations

import sqlite3
import time
import zipfile

from benchmarks._util import Context, Figure

NS = {"q": "urn:QDA-XML:project:1.0"}


def _floor(path, db) -> int:
    """Parse the project and insert its items plainly; returns the rows written."""
    from lxml import etree

    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read("project.qde"))
        texts = {n: zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("Sources/")}
    sources, selections = [], []
    for k, src in enumerate(root.iterfind("q:Sources/q:TextSource", NS)):
        ref = (src.get("plainTextPath") or "").removeprefix("internal://")
        sources.append((k, src.get("name"), texts.get(f"Sources/{ref}", "")))
        for sel in src.iterfind("q:PlainTextSelection", NS):
            selections.append((k, int(sel.get("startPosition")), int(sel.get("endPosition"))))
    notes = [
        (n.findtext("q:PlainTextContent", "", NS),) for n in root.iterfind("q:Notes/q:Note", NS)
    ]
    con = sqlite3.connect(db)
    with con:
        con.executescript(
            "CREATE TABLE source (id INTEGER PRIMARY KEY, name TEXT, text TEXT);"
            "CREATE TABLE sel (source INTEGER, start INTEGER, stop INTEGER);"
            "CREATE TABLE note (text TEXT);"
            "CREATE TABLE event (kind TEXT, n INTEGER);"
        )
        con.executemany("INSERT INTO source VALUES (?, ?, ?)", sources)
        con.executemany("INSERT INTO sel VALUES (?, ?, ?)", selections)
        con.executemany("INSERT INTO note VALUES (?)", notes)
        con.executemany(
            "INSERT INTO event VALUES (?, ?)",
            [("excerpt", k) for k in range(len(selections))]
            + [("note", k) for k in range(len(notes))],
        )
    con.close()
    return len(sources) + len(selections) + len(notes)


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run(ctx: Context) -> list[Figure]:
    from coprod_nb.exchange.refi_qda import export_qdpx, import_qdpx
    from coprod_nb.storage import Store

    with Store(ctx.study_dir, actor="bench") as store:
        lead = next(r for r in store.researchers() if r.lead)
        store.actor = lead.login or lead.name
        path = ctx.workdir / "study.qdpx"
        t_export, c_export, _ = _timed(lambda: export_qdpx(store, path, force=True))
    empty = ctx.workdir / "imported"
    with Store(empty, actor=lead.login or lead.name) as fresh:
        t_import, c_import, summary = _timed(lambda: import_qdpx(fresh, path))
    t_floor, _, rows = _timed(lambda: _floor(path, ctx.workdir / "floor.db"))
    what = (
        f"{len(summary.sources)} sources, {summary.selections} selections, "
        f"{len(summary.notes)} notes"
    )
    figures = [
        Figure("exchange", f"export_qdpx of the study ({what})", t_export, "s"),
        Figure(
            "exchange",
            "import_qdpx into an empty study (one transaction)",
            t_import,
            "s",
            t_floor,
            f"lxml parse + plain executemany of {rows} rows",
            note=f"CPU {c_import:.1f} s; export CPU {c_export:.1f} s",
        ),
    ]
    ctx.add(*figures)
    return figures
