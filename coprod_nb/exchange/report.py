"""The final report of a study: HTML (one self-contained file), Word or Markdown.

:func:`build_report` gathers everything into a :class:`Report` of plain data (strings,
tables of strings and PNG bytes); the writers only lay it out, so the three formats say
the same thing. Contents: the study and the dates of its three steps; the final
framework with one section per tension (poles, description, sub-themes, up to three
quotes from conversations whose participants consented to quotation, the poll and
circle results of the tensions it came from, and its spectrum); the lineage from the
initial tensions; the reflective questions worksheet; and an audit appendix of every
step-2 and step-3 decision with its rationale and evidence.

A report shows one frozen framework version (the newest by default) and derives every
section from it and the decisions it was frozen with, so that no two sections disagree.
When that version is not the current framework (an older version was chosen, or a
workshop has recorded decisions that are not frozen yet), the report says so first.

Names are the study's pseudonyms throughout. Only ``real_names=True`` reads the name
key: the report then says so in its first line and lists the key at the end.
"""

from __future__ import annotations

import base64
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import docx
import pandas as pd
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from coprod_nb.analysis.audit import audit_trail
from coprod_nb.analysis.overview import study_info
from coprod_nb.analysis.sensemaking import (
    Trail,
    circle_results,
    final_labels,
    framework_trail,
    plot_lineage,
    poles,
    poll_results,
    spectra,
    trail_lineage,
)
from coprod_nb.analysis.workshop import plot_spectra
from coprod_nb.domain import word_count
from coprod_nb.domain.framework import Framework, Tension
from coprod_nb.domain.markdown import md_cell, md_line, md_text
from coprod_nb.domain.pseudonyms import scrub_fields
from coprod_nb.domain.reflection import REFLECTIVE_TOPICS
from coprod_nb.domain.wording import plural, version_title
from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.exchange._names import UNCHECKED, typed_name_scrubber
from coprod_nb.exchange.outputs import Outputs, check_output
from coprod_nb.exchange.pack_builder import MAX_QUOTE_WORDS, quotable_transcripts
from coprod_nb.exchange.resource_pack import Quote, _clean, _environment, _shade, _widths
from coprod_nb.storage import Store

__all__ = [
    "FORMATS",
    "NOT_ANSWERED",
    "REAL_NAMES_NOTICE",
    "Figure",
    "Report",
    "Table",
    "TensionSection",
    "build_report",
    "render_html",
    "render_markdown",
    "save_report",
    "version_banner",
    "worksheet_table",
    "write_report",
]

FORMATS: tuple[str, ...] = ("html", "docx", "md")
MAX_QUOTES = 3
NOT_ANSWERED = "not answered yet"
REAL_NAMES_NOTICE = (
    "This report contains REAL NAMES: it lists the key from real names to pseudonyms. "
    "Keep it within the research team and do not share or publish it."
)
PSEUDONYM_NOTE = (
    "People, places and organisations in the conversations appear under pseudonyms. "
    "Quotes come only from conversations whose participants consented to quotation."
)


# --- plain data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table of strings: column names and rows."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, df: pd.DataFrame) -> Table:
        """A DataFrame's cells as text (missing values as "")."""
        return cls(
            tuple(str(c) for c in df.columns),
            tuple(tuple(_cell(v) for v in row) for row in df.itertuples(index=False)),
        )


@dataclass(frozen=True)
class Figure:
    """A figure as PNG bytes; ``name`` is its file stem in the Markdown figures folder."""

    name: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class TensionSection:
    """One final tension, with what supports it."""

    label: str
    code: str
    name: str
    pole_a: str
    pole_b: str
    description: str
    subthemes: tuple[str, ...]
    sources: tuple[str, ...]
    origin: str
    quotes: tuple[Quote, ...]
    poll: Table | None
    poll_note: str
    circles: Table | None
    circles_note: str
    spectrum: Figure | None


