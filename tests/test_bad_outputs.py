"""Output paths that must be refused, on the demo and on the second study (issue 15, 1-3).

Every output command (report, resource-pack, notes, export csv/xlsx/qdpx) goes through one
rule, ``coprod_nb/exchange/outputs.py``. Each refused case runs through
``tests/badinput.py``'s ``assert_refused``: exit status 1, a message naming the path and the
problem, no traceback, every table's checksum unchanged, nothing written outside the study
folder (nor in /tmp) and nothing new inside it.
"""

from __future__ import annotations

import ast
import csv
import html
import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# Imported here so that matplotlib's first import (it creates its config and cache folders
# in the home folder) is not counted as a write of the command under test.
import coprod_nb.analysis  # noqa: F401
import coprod_nb.exchange.report  # noqa: F401

from .badinput import assert_refused, files_under, run_cli, table_checksums

ROOT = Path(__file__).resolve().parents[1]

# Who works on each study (a researcher, so that `notes` reaches its output path).
STUDIES = {"demo": "cedar", "second": "rowan"}

COMMANDS = {
    "report": lambda s, out: ["report", s, "--format", "html", out],
    "resource-pack": lambda s, out: ["resource-pack", s, "--format", "html", out],
    "notes-md": lambda s, out: ["notes", s, "--format", "md", out],
    "notes-csv": lambda s, out: ["notes", s, "--format", "csv", out],
    "export-xlsx": lambda s, out: ["export", s, "--format", "xlsx", out],
    "export-qdpx": lambda s, out: ["export", s, "--format", "qdpx", out],
    "export-csv": lambda s, out: ["export", s, "--format", "csv", out],
}
FILE_COMMANDS = [c for c in COMMANDS if c != "export-csv"]  # export-csv writes a folder


@pytest.fixture(params=sorted(STUDIES))
def study(request, tmp_path, second_templates):
    """(study folder, login of the person working): the demo or the second study."""
    if request.param == "demo":
        template = request.getfixturevalue("demo_template")
    else:
        template = second_templates("workshop")
    dest = tmp_path / request.param
    shutil.copytree(template, dest)
    return dest, STUDIES[request.param]


def _argv(command: str, study: Path, login: str, out) -> list[str]:
    return [*COMMANDS[command](str(study), str(out)), "--as", login, "-q"]


def _refused(command, study, login, out, capsys, *names):
    return assert_refused(_argv(command, study, login, out), study, capsys, names=names)


# -- the record itself --------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_study_database_is_never_an_output(command, study, capsys):
    folder, login = study
    _refused(command, folder, login, folder / "study.db", capsys, "study.db", "study database")


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("side", ["-wal", "-shm", "-journal"])
def test_the_databases_side_files_are_never_an_output(command, side, study, capsys):
    folder, login = study
    target = folder / f"study.db{side}"
    _refused(command, folder, login, target, capsys, target.name, "study database")


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_backup_is_never_an_output(command, study, capsys, tmp_path):
    folder, login = study
    backup = folder / "study.backup-0007-20260101-000000.db"
    shutil.copyfile(folder / "study.db", backup)
    before = backup.read_bytes()
    _refused(command, folder, login, backup, capsys, backup.name, "backup")
    assert backup.read_bytes() == before
    (folder / "backups").mkdir()
    inside = folder / "backups" / "report.html"
    _refused(command, folder, login, inside, capsys, str(inside), "backup folder")


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_symbolic_link_relative_path_or_hard_link_to_the_database_is_refused(
    command, study, capsys, tmp_path, monkeypatch
):
    folder, login = study
    link = tmp_path / "innocent.html"
    link.symlink_to(folder / "study.db")
    _refused(command, folder, login, link, capsys, str(link), "study database")
    hard = tmp_path / "hard.html"
    os.link(folder / "study.db", hard)
    _refused(command, folder, login, hard, capsys, str(hard), "study database")
    monkeypatch.chdir(tmp_path)
    relative = Path(folder.name) / ".." / folder.name / "study.db"
    _refused(command, folder, login, relative, capsys, "study.db", "study database")


