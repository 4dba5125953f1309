"""Bad input files through the entry points a user would use: refused cleanly, nothing changed.

The corpus is ``tests/data/bad``; its README's table says what is wrong with each file and
what must happen, and is read here as the test data. Each file goes, as a user would
send it, to the command line (``import``, ``decisions ... apply``, ``init --manifest``) or
to the library's resource-pack reader, against a private copy of the demo study. Then:

- an error is exit status 1 with a message naming the file, the problem and (where the
  README says so) the place; a documented warning imports and prints the warning;
- no traceback;
- the study's counts (``study_info``) are unchanged (one transcript more for a warning);
- nothing is written outside the study folder: not next to the input, not in /tmp.

Files too big to commit (50 MiB without a line break, a sparse 1 GiB file, zip bombs) are
made at test time and run in a subprocess that reports its peak memory.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from coprod_nb.analysis import study_info
from coprod_nb.cli import main
from coprod_nb.errors import InvalidInput, NotFound
from coprod_nb.storage import Store

from .badinput import files_under, new_tmp_names, outside, recording, tmp_names, written_paths

BAD = Path(__file__).parent / "data" / "bad"
ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20
MEMORY_LIMIT_MB = 400
# SQLite's own side files may appear in the study folder; nothing else may.
SQLITE_SIDE_FILES = {"study.db-wal", "study.db-shm", "study.db-journal"}


@dataclass(frozen=True)
class Row:
    """One row of the corpus README's table."""

    file: str
    entry: str
    wrong: str
    outcome: str  # "error" or "warning"
    message: str
    place: str | None


_ROW = re.compile(
    r"^\| `(?P<file>[^`]+)` \| `(?P<entry>\w+)` \| (?P<wrong>.+?) \| "
    r"(?P<outcome>error|warning)[^|]* \| `(?P<message>[^`]+)` \| (?:`(?P<place>[^`]+)`)? *\|$"
)


def _rows() -> list[Row]:
    rows = []
    for line in (BAD / "README.md").read_text(encoding="utf-8").splitlines():
        if m := _ROW.match(line):
            rows.append(Row(**m.groupdict()))
    return rows


ROWS = _rows()

# Rows the library does not pass yet: each names the bug (see the report of this change).
XFAIL: dict[tuple[str, str], str] = {}  # (file, entry) -> the bug, for a row not passed yet


def _params():
    for row in ROWS:
        key = (row.file, row.entry)
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[key])] if key in XFAIL else []
        yield pytest.param(row, id=f"{row.entry}:{row.file}", marks=marks)


@pytest.fixture(autouse=True)
def _own_database(monkeypatch):
    """The study folder's own SQLite file, whatever the environment says."""
    monkeypatch.delenv("COPROD_DB", raising=False)
    monkeypatch.setenv("COPROD_USER", "tester")


# --------------------------------------------------------------------------- helpers


def _info(study: Path) -> dict:
    with Store(study, actor="tester", create=False) as store:
        info = study_info(store)
        try:
            info["card_responses"] = len(store.responses())
        except NotFound:  # no workshop yet
            info["card_responses"] = 0
    return info


_files = files_under
_tmp_names = tmp_names
_written_paths = written_paths
_outside = outside
_new_tmp_names = new_tmp_names


@pytest.fixture(scope="session")
def _audit_hook():
    """Kept for the tests below: the kit's recorder hooks itself on first use."""


def _argv(entry: str, study: Path, path: Path) -> list[str]:
    common = ["-q", "--as", "tester"]
    if entry == "import":
        return ["import", str(study), str(path), *common]
    if entry == "decisions":
        return ["decisions", str(study), "apply", str(path), *common]
    if entry == "manifest":
        return ["init", str(study), "--manifest", str(path), *common]
    raise AssertionError(f"unknown entry point {entry!r} in the corpus README")


def _run(entry: str, study: Path, path: Path, capsys) -> tuple[int, str, str, list[str]]:
    """Run one entry point; an uncaught exception is what a user would see as a traceback.

    Returns the exit status, standard output and error, and every path written meanwhile.
    """
    capsys.readouterr()
    with recording() as written:
        status, out, err = _call(entry, study, path, capsys)
    return status, out, err, written


