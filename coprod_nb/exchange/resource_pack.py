"""The workshop resource pack: one card per tension, in HTML (to print) and Word (to fill in).

Step 3 "Before" of the method: each participant reads a card per tension, writes a
comment and a suggestion on it, and places the cards in an inner circle (most
important or relevant to their partnership now) or an outer circle (less). The
functions here are pure of the database: the caller gathers the tensions and the
already pseudonymised quotes into a :class:`Pack`.

A filled-in Word copy is read back with :func:`read_docx_response`. Each table that
holds input carries a hidden identifier (the table's alt-text title and description,
``w:tblCaption`` / ``w:tblDescription``) and a visible one (its first cell), so the
copy still reads when an editor drops the hidden one on re-saving.
"""

from __future__ import annotations

import functools
import io
import re
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import docx
import jinja2
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from coprod_nb.domain.framework import Tension
from coprod_nb.errors import InvalidInput
from coprod_nb.exchange.outputs import Outputs, check_output, write_output

__all__ = [
    "CIRCLES",
    "DEFAULT_INSTRUCTIONS",
    "FORMATS",
    "MAX_QUOTES",
    "Card",
    "CardResponse",
    "Pack",
    "PackResponse",
    "Quote",
    "read_docx_response",
    "render_html",
    "write_docx",
    "write_pack",
]

FORMATS: tuple[str, ...] = ("html", "docx")
CIRCLES: tuple[str, ...] = ("inner", "outer", "none")
MAX_QUOTES = 3
"""A card shows at most this many quotes (the first ones: the caller chooses the order)."""

SUBTITLE = "Resource pack for workshop participants"
PSEUDONYM_NOTE = (
    "The quotes come from the recorded conversations. Names of people, places and "
    "organisations in them have been replaced with pseudonyms. Please do not share "
    "this pack outside the workshop."
)
DEFAULT_INSTRUCTIONS = """\
Thank you for taking part in the workshop. This pack holds one card for each tension \
that the research team found when reading the conversations together. A tension is a \
spectrum between two poles: a partnership can sit anywhere along it, and can move along \
it over time. There are no right or wrong answers.

1. Read each card: its two poles, the description and the quotes.
2. In the comment box, write what the tension means to you and how it shows in your \
partnership.
3. In the suggestion box, suggest how the tension could be named, described or split \
better, or what is missing from it.
4. On the circle sheet at the end, place each card in the inner circle if it is among \
the most important or relevant to your partnership now, or in the outer circle if it is \
less so, by putting an X in one of the two columns. Leave a card out of both circles if \
it does not apply.

Please return the completed pack to the research team before the workshop: your \
comments and your circles open the discussion."""

# Hidden identifiers of the input tables (alt-text title and description).
_ID_CARD = "coprod-card:"
_ID_CIRCLES = "coprod-circles"
_ID_PARTICIPANT = "coprod-participant"

# Visible labels; the reader matches them case-insensitively by their start.
_NAME_LABEL = "Your name"
_PARTNERSHIP_LABEL = "Your partnership"
_COMMENT_LABEL = "Comment"
_SUGGESTION_LABEL = "Suggestion"
_COMMENT_HINT = "What does this tension mean to you? How does it show in your partnership?"
_SUGGESTION_HINT = "How could it be named, described or split better? What is missing?"
_SPECTRUM_LINE = "◀" + "─" * 12 + "▶"

_NOT_DOCX = (
    "not a Word .docx file (an old .doc, a PDF or a renamed file?); "
    "open it in Word and save it as .docx"
)

# Characters that XML 1.0 forbids (and lone surrogates, which UTF-8 cannot encode):
# python-docx refuses them and a browser shows garbage, so they are dropped.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


# --- the pack ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """A quote shown on a card: text already pseudonymised, and its partnership's label."""

    text: str
    partnership: str


@dataclass(frozen=True)
class Card:
    """One tension and the quotes that illustrate it (the first :data:`MAX_QUOTES` shown)."""

    tension: Tension
    quotes: tuple[Quote, ...] = ()


@dataclass(frozen=True)
class Pack:
    """What a resource pack shows: the study, the framework version and the cards in order."""

    study: str
    version_label: str
    cards: tuple[Card, ...]
    instructions: str = DEFAULT_INSTRUCTIONS


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", str(text or "")).strip()


