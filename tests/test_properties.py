"""Properties that must hold whatever the query, the export or the text.

(a) Blinding: while step 1 is open no public function shows researcher B's notes to A.
(b) Privacy: no export names a real person unless asked to, and then it says so first.
(c) Pseudonymisation: ``PseudonymTable`` leaves no real name and keeps offsets on the
    same characters.

Each group builds one study per module (a copy of a session template) and keeps its writes
to the fixture's set-up, so the examples only read.
"""

from __future__ import annotations

import functools
import html
import importlib.util
import inspect
import json
import re
import shutil
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import select

from coprod_nb.analysis import history_table, notes_table, progress_table
from coprod_nb.cli import main
from coprod_nb.domain import PseudonymTable
from coprod_nb.domain.notes import DEFAULT_CATEGORIES
from coprod_nb.errors import Forbidden, NotFound
from coprod_nb.exchange.refi_qda import export_qdpx
from coprod_nb.exchange.tables import study_tables
from coprod_nb.seed.demo import demo_data_dir
from coprod_nb.storage import Store
from coprod_nb.storage.models import Note, NoteExcerpt, Partnership
from tests.acting import as_

ROOT = Path(__file__).resolve().parents[1]
FAST = settings(max_examples=40, deadline=None)
STUDY_TOML = tomllib.loads((demo_data_dir() / "study.toml").read_text(encoding="utf-8"))
SHORTS = [p["short"] for p in STUDY_TOML["partnerships"]]
PARTNERSHIP_NAMES = {p["short"]: p["name"] for p in STUDY_TOML["partnerships"]}