@dataclass(frozen=True)
class Report:
    """Everything a report shows, ready to lay out."""

    study: str
    description: str
    written: str
    framework_label: str
    steps: Table
    counts: Table
    tensions: tuple[TensionSection, ...]
    lineage: Table | None
    lineage_figure: Figure | None
    worksheet: Table
    audit: Table
    notes: tuple[str, ...] = ()
    banner: str = ""  # when the framework shown is not the current one: said first
    real_names: bool = False
    name_key: Table | None = field(default=None, repr=False)

    @property
    def figures(self) -> list[Figure]:
        """Every figure, in the order the report shows them."""
        found = [t.spectrum for t in self.tensions if t.spectrum is not None]
        return found + ([self.lineage_figure] if self.lineage_figure is not None else [])


def _cell(value) -> str:
    if value is None or (not isinstance(value, list | tuple | dict) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return _clean(str(value))


# --- gathering -------------------------------------------------------------------------------


def worksheet_table(store: Store, *, empty: str = NOT_ANSWERED) -> pd.DataFrame:
    """The reflective questions worksheet: six topics × partnerships, answers side by side.

    Columns topic (1-6), title, question, then one per partnership (short name) holding
    its answer, or ``empty`` when it has none yet.
    """
    shorts = [p.short for p in store.partnerships()]
    answers = {(a.partnership_id, a.topic): a.answer for a in store.answers()}
    ids = {p.short: p.id for p in store.partnerships()}
    rows = []
    for number, (title, question) in enumerate(REFLECTIVE_TOPICS, start=1):
        row = {"topic": number, "title": title, "question": question}
        for short in shorts:
            row[short] = answers.get((ids[short], number)) or empty
        rows.append(row)
    return pd.DataFrame(rows, columns=["topic", "title", "question", *shorts])


def _png(fig: MplFigure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" text chunk: the file should not carry a link to matplotlib's site.
    # Margins are set by hand: bbox_inches="tight" draws every figure twice.
    # 200 dpi: sharp when a page or screen shows the figure at its size in inches.
    fig.savefig(buffer, format="png", dpi=200, metadata={"Software": None})
    return buffer.getvalue()


def _new_figure(width: float, height: float) -> MplFigure:
    # The object API, not pyplot: nothing is left open in a notebook's figure manager.
    fig = MplFigure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _spectrum_figure(table: pd.DataFrame, framework: Framework, code: str, label: str):
    if table.empty or code not in set(table["tension"]):
        return None
    # Drawn at the width the document gives it (15 cm), so 8-point text stays 8 points.
    fig = _new_figure(6.0, 2.4)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.08, right=0.8, bottom=0.25, top=0.82)  # legend on the right
    plot_spectra(table, ax, tension=code, poles=poles(framework))
    ax.set_title(f"{label}: where each partnership sits")
    return Figure(f"spectrum_{label}", f"{label}: where each partnership sits", _png(fig))


def _lineage_figure(table: pd.DataFrame) -> Figure:
    rows = max(table["source"].nunique(), table["target"].fillna("").nunique())
    fig = _new_figure(10, 0.6 * rows + 1.2)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9)  # legend above
    plot_lineage(table, fig.add_subplot())
    return Figure("lineage", "From the initial tensions to the final framework", _png(fig))


def _choose_quotes(tension: Tension, excerpts: dict, allowed: set[int], where: dict) -> list:
    candidates = sorted(
        (
            excerpts[i]
            for i in tension.evidence.get("excerpts", [])
            if i in excerpts
            and excerpts[i].transcript_id in allowed
            and word_count(excerpts[i].text) <= MAX_QUOTE_WORDS
        ),
        key=lambda e: (len(e.text), e.id),
    )
    # Shortest first, but one per partnership before a second from the same one.
    chosen, seen = [], set()
    for e in candidates:
        if where.get(e.transcript_id) not in seen:
            chosen.append(e)
            seen.add(where.get(e.transcript_id))
    chosen += [e for e in candidates if e not in chosen]
    return [Quote(_clean(e.text), where.get(e.transcript_id, "")) for e in chosen[:MAX_QUOTES]]


def _poll(store: Store, name: str, workshop: int) -> tuple[pd.DataFrame, dict] | None:
    try:
        poll = store.poll(name, workshop)
        return poll_results(store, name, workshop), store.ballots(poll.id)
    except (NotFound, Forbidden):  # no such poll, or still open: results stay hidden
        return None


def _share(count: int, ballots: int) -> str:
    return f"{count / ballots:.0%}" if ballots else "–"