# -- paths that cannot be an output -------------------------------------------------------


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_folder_given_as_the_file_is_refused(command, study, capsys, tmp_path):
    folder, login = study
    _refused(command, folder, login, tmp_path, capsys, str(tmp_path), "is a folder")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_missing_folder_is_refused(command, study, capsys, tmp_path):
    folder, login = study
    out = tmp_path / "nowhere" / "out.xlsx"
    _refused(command, folder, login, out, capsys, str(out.parent), "does not exist")
    assert not out.parent.exists()


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_a_path_through_a_file_is_refused(command, study, capsys, tmp_path):
    folder, login = study
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    out = tmp_path / "a-file" / "out.xlsx"
    _refused(command, folder, login, out, capsys, str(out), "is a file, not a folder")


@pytest.mark.parametrize("command", FILE_COMMANDS)
def test_an_unwritable_place_is_refused(command, study, capsys, tmp_path):
    folder, login = study
    if os.geteuid() == 0:
        # root writes into any folder whatever its mode; /sys refuses a new file even to root
        out = Path("/sys/coprod-out.xlsx")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        out = locked / "out.xlsx"  # a name every command takes (xlsx wants .xlsx)
    try:
        # The attempt to create a file there is recorded as a write (it fails): allow it
        # there, and check below that nothing was left.
        assert_refused(
            _argv(command, folder, login, out),
            folder,
            capsys,
            names=(str(out), "permission denied"),
            allowed_outside=(out.parent,),
        )
    finally:
        if out.parent != Path("/sys"):
            out.parent.chmod(0o700)
    assert not list(out.parent.glob(f"*{out.name}*"))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_existing_output_is_replaced_only_with_force(command, study, capsys, tmp_path):
    folder, login = study
    if command == "export-csv":
        out = tmp_path / "tables"
        out.mkdir()
        old = out / "README.txt"
    else:
        out = old = tmp_path / ("old.xlsx" if command == "export-xlsx" else "old.out")
    old.write_text("old", encoding="utf-8")
    _refused(command, folder, login, out, capsys, str(old), "already exists", "--force")
    assert old.read_text(encoding="utf-8") == "old"
    status, _, err, _ = run_cli([*_argv(command, folder, login, out), "--force"], capsys)
    assert status == 0, err
    assert old.read_bytes() != b"old"
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()], "a temporary file was left"


# -- a full disk ---------------------------------------------------------------------------


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    return done.returncode == 0


def test_a_full_disk_keeps_the_old_output(study, capsys, tmp_path):
    """ENOSPC on a small tmpfs (root can mount one); else see the file size limit test."""
    folder, login = study
    disk = tmp_path / "small"
    if os.geteuid() != 0 or not _mount_tmpfs(disk, "64k"):
        pytest.skip("no tmpfs can be mounted here; test_a_file_size_limit_* covers the case")
    try:
        old = disk / "report.html"
        old.write_text("the old report", encoding="utf-8")
        argv = [*_argv("report", folder, login, old), "--force"]
        assert_refused(
            argv, folder, capsys, names=(str(old), "disk is full"), allowed_outside=(disk,)
        )
        assert old.read_text(encoding="utf-8") == "the old report"
        assert sorted(p.name for p in disk.iterdir()) == ["report.html"], "a half file was left"
    finally:
        subprocess.run(["umount", str(disk)], check=True)


LIMIT = 40_000  # bytes a file of the child process may grow to


def _limited(limit: int):
    def set_limit():
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so that a write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return set_limit