def _text_of_xml(data: bytes) -> str:
    """Every text node and attribute value of an XML document, one per line."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    parts = []
    for el in root.iter():
        parts += [str(v) for v in el.attrib.values()]
        parts += [t for t in (el.text, el.tail) if t and t.strip()]
    return "\n".join(parts)


# =========================================================================== (a) blinding


@dataclass
class Blind:
    """The step-1 demo study, with what each researcher wrote read straight from the tables."""

    store: Store
    folder: Path
    researchers: list  # Researcher rows, ordered by id
    notes: dict[int, dict]  # note id -> researcher_id, partnership, category, deleted, text
    only: dict[int, set[int]]  # researcher id -> excerpts anchored by no one else's note
    markers: dict[int, dict[str, str]]  # researcher id -> {"live": ..., "deleted": ...}
    _exports: dict = field(default_factory=dict)

    def texts_of(self, rid: int) -> list[str]:
        """Everything researcher ``rid`` wrote: their notes (deleted too) and markers."""
        return [n["text"] for n in self.notes.values() if n["researcher_id"] == rid]

    def export_blob(self, kind: str, viewer: str) -> str:
        """All text of an export made for ``viewer`` (cached: the study does not change)."""
        key = (kind, viewer)
        if key not in self._exports:
            if kind == "tables":
                self._exports[key] = _tables_blob(
                    study_tables(as_(self.store, viewer), viewer=viewer)
                )
            else:
                out = export_qdpx(
                    as_(self.store, viewer), self.folder.parent / f"{viewer}.qdpx", viewer=viewer
                )
                # Notes anchored to nothing travel as journal files (plainTextPath) beside
                # project.qde: every member of the archive counts.
                with zipfile.ZipFile(out) as zf:
                    parts = [_text_of_xml(zf.read("project.qde"))]
                    parts += [
                        zf.read(n).decode("utf-8", "replace")
                        for n in zf.namelist()
                        if n != "project.qde" and n.endswith(".txt")
                    ]
                    self._exports[key] = "\n".join(parts)
        return self._exports[key]


def _tables_blob(tables: dict) -> str:
    """Every cell of every table as text; JSON cells also decoded (quotes unescaped)."""
    parts = []
    for df in tables.values():
        for cell in df.to_numpy().ravel():
            value = str(cell)
            parts.append(value)
            if value[:1] in "{[":
                try:
                    parts += _strings(json.loads(value))
                except ValueError:
                    pass
    return "\n".join(parts)


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.fixture(scope="module")
def blind(recall_template, tmp_path_factory):
    base = tmp_path_factory.mktemp("blind")
    folder = base / "study"
    shutil.copytree(recall_template, folder)
    store = Store(folder, actor="tester", create=False)
    assert store.step_closure() is None, "the recall template must have step 1 open"
    researchers = sorted(store.researchers(), key=lambda r: r.id)
    assert len(researchers) >= 3
    # The only writes: per researcher a marker note, and a deleted one, so that a leak is
    # found whatever escaping an export applies, and include_deleted has work to do.
    markers = {}
    for i, r in enumerate(researchers):
        p = SHORTS[i % len(SHORTS)]
        live = f"blindmarker{r.id}live"
        gone = f"blindmarker{r.id}deleted"
        store.add_note(r.name, p, live, category="barrier")
        store.delete_note(store.add_note(r.name, p, gone, category="practice").id, r.name)
        markers[r.id] = {"live": live, "deleted": gone}
    with store.session(write=False) as s:
        shorts = dict(s.execute(select(Partnership.id, Partnership.short)).all())
        notes = {
            n.id: {
                "researcher_id": n.researcher_id,
                "partnership": shorts[n.partnership_id],
                "category": n.category,
                "deleted": n.deleted_at is not None,
                "text": n.text,
            }
            for n in s.scalars(select(Note))
        }
        owners: dict[int, set[int]] = {}
        for note_id, excerpt_id in s.execute(select(NoteExcerpt.note_id, NoteExcerpt.excerpt_id)):
            owners.setdefault(excerpt_id, set()).add(notes[note_id]["researcher_id"])
    only = {r.id: {e for e, who in owners.items() if who == {r.id}} for r in researchers}
    assert all(only.values()), "each researcher should have excerpts of their own"
    yield Blind(store, folder, researchers, notes, only, markers)
    store.close()


def _ref(researcher, form: str):
    return {"name": researcher.name, "login": researcher.login, "id": researcher.id}[form]


REF_FORMS = st.sampled_from(["name", "login", "id"])


@FAST
@given(
    a=st.integers(0, 2),
    step=st.integers(1, 2),
    viewer_form=REF_FORMS,
    author_form=st.none() | REF_FORMS,
    partnership=st.none() | st.sampled_from(SHORTS + list(PARTNERSHIP_NAMES.values())),
    category=st.none() | st.sampled_from(DEFAULT_CATEGORIES),
    include_deleted=st.booleans(),
    pick=st.integers(0, 10**6),
    transcript=st.none() | st.integers(0, 4),
)
def test_no_public_function_shows_a_colleagues_notes_before_step_1_closes(
    blind,
    a,
    step,
    viewer_form,
    author_form,
    partnership,
    category,
    include_deleted,
    pick,
    transcript,
):
    store = blind.store
    me, other = blind.researchers[a], blind.researchers[(a + step) % 3]
    viewer = _ref(me, viewer_form)
    filters = {"partnership": partnership, "category": category}
    short = next((s for s, n in PARTNERSHIP_NAMES.items() if partnership in (s, n)), None)

    # store.notes: the viewer's own notes, exactly those the filters select
    mine = {
        i
        for i, n in blind.notes.items()
        if n["researcher_id"] == me.id
        and (short is None or n["partnership"] == short)
        and (category is None or n["category"] == category)
        and (include_deleted or not n["deleted"])
    }
    author = {} if author_form is None else {"researcher": _ref(me, author_form)}
    seen = as_(store, viewer).notes(**author, **filters, include_deleted=include_deleted)
    assert {n.id for n in seen} == mine
    # asking for the colleague's notes is refused, with any filters
    with pytest.raises(Forbidden):
        as_(store, viewer).notes(researcher=_ref(other, viewer_form), **filters)

    # store.note: a colleague's note does not exist, as far as the viewer can tell
    theirs = sorted(i for i, n in blind.notes.items() if n["researcher_id"] == other.id)
    hidden = theirs[pick % len(theirs)]
    with pytest.raises(NotFound) as info:
        as_(store, viewer).note(hidden)
    assert str(info.value) == f"no note {hidden}"

    # store.excerpts: the passages only the colleague chose stay hidden
    transcripts = store.transcripts()
    tr = None if transcript is None else transcripts[transcript % len(transcripts)].id
    visible = {e.id for e in as_(store, viewer).excerpts(tr)}
    assert not visible & blind.only[other.id]
    in_scope = {e.id for e in store.excerpts(tr)}
    assert blind.only[me.id] & in_scope <= visible

    # analysis: my notes table, and progress as counts only
    table = notes_table(as_(store, viewer), viewer, researcher=author.get("researcher"), **filters)
    assert set(table["id"]) == {i for i in mine if not blind.notes[i]["deleted"]}
    progress = progress_table(store)
    assert list(progress.columns) == ["researcher", "transcript", "partnership", "read", "notes"]
    assert pd.api.types.is_integer_dtype(progress["notes"])
    cells = "\n".join(str(v) for v in progress.to_numpy().ravel())

    # exports made for the viewer: tables (notes and the event log) and REFI-QDA
    tables = study_tables(as_(store, viewer), viewer=viewer) if pick % 8 == 0 else None
    if tables is not None:  # now and then the uncached call, with the viewer's ref form
        assert set(tables["notes"]["researcher_id"]) <= {me.id}
        assert not set(tables["events"].query("object_type == 'note'")["object_id"]) & set(theirs)
    for blob in (
        cells,
        "\n".join(str(v) for v in table.to_numpy().ravel()),
        blind.export_blob("tables", me.name),
        blind.export_blob("qdpx", me.name),
    ):
        for text in blind.texts_of(other.id):
            assert text not in blob
    # the checks can fail: the viewer's own marker is in both exports
    for kind in ("tables", "qdpx"):
        assert blind.markers[me.id]["live"] in blind.export_blob(kind, me.name)


def _call(fn, *args, viewer):
    """Call ``fn`` with ``viewer=`` if it takes one (a fix may add the parameter)."""
    if "viewer" in inspect.signature(fn).parameters:
        return fn(*args, viewer=viewer)
    return fn(*args)


def test_the_history_hides_colleagues_notes_before_step_1_closes(blind, capsys, monkeypatch):
    monkeypatch.delenv("COPROD_DB", raising=False)
    me, other = blind.researchers[1], blind.researchers[2]
    secret = blind.markers[other.id]["live"]
    for kind in ("note", "excerpt"):
        table = _call(history_table, as_(blind.store, me.name), kind, viewer=me.name)
        assert secret not in table.to_string() + json.dumps(
            table[["before", "after"]].to_dict("records"), default=str
        )
    capsys.readouterr()
    assert main(["history", str(blind.folder), "note", "--as", me.login]) == 0
    assert secret not in capsys.readouterr().out


# =========================================================================== (b) privacy

_PEOPLE = [p["name"] for k in ("researchers", "participants", "people") for p in STUDY_TOML[k]]
REAL_NAMES = sorted(
    set(_PEOPLE) | {part for n in _PEOPLE for part in n.split() if len(part) >= 4},
    key=len,
    reverse=True,
)
NAME_RE = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(n) for n in REAL_NAMES) + r")(?!\w)", re.IGNORECASE
)
HAS_REPORT = importlib.util.find_spec("coprod_nb.exchange.report") is not None
FORMATS = ["pack_html", "pack_docx", "csv", "xlsx", "qdpx"]
if HAS_REPORT:
    FORMATS += ["report_html", "report_docx", "report_md"]
WITH_REAL_NAMES = {"csv", "xlsx", "qdpx", "report_html", "report_docx", "report_md"}
VIEWERS = [None, "Birch"]  # the default (made as the lead: as_(store, None)) and another


def _zip_texts(path: Path) -> list[str]:
    """Every XML or text member as it is (attributes too), and with its tags dropped both
    with and without a gap (a name may be split across Word runs, or two cells touch)."""
    out = []
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.lower().endswith((".png", ".jpg", ".jpeg", ".emf", ".bin")):
                continue
            raw = zf.read(name).decode("utf-8", "replace")
            out.append(html.unescape(raw))
            out += [html.unescape(re.sub(r"<[^>]*>", gap, raw)) for gap in ("", " ")]
    return out


@dataclass
class Output:
    text: str  # everything a reader could see, for the name scan
    first: str  # the first line / sheet cell / paragraph

    @functools.cached_property
    def names(self) -> list[str]:
        """The real names found in the output (scanned once: outputs are large)."""
        return sorted({m.casefold() for m in NAME_RE.findall(self.text)})


def _read_output(fmt: str, path: Path) -> Output:
    if fmt in ("pack_html", "report_html"):
        raw = path.read_text(encoding="utf-8")
        doc = etree.HTML(raw.encode("utf-8"))
        body = doc.find("body")
        first = next(el for el in body.iter() if (el.text or "").strip())
        title = doc.findtext(".//title") or ""
        return Output(html.unescape(raw), f"{title}\n{first.text}")
    if fmt == "report_md":
        texts = [f.read_text(encoding="utf-8") for f in sorted(path.parent.glob("*.md"))]
        first = next(line for line in texts[0].splitlines() if line.strip())
        return Output("\n".join(texts), first)
    if fmt == "csv":
        texts = [f.read_text(encoding="utf-8") for f in sorted(path.iterdir())]
        first = (path / "README.txt").read_text(encoding="utf-8").splitlines()[0]
        return Output("\n".join(texts), first)
    if fmt == "xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        cells = [
            str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
        ]
        first = str(next(book.worksheets[0].iter_rows(values_only=True))[0])
        book.close()
        return Output("\n".join(cells + _zip_texts(path)), first)
    if fmt in ("pack_docx", "report_docx"):
        import docx

        paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
        first = next(p for p in paragraphs if p.strip())
        return Output("\n".join(paragraphs + _zip_texts(path)), first)
    if fmt == "qdpx":
        with zipfile.ZipFile(path) as zf:
            project = etree.fromstring(zf.read("project.qde"))
        description = project.findtext("{urn:QDA-XML:project:1.0}Description") or ""
        return Output(
            "\n".join(_zip_texts(path)), description.splitlines()[0] if description else ""
        )
    raise AssertionError(fmt)


class Exports:
    """Exports of the step-2 demo study, made once each (the study does not change)."""

    def __init__(self, store: Store, out: Path):
        self.store, self.out, self.made = store, out, {}

    def get(self, fmt: str, *, real_names: bool, viewer: str | None) -> Output:
        if fmt not in ("csv", "xlsx", "qdpx"):
            viewer = None  # packs and reports have no viewer
        if fmt not in WITH_REAL_NAMES:
            real_names = False
        key = (fmt, real_names, viewer)
        if key not in self.made:
            self.made[key] = _read_output(fmt, self._write(fmt, real_names, viewer, len(self.made)))
        return self.made[key]

    def _write(self, fmt: str, real_names: bool, viewer: str | None, n: int) -> Path:
        folder = self.out / f"{n}-{fmt}"
        folder.mkdir()
        kind, _, sub = fmt.partition("_")
        if kind == "pack":
            from coprod_nb.exchange.pack_builder import write_resource_pack

            return write_resource_pack(self.store, sub, folder / f"pack.{sub}", version=1)
        if kind == "report":
            from coprod_nb.exchange.report import write_report

            return write_report(self.store, sub, folder / f"report.{sub}", real_names=real_names)
        if kind == "qdpx":
            return export_qdpx(
                as_(self.store, viewer), folder / "study.qdpx", viewer=viewer, real_names=real_names
            )
        from coprod_nb.exchange.tables import export_tables

        target = folder / ("tables" if kind == "csv" else "tables.xlsx")
        return export_tables(
            as_(self.store, viewer), kind, target, viewer=viewer, real_names=real_names
        )


@pytest.fixture(scope="module")
def exports(joint_template, tmp_path_factory):
    base = tmp_path_factory.mktemp("privacy")
    shutil.copytree(joint_template, base / "study")
    (base / "out").mkdir()
    store = Store(base / "study", actor="tester", create=False)
    assert [v.version for v in store.framework_versions()] == [1]
    yield Exports(store, base / "out")
    store.close()


@FAST
@given(
    formats=st.sets(st.sampled_from(FORMATS), min_size=1, max_size=4),
    real_names=st.booleans(),
    viewer=st.sampled_from(VIEWERS),
)
def test_no_export_names_a_real_person_unless_asked(exports, formats, real_names, viewer):
    for fmt in sorted(formats):
        out = exports.get(fmt, real_names=real_names, viewer=viewer)
        if real_names and fmt in WITH_REAL_NAMES:
            assert "REAL NAMES" in out.first, (fmt, out.first)
        else:
            assert not out.names, f"{fmt} names {out.names}"
            assert "REAL NAMES" not in out.first


def test_the_name_scan_can_fail(exports):
    """The scan finds names where they are meant to be, and the outputs are not empty."""
    keyed = exports.get("csv", real_names=True, viewer=None)
    assert {"margaret okafor", "helen marsh"} <= set(keyed.names)
    study = exports.store.study().name
    for fmt in FORMATS:
        assert study in exports.get(fmt, real_names=False, viewer=None).text, fmt
    assert "Jo Linden" in exports.get("csv", real_names=False, viewer=None).text


@pytest.mark.skipif(not HAS_REPORT, reason="coprod_nb/exchange/report.py does not exist yet")
def test_the_report_is_among_the_formats():
    assert {"report_html", "report_docx", "report_md"} <= set(FORMATS)


def test_a_real_name_in_a_file_name_does_not_reach_an_export(demo_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("COPROD_DB", raising=False)
    transcript = tmp_path / "Margaret Okafor 2021-06-01.vtt"
    transcript.write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Alder>Thanks for joining us.</v>\n\n"
        "00:00:03.500 --> 00:00:06.000\n<v Margaret Okafor>Happy to help.</v>\n",
        encoding="utf-8",
    )
    assert main(["import", str(demo_dir), str(transcript), "-q", "--as", "tester"]) == 0
    out = tmp_path / "study.qdpx"
    assert main(["export", str(demo_dir), "--format", "qdpx", str(out), "--as", "tester"]) == 0
    found = {m.casefold() for text in _zip_texts(out) for m in NAME_RE.findall(text)}
    assert not found, f"the export names {sorted(found)}"


# =========================================================================== (c) pseudonyms


def _demo_key() -> PseudonymTable:
    """The demo study's key, as load_manifest builds it."""
    key = PseudonymTable()
    for section in ("researchers", "participants", "people"):
        for person in STUDY_TOML[section]:
            key.add(person["name"], person.get("pseudonym") or person["name"])
    return key