def _poll_table(opening, revote, sources: Sequence[str], code: str) -> tuple[Table | None, str]:
    rows, note = [], ""
    if opening is not None:
        tally, ballots = opening
        n = tally.attrs.get("ballots", len(ballots))
        for row in tally[tally.option.isin(sources)].itertuples():
            rows.append(("opening", row.option, f"{row.count} of {n}", _share(row.count, n)))
        if len([s for s in sources if s in set(tally.option)]) > 1:
            named = sum(any(s in choices for s in sources) for choices in ballots.values())
            note = (
                f"{named} of {n} opening ballots nominated at least one of "
                f"{', '.join(s for s in sources if s in set(tally.option))}."
            )
    if revote is not None:
        tally, ballots = revote
        n = tally.attrs.get("ballots", len(ballots))
        for row in tally[tally.option == code].itertuples():
            rows.append(("re-vote", row.option, f"{row.count} of {n}", _share(row.count, n)))
    if not rows:
        return None, note
    return Table(("Poll", "Tension", "Nominated on", "Share of ballots"), tuple(rows)), note


def _circle_table(circles: pd.DataFrame | None, sources: Sequence[str]) -> tuple[Table | None, str]:
    if circles is None:
        return None, ""
    here = circles[circles.option.isin(sources)]
    if here.empty:
        return None, ""
    rows = tuple(
        (
            r.option,
            str(r.inner),
            str(r.outer),
            str(r.none),
            f"{r.mean_score:.1f}",
            {"": "no consensus", "none": "neither"}.get(r.consensus, r.consensus),
        )
        for r in here.itertuples()
    )
    threshold = circles.attrs.get("threshold")
    w = circles.attrs.get("kendall_w")
    note = (
        f"Inner circle scores 2, outer 1, neither 0. Consensus: at least {threshold:.0%} of "
        f"{circles.attrs.get('participants')} participants chose the same ring (threshold "
        "fixed before the results were seen)."
    )
    if w is not None and not pd.isna(w):
        note += f" Agreement over all cards: Kendall's W = {w:.2f}."
    columns = ("Card", "Inner", "Outer", "Neither", "Mean score", "Consensus ring")
    return Table(columns, rows), note


def _origin(tension: Tension, sources: Sequence[str]) -> str:
    others = [s for s in sources if s != tension.code]
    if tension.origin:
        return f"{' + '.join(tension.origin)} merged into {tension.code}"
    if others:
        return f"from {tension.code}, with {', '.join(others)} folded in"
    return f"from {tension.code}"


def _date(value) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else "not yet"


def _audit_table(store: Store, version: int, frozen_at: datetime) -> Table:
    trail = audit_trail(store)
    rows = []
    for r in trail.itertuples():
        who = f"{r.proposer} (recorded by {r.who})" if r.proposer else r.who
        what = f"{r.object}: {r.summary}" if r.summary else r.object
        if r.action in ("decide", "revert") and r.at > frozen_at:
            what += f" (after v{version}: not in this report's framework)"
        rows.append(
            (str(r.step), _date(r.date), _clean(who), _clean(what), r.rationale, r.evidence)
        )
    columns = ("Step", "Date", "Who", "What", "Rationale", "Evidence")
    return Table(columns, tuple(tuple(_clean(c) for c in row) for row in rows))


@dataclass(frozen=True)
class _Choice:
    """What a report shows: one frozen version, and the workshop and decisions behind it."""

    framework: Framework
    frozen_at: datetime
    workshop: object | None  # storage.models.Workshop
    trail: Trail | None  # None without a workshop
    after_workshop: bool  # the version was frozen from the workshop's result


def _choose(store: Store, version: int | None, workshop: int | None) -> _Choice:
    versions = store.framework_versions()
    if not versions:
        raise NotFound("no framework has been frozen yet")
    freezes = store.frozen_workshops()

    def related(ws, v: int) -> bool:
        return v == ws.base_version or v in freezes.get(ws.id, [])

    if workshop is not None:
        ws = store.workshop(workshop)
        if version is None:
            newest = versions[-1].version
            version = newest if related(ws, newest) else (freezes.get(ws.id) or [None])[0]
            version = version or ws.base_version
    else:
        if version is None:
            version = versions[-1].version
        workshops = store.workshops()
        open_ = [w for w in workshops if w.id not in freezes]
        preferred = open_[-1:] or workshops[-1:]
        ws = next((w for w in [*preferred, *reversed(workshops)] if related(w, version)), None)
    fv = next((v for v in versions if v.version == version), None)
    if fv is None:
        raise NotFound(
            f"no framework version {version} (frozen: "
            f"{', '.join(f'v{v.version}' for v in versions)})"
        )
    trail = framework_trail(store, ws.id, version) if ws is not None else None
    framework = store.framework(version)
    return _Choice(
        framework, fv.frozen_at, ws, trail, ws is not None and version != ws.base_version
    )