@pytest.mark.parametrize("command", ["report", "export-xlsx"])
def test_a_file_size_limit_keeps_the_old_output(command, study, tmp_path):
    """``ulimit -f`` in a child process: the write fails (EFBIG), the old file stays."""
    folder, login = study
    # SQLite needs its 32 KiB -shm file under the limit too: the output is made larger.
    _write_notes(
        folder, login, ["".join(random.Random(n).choices("abcdefgh ", k=30_000)) for n in range(3)]
    )
    old = tmp_path / ("report.html" if command == "report" else "tables.xlsx")
    old.write_text("the old output", encoding="utf-8")
    before = table_checksums(folder / "study.db")
    inside = files_under(folder)
    done = subprocess.run(
        [sys.executable, "-m", "coprod_nb.cli", *_argv(command, folder, login, old), "--force"],
        capture_output=True,
        text=True,
        preexec_fn=_limited(LIMIT),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.startswith("error: ") and str(old) in done.stderr
    assert "larger than this place allows" in done.stderr and "kept" in done.stderr
    assert old.read_text(encoding="utf-8") == "the old output"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([folder.name, old.name])
    assert table_checksums(folder / "study.db") == before
    assert files_under(folder) - inside <= {"study.db-wal", "study.db-shm", "study.db-journal"}


# -- one table writer, quoting and the formula guard --------------------------------------

HOSTILE = "x\r=cmd|' /C calc'!A0"
FORMULAS = ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1")


def _write_notes(folder: Path, login: str, texts) -> None:
    from coprod_nb.storage import Store

    with Store(folder, actor=login) as st:
        me = st.acting_researcher()
        short = st.partnerships()[0].short
        for text in texts:
            st.add_note(me.name, short, text, category=st.note_categories()[0])


def _write_hostile_note(folder: Path, login: str) -> None:
    _write_notes(folder, login, (HOSTILE, *FORMULAS))


def _rows(path: Path) -> list[list[str]]:
    # bytes, not read_text: universal newlines would turn a "\r" inside a cell into "\n"
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def test_a_carriage_return_stays_inside_its_cell_in_every_csv(study, tmp_path, capsys):
    folder, login = study
    _write_hostile_note(folder, login)
    notes, tables = tmp_path / "notes.csv", tmp_path / "tables"
    for argv in (
        _argv("notes-csv", folder, login, notes),
        _argv("export-csv", folder, login, tables),
    ):
        status, _, err, _ = run_cli(argv, capsys)
        assert status == 0, err
    for path in (notes, tables / "notes.csv"):
        rows = _rows(path)
        width = len(rows[0])
        assert all(len(r) == width for r in rows), f"{path.name}: a row of another width"
        cells = [c for r in rows[1:] for c in r]
        assert HOSTILE in cells  # one cell, read back whole
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
        assert {"'" + f for f in FORMULAS} <= set(cells)
    for path in tables.glob("*.csv"):
        cells = [c for r in _rows(path) for c in r]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], path.name
    book = tmp_path / "tables.xlsx"
    status, _, err, _ = run_cli(_argv("export-xlsx", folder, login, book), capsys)
    assert status == 0, err
    import openpyxl

    values = [
        c.value
        for ws in openpyxl.load_workbook(book).worksheets
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str)
    ]
    assert HOSTILE in values and {"'" + f for f in FORMULAS} <= set(values)
    assert not [v for v in values if v.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_libreoffice_reads_the_hostile_cell_as_one_cell(study, tmp_path, capsys):
    soffice = shutil.which("soffice")
    if soffice is None:
        from .conftest import missing

        missing("LibreOffice (soffice) not found")
    folder, login = study
    _write_hostile_note(folder, login)
    notes = tmp_path / "notes.csv"
    status, _, err, _ = run_cli(_argv("notes-csv", folder, login, notes), capsys)
    assert status == 0, err
    home = tmp_path / "lo-home"
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{home}",
            "--headless",
            "--convert-to",
            "html",
            "--infilter=CSV:44,34,76",
            "--outdir",
            str(tmp_path / "lo"),
            str(notes),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "lo" / "notes.html").read_text(encoding="utf-8", errors="replace")
    rows = re.findall(r"<tr.*?</tr>", page, re.S)
    n_notes = len(_rows(notes)) - 1
    assert len(rows) == 1 + n_notes, "LibreOffice started a row inside a cell"
    texts = [html.unescape(re.sub(r"<[^>]+>", "", r)) for r in rows]
    assert not [t for t in texts if "cmd|" in t and not re.search(r"x\s*=cmd", t)]


WRITERS = re.compile(
    r"\bto_csv\b|\bcsv\.(?:writer|DictWriter)\b|\bto_excel\b|\bopenpyxl\b|ExcelWriter"
)