def _call(entry: str, study: Path, path: Path, capsys) -> tuple[int, str, str]:
    try:
        if entry == "pack":
            from coprod_nb.exchange.pack_builder import import_pack_response

            with Store(study, actor="tester", create=False) as store:
                try:
                    import_pack_response(store, None, path)
                except InvalidInput as exc:  # the library's way of saying "error: ..."
                    return 1, "", f"error: {exc}"
            return 0, "", ""
        status = main(_argv(entry, study, path))
    except SystemExit as exc:  # argparse usage errors
        status = exc.code
    except Exception as exc:  # anything else reaches the user as a traceback
        pytest.fail(
            f"{path.name} via {entry}: uncaught {type(exc).__name__} ({exc}); "
            "a user would see a traceback",
            pytrace=False,
        )
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --------------------------------------------------------------------------- the corpus


def test_the_corpus_and_its_readme_agree():
    files = sorted(p.name for p in BAD.iterdir() if p.name != "README.md")
    assert len(files) >= 25
    described = {row.file for row in ROWS}
    assert set(files) == described, (
        f"without a README row: {sorted(set(files) - described)}; "
        f"rows without a file: {sorted(described - set(files))}"
    )
    assert len(ROWS) == len({(r.file, r.entry) for r in ROWS}), "a row is given twice"
    assert {r.entry for r in ROWS} == {"import", "decisions", "manifest", "pack"}
    assert all(p.stat().st_size < 16 * 1024 for p in BAD.iterdir()), "keep the corpus small"


@pytest.mark.usefixtures("_audit_hook")
@pytest.mark.parametrize("row", list(_params()))
def test_bad_file(row: Row, demo_dir, tmp_path, capsys):
    incoming = tmp_path / "incoming"  # a private copy: nothing may be written beside it
    shutil.copytree(BAD, incoming)
    path = incoming / row.file
    before = _info(demo_dir)
    outside, inside, tmp = (
        _files(tmp_path, skip=demo_dir),
        _files(demo_dir),
        _tmp_names(),
    )

    status, out, err, written = _run(row.entry, demo_dir, path, capsys)

    assert "Traceback" not in err + out
    assert written, "the recorder saw nothing (it sees at least the study's database)"
    assert not _outside(written, demo_dir), "written outside the study folder"
    assert not _new_tmp_names(tmp, written), "written in /tmp"
    assert _files(tmp_path, skip=demo_dir) == outside, "written outside the study folder"
    assert _files(demo_dir) - inside <= SQLITE_SIDE_FILES, "written into the study folder"
    after = _info(demo_dir)
    if row.outcome == "error":
        assert status == 1, f"exit status {status}; stdout: {out!r}"
        message = err.casefold()
        assert message.startswith("error: "), err
        assert row.file.casefold() in message, f"the message does not name {row.file}: {err}"
        assert row.message.casefold() in message, err
        if row.place:
            assert row.place.casefold() in message, f"the message does not say {row.place}"
        assert "root:" not in err + out  # nothing of /etc/passwd was read out
        assert after == before, "the study changed although the command failed"
    else:
        assert status == 0, err
        assert row.message.casefold() in out.casefold(), out
        assert after["transcripts"] == before["transcripts"] + 1
        for key in ("partnerships", "participants", "researchers", "notes", "tensions"):
            assert after[key] == before[key], key


@pytest.mark.usefixtures("_audit_hook")
def test_the_write_recorder_can_fail(demo_dir, tmp_path, capsys):
    """An export written beside the study is seen as written outside it."""
    out = tmp_path / "tables"
    with recording() as written:
        assert main(["export", str(demo_dir), "--format", "csv", str(out), "-q"]) == 0
    assert str(out / "README.txt") in _outside(written, demo_dir)


def test_a_manifest_that_is_a_folder(demo_dir, tmp_path, capsys):
    """`init --manifest` given a folder (a slip of the tab key) is a user mistake."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    before = _info(demo_dir)
    status, _, err, _ = _run("manifest", demo_dir, folder, capsys)
    assert status == 1 and err.startswith("error: ") and "manifests" in err
    assert _info(demo_dir) == before


# --------------------------------------------------------------------------- big files, memory

PROBE = r"""
import json, os, resource, sys, traceback

# Load what the import command loads, once; each case then runs in a forked child, so that
# only the command's own work is measured (VmHWM starts at the child's RSS at fork).
import coprod_nb.cli, coprod_nb.ingest, coprod_nb.exchange.refi_qda
import docx, lxml.etree, webvtt, srt

def status_kb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])

WRITTEN_PATHS