def _blocks(text: str) -> list[str]:
    """Paragraphs: split on blank lines; single line breaks stay inside a paragraph."""
    return [b.strip() for b in re.split(r"\n\s*\n", _clean(text).replace("\r\n", "\n")) if b]


def _check(pack: Pack) -> None:
    # Codes identify the cards when a filled copy is read back, so they must be
    # present and unique.
    if not pack.cards:
        raise InvalidInput("the resource pack has no cards: the framework has no tensions")
    seen: set[str] = set()
    for number, card in enumerate(pack.cards, 1):
        code = _clean(card.tension.code)
        if not code:
            raise InvalidInput(f"card {number} ({card.tension.name!r}) has no tension code")
        if code in seen:
            raise InvalidInput(f"two cards have the tension code {code!r}")
        seen.add(code)


# --- HTML --------------------------------------------------------------------------------

_SPECTRUM_WRAP = 34  # characters per label line: two labels share a 640-unit-wide drawing
_LINE_HEIGHT = 18


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("coprod_nb.exchange", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _spectrum(tension: Tension) -> dict:
    a = textwrap.wrap(_clean(tension.pole_a), _SPECTRUM_WRAP) or [""]
    b = textwrap.wrap(_clean(tension.pole_b), _SPECTRUM_WRAP) or [""]
    return {
        "a": _clean(tension.pole_a),
        "b": _clean(tension.pole_b),
        "a_lines": a,
        "b_lines": b,
        "height": 50 + _LINE_HEIGHT * (max(len(a), len(b)) - 1) + 8,
    }


def _card_view(card: Card) -> dict:
    t = card.tension
    return {
        "code": _clean(t.code),
        "name": _clean(t.name),
        "spectrum": _spectrum(t),
        "description": _blocks(t.description),
        "subthemes": [s for s in (_clean(s) for s in t.subthemes) if s],
        "quotes": [
            {"text": _clean(q.text), "partnership": _clean(q.partnership)}
            for q in card.quotes[:MAX_QUOTES]
        ],
    }


def render_html(pack: Pack) -> str:
    """The resource pack as one self-contained HTML page, laid out for printing.

    Inline CSS only: no script, font, image or link to fetch. Every text from the
    pack is escaped.

    Parameters
    ----------
    pack : Pack
        The study, version label and cards.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    InvalidInput
        The pack has no cards, or a card without a code or with a repeated code.
    """
    _check(pack)
    template = _environment().get_template("resource_pack.html.j2")
    return template.render(
        study=_clean(pack.study),
        version_label=_clean(pack.version_label),
        subtitle=SUBTITLE,
        pseudonym_note=PSEUDONYM_NOTE,
        instructions=_blocks(pack.instructions),
        labels={
            "name": _NAME_LABEL,
            "partnership": _PARTNERSHIP_LABEL,
            "comment": _COMMENT_LABEL,
            "suggestion": _SUGGESTION_LABEL,
            "comment_hint": _COMMENT_HINT,
            "suggestion_hint": _SUGGESTION_HINT,
        },
        cards=[_card_view(c) for c in pack.cards],
    )


# --- Word: writing -----------------------------------------------------------------------

# Schema order of the children that python-docx does not model: Word refuses a
# document whose property children are out of order.
_TBLPR_AFTER_CAPTION = ("w:tblDescription", "w:tblPrChange")
_TBLPR_AFTER_DESCRIPTION = ("w:tblPrChange",)
_TCPR_AFTER_SHD = (
    "w:noWrap",
    "w:tcMar",
    "w:textDirection",
    "w:tcFitText",
    "w:vAlign",
    "w:hideMark",
    "w:headers",
    "w:cellIns",
    "w:cellDel",
    "w:cellMerge",
    "w:tcPrChange",
)


def _insert_ordered(parent, child, successors: tuple[str, ...]) -> None:
    for tag in successors:
        found = parent.find(qn(tag))
        if found is not None:
            found.addprevious(child)
            return
    parent.append(child)


def _set_table_id(table, identifier: str) -> None:
    tblPr = table._tbl.tblPr
    for tag, successors in (
        ("w:tblCaption", _TBLPR_AFTER_CAPTION),
        ("w:tblDescription", _TBLPR_AFTER_DESCRIPTION),
    ):
        for old in tblPr.findall(qn(tag)):
            tblPr.remove(old)
        element = OxmlElement(tag)
        element.set(qn("w:val"), identifier)
        _insert_ordered(tblPr, element, successors)


def _shade(cell, fill: str = "E7E7E7") -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    _insert_ordered(cell._tc.get_or_add_tcPr(), shd, _TCPR_AFTER_SHD)


def _widths(table, cms: tuple[float, ...]) -> None:
    # Word reads the cell widths, LibreOffice the grid: set both.
    table.autofit = False
    for column, cm in zip(table.columns, cms, strict=True):
        column.width = Cm(cm)
        for cell in column.cells:
            cell.width = Cm(cm)


def _write_cell(cell, text: str, *, bold: bool = False, hint: str = "", align=None) -> None:
    paragraph = cell.paragraphs[0]
    if align is not None:
        paragraph.alignment = align
    paragraph.add_run(text).bold = bold
    if hint:
        run = cell.add_paragraph().add_run(hint)
        run.italic = True
        run.font.size = Pt(8)
        run.font.color.rgb = RGBColor(0x59, 0x59, 0x59)


def _paragraphs(document, text: str, style: str | None = None) -> None:
    for block in _blocks(text):
        document.add_paragraph(block, style=style)  # "\n" becomes a line break


@functools.cache
def _circles_png() -> bytes:
    # matplotlib is already a dependency; the object API (no pyplot) keeps no global
    # state. Drawn as a picture because python-docx cannot draw shapes.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    figure = Figure(figsize=(3.2, 3.2), dpi=150)
    FigureCanvasAgg(figure)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(-1.02, 1.02)
    ax.set_ylim(-1.02, 1.02)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(Circle((0, 0), 1.0, facecolor="#f2f2f2", edgecolor="#333333", linewidth=1.5))
    ax.add_patch(Circle((0, 0), 0.5, facecolor="white", edgecolor="#333333", linewidth=1.5))
    ax.text(0, 0.04, "Inner circle", ha="center", va="center", fontsize=11, weight="bold")
    ax.text(0, -0.12, "most important now", ha="center", va="center", fontsize=8)
    ax.text(0, 0.76, "Outer circle", ha="center", va="center", fontsize=11, weight="bold")
    ax.text(0, 0.62, "less important", ha="center", va="center", fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _add_circles_picture(document) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    shape = paragraph.add_run().add_picture(io.BytesIO(_circles_png()), width=Cm(7))
    # Alt text for screen readers.
    shape._inline.docPr.set("descr", "Two concentric circles: the inner and the outer circle")


def _add_card(document, card: Card) -> None:
    t = card.tension
    code, name = _clean(t.code), _clean(t.name)
    heading = document.add_heading(f"{code}  {name}", level=1)
    heading.paragraph_format.page_break_before = True

    spectrum = document.add_table(rows=1, cols=3)
    spectrum.alignment = WD_TABLE_ALIGNMENT.CENTER
    a, line, b = spectrum.rows[0].cells
    _write_cell(a, _clean(t.pole_a), bold=True, align=WD_ALIGN_PARAGRAPH.LEFT)
    _write_cell(line, _SPECTRUM_LINE, align=WD_ALIGN_PARAGRAPH.CENTER)
    _write_cell(b, _clean(t.pole_b), bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _widths(spectrum, (6.0, 5.0, 6.0))

    _paragraphs(document, t.description)
    subthemes = [s for s in (_clean(s) for s in t.subthemes) if s]
    if subthemes:
        document.add_paragraph().add_run("Sub-themes").bold = True
        for s in subthemes:
            document.add_paragraph(s, style="List Bullet")
    for q in card.quotes[:MAX_QUOTES]:
        paragraph = document.add_paragraph(style="Quote")
        paragraph.add_run(f"“{_clean(q.text)}”")
        if _clean(q.partnership):
            paragraph.add_run(f"\n— {_clean(q.partnership)}").italic = False

    boxes = document.add_table(rows=3, cols=2, style="Table Grid")
    _set_table_id(boxes, _ID_CARD + code)
    head, comment, suggestion = boxes.rows
    _write_cell(head.cells[0], code, bold=True)
    _write_cell(head.cells[1], name, bold=True)
    for cell in head.cells:
        _shade(cell)
    _write_cell(comment.cells[0], _COMMENT_LABEL, bold=True, hint=_COMMENT_HINT)
    _write_cell(suggestion.cells[0], _SUGGESTION_LABEL, bold=True, hint=_SUGGESTION_HINT)
    for row, cm in ((comment, 6.0), (suggestion, 4.5)):
        row.height, row.height_rule = Cm(cm), WD_ROW_HEIGHT_RULE.AT_LEAST
    _widths(boxes, (3.5, 13.5))


def _build_docx(pack: Pack):
    document = docx.Document()
    section = document.sections[0]
    # A4, as used by the UK partnerships; python-docx's template is US Letter.
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    properties = document.core_properties
    properties.title = f"{_clean(pack.study)}: {SUBTITLE.lower()}"
    properties.subject = _clean(pack.version_label)
    properties.author = properties.last_modified_by = "coprod_nb"
    properties.comments = ""
    properties.created = properties.modified = datetime.now(UTC).replace(microsecond=0)

    # Cover.
    document.add_paragraph(_clean(pack.study), style="Title")
    document.add_paragraph(SUBTITLE, style="Subtitle")
    document.add_paragraph().add_run(_clean(pack.version_label)).bold = True
    document.add_paragraph().add_run(PSEUDONYM_NOTE).italic = True

    document.add_heading("Instructions", level=1)
    _paragraphs(document, pack.instructions)

    fields = document.add_table(rows=2, cols=2, style="Table Grid")
    _set_table_id(fields, _ID_PARTICIPANT)
    for row, label in zip(fields.rows, (_NAME_LABEL, _PARTNERSHIP_LABEL), strict=True):
        _write_cell(row.cells[0], label, bold=True)
        _shade(row.cells[0])
        row.height, row.height_rule = Cm(1.0), WD_ROW_HEIGHT_RULE.AT_LEAST
    _widths(fields, (4.5, 12.5))

    for card in pack.cards:
        _add_card(document, card)

    heading = document.add_heading("Circle sheet", level=1)
    heading.paragraph_format.page_break_before = True
    document.add_paragraph(
        "Put an X in the Inner column for the tensions most important or relevant to your "
        "partnership now, and in the Outer column for the others that matter less. "
        "Leave both columns empty for a tension that does not apply."
    )
    _add_circles_picture(document)
    circles = document.add_table(rows=1 + len(pack.cards), cols=4, style="Table Grid")
    _set_table_id(circles, _ID_CIRCLES)
    for cell, label in zip(
        circles.rows[0].cells, ("Code", "Tension", "Inner", "Outer"), strict=True
    ):
        _write_cell(cell, label, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        _shade(cell)
    for row, card in zip(circles.rows[1:], pack.cards, strict=True):
        _write_cell(row.cells[0], _clean(card.tension.code), bold=True)
        _write_cell(row.cells[1], _clean(card.tension.name))
        for cell in row.cells[2:]:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        row.height, row.height_rule = Cm(1.0), WD_ROW_HEIGHT_RULE.AT_LEAST
    _widths(circles, (2.0, 11.0, 2.0, 2.0))
    return document


def write_docx(pack: Pack, path, *, store=None, force: bool = False) -> Path:
    """Write the resource pack as a Word document that participants fill in.

    Parameters
    ----------
    pack : Pack
        The study, version label and cards.
    path : str or os.PathLike
        Where to write the ``.docx``.
    store : Store, optional
        The study whose record is protected (see :mod:`coprod_nb.exchange.outputs`).
    force : bool, default False
        Replace ``path`` if it exists.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    InvalidInput
        The pack has no cards, or a card without a code or with a repeated code; or an
        output path that the output rule refuses.
    """
    _check(pack)
    target = check_output(path, store, force=force)
    with Outputs(store, force=force) as out, out.open(target) as fh:
        _build_docx(pack).save(fh)
    return target


def write_pack(pack: Pack, fmt: str, path, *, store=None, force: bool = False) -> Path:
    """Write the resource pack in one of :data:`FORMATS` (``"html"`` or ``"docx"``).

    Written by the output rule (:mod:`coprod_nb.exchange.outputs`): never onto the
    ``store``'s record, an existing file replaced only with ``force``.

    Raises
    ------
    InvalidInput
        An unknown format, a pack that cannot be written (see :func:`render_html`), or
        an output path that the output rule refuses.
    """
    kind = str(fmt).strip().lower().lstrip(".")
    if kind not in FORMATS:
        raise InvalidInput(f"unknown resource pack format {fmt!r}; use one of {', '.join(FORMATS)}")
    if kind == "docx":
        return write_docx(pack, path, store=store, force=force)
    return write_output(path, render_html(pack), store, force=force)


# --- Word: reading back ------------------------------------------------------------------


@dataclass(frozen=True)
class CardResponse:
    """A participant's answer on one card; ``circle`` is one of :data:`CIRCLES`."""

    code: str
    comment: str
    suggestion: str
    circle: str


@dataclass(frozen=True)
class PackResponse:
    """A participant's filled-in pack: one response per card, in the pack's order."""

    participant: str
    partnership: str
    responses: tuple[CardResponse, ...]
    warnings: tuple[str, ...] = ()


def _open(path: Path):
    # The Word reader of transcripts opens the pack too: the same caps on the bytes read
    # and inflated (a zip whose header lies about its size is refused), the same errors.
    from coprod_nb.ingest._docx import open_docx

    return open_docx(path, not_docx=_NOT_DOCX)


def _cell_text(cell) -> str:
    return "\n".join(p.text.rstrip() for p in cell.paragraphs).strip()


def _distinct_cells(row) -> list:
    # A merged cell appears once per grid column it spans; count it once.
    cells, seen = [], set()
    for cell in row.cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            cells.append(cell)
    return cells


def _starts(text: str, label: str) -> bool:
    return text.casefold().startswith(label.casefold())


def _hidden_id(table) -> str | None:
    tblPr = table._tbl.tblPr
    if tblPr is None:
        return None
    for tag in ("w:tblCaption", "w:tblDescription"):
        element = tblPr.find(qn(tag))
        value = (element.get(qn("w:val")) or "").strip() if element is not None else ""
        if value.startswith("coprod-"):
            return value
    return None


def _circle_columns(table) -> tuple[int, int, int, int] | None:
    """``(header row, code, inner, outer)`` indexes when a row is headed Inner / Outer."""
    for r, row in enumerate(table.rows):
        header = [_cell_text(c).casefold() for c in row.cells]
        if "inner" in header and "outer" in header:
            code = header.index("code") if "code" in header else 0
            return r, code, header.index("inner"), header.index("outer")
    return None


def _identify(table) -> tuple[str, str]:
    """``(kind, code)``: kind is card / circles / participant / other."""
    hidden = _hidden_id(table)
    if hidden == _ID_PARTICIPANT:
        return "participant", ""
    if hidden == _ID_CIRCLES:
        return "circles", ""
    if hidden and hidden.startswith(_ID_CARD):
        return "card", hidden[len(_ID_CARD) :].strip()
    # The hidden identifier is lost: recognise the table by what it shows.
    if not table.rows:
        return "other", ""
    firsts = [_cell_text(row.cells[0]) for row in table.rows if row.cells]
    if firsts and _starts(firsts[0], _NAME_LABEL):
        return "participant", ""
    if any(_starts(f, _COMMENT_LABEL) for f in firsts) and any(
        _starts(f, _SUGGESTION_LABEL) for f in firsts
    ):
        return "card", firsts[0]
    if _circle_columns(table) is not None:
        return "circles", ""
    return "other", ""


def _read_card(table) -> tuple[str, str]:
    texts = {"comment": [], "suggestion": []}
    current = None
    for row in table.rows[1:]:
        cells = _distinct_cells(row)
        label = _cell_text(cells[0]) if cells else ""
        if _starts(label, _COMMENT_LABEL):
            current = "comment"
        elif _starts(label, _SUGGESTION_LABEL):
            current = "suggestion"
        elif label and current is not None:
            # A row the participant added with text in the label column: theirs too.
            texts[current].append(label)
        if current is not None:
            texts[current] += [t for t in (_cell_text(c) for c in cells[1:]) if t]
    return "\n".join(texts["comment"]), "\n".join(texts["suggestion"])


def _read_participant(table) -> tuple[str, str]:
    name = partnership = ""
    for row in table.rows:
        cells = _distinct_cells(row)
        if not cells:
            continue
        label = _cell_text(cells[0])
        value = "\n".join(t for t in (_cell_text(c) for c in cells[1:]) if t)
        if _starts(label, _NAME_LABEL) and not name:
            name = value
        elif _starts(label, _PARTNERSHIP_LABEL) and not partnership:
            partnership = value
    return " ".join(name.split()), " ".join(partnership.split())


def _read_circles(table, warnings: list[str]) -> dict[str, str]:
    columns = _circle_columns(table)
    if columns is None:
        warnings.append("the circle sheet has no Inner and Outer columns; no circles read")
        return {}
    header, code_col, inner_col, outer_col = columns
    placed: dict[str, str] = {}
    for number, row in enumerate(table.rows[header + 1 :], header + 2):
        cells = row.cells  # one per grid column, so the header's indexes apply
        code, inner, outer = (
            _cell_text(cells[i]) if i < len(cells) else "" for i in (code_col, inner_col, outer_col)
        )
        if not code:
            if inner or outer:
                warnings.append(f"circle sheet, row {number}: marked but no code; ignored")
            continue
        if code in placed:
            warnings.append(f"circle sheet: {code} is listed twice; the first row is used")
            continue
        if inner and outer:
            warnings.append(
                f"circle sheet: {code} is marked in both the inner and the outer circle; "
                "left out of both"
            )
            placed[code] = "none"
        else:
            placed[code] = "inner" if inner else "outer" if outer else "none"
    return placed


def read_docx_response(path) -> PackResponse:
    """Read a participant's filled-in Word resource pack.

    Tables are found by their hidden identifier, or, when an editor dropped it, by
    what they show (the tension code in a card's first cell, the "Your name" row,
    the Inner / Outer header). Rows and paragraphs the participant added inside a
    box are kept; any non-blank mark in a circle column places the card there.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.docx`` file returned by a participant.

    Returns
    -------
    PackResponse
        The participant, their partnership, one :class:`CardResponse` per card in
        the pack's order, and warnings (a card marked in both circles, a circle-sheet
        code that is not a card, ...).

    Raises
    ------
    InvalidInput
        Not a .docx file, not a resource pack, or no participant name filled in.
    """
    path = Path(path)
    document = _open(path)
    warnings: list[str] = []
    cards: dict[str, tuple[str, str]] = {}
    circles: dict[str, str] | None = None
    participant: tuple[str, str] | None = None
    for table in document.tables:
        kind, code = _identify(table)
        if kind == "card":
            if not code:
                warnings.append("a card table has no tension code in its first cell; ignored")
            elif code in cards:
                warnings.append(f"card {code} appears twice; the first one is used")
            else:
                cards[code] = _read_card(table)
        elif kind == "circles" and circles is None:
            circles = _read_circles(table, warnings)
        elif kind == "participant" and participant is None:
            participant = _read_participant(table)
    if not cards:
        raise InvalidInput("not a coprod_nb resource pack: no card tables found", file=path.name)
    name, partnership = participant or ("", "")
    if not name:
        raise InvalidInput(
            f"no participant name: fill in {_NAME_LABEL!r} on the first page",
            file=path.name,
            place="first page",
        )
    if not partnership:
        warnings.append(f"{_PARTNERSHIP_LABEL!r} is empty")
    if circles is None:
        warnings.append("no circle sheet found; every card is left out of the circles")
        circles = {}
    else:
        for code in circles:
            if code not in cards:
                warnings.append(f"circle sheet: {code} is not a card in this pack; ignored")
        for code in cards:
            if code not in circles:
                warnings.append(f"circle sheet: {code} has no row; left out of the circles")
    responses = tuple(
        CardResponse(code, comment, suggestion, circles.get(code, "none"))
        for code, (comment, suggestion) in cards.items()
    )
    return PackResponse(name, partnership, responses, tuple(warnings))
