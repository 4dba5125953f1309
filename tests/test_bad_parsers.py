"""Parsers under hostile input: capped reads, tracked changes, encodings, temp files, SIGKILL.

The small files are in the corpus (``tests/data/bad``, see its README); these are the cases
that need a device, a FIFO, a file made at test time, LibreOffice or a second process. Each
refusal goes through ``tests/badinput.py``'s ``assert_refused`` (exit status, a message
naming file, place and problem, no traceback, every table's checksum unchanged, nothing
written outside the study folder or in /tmp), on the demo and on the second study.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from lxml import etree

from coprod_nb.errors import InvalidInput
from coprod_nb.storage import Store

from .badinput import assert_refused, recording, run_cli, table_checksums
from .test_bad_inputs import DOCX_PARTS, MiB, lying_zip

BAD = Path(__file__).parent / "data" / "bad"
ROOT = Path(__file__).resolve().parents[1]
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@pytest.fixture(autouse=True)
def _own_database(monkeypatch):
    monkeypatch.delenv("COPROD_DB", raising=False)
    monkeypatch.setenv("COPROD_USER", "tester")


@pytest.fixture(params=["demo", "second"])
def study(request, demo_dir, second_study):
    """``(folder, login)`` of a study at its workshop stage: the demo, then the second."""
    if request.param == "demo":
        return demo_dir, "tester"
    store = second_study("workshop", actor="rowan")
    folder = Path(store.study_dir)
    store.close()
    return folder, "rowan"


@pytest.fixture
def early_second(second_study):
    """The second study at its first stage (transcripts only), closed, as ``(folder, login)``."""
    store = second_study("transcripts", actor="rowan")
    folder = Path(store.study_dir)
    store.close()
    return folder, "rowan"


def _fifo(folder: Path, name: str, size: int) -> Path:
    """A FIFO fed with ``size`` bytes by a thread (which gives up when the reader stops)."""
    path = folder / name
    os.mkfifo(path)

    def feed():
        block = b"x = 1\n" * (MiB // 6)
        try:
            with open(path, "wb") as fh:
                left = size
                while left > 0:
                    fh.write(block[:left])
                    left -= len(block)
        except (BrokenPipeError, OSError):
            pass

    threading.Thread(target=feed, daemon=True).start()
    return path


# --------------------------------------------------------------------------- capped reads


@pytest.mark.parametrize("source", ["dev-zero", "fifo", "sparse"])
def test_a_decision_log_is_read_with_a_cap(source, study, tmp_path, capsys):
    folder, login = study
    if source == "dev-zero":
        path = Path("/dev/zero")
    elif source == "fifo":
        path = _fifo(tmp_path, "endless.toml", 64 * MiB)
    else:
        path = tmp_path / "huge.toml"
        with open(path, "wb") as fh:
            fh.truncate(2**30)
    argv = ["decisions", str(folder), "apply", str(path), "-q", "--as", login]
    assert_refused(argv, folder, capsys, names=(path.name, "more than 10 MB", "decision log"))


@pytest.mark.parametrize("source", ["dev-zero", "fifo"])
def test_a_manifest_is_read_with_a_cap(source, early_second, tmp_path, capsys):
    folder, login = early_second
    path = Path("/dev/zero") if source == "dev-zero" else _fifo(tmp_path, "m.toml", 64 * MiB)
    argv = ["init", str(folder), "--manifest", str(path), "-q", "--as", login]
    assert_refused(argv, folder, capsys, names=(path.name, "more than 10 MB", "manifest"))


def test_a_transcript_from_a_fifo_is_read_with_a_cap(early_second, tmp_path, capsys):
    folder, login = early_second
    path = _fifo(tmp_path, "endless.txt", 80 * MiB)
    argv = ["import", str(folder), str(path), "-q", "--as", login]
    assert_refused(argv, folder, capsys, names=("endless.txt", "more than 50 MB"))


def test_deep_toml_is_refused_on_the_second_study(study, early_second, capsys):
    folder, login = study
    log = BAD / "deep_nesting.toml"
    argv = ["decisions", str(folder), "apply", str(log), "-q", "--as", login]
    assert_refused(argv, folder, capsys, names=(log.name, "line 2", "nested more than 32"))
    folder, login = early_second
    manifest = BAD / "deep_inline_tables.toml"
    argv = ["init", str(folder), "--manifest", str(manifest), "-q", "--as", login]
    assert_refused(argv, folder, capsys, names=(manifest.name, "line 3", "nested more than 32"))


def test_a_pack_response_whose_header_lies_is_refused(second_study, tmp_path):
    from coprod_nb.exchange.pack_builder import import_pack_response

    store = second_study("workshop", actor="rowan")
    path = lying_zip(tmp_path / "reply.docx", "word/document.xml", 64 * MiB, parts=DOCX_PARTS)
    before = table_checksums(Path(store.study_dir) / "study.db")
    with recording() as written, pytest.raises(InvalidInput) as err:
        import_pack_response(store, None, path)
    assert err.value.file == "reply.docx" and "not a Word .docx file" in err.value.problem
    assert table_checksums(Path(store.study_dir) / "study.db") == before
    assert not [p for p in written if not p.startswith(str(store.study_dir))]


# --------------------------------------------------------------------------- characters, encodings


def test_control_characters_and_encodings_on_the_second_study(early_second, capsys):
    folder, login = early_second
    for name, names in [
        ("nul_byte.txt", ("line 3, column 14", "U+0000")),
        ("utf16_bom_nul.txt", ("line 2, column 13", "U+0000")),
        ("c1_control.vtt", ("line 7, column 16", "U+009B")),
        ("cp1252_whole.txt", ("line 1", "not valid UTF-8", "--encoding")),
    ]:
        argv = ["import", str(folder), str(BAD / name), "-q", "--as", login]
        assert_refused(argv, folder, capsys, names=(name, *names))


def test_a_windows_file_imports_with_its_encoding_given(early_second, tmp_path, capsys):
    folder, login = early_second
    path = Path(shutil.copy(BAD / "cp1252_whole.txt", tmp_path / "cafe.txt"))
    status, out, err, _ = run_cli(
        ["import", str(folder), str(path), "--encoding", "cp1252", "-q", "--as", login], capsys
    )
    assert status == 0, err
    with Store(folder, actor=login, create=False) as store:
        (tr,) = [t for t in store.transcripts() if t.source_name == "cafe.txt"]
        assert [t.text for t in store.turns(tr.id)] == ["le café est prêt", "très bien"]


# --------------------------------------------------------------------------- Word tracked changes


def _tracked_docx(path: Path) -> Path:
    """A real Word file (python-docx) with tracked changes added to its XML by lxml."""
    import docx

    document = docx.Document()
    first = document.add_paragraph("Ash Penhale: The tea mornings ran on ")
    document.add_paragraph("Nico Trevail: It grew. ")
    document.add_paragraph("Bea Kestle: This turn was deleted.")
    document.save(path)
    document = docx.Document(path)
    p1, p2, p3 = document.paragraphs[:3]
    author = {f"{{{W}}}author": "Rowan", f"{{{W}}}date": "2026-05-01T10:00:00Z"}

    def run(text: str, deleted: bool = False):
        r = etree.SubElement(etree.Element(f"{{{W}}}dummy"), f"{{{W}}}r")
        t = etree.SubElement(r, f"{{{W}}}delText" if deleted else f"{{{W}}}t")
        t.text = text
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        return r

    def change(kind: str, ident: int, text: str):
        element = etree.Element(f"{{{W}}}{kind}", {f"{{{W}}}id": str(ident), **author})
        element.append(run(text, deleted=kind in ("del", "moveFrom")))
        return element

    p1._p.append(change("del", 1, "Mondays"))
    p1._p.append(change("ins", 2, "Tuesdays"))
    p1._p.append(run("."))
    p2._p.insert(1, change("moveFrom", 3, "Slowly. "))
    p2._p.append(change("moveTo", 4, "Slowly."))
    for r in list(p3._p.iterchildren(f"{{{W}}}r")):
        p3._p.remove(r)
    p3._p.append(change("del", 5, "Bea Kestle: This turn was deleted."))
    assert first.text.startswith("Ash")  # python-docx alone: no insertion, no move target
    document.save(path)
    return path


_ODF = {
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
}


def _libreoffice_text(path: Path, tmp_path: Path) -> list[str]:
    """The document's paragraphs with changes accepted, by LibreOffice's reading of it.

    LibreOffice converts the file to flat ODF, where each tracked change is a region
    marked in the text and listed as an insertion or a deletion; the text outside the
    regions it lists as deletions is the accepted text.
    """
    out = tmp_path / "lo-out"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "fodt",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    tree = etree.parse(str(out / (path.stem + ".fodt")))
    deletions = {
        region.get(f"{{{_ODF['text']}}}id")
        for region in tree.iterfind(".//text:changed-region", _ODF)
        if region.find("text:deletion", _ODF) is not None
    }
    assert deletions, "LibreOffice saw no deletion"
    lines = []
    for paragraph in tree.iterfind(".//office:body/office:text/text:p", _ODF):
        parts, deleting = [], False
        for item in paragraph.xpath(
            ".//text()|.//text:change-start|.//text:change-end", namespaces=_ODF
        ):
            if isinstance(item, str):
                if not deleting:
                    parts.append(item)
            elif item.get(f"{{{_ODF['text']}}}change-id") in deletions:
                deleting = item.tag.endswith("change-start")
        if "".join(parts).strip():
            lines.append("".join(parts).strip())
    return lines


def test_tracked_changes_are_read_as_accepted(study, tmp_path, capsys):
    folder, login = study
    path = _tracked_docx(tmp_path / "tracked.docx")
    status, out, err, _ = run_cli(["import", str(folder), str(path), "--as", login], capsys)
    assert status == 0, err
    assert "5 tracked changes accepted" in out
    with Store(folder, actor=login, create=False) as store:
        (tr,) = [t for t in store.transcripts() if t.source_name == "tracked.docx"]
        turns = [t.text for t in store.turns(tr.id)]
    assert turns == ["The tea mornings ran on Tuesdays.", "It grew. Slowly."]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_tracked_changes_read_as_libreoffice_shows_them(tmp_path):
    """Our accepted text is LibreOffice's: the same paragraphs, word for word."""
    from coprod_nb.ingest._docx import accept_tracked_changes, open_docx

    path = _tracked_docx(tmp_path / "tracked.docx")
    document = open_docx(path)
    accept_tracked_changes(document.element.body)
    ours = [p.text.strip() for p in document.paragraphs if p.text.strip()]
    assert ours == [
        "Ash Penhale: The tea mornings ran on Tuesdays.",
        "Nico Trevail: It grew. Slowly.",
    ]
    assert _libreoffice_text(path, tmp_path) == ours