KEY = _demo_key()
NAMES = sorted(
    set(KEY.real_names()) | {part for n in KEY.real_names() for part in n.split()}, key=str
)
FILLER = [
    "the", "partnership", "said", "co-production", "café", "Marshall", "Helena", "wrens",
    "ruthless", "Colinear", "castellan", "Olivers", "budget", "42", "naïve", "ÉTÉ", "_x_",
]  # fmt: skip
SEPARATORS = [" ", ", ", ". ", "\n", " - ", "'s ", " (", ") ", " “", "” ", ": ", "\t", "/", "  "]
CASES = [str, str.upper, str.lower, str.title]


@st.composite
def texts(draw) -> str:
    """Text of real names (in any letter case), filler words and punctuation."""
    pieces = []
    for _ in range(draw(st.integers(0, 12))):
        pieces.append(draw(st.sampled_from(SEPARATORS)))
        if draw(st.booleans()):
            pieces.append(draw(st.sampled_from(CASES))(draw(st.sampled_from(NAMES))))
        else:
            pieces.append(draw(st.sampled_from(FILLER)))
    pieces.append(draw(st.sampled_from(["", ".", "?\n"])))
    return "".join(pieces)


# The documented rule: whole words, case-insensitive, the longest name first ("Helen Marsh"
# is one name, "Helen" and "Marsh" alone are names too).
NAME_WORD = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(n) for n in sorted(NAMES, key=len, reverse=True)) + r")"
    r"(?!\w)",
    re.IGNORECASE,
)


@FAST
@given(texts())
def test_pseudonymised_text_holds_no_real_name_and_offsets_stay_on_their_characters(text):
    new = KEY.apply(text)
    assert not NAME_WORD.findall(new), new
    mapped, offsets = KEY.apply_mapped(text)
    assert mapped == new
    in_a_name = {i for m in NAME_WORD.finditer(text) for i in range(m.start(), m.end())}
    for i, char in enumerate(text):
        if i not in in_a_name:
            assert new[offsets(i)] == char, (i, char, text, new)
    assert offsets(len(text)) == len(new)
    assert sum(1 for _ in NAME_WORD.finditer(text)) == len(offsets.edits)


def test_a_name_spelt_with_sharp_s_is_replaced():
    key = PseudonymTable({"Jürgen Weiß": "Person J"})
    assert key.apply("Jürgen Weiß said so; Weiß agreed.") == "Person J said so; Person J agreed."


def test_a_dotted_capital_i_does_not_crash_pseudonymisation():
    assert "PRİYA" not in KEY.apply("PRİYA CADDICK took the minutes.")