def version_banner(store: Store, version: int) -> str:
    """The report's first words when ``version`` is not the current framework ("" if it is).

    The current framework is the open workshop's (its base version with the decisions
    recorded so far, not frozen yet) or, with no workshop open, the newest frozen version.
    """
    shown = store.framework(version)
    here = f"This report shows framework {_version_named(shown)}"
    open_ws = store.open_workshop()
    if open_ws is not None:
        active = store.decisions(open_ws.id, include_reverted=False)
        base = store.framework(open_ws.base_version)
        if active:
            refs = ", ".join(d.ref for d in active)
            return (
                f"{here}; the current framework is {_version_named(base)} with "
                f"{plural(len(active), 'decision')} of the workshop of {open_ws.date:%Y-%m-%d} "
                f"recorded after it ({refs}), not yet frozen. Those decisions are not in "
                "this report."
            )
        if base.version != version:
            return (
                f"{here}; the current framework is {_version_named(base)}, which "
                f"the workshop of {open_ws.date:%Y-%m-%d} is working on (no decision "
                "recorded yet)."
            )
        return ""
    newest = store.framework()
    if newest.version != version:
        return (
            f"{here}; the current framework is {_version_named(newest)}, frozen after v{version}."
        )
    return ""


def _version_named(fv) -> str:
    """``"v1 (agreed at the meeting)"``: the label without a version it already names."""
    title = version_title(fv.version, fv.label)
    rest = title.removeprefix(f"v{fv.version}").lstrip(":").strip()
    return f"v{fv.version} ({rest})" if rest else f"v{fv.version}"