# --------------------------------------------------------------------------- VTT voice tags


def test_many_voice_tags_read_right(tmp_path):
    """20,000 voice spans in one cue, and a cue of unclosed tags: every word kept."""
    from coprod_nb.ingest import read_transcript

    spans = "".join(f"<v.loud Speaker {i % 3}>w{i} </v>" for i in range(20_000))
    unclosed = "<v Speaker 9 " * 5_000
    path = tmp_path / "voices.vtt"
    path.write_text(
        f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{spans}\n\n"
        f"00:00:03.000 --> 00:00:04.000\n{unclosed}\n",
        encoding="utf-8",
    )
    parsed = read_transcript(path)
    assert len(parsed.turns) == 20_000
    assert [t.speaker for t in parsed.turns[:4]] == [f"Speaker {i}" for i in (0, 1, 2, 0)]
    assert parsed.turns[5].text == "w5"
    # The unclosed tags are no tags: their text continues the last speaker's turn.
    assert parsed.turns[-1].text == "w19999 " + " ".join(["<v Speaker 9"] * 5_000)


# ------------------------------------------------------------- SQLite temp files, SIGKILL


@pytest.fixture(scope="module")
def big_transcript(tmp_path_factory) -> Path:
    """About 19 MB of turns: enough for SQLite to spill a sort to a temporary file."""
    path = tmp_path_factory.mktemp("big-import") / "long_interview.txt"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(40_000):
            fh.write(f"Quinn Aske: {'word ' * 40}{i}\nRory Penn: {'other ' * 40}{i}\n")
    return path