def test_the_package_has_one_table_writer():
    found = []
    for path in sorted((ROOT / "coprod_nb").rglob("*.py")):
        if path == ROOT / "coprod_nb" / "exchange" / "tables.py":
            continue
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            names = []
            if isinstance(node, ast.Attribute):
                names.append(node.attr)
            elif isinstance(node, ast.Name):
                names.append(node.id)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names += [a.name for a in node.names] + [getattr(node, "module", "") or ""]
            for name in names:
                if WRITERS.search(name) or name in ("writer", "DictWriter") and "csv" in source:
                    found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')} {name}")
    assert not found, "CSV/XLSX written outside coprod_nb/exchange/tables.py: " + ", ".join(found)


# -- Markdown outputs ----------------------------------------------------------------------

TYPED = [
    "[x](javascript:alert(1))",
    "![i](http://host/x.png)",
    "a | b | c",
    "# a heading",
    "*emphasis* and __strong__",
    "```",
    "<http://host/auto>",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "1. not a list",
    "- not a list",
    "===",
    "    not code",
    "&amp; stays &amp;",
    "back\\slash ~~not struck~~ $not maths$",
    "[ref]: http://host/",
]


def _render(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(text)


def _visible(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


@pytest.mark.parametrize("typed", TYPED)
def test_the_markdown_escape_shows_typed_text_as_itself(typed):
    from coprod_nb.domain.markdown import md_cell, md_line, md_text

    for escaped in (md_text(typed), md_line(typed)):
        out = _render(escaped)
        assert not re.search(r"<(a|img|script|h\d|em|strong|code|pre|del|ol|ul|hr|table)\b", out)
        assert _visible(out).strip() == typed.strip()
    table = _render(f"| a | b |\n|---|---|\n| {md_cell(typed)} | z |\n")
    assert len(re.findall(r"<td", table)) == 2, "an extra table cell"
    assert not re.search(r"<(a|img|script)\b", table)


def test_the_notes_export_and_the_report_escape_and_pseudonymise(study, tmp_path, capsys):
    from coprod_nb.storage import Store

    folder, login = study
    with Store(folder, actor=login) as st:
        real, pseudonym = next(iter(st.pseudonym_key().mapping.items()))
        me = st.acting_researcher()
        short = st.partnerships()[0].short
        for text in TYPED:
            st.add_note(me.name, short, f"{text} said {real}", category=st.note_categories()[0])
    out = tmp_path / "notes.md"
    status, _, err, _ = run_cli(_argv("notes-md", folder, login, out), capsys)
    assert status == 0, err
    text = out.read_text(encoding="utf-8")
    assert real not in text and f"said {pseudonym}" in text
    rendered = _render(text)
    assert not re.search(r"<(a|img|script|table)\b", rendered)
    visible = _visible(rendered)
    for typed in TYPED:
        assert f"{typed.strip()} said {pseudonym}" in visible
    csv_out = tmp_path / "notes.csv"
    status, _, err, _ = run_cli(_argv("notes-csv", folder, login, csv_out), capsys)
    assert status == 0, err
    assert real not in csv_out.read_text(encoding="utf-8")


def test_the_markdown_report_shows_typed_text_as_text(demo_template, tmp_path):
    from dataclasses import replace

    from coprod_nb.exchange.report import build_report, render_markdown
    from coprod_nb.storage import Store

    folder = tmp_path / "demo"
    shutil.copytree(demo_template, folder)
    with Store(folder, actor="tester") as st:
        report = build_report(st)
    hostile = "\n".join(TYPED)
    tension = replace(report.tensions[0], name=TYPED[0], description=hostile)
    report = replace(report, description=hostile, notes=tuple(TYPED), tensions=(tension,))
    rendered = _render(render_markdown(report, "figures"))
    assert not re.search(r"<(a|script)\b", rendered)
    # the report's own figures are its only images
    assert len(re.findall(r"<img\b", rendered)) == len(
        [f for f in (tension.spectrum, report.lineage_figure) if f is not None]
    )
    assert all('src="figures/' in i for i in re.findall(r"<img[^>]*>", rendered))
    visible = _visible(rendered)
    for typed in TYPED:
        assert typed.strip() in visible