def build_report(
    store: Store,
    *,
    real_names: bool = False,
    version: int | None = None,
    workshop: int | None = None,
) -> Report:
    """Gather the final report of a study.

    Every section (the framework, each tension's poll and circle results, the counts,
    the lineage) is derived from one frozen framework version and the decisions that
    led to it. When that version is not the current framework, the report says so in
    its first words (:func:`version_banner`).

    Parameters
    ----------
    store : Store
    real_names : bool, default False
        Add the name key (real name -> pseudonym) and a notice at the very top.
        Without it the key is never read.
    version : int, optional
        The frozen framework version to report (the newest by default).
    workshop : int, optional
        The workshop whose polls, circles and decisions the report shows: by default
        the open one, else the newest, among those the version belongs to (the one it
        was frozen from, or one that started from it). A workshop given without a
        version selects the version frozen from it (else the one it started from).

    Returns
    -------
    Report

    Raises
    ------
    NotFound
        No framework has been frozen yet, or no such version or workshop.
    InvalidInput
        ``version`` and ``workshop`` given together do not belong together.
    """
    choice = _choose(store, version, workshop)
    framework, ws, trail = choice.framework, choice.workshop, choice.trail
    labels = final_labels(framework)
    notes: list[str] = []
    banner = version_banner(store, framework.version)
    if ws is None:
        notes.append(
            ("No workshop is recorded yet" if not store.workshops() else "No workshop worked on")
            + f" {framework.label}: it is a framework agreed in step 2, before the "
            "participants' sensemaking."
        )
    elif not choice.after_workshop:
        notes.append(
            f"This is the framework the workshop of {ws.date:%Y-%m-%d} started from "
            f"({framework.label}); its polls and circles are shown, no decision is applied."
        )
    # The lineage traces exactly the decisions that made the version shown.
    lineage = trail_lineage(trail) if choice.after_workshop else None
    opening = _poll(store, "opening", ws.id) if ws is not None else None
    # The re-vote is over the workshop's result: only beside the version frozen from it.
    revote = _poll(store, "revote", ws.id) if choice.after_workshop else None
    circles = circle_results(store, ws.id) if ws is not None else None
    positions = spectra(store)

    excerpts = {e.id: e for e in store.excerpts()}
    shorts = {p.id: p.short for p in store.partnerships()}
    where = {t.id: shorts.get(t.partnership_id, "") for t in store.transcripts()}
    allowed = quotable_transcripts(store)

    sections = []
    for t in framework.tensions:
        label = labels[t.code]
        sources = [t.code]
        if lineage is not None:
            sources = list(lineage.source[lineage.target == t.code]) or [t.code]
        sources = list(dict.fromkeys([*t.origin, *sources]))
        poll, poll_note = _poll_table(opening, revote, sources, t.code)
        circle, circle_note = _circle_table(circles, sources)
        sections.append(
            TensionSection(
                label=label,
                code=t.code,
                name=_clean(t.name),
                pole_a=_clean(t.pole_a),
                pole_b=_clean(t.pole_b),
                description=_clean(t.description),
                subthemes=tuple(_clean(s) for s in t.subthemes if _clean(s)),
                sources=tuple(sources),
                origin=_origin(t, sources),
                quotes=tuple(_choose_quotes(t, excerpts, allowed, where)),
                poll=poll,
                poll_note=poll_note,
                circles=circle,
                circles_note=circle_note,
                spectrum=_spectrum_figure(positions, framework, t.code, label),
            )
        )

    info = study_info(store)
    closure = store.step_closure(snapshot=False)  # only when and by whom
    meetings = store.meetings()
    versions = store.framework_versions()
    steps = [
        (
            "1. Individual recall and reflection",
            "closed" if closure else "open",
            _date(closure.closed_at if closure else None),
            closure.closed_by if closure else "",
        ),
        (
            "2. Joint interpretation meeting",
            f"{plural(len(meetings), 'meeting')}; framework v{versions[0].version} frozen"
            if meetings
            else "no meeting recorded",
            ", ".join(_date(m.date) for m in meetings) or "not yet",
            ", ".join(dict.fromkeys(a for m in meetings for a in m.attendees)),
        ),
        (
            "3. Workshop sensemaking",
            f"{ws.mode}, {len(ws.participants)} participants" if ws else "no workshop recorded",
            _date(ws.date if ws else None),
            ", ".join(ws.facilitators) if ws else "",
        ),
    ]
    decisions = trail.decisions if trail is not None else []
    initial = trail.initial if trail is not None else store.framework(versions[0].version)
    if choice.after_workshop or ws is None:
        decided = f"{len(decisions)} ({sum(d.reverted for d in decisions)} reverted)"
    else:
        later = store.decisions(ws.id, include_reverted=False)
        decided = f"none applied in v{framework.version} ({len(later)} recorded since)"
    counts = [
        ("partnerships", info["partnerships"]),
        ("participants", info["participants"]),
        ("researchers", info["researchers"]),
        ("conversations (transcripts)", info["transcripts"]),
        ("words transcribed", info["words"]),
        ("step-1 notes", info["notes"]),
        ("initial tensions", len(initial.tensions)),
        ("workshop decisions", decided),
        ("final tensions", len(framework.tensions)),
    ]

    worksheet = worksheet_table(store)
    ws_rows = tuple(
        (f"{r.topic}. {r.title}: {r.question}", *(_clean(v) for v in r[3:]))
        for r in worksheet.itertuples(index=False)
    )
    name_key = None
    if real_names:
        mapping = store.pseudonym_key().mapping  # read only on the explicit flag
        name_key = Table(
            ("Real name", "Pseudonym"),
            tuple(sorted((_clean(k), _clean(v)) for k, v in mapping.items())),
        )
    study = store.study()
    report = Report(
        study=_clean(study.name),
        description=_clean(study.description),
        written=datetime.now(UTC).strftime("%Y-%m-%d"),
        framework_label=_clean(framework.label),
        steps=Table(("Step", "State", "Date", "By"), tuple(steps)),
        counts=Table(("", "Count"), tuple((k, str(v)) for k, v in counts)),
        tensions=tuple(sections),
        lineage=Table.of(
            lineage[["source", "source_name", "final", "target", "target_name", "path"]]
        )
        if lineage is not None and not lineage.empty
        else None,
        lineage_figure=_lineage_figure(lineage)
        if lineage is not None and not lineage.empty
        else None,
        worksheet=Table(("Topic", *worksheet.columns[3:]), ws_rows),
        audit=_audit_table(store, framework.version, choice.frozen_at),
        notes=tuple(notes),
        banner=banner,
        real_names=real_names,
        name_key=name_key,
    )
    if real_names:
        return report
    # Quotes are pseudonymised at import; notes, rationales and descriptions are typed by
    # the team, who know the real names.
    scrub, checked = typed_name_scrubber(store)
    if not checked:
        report = replace(report, notes=(*report.notes, UNCHECKED))
    return scrub_fields(report, scrub)