def _open_files() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return found


def test_a_large_import_keeps_sqlite_temporary_storage_off_tmp(demo_dir, big_transcript, capsys):
    """SQLite opens its temporary files from C (no audit event), deleted at once, so the
    files this process holds open are watched while the import runs."""
    seen: set[str] = set()
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.update(_open_files())
            time.sleep(0.0005)

    already = _open_files()  # pytest's capture files among them
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        status, _, err, written = run_cli(
            ["import", str(demo_dir), str(big_transcript), "-q", "--as", "tester"], capsys
        )
    finally:
        done.set()
        watcher.join()
    assert status == 0, err
    # The study and the input (in pytest's tmp), and the code itself: a clone checked out
    # under /tmp opens its own package folders while it imports.
    ours = (str(demo_dir), str(big_transcript), str(ROOT), sys.prefix)
    temp = sorted(
        p
        for p in seen - already
        if ("etilqs" in p or p.startswith(("/tmp/", "/var/tmp/"))) and not p.startswith(ours)
    )
    assert not temp, f"SQLite temporary files outside the study: {temp}"
    root = os.path.realpath(demo_dir)
    assert all(os.path.realpath(p).startswith(root) for p in written), written
    with sqlite3.connect(demo_dir / "study.db") as conn:
        (turns,) = conn.execute("SELECT count(*) FROM turn").fetchone()
    assert turns > 80_000


def test_the_study_connection_keeps_temporary_storage_in_memory(second_study):
    store = second_study("recall", actor="quill")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY


def test_sigkill_during_an_import_leaves_the_study_as_before(
    demo_dir, early_second, big_transcript
):
    for folder, login in [(demo_dir, "tester"), early_second]:
        db = folder / "study.db"
        before = table_checksums(db)
        wal = folder / "study.db-wal"
        start = wal.stat().st_size if wal.exists() else 0
        env = {k: v for k, v in os.environ.items() if k != "COPROD_DB"}
        env.update(COPROD_USER=login, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen(
            [sys.executable, "-m", "coprod_nb.cli", "import", str(folder), str(big_transcript)]
            + ["-q", "--as", login],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Killed once the write transaction has begun to fill the WAL: mid-way through.
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if wal.exists() and wal.stat().st_size > start + 4 * MiB:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, "the import ended before it could be killed"
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert table_checksums(db) == before