for case in json.loads(sys.argv[1]):
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        continue
    out = open(case["stdout"], "w"); err = open(case["stderr"], "w")
    os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
    written, recording = [], [True]
    sys.addaudithook(
        lambda event, args: recording and written.extend(written_paths(event, args))
    )
    # A guard for the machine: a leak ends in MemoryError instead of swapping.
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = status_kb("VmSize") * 1024 + 3 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard < 0 else min(limit, hard), hard))
    before = status_kb("VmRSS")
    try:
        status = coprod_nb.cli.main(case["argv"])
    except BaseException:
        traceback.print_exc()
        status = None
    recording.clear()
    result = {"status": status, "grown_kb": status_kb("VmHWM") - before, "written": written}
    sys.stdout.flush(); sys.stderr.flush()
    with open(case["result"], "w") as fh:
        json.dump(result, fh)
    os._exit(0)
"""


def _write_repeated(path: Path, head: bytes, filler: bytes, size: int) -> None:
    with open(path, "wb") as fh:
        fh.write(head)
        left = size - len(head)
        block = filler * (MiB // len(filler))
        while left > 0:
            fh.write(block[:left])
            left -= len(block)


def _big_txt(folder: Path) -> Path:
    path = folder / "no_newline.txt"
    _write_repeated(path, b"Quinn Aske: ", b"la ", 50 * MiB)
    return path


def _big_vtt(folder: Path) -> Path:
    path = folder / "no_newline.vtt"
    _write_repeated(path, b"WEBVTT 00:00:01.000 --> 00:00:02.000 ", b"la ", 50 * MiB)
    return path


def _sparse_txt(folder: Path) -> Path:
    path = folder / "sparse_1GiB.txt"
    with open(path, "wb") as fh:
        fh.truncate(2**30)  # a hole: no disk space, reads as zeros
    return path


def _zip_bomb_docx(folder: Path) -> Path:
    path = folder / "zip_bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("word/document.xml", "w") as member:
            block = b"\0" * MiB
            for _ in range(210):
                member.write(block)
    return path


def lying_zip(path: Path, member: str, inflated: int, *, declared: int = 1000, parts=()) -> Path:
    """A zip whose ``member`` inflates to ``inflated`` zero bytes but declares ``declared``.

    Both headers (local and central) state the small size, and the CRC is that of the first
    ``declared`` bytes, so a reader that trusts the header sees a valid member; ``parts``
    are other members, written honestly.
    """
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in parts:
            zf.writestr(name, data)
        with zf.open(member, "w", force_zip64=False) as out:
            block = b"\0" * MiB
            for _ in range(inflated // MiB):
                out.write(block)
    data = bytearray(path.read_bytes())
    crc = zlib.crc32(b"\0" * declared)
    name = member.encode()
    central = data.rfind(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.rfind(b"PK\x01\x02", 0, central)
    local = struct.unpack_from("<I", data, central + 42)[0]
    struct.pack_into("<I", data, central + 16, crc)
    struct.pack_into("<I", data, central + 24, declared)
    struct.pack_into("<I", data, local + 14, crc)
    struct.pack_into("<I", data, local + 22, declared)
    path.write_bytes(bytes(data))
    return path


DOCX_PARTS = [
    (
        "[Content_Types].xml",
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Override PartName="/word/document.xml"'
        ' ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.'
        'document.main+xml"/></Types>',
    ),
    (
        "_rels/.rels",
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="word/document.xml"/></Relationships>',
    ),
]


def _lying_docx(folder: Path) -> Path:
    # 512 MiB of zeros declared as 1,000 bytes: ZipFile.read inflated it all in one call.
    return lying_zip(folder / "lying_header.docx", "word/document.xml", 512 * MiB, parts=DOCX_PARTS)


def _lying_qdpx(folder: Path) -> Path:
    project = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Project xmlns="urn:QDA-XML:project:1.0" name="Lie" origin="HandMade 1.0"><Sources>'
        '<TextSource guid="00000005-0000-4000-8000-000000000001" name="Big" '
        'plainTextPath="internal://big.txt"/></Sources></Project>\n'
    )
    # The 1,000 bytes the header admits to are zeros: refused as NUL characters.
    path = folder / "lying_header.qdpx"
    return lying_zip(path, "Sources/big.txt", 512 * MiB, parts=[("project.qde", project)])


def _member_bomb_qdpx(folder: Path) -> Path:
    path = folder / "member_bomb.qdpx"
    project = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<Project xmlns="urn:QDA-XML:project:1.0" name="Bomb" origin="HandMade 1.0"><Sources>'
        '<TextSource guid="00000005-0000-4000-8000-000000000001" name="Big" '
        'plainTextPath="internal://big.txt"/></Sources></Project>\n'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("project.qde", project)
        with zf.open("Sources/big.txt", "w") as member:
            block = b"Quinn Aske: la la la\n" * (MiB // 21)
            for _ in range(52):
                member.write(block)
    return path


def _billion_laughs(folder: Path) -> Path:
    return Path(shutil.copy(BAD / "billion_laughs.qdpx", folder / "billion_laughs.qdpx"))


# name -> (how to make the file, fragments of the expected message)
BIG = {
    "50MiB-no-newline.txt": (_big_txt, ["line 1", "more than the 1,000,000"]),
    "50MiB-no-newline.vtt": (_big_vtt, ["line 1", "more than the 1,000,000"]),
    "sparse-1GiB.txt": (_sparse_txt, ["50 MB"]),
    "zip-bomb.docx": (_zip_bomb_docx, ["unpacks to"]),
    "lying-header.docx": (_lying_docx, ["not a Word .docx file"]),
    "member-bomb.qdpx": (_member_bomb_qdpx, ["larger than 50 MB"]),
    "lying-header.qdpx": (_lying_qdpx, ["U+0000", "Sources/big.txt, line 1"]),
    "billion-laughs.qdpx": (_billion_laughs, ["DTD or entities"]),
}
BIG_XFAIL: dict[str, str] = {}  # name -> the bug, for a case the library does not pass yet


@dataclass
class Probe:
    study: Path
    path: Path
    before: dict
    outside: set[str]
    files: dict[str, Path]


@pytest.fixture(scope="module")
def probes(demo_template, tmp_path_factory):
    """Every big or bomb file imported by the command line, each in its own study copy.

    One subprocess loads the package once and forks a child per file; each child records
    its peak memory and every path it writes.
    """
    base = tmp_path_factory.mktemp("big")
    tmp_before = _tmp_names()
    cases, made = [], {}
    for i, (name, (make, _)) in enumerate(BIG.items()):
        folder = base / str(i)
        study = folder / "demo"
        shutil.copytree(demo_template, study)
        (folder / "incoming").mkdir()
        path = make(folder / "incoming")
        files = {k: base / f"{i}.{k}" for k in ("stdout", "stderr", "result")}
        made[name] = Probe(study, path, _info(study), _files(folder, skip=study), files)
        argv = ["import", str(study), str(path), "-q", "--as", "tester"]
        cases.append({"argv": argv, **{k: str(v) for k, v in files.items()}})
    script = PROBE.replace("WRITTEN_PATHS", inspect.getsource(_written_paths))
    env = {k: v for k, v in os.environ.items() if k != "COPROD_DB"}
    env.update(COPROD_USER="tester", PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [sys.executable, "-c", script, json.dumps(cases)],
        capture_output=True,
        text=True,
        cwd=base,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return made, tmp_before


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[pytest.mark.xfail(strict=True, reason=BIG_XFAIL[n])])
        if n in BIG_XFAIL
        else n
        for n in BIG
    ],
)
def test_big_and_bomb_files_are_refused_in_bounded_memory(name, probes):
    made, tmp_before = probes
    probe = made[name]
    stderr = probe.files["stderr"].read_text()
    assert "Traceback" not in stderr, stderr[-3000:]
    result = json.loads(probe.files["result"].read_text())
    grown_mb = result["grown_kb"] / 1024
    print(f"{probe.path.name}: peak memory growth {grown_mb:.0f} MB")
    assert result["status"] == 1
    assert stderr.startswith("error: ") and probe.path.name in stderr
    for fragment in BIG[name][1]:
        assert fragment in stderr, stderr
    assert _info(probe.study) == probe.before
    assert result["written"], "the recorder saw nothing (it sees at least the study's database)"
    assert not _outside(result["written"], probe.study), "written outside the study folder"
    assert _files(probe.study.parent, skip=probe.study) == probe.outside
    assert not _new_tmp_names(tmp_before, result["written"]), "written in /tmp"
    assert grown_mb < MEMORY_LIMIT_MB, f"{probe.path.name}: memory grew by {grown_mb:.0f} MB"