# --- HTML ----------------------------------------------------------------------------------


def _blocks(text: str) -> list[str]:
    return [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page: inline CSS, figures as data URIs,
    no script and nothing to fetch. Every text is escaped."""
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            r=report,
            notice=REAL_NAMES_NOTICE,
            pseudonym_note=PSEUDONYM_NOTE,
            not_answered=NOT_ANSWERED,
            blocks=_blocks,
        )
    )


# --- Markdown ------------------------------------------------------------------------------


def _md(text: str) -> str:
    # Typed and quoted text must show as text: no HTML, links, images or headings of its
    # own (coprod_nb.domain.markdown is the one escape of every Markdown output).
    return md_line(_clean(text))


def _md_block(text: str) -> str:
    return md_text(_clean(text))


def _md_cell(text: str) -> str:
    return md_cell(_clean(text))


def _md_table(table: Table) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(c) or " " for c in table.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    return lines + [""]


def render_markdown(report: Report, figures_dir: str) -> str:
    """The report as Markdown; figures are linked as ``figures_dir/<name>.png``."""

    def picture(fig: Figure) -> list[str]:
        return [f"![{_md(fig.caption)}]({figures_dir}/{fig.name}.png)", ""]

    out: list[str] = []
    if report.real_names:
        out += [f"**{REAL_NAMES_NOTICE}**", ""]
    if report.banner:
        out += [f"**{_md(report.banner)}**", ""]
    out += [f"# {_md(report.study)}: final report", ""]
    out += [
        f"*{_md(PSEUDONYM_NOTE)}*",
        "",
        f"Written {report.written} from {_md(report.framework_label)}.",
        "",
    ]
    out += [f"> {_md(n)}" for n in report.notes] + ([""] if report.notes else [])
    out += ["## The study", ""] + [_md_block(b) + "\n" for b in _blocks(report.description)]
    out += _md_table(report.steps) + _md_table(report.counts)
    out += ["## The final framework", ""]
    out += [f"- **{t.label}** {_md(t.name)} ({_md(t.origin)})" for t in report.tensions] + [""]
    for t in report.tensions:
        out += [f"## {t.label} · {_md(t.name)}", "", f"*{_md(t.origin)}*", ""]
        out += [f"**{_md(t.pole_a)}** ⟷ **{_md(t.pole_b)}**", ""]
        out += picture(t.spectrum) if t.spectrum is not None else []
        out += [_md_block(b) + "\n" for b in _blocks(t.description)]
        if t.subthemes:
            out += ["**Sub-themes**", ""] + [f"- {_md(s)}" for s in t.subthemes] + [""]
        if t.quotes:
            out += ["### From the conversations", ""]
            for q in t.quotes:
                out += [f"> “{_md(q.text)}”", ">", f"> — {_md(q.partnership)}", ""]
        if t.poll is not None:
            out += ["### Poll", ""] + _md_table(t.poll)
            out += [_md(t.poll_note), ""] if t.poll_note else []
        if t.circles is not None:
            out += ["### Circles", ""] + _md_table(t.circles) + [_md(t.circles_note), ""]
    if report.lineage is not None:
        out += ["## Lineage", ""]
        out += picture(report.lineage_figure) if report.lineage_figure else []
        out += _md_table(report.lineage)
    out += ["## Reflective questions worksheet", ""] + _md_table(report.worksheet)
    out += ["## Appendix: audit trail", ""] + _md_table(report.audit)
    if report.name_key is not None:
        out += ["## Appendix: name key (REAL NAMES)", ""] + _md_table(report.name_key)
    return "\n".join(out).rstrip() + "\n"


# --- Word ----------------------------------------------------------------------------------


def _docx_table(document, table: Table, widths: Sequence[float], *, size: float = 9) -> None:
    t = document.add_table(rows=1 + len(table.rows), cols=len(table.columns), style="Table Grid")
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for r, values in enumerate((table.columns, *table.rows)):
        for cell, value in zip(t.rows[r].cells, values, strict=True):
            run = cell.paragraphs[0].add_run(_clean(value))
            run.font.size = Pt(size)
            run.bold = r == 0
            if r == 0:
                _shade(cell)
            elif value == NOT_ANSWERED:
                run.italic = True
                run.font.color.rgb = RGBColor(0x66, 0x66, 0x66)
    _widths(t, tuple(widths))
    document.add_paragraph()


def _even(total: float, first: float, n: int) -> tuple[float, ...]:
    return (first, *([(total - first) / max(n - 1, 1)] * (n - 1)))


def _picture(document, fig: Figure, width_cm: float = 16.0) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = True  # never a caption alone on a page
    shape = paragraph.add_run().add_picture(io.BytesIO(fig.png), width=Cm(width_cm))
    shape._inline.docPr.set("descr", fig.caption)  # alt text for screen readers
    caption = document.add_paragraph(fig.caption)
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.runs[0].italic = True


def _note(document, text: str) -> None:
    run = document.add_paragraph().add_run(_clean(text))
    run.italic = True
    run.font.size = Pt(9)


def _build_docx(report: Report):
    document = docx.Document()
    section = document.sections[0]
    # A4 as used by the UK partnerships; python-docx's template is US Letter.
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    props = document.core_properties
    props.title = ("REAL NAMES · " if report.real_names else "") + f"{report.study}: final report"
    props.author = props.last_modified_by = "coprod_nb"
    props.comments = ""

    if report.real_names:
        run = document.add_paragraph().add_run(REAL_NAMES_NOTICE)
        run.bold = True
        run.font.color.rgb = RGBColor(0xB4, 0x23, 0x18)
    if report.banner:
        document.add_paragraph().add_run(report.banner).bold = True
    document.add_paragraph(report.study, style="Title")
    document.add_paragraph("Final report", style="Subtitle")
    document.add_paragraph(f"Written {report.written} from {report.framework_label}.")
    _note(document, PSEUDONYM_NOTE)
    for n in report.notes:
        _note(document, n)

    document.add_heading("The study", level=1)
    for block in _blocks(report.description):
        document.add_paragraph(block)
    _docx_table(document, report.steps, (5.5, 4.5, 3.0, 4.0))
    _docx_table(document, report.counts, (8.0, 3.0))
    document.add_heading("The final framework", level=1)
    for t in report.tensions:
        paragraph = document.add_paragraph(style="List Bullet")
        paragraph.add_run(f"{t.label} ").bold = True
        paragraph.add_run(f"{t.name} ({t.origin})")

    for t in report.tensions:
        # Tensions flow on, as in the HTML: a forced break strands a short note on a page.
        document.add_heading(f"{t.label} · {t.name}", level=1)
        _note(document, t.origin)
        poles_ = document.add_paragraph()
        poles_.add_run(t.pole_a).bold = True
        poles_.add_run("  ⟷  ")
        poles_.add_run(t.pole_b).bold = True
        if t.spectrum is not None:
            _picture(document, t.spectrum, 15.0)
        for block in _blocks(t.description):
            document.add_paragraph(block)
        if t.subthemes:
            document.add_paragraph().add_run("Sub-themes").bold = True
            for s in t.subthemes:
                document.add_paragraph(s, style="List Bullet")
        if t.quotes:
            document.add_heading("From the conversations", level=2)
            for q in t.quotes:
                paragraph = document.add_paragraph(style="Quote")
                paragraph.add_run(f"“{q.text}”")
                paragraph.add_run(f"\n— {q.partnership}")
        if t.poll is not None:
            document.add_heading("Poll", level=2)
            _docx_table(document, t.poll, (3.0, 3.0, 4.0, 4.0))
            if t.poll_note:
                _note(document, t.poll_note)
        if t.circles is not None:
            document.add_heading("Circles", level=2)
            _docx_table(document, t.circles, (2.2, 2.2, 2.2, 2.2, 3.0, 3.6))
            _note(document, t.circles_note)

    if report.lineage is not None:
        heading = document.add_heading("Lineage", level=1)
        heading.paragraph_format.page_break_before = True
        if report.lineage_figure is not None:
            _picture(document, report.lineage_figure)
        _docx_table(document, report.lineage, (1.6, 4.4, 1.4, 1.6, 4.4, 3.6), size=8)

    # The worksheet and the audit are wide tables: a landscape section.
    wide = document.add_section()
    wide.orientation = WD_ORIENT.LANDSCAPE
    wide.page_width, wide.page_height = Cm(29.7), Cm(21.0)
    usable = 29.7 - 4.0
    document.add_heading("Reflective questions worksheet", level=1)
    n = len(report.worksheet.columns)
    _docx_table(document, report.worksheet, _even(usable, 6.5, n), size=8)
    heading = document.add_heading("Appendix: audit trail", level=1)
    heading.paragraph_format.page_break_before = True
    _docx_table(document, report.audit, (1.1, 2.2, 3.6, 7.0, 8.0, 3.8), size=7)
    if report.name_key is not None:
        heading = document.add_heading("Appendix: name key (REAL NAMES)", level=1)
        heading.paragraph_format.page_break_before = True
        _docx_table(document, report.name_key, (8.0, 8.0))
    return document


# --- writing -------------------------------------------------------------------------------


def _format(fmt: str) -> str:
    kind = str(fmt).strip().lower().lstrip(".")
    if kind not in FORMATS:
        raise InvalidInput(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    return kind


def save_report(
    report: Report,
    fmt: str,
    out: str | os.PathLike,
    *,
    store: Store | None = None,
    force: bool = False,
) -> Path:
    """Write a built :class:`Report` as ``html``, ``docx`` or ``md`` to ``out``.

    Markdown figures go to a folder ``<stem>_figures/`` beside ``out`` and are linked
    relatively. Build once, save in several formats: they then say exactly the same.
    Written by the output rule (:mod:`coprod_nb.exchange.outputs`): never onto the
    ``store``'s record, an existing file replaced only with ``force``, all or nothing.
    """
    kind = _format(fmt)
    path = check_output(out, store, force=force)
    with Outputs(store, force=force) as written:
        if kind == "html":
            written.write(path, render_html(report))
        elif kind == "docx":
            with written.open(path) as fh:
                _build_docx(report).save(fh)
        else:
            folder = written.folder(path.with_name(f"{path.stem}_figures"))
            for fig in report.figures:
                written.write(folder / f"{fig.name}.png", fig.png)
            written.write(path, render_markdown(report, folder.name))
    return path


def write_report(
    store: Store,
    fmt: str,
    out: str | os.PathLike | None = None,
    *,
    real_names: bool = False,
    version: int | None = None,
    workshop: int | None = None,
    force: bool = False,
) -> Path:
    """Write the final report as ``html``, ``docx`` or ``md``.

    Parameters
    ----------
    store : Store
    fmt : {"html", "docx", "md"}
    out : path, optional
        The file to write; by default ``exports/report.<fmt>`` in the study folder
        (``report_REAL_NAMES.<fmt>`` with real names). Markdown figures go to a folder
        ``<stem>_figures/`` beside it and are linked relatively.
    real_names : bool, default False
        See :func:`build_report`.
    version, workshop : int, optional
        The framework version and the workshop to report (see :func:`build_report`):
        by default the newest frozen version, and the open workshop, else the newest.
    force : bool, default False
        Replace ``out`` if it exists. The default file in ``exports/`` is the study's own
        current report and is always rewritten.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InvalidInput
        An unknown format, a version and a workshop that do not belong together, or an
        output path refused by :mod:`coprod_nb.exchange.outputs` (the study's record, a
        folder, a missing folder, an existing file without ``force``, a full disk).
    NotFound
        No framework has been frozen yet, or no such version or workshop.
    """
    kind = _format(fmt)  # before the (slow) build
    if out is not None:
        check_output(out, store, force=force)  # before the (slow) build too
    report = build_report(store, real_names=real_names, version=version, workshop=workshop)
    if out is None:
        folder = store.study_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"report{'_REAL_NAMES' if real_names else ''}.{kind}"
        force = True
    return save_report(report, kind, out, store=store, force=force)
