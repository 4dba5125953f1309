"""The workshop resource pack: HTML and Word output, and reading a filled-in Word copy back."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import zipfile
from importlib import resources
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from coprod_nb.domain.framework import Tension
from coprod_nb.errors import InvalidInput
from coprod_nb.exchange.resource_pack import (
    DEFAULT_INSTRUCTIONS,
    MAX_QUOTES,
    Card,
    CardResponse,
    Pack,
    Quote,
    read_docx_response,
    render_html,
    write_docx,
    write_pack,
)
from tests.conftest import missing

T1 = Tension(
    "T1",
    "Idealistic, tokenistic vs realistic narratives",
    "idealistic, tokenistic narratives",
    "realistic narratives",
    "How partnership leaders talk about co-production, and how far the talk matches what\n"
    "happens.\n\nA second paragraph of the description.",
    ("lack of clarity on the meaning of co-production", "lack of funding"),
)
T2 = Tension(
    "T2",
    "Power differences and reciprocity",
    "power held by the university",
    "power shared with partners",
    "Who decides, and what each side gets back.",
)
T3 = Tension(
    "T3",
    "Excluding vs including language",
    "excluding language and communication",
    "including language and communication",
    "Jargon, acronyms and plain words.",
    ("language and communication", "motivation versus skills"),
)

QUOTES = {
    "T1": (
        Quote("We wrote co-production on every bid, and then consulted at the end.", "LAHRP"),
        Quote("Nobody agreed on what the word meant.", "Northmoor"),
    ),
    "T2": (Quote("The money came to us, so the agenda did too.", "Eastvale"),),
}


def _pack(*tensions: Tension, quotes: dict | None = None) -> Pack:
    quotes = QUOTES if quotes is None else quotes
    cards = tuple(Card(t, quotes.get(t.code, ())) for t in tensions or (T1, T2, T3))
    return Pack("Leading co-production (demo)", "Framework v1, frozen 2021-06-14", cards)


# --- HTML --------------------------------------------------------------------------------


def test_html_shows_the_cover_instructions_and_fields():
    html = render_html(_pack())
    for text in (
        "Leading co-production (demo)",
        "Framework v1, frozen 2021-06-14",
        "Resource pack for workshop participants",
        "pseudonyms",
        "Instructions",
        "Your name",
        "Your partnership",
    ):
        assert text in html
    assert "inner circle" in DEFAULT_INSTRUCTIONS and "outer circle" in DEFAULT_INSTRUCTIONS
    assert "comment box" in DEFAULT_INSTRUCTIONS and "suggestion box" in DEFAULT_INSTRUCTIONS
    assert "In the comment box" in html


def test_html_shows_every_card():
    html = render_html(_pack())
    assert html.count('<section class="card"') == 3
    for t in (T1, T2, T3):
        for text in (t.code, t.name, t.pole_a, t.pole_b, *t.subthemes):
            assert text in html
        for paragraph in t.description.split("\n\n"):
            assert paragraph in html
    for quotes in QUOTES.values():
        for q in quotes:
            assert q.text in html
            assert f"— {q.partnership}" in html
    # Each card draws its spectrum, pole A left (start) and pole B right (end).
    assert html.count('<svg class="spectrum"') == 3
    assert 'text-anchor="start">' in html and 'text-anchor="end">' in html
    assert html.count('class="box comment"') == 3 and html.count('class="box suggestion"') == 3


def test_html_wraps_long_poles_inside_the_drawing():
    long = T1.with_(pole_a="traditional academic ways of working and publishing " * 2)
    html = render_html(_pack(long))
    start = html.index('class="pole pole-a"')
    assert html[start : html.index("</text>", start)].count("<tspan") >= 3


def test_html_has_the_circle_sheet():
    html = render_html(_pack())
    sheet = html[html.index('<section class="circle-sheet"') :]
    assert "Inner circle" in sheet and "Outer circle" in sheet
    assert sheet.count("<circle ") == 2
    assert "<th>Inner</th><th>Outer</th>" in sheet
    for t in (T1, T2, T3):
        assert f'<td class="code">{t.code}</td><td>{t.name}</td>' in sheet


def test_html_is_self_contained_and_prints_a_card_per_page():
    html = render_html(_pack())
    lowered = html.lower()
    for banned in ("http", "<script", "src=", "url(", "@import", "<link", "@font-face"):
        assert banned not in lowered
    assert "@media print" in html and "page-break-before: always" in html


def test_html_escapes_untrusted_text():
    evil = T1.with_(
        code="T<b>",
        name="<script>alert(1)</script>",
        pole_a='"><svg onload=alert(2)>',
        description="<iframe>",
    )
    quote = Quote("<img src=x onerror=alert(1)>", "<i>LAHRP</i>")
    html = render_html(_pack(evil, quotes={"T<b>": (quote,)}))
    assert "<script" not in html.lower() and "<img" not in html and "<iframe" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&#34;&gt;&lt;svg onload=alert(2)&gt;" in html
    assert "— &lt;i&gt;LAHRP&lt;/i&gt;" in html and "T&lt;b&gt;" in html


def test_a_card_shows_at_most_three_quotes():
    quotes = tuple(Quote(f"quote number {i}", "LAHRP") for i in range(1, 6))
    html = render_html(_pack(T1, quotes={"T1": quotes}))
    assert [f"quote number {i}" in html for i in range(1, 6)] == [True] * 3 + [False] * 2
    assert MAX_QUOTES == 3


def test_a_card_without_quotes_or_subthemes_shows_neither():
    html = render_html(_pack(T2.with_(subthemes=()), quotes={}))
    assert "<blockquote>" not in html and "Sub-themes" not in html


def test_template_is_package_data():
    templates = resources.files("coprod_nb.exchange") / "templates"
    assert (templates / "resource_pack.html.j2").is_file()


@pytest.mark.parametrize(
    ("cards", "problem"),
    [
        ((), "no cards"),
        ((Card(T1), Card(T2.with_(code="T1"))), "two cards have the tension code 'T1'"),
        ((Card(T1.with_(code=" ")),), "has no tension code"),
    ],
)
def test_a_pack_needs_cards_with_distinct_codes(tmp_path, cards, problem):
    pack = Pack("S", "v1", cards)
    for write in (render_html, lambda p: write_docx(p, tmp_path / "p.docx")):
        with pytest.raises(InvalidInput, match=problem):
            write(pack)


def test_write_pack_writes_html_or_docx_and_refuses_other_formats(tmp_path):
    html = write_pack(_pack(), "html", tmp_path / "pack.html")
    assert html == tmp_path / "pack.html"
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    word = write_pack(_pack(), "DOCX", tmp_path / "pack.docx")
    assert zipfile.is_zipfile(word)
    with pytest.raises(InvalidInput, match="unknown resource pack format 'pdf'"):
        write_pack(_pack(), "pdf", tmp_path / "pack.pdf")


# --- Word: helpers that play the participant --------------------------------------------


def _cell_text(cell) -> str:
    return cell.text.strip()


def _table_starting(document, first: str):
    """The table whose visible first cell reads ``first`` (as a participant sees it)."""
    for table in document.tables:
        if _cell_text(table.rows[0].cells[0]) == first:
            return table
    raise AssertionError(f"no table starting with {first!r}")


def _row(table, label: str):
    for row in table.rows:
        if _cell_text(row.cells[0]).startswith(label):
            return row
    raise AssertionError(f"no row {label!r}")


def _type(cell, text: str) -> None:
    """Type into a cell the way Word does: each line its own paragraph."""
    lines = text.split("\n")
    cell.paragraphs[0].text = lines[0]
    for line in lines[1:]:
        cell.add_paragraph(line)


def _fill(
    src: Path, dest: Path, *, name="Dr Rowan Ashby", partnership="LAHRP", answers=None, marks=None
) -> Path:
    document = docx.Document(str(src))
    fields = _table_starting(document, "Your name")
    if name:
        _type(_row(fields, "Your name").cells[1], name)
    if partnership:
        _type(_row(fields, "Your partnership").cells[1], partnership)
    for code, (comment, suggestion) in (answers or {}).items():
        card = _table_starting(document, code)
        _type(_row(card, "Comment").cells[1], comment)
        _type(_row(card, "Suggestion").cells[1], suggestion)
    circles = _table_starting(document, "Code")
    for code, (inner, outer) in (marks or {}).items():
        row = _row(circles, code)
        _type(row.cells[2], inner)
        _type(row.cells[3], outer)
    document.save(str(dest))
    return dest


ANSWERS = {
    "T1": ("We talk big in bids.\nThe reality is smaller.", "Split funding from clarity."),
    "T2": ("Money sets the agenda.", ""),
    "T3": ("", "Add acronyms as a sub-theme."),
}
MARKS = {"T1": ("X", ""), "T2": ("", "✔"), "T3": ("x", "X")}


@pytest.fixture
def blank(tmp_path) -> Path:
    return write_docx(_pack(), tmp_path / "pack.docx")


@pytest.fixture
def filled(blank, tmp_path) -> Path:
    return _fill(blank, tmp_path / "filled.docx", answers=ANSWERS, marks=MARKS)


EXPECTED = (
    CardResponse(
        "T1",
        "We talk big in bids.\nThe reality is smaller.",
        "Split funding from clarity.",
        "inner",
    ),
    CardResponse("T2", "Money sets the agenda.", "", "outer"),
    CardResponse("T3", "", "Add acronyms as a sub-theme.", "none"),
)


def _document_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


# --- Word: writing -----------------------------------------------------------------------


def test_docx_shows_the_cover_and_every_card(blank):
    text = _document_text(docx.Document(str(blank)))
    for expected in (
        "Leading co-production (demo)",
        "Framework v1, frozen 2021-06-14",
        "Resource pack for workshop participants",
        "pseudonyms",
        "Your name",
        "Your partnership",
        "Circle sheet",
    ):
        assert expected in text
    for t in (T1, T2, T3):
        for expected in (t.code, t.name, t.pole_a, t.pole_b, *t.subthemes):
            assert expected in text
        for paragraph in t.description.split("\n\n"):
            assert paragraph in text
    for quotes in QUOTES.values():
        for q in quotes:
            assert q.text in text and f"— {q.partnership}" in text


def test_docx_spectrum_is_a_row_with_pole_a_left_and_pole_b_right(blank):
    document = docx.Document(str(blank))
    spectrum = _table_starting(document, T1.pole_a)
    a, line, b = spectrum.rows[0].cells
    assert len(spectrum.rows) == 1
    assert (_cell_text(b), "◀" in line.text and "▶" in line.text) == (T1.pole_b, True)
    assert str(a.paragraphs[0].alignment).startswith("LEFT")
    assert str(b.paragraphs[0].alignment).startswith("RIGHT")


def test_docx_input_tables_carry_hidden_and_visible_identifiers(blank):
    document = docx.Document(str(blank))
    ids = {}
    for table in document.tables:
        tblPr = table._tbl.tblPr
        caption = tblPr.find(qn("w:tblCaption"))
        if caption is not None:
            description = tblPr.find(qn("w:tblDescription"))
            assert description.get(qn("w:val")) == caption.get(qn("w:val"))
            # Schema order: Word refuses properties out of order.
            assert tblPr[-2:] == [caption, description]
            ids[caption.get(qn("w:val"))] = _cell_text(table.rows[0].cells[0])
    assert ids == {
        "coprod-participant": "Your name",
        "coprod-card:T1": "T1",
        "coprod-card:T2": "T2",
        "coprod-card:T3": "T3",
        "coprod-circles": "Code",
    }


def test_docx_drops_characters_that_xml_forbids(tmp_path):
    odd = T1.with_(name="bell\x07 and null\x00 removed", description="form\x0cfeed")
    path = write_docx(_pack(odd, quotes={}), tmp_path / "odd.docx")
    text = _document_text(docx.Document(str(path)))
    assert "bell and null removed" in text and "formfeed" in text


# --- Word: reading back ------------------------------------------------------------------


def test_filled_copy_reads_back_per_tension(filled):
    response = read_docx_response(filled)
    assert (response.participant, response.partnership) == ("Dr Rowan Ashby", "LAHRP")
    assert response.responses == EXPECTED
    assert response.warnings == (
        "circle sheet: T3 is marked in both the inner and the outer circle; left out of both",
    )


@pytest.mark.parametrize("mark", ["X", "x", "✓", "✔", "yes", " • "])
def test_any_mark_places_a_card(blank, tmp_path, mark):
    path = _fill(blank, tmp_path / "f.docx", marks={"T1": ("", mark), "T2": (mark, "")})
    circles = [r.circle for r in read_docx_response(path).responses]
    assert circles == ["outer", "inner", "none"]


def test_unfilled_boxes_read_as_empty(blank, tmp_path):
    response = read_docx_response(_fill(blank, tmp_path / "f.docx"))
    assert response.responses == tuple(CardResponse(c, "", "", "none") for c in ("T1", "T2", "T3"))
    assert response.warnings == ()


def test_filled_copy_reads_without_hidden_identifiers(filled, tmp_path):
    # LibreOffice 7.4 drops a table's title and description when it saves a .docx.
    document = docx.Document(str(filled))
    for table in document.tables:
        for tag in ("w:tblCaption", "w:tblDescription"):
            for element in table._tbl.tblPr.findall(qn(tag)):
                element.getparent().remove(element)
    document.save(str(tmp_path / "bare.docx"))
    assert read_docx_response(tmp_path / "bare.docx") == read_docx_response(filled)


def test_reader_keeps_rows_and_paragraphs_a_participant_adds(filled, tmp_path):
    document = docx.Document(str(filled))
    document.add_paragraph("A paragraph typed after the circle sheet.")
    card = _table_starting(document, "T2")
    _row(card, "Comment").cells[1].add_paragraph("And a second paragraph.")
    extra = card.add_row()  # an extra row at the end goes on with the suggestion
    _type(extra.cells[1], "One more idea.")
    document.tables[0].add_row()  # the participant table too
    document.save(str(tmp_path / "more.docx"))
    t2 = read_docx_response(tmp_path / "more.docx").responses[1]
    assert t2 == CardResponse(
        "T2", "Money sets the agenda.\nAnd a second paragraph.", "One more idea.", "outer"
    )


def test_circle_sheet_codes_that_are_not_cards_warn(filled, tmp_path):
    document = docx.Document(str(filled))
    circles = _table_starting(document, "Code")
    row = circles.add_row()
    _type(row.cells[0], "T9")
    _type(row.cells[2], "X")
    _row(circles, "T2")._tr.getparent().remove(_row(circles, "T2")._tr)
    document.save(str(tmp_path / "extra.docx"))
    response = read_docx_response(tmp_path / "extra.docx")
    assert [r.circle for r in response.responses] == ["inner", "none", "none"]
    assert "circle sheet: T9 is not a card in this pack; ignored" in response.warnings
    assert "circle sheet: T2 has no row; left out of the circles" in response.warnings


def test_missing_participant_name_is_refused(blank, tmp_path):
    path = _fill(blank, tmp_path / "anon.docx", name="", answers=ANSWERS)
    with pytest.raises(InvalidInput, match="participant name") as caught:
        read_docx_response(path)
    assert caught.value.file == "anon.docx"


def test_missing_partnership_is_a_warning(blank, tmp_path):
    response = read_docx_response(_fill(blank, tmp_path / "f.docx", partnership=""))
    assert response.partnership == "" and "'Your partnership' is empty" in response.warnings


def test_a_word_file_that_is_not_a_pack_is_refused(tmp_path):
    document = docx.Document()
    document.add_paragraph("Minutes of the meeting")
    document.save(str(tmp_path / "minutes.docx"))
    with pytest.raises(InvalidInput, match="not a coprod_nb resource pack"):
        read_docx_response(tmp_path / "minutes.docx")


@pytest.mark.parametrize("kind", ["text", "zip", "empty"])
def test_a_file_that_is_not_docx_is_refused(tmp_path, kind):
    path = tmp_path / "pack.docx"
    if kind == "text":
        path.write_text("Your name: Rowan\nT1 comment: fine\n")  # a renamed .txt
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "not Word")
    else:
        path.write_bytes(b"")
    with pytest.raises(InvalidInput, match="not a Word .docx file") as caught:
        read_docx_response(path)
    assert caught.value.file == "pack.docx"


# --- LibreOffice -------------------------------------------------------------------------


def _soffice(tmp: Path, target: str, outdir: Path, *files: Path) -> float:
    """Convert with LibreOffice in a throwaway profile; return the seconds taken."""
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    if binary is None:
        missing("LibreOffice not installed")
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    command = [
        binary,
        f"-env:UserInstallation={(tmp / 'lo-profile').as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        target,
        "--outdir",
        str(outdir),
        *map(str, files),
    ]
    started = time.monotonic()
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        timeout=180,
        env={**os.environ, "HOME": str(home)},
    )
    return time.monotonic() - started


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A blank and a filled pack, converted to PDF and re-saved as .docx by LibreOffice."""
    tmp = tmp_path_factory.mktemp("libreoffice")
    blank = write_docx(_pack(), tmp / "pack.docx")
    filled = _fill(blank, tmp / "filled.docx", answers=ANSWERS, marks=MARKS)
    pdf, resaved = tmp / "pdf", tmp / "resaved"
    _soffice(tmp, "pdf", pdf, blank, filled)
    _soffice(tmp, "docx:MS Word 2007 XML", resaved, filled)
    return {"pdf": pdf, "resaved": resaved / "filled.docx"}


@pytest.mark.parametrize("name", ["pack.pdf", "filled.pdf"])
def test_libreoffice_converts_the_pack_to_pdf(converted, name):
    pdf = converted["pdf"] / name
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")


def test_a_copy_resaved_by_libreoffice_reads_back(converted):
    response = read_docx_response(converted["resaved"])
    assert (response.participant, response.partnership) == ("Dr Rowan Ashby", "LAHRP")
    assert response.responses == EXPECTED
