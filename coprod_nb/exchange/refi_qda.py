"""REFI-QDA project exchange (``.qdpx``) with ATLAS.ti, MAXQDA, NVivo, QualCoder and others.

A ``.qdpx`` file is a zip archive holding ``project.qde`` (QDA-XML, namespace
``urn:QDA-XML:project:1.0``, schema shipped in ``schemas/Project.xsd``) and the
sources under ``Sources/``.

Export (:func:`export_qdpx`) writes what a study holds, pseudonymised as stored:

- ``Users``: the researchers (their pseudonyms; logins are not exported).
- ``CodeBook``: a root code ``Tensions (working set)`` with one code per tension on the
  board as it is now (changes since the newest freeze, parked tensions included), named
  ``"T1: name"``, described ``"Pole A: ...\\nPole B: ...\\nStatus: agreed\\nProposer:
  ...\\n\\ndescription"``, with the sub-themes as child codes; and a root code
  ``Note categories`` with one code per note category. A selection or note coded with a
  tension code is that tension's evidence on the board.
- ``Cases``: the partnerships, their attributes as ``Variables``, and their transcripts.
- ``Sources``: one ``TextSource`` per transcript; its plain text (``Sources/<guid>.txt``,
  UTF-8) is exactly the transcript's canonical text, so the ``PlainTextSelection``
  offsets are the excerpts' offsets. A plain document (turns without speakers) is its
  own text, and its ``Description`` says so (:data:`PLAIN_LAYOUT`). Selections are
  coded with the tensions whose evidence holds the excerpt and with the categories of
  the notes anchored to it.
- ``Notes``: the step-1 notes the person working may see (see :func:`export_qdpx`), coded with
  their category and the tensions whose evidence holds them, linked to their case.
- ``Sets`` (our convention inside the standard, see :func:`_add_sets`): "Step 1 closed";
  one ``Framework vN`` per frozen version, its ``Description`` the JSON of the version as
  stored (each tension's fields, origin, sub-themes, proposer, and its evidence as the
  GUIDs of this file's notes and selections; the links frozen with it), its members the
  board's codes of its tensions; and "Tension links", the board's links.

The design decision (issue 16): the code book is the *board*, and each frozen version is
kept whole in its Set, not the other way round, because a version never changes and may
hold tensions the board no longer has (merged away at a workshop, ``origin``) while the
board changes after it; QualCoder-shaped readers see each tension code once. On import
the board comes back first (statuses, proposers, evidence, links) and the lead's
:func:`finish_qdpx_import` freezes each version again exactly
(:meth:`Store.restore_framework`), so the versions' digests check (``coprod-nb check``).
A selection that is only a frozen version's evidence is exported uncoded so the version
can name it; the GUIDs a version names are kept by the import (study setting
:data:`KEPT_GUIDS`) so the next export names those items alike.

GUIDs are uuid5 over the study, the kind of object and its id (or the ones an import
kept), and the zip entries have fixed dates, so exporting the same study twice gives
identical files.

Import (:func:`import_qdpx`) treats the file as untrusted: it never extracts to disk,
caps what it reads, refuses DTDs (entity bombs, external entities) and paths that leave
the archive, reads and checks everything before writing, and reports what it could not
use as warnings. See :func:`import_qdpx` for what becomes what.

Character offsets are counted in Unicode code points (Python ``str`` indices), as the
REFI-QDA standard says; a tool that counts UTF-16 units disagrees only after characters
outside the Basic Multilingual Plane (emoji).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import uuid
import xml.sax.handler
import zipfile
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import defusedxml.sax
from defusedxml.common import DefusedXmlException
from lxml import etree

from coprod_nb.domain.framework import TENSION_STATUSES
from coprod_nb.domain.transcript import RawTurn, canonical_text, paragraph_spans
from coprod_nb.domain.wording import plural
from coprod_nb.errors import CoprodError, DuplicateSource, InvalidInput
from coprod_nb.exchange._names import UNCHECKED, typed_name_scrubber
from coprod_nb.exchange.outputs import Outputs, check_output
from coprod_nb.ingest._decode import check_characters
from coprod_nb.ingest.limits import read_member
from coprod_nb.ingest.readers import DEFAULT_SPEAKER_PATTERN
from coprod_nb.storage import bulk
from coprod_nb.storage.ingest import IMPORTED_TABLES, refresh_statistics
from coprod_nb.storage.interpretation import tension_of

__all__ = [
    "MAX_MEMBER_BYTES",
    "MAX_TOTAL_BYTES",
    "NAMESPACE",
    "ORIGIN",
    "ImportSummary",
    "export_qdpx",
    "finish_qdpx_import",
    "import_qdpx",
    "project_schema",
]

NAMESPACE = "urn:QDA-XML:project:1.0"
ORIGIN = "coprod_nb"
MAX_MEMBER_BYTES = 50 * 2**20
"""Largest archive member :func:`import_qdpx` reads (uncompressed)."""
MAX_TOTAL_BYTES = 200 * 2**20
"""Most bytes :func:`import_qdpx` reads from one archive in all."""
MAX_MEMBERS = 100_000
PENDING_EVIDENCE = "qdpx_pending_note_evidence"  # study setting: {tension code: [note ids]}
PENDING_CLOSURE = "qdpx_pending_closure"  # study setting: the project had step 1 closed
PENDING_FRAMEWORKS = "qdpx_pending_frameworks"  # study setting: framework Sets to re-freeze
# study setting: {"notes": {id: guid}, "excerpts": {id: guid}}, the GUIDs of the items a
# framework Set of the imported file named, kept so the next export names them alike
KEPT_GUIDS = "qdpx_kept_guids"
UNKNOWN_SPEAKER = "Unknown"
NOT_REFI = "not a REFI-QDA project"
TENSION_ROOT = "Tensions"
CATEGORY_ROOT = "Note categories"

_Q = f"{{{NAMESPACE}}}"
_NSMAP = {"q": NAMESPACE}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_GUID_NS = uuid.UUID("6f1c0a52-3d7e-5b0c-9a41-c0d1b2a3f405")
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_TENSION_CODE = re.compile(r"([A-Za-z][A-Za-z0-9_.-]{0,19}): (.+)", re.S)
_RECORDED = re.compile(r"^Recorded: (\d{4}-\d{2}-\d{2})$", re.M)
# Our own export marks a plain document (turns without speakers) in its source's
# Description, so the import keeps it plain whatever its lines look like.
PLAIN_LAYOUT = "Layout: plain text (paragraphs without speakers)"
_PLAIN = re.compile(r"^Layout: plain text\b", re.M)
_POLES = re.compile(
    r"Pole A: ([^\n]+)\nPole B: ([^\n]+)(?:\nStatus: ([^\n]*))?(?:\nProposer: ([^\n]*))?"
    r"(?:\n\n(.*))?\Z",
    re.S,
)
_SET_FIELDS = (
    "code",
    "name",
    "pole_a",
    "pole_b",
    "description",
    "subthemes",
    "status",
    "proposer",
    "origin",
)
_NOTE_DESC = re.compile(r"^category: (?P<category>[^;\n]*); kind: (?P<kind>[^\n]*)$", re.M)


@functools.cache
def project_schema() -> etree.XMLSchema:
    """The REFI-QDA 1.0 project schema (``Project.xsd``) shipped with the package."""
    xsd = resources.files("coprod_nb.exchange").joinpath("schemas/Project.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


# -- export ------------------------------------------------------------------------------


class _Guids:
    """Deterministic GUIDs: uuid5 over the study, the kind of object and its id."""

    def __init__(self, study: Any):
        created = study.created_at.isoformat() if study.created_at else ""
        self.ns = uuid.uuid5(_GUID_NS, f"{study.name}\x1f{created}")

    def __call__(self, kind: str, ident: object) -> str:
        return str(uuid.uuid5(self.ns, f"{kind}\x1f{ident}"))


def _xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot hold (replaced by U+FFFD)."""
    return _BAD_XML_CHARS.sub("\ufffd", value)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: Any) -> Any:
    el = etree.SubElement(parent, _Q + tag)
    for key, value in attrs.items():
        if value is not None:
            el.set(key, _xml_text(str(value)))
    if text is not None:
        el.text = _xml_text(text)
    return el


def _stamp(moment: datetime | None) -> str | None:
    """xsd:dateTime of a stored naive-UTC timestamp."""
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"


def _variable_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "Boolean"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "Integer"
    if present and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in present
    ):
        return "Float"
    return "Text"


def _value_element(parent: etree._Element, kind: str, value: Any) -> None:
    if kind == "Boolean":
        _sub(parent, "BooleanValue", "true" if value else "false")
    elif kind == "Integer":
        _sub(parent, "IntegerValue", str(value))
    elif kind == "Float":
        _sub(parent, "FloatValue", format(Decimal(repr(float(value))), "f"))
    else:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        _sub(parent, "TextValue", text)


def _visible(store: Any, viewer: str | None, researchers: list) -> tuple[list, list]:
    """Notes and excerpts the export may show: what the person working sees (the store
    asks the access policy; a ``viewer`` must name the person working)."""
    return store.notes(viewer), store.excerpts(viewer=viewer)


def _tension_items(store: Any) -> tuple[str, list[tuple[Any, set[int], set[int]]]]:
    """Root code name and (tension, excerpt ids, note ids) of every working tension.

    The code book holds the board as it is now (changes since the newest freeze,
    parked tensions, their evidence); each frozen version is a Set (:func:`_add_sets`).
    """
    items = []
    evidence: dict[int, tuple[set[int], set[int]]] = {}
    for e in store.evidence():
        exs, ns = evidence.setdefault(e.tension_id, (set(), set()))
        if e.excerpt_id:
            exs.add(e.excerpt_id)
        if e.note_id:
            ns.add(e.note_id)
    for row in store.tensions():
        exs, ns = evidence.get(row.id, (set(), set()))
        items.append((tension_of(row), exs, ns))
    return f"{TENSION_ROOT} (working set)", items


def _tension_description(t: Any) -> str:
    """Poles, then status and proposer (our lines, read back by :data:`_POLES`), then
    the tension's description after a blank line."""
    lines = [f"Pole A: {t.pole_a}", f"Pole B: {t.pole_b}", f"Status: {t.status}"]
    if t.proposer:
        lines.append(f"Proposer: {t.proposer}")
    text = "\n".join(lines)
    return f"{text}\n\n{t.description}" if t.description else text


@dataclass
class _Export:
    """What the builders of :func:`_build_project` share."""

    guid: _Guids
    tensions: list[tuple[Any, set[int], set[int]]]
    categories: list[str]
    user_of: dict[int, str]
    case_of: dict[int, str]
    tension_guid: dict[str, str] = field(default_factory=dict)
    category_guid: dict[str, str] = field(default_factory=dict)
    note_guid: dict[int, str] = field(default_factory=dict)
    excerpt_guid: dict[int, str] = field(default_factory=dict)  # kept by an import
    frozen_excerpts: set[int] = field(default_factory=set)  # evidence of a frozen version

    lead: str | None = None  # user GUID of the study lead (the team's codings)
    team_time: str | None = None  # when the tensions were recorded (framework frozen)
    user_by_name: dict[str, str] = field(default_factory=dict)

    def codings(
        self, parent: etree._Element, owner: str, targets: list[tuple[str, str | None, str | None]]
    ) -> None:
        """One ``Coding`` per (code, coder): each researcher's coding stays their own."""
        for target, user, when in dict.fromkeys(targets):
            coding = _sub(
                parent,
                "Coding",
                guid=self.guid("coding", f"{owner}\x1f{target}\x1f{user or ''}"),
                creatingUser=user,
                creationDateTime=when,
            )
            _sub(coding, "CodeRef", targetGUID=target)

    def excerpt_of(self, excerpt_id: int) -> str:
        """The GUID of an excerpt's selection (the one an import kept, else derived)."""
        return self.excerpt_guid.get(excerpt_id) or self.guid("excerpt", excerpt_id)

    def user_named(self, name: str | None) -> str | None:
        """The user GUID of a researcher's name or login (the lead when unknown)."""
        return self.user_by_name.get((name or "").casefold(), self.lead)


def _add_codebook(project: etree._Element, ctx: _Export, root_name: str) -> None:
    """Tensions (sub-themes as child codes) under one root, note categories under another."""
    guid = ctx.guid
    codes = _sub(_sub(project, "CodeBook"), "Codes")
    if ctx.tensions:
        troot = _sub(codes, "Code", guid=guid("code-root", "tensions"), name=root_name)
        troot.set("isCodable", "false")
        for t, _, _ in ctx.tensions:
            ctx.tension_guid[t.code] = guid("tension", t.code)
            el = _sub(troot, "Code", guid=ctx.tension_guid[t.code], name=f"{t.code}: {t.name}")
            el.set("isCodable", "true")
            _sub(el, "Description", _tension_description(t))
            for i, theme in enumerate(t.subthemes):
                sub = _sub(el, "Code", guid=guid("subtheme", f"{t.code}\x1f{i}"), name=theme)
                sub.set("isCodable", "true")
    croot = _sub(codes, "Code", guid=guid("code-root", "categories"), name=CATEGORY_ROOT)
    croot.set("isCodable", "false")
    for c in ctx.categories:
        ctx.category_guid[c] = guid("category", c)
        _sub(croot, "Code", guid=ctx.category_guid[c], name=c, isCodable="true")


def _add_cases(
    project: etree._Element, ctx: _Export, partnerships: list, transcripts: list
) -> None:
    """Variables (one per attribute key, typed by its values) and the partnerships."""
    keys = sorted({k for p in partnerships for k in (p.attributes or {})})
    kinds = {k: _variable_type([(p.attributes or {}).get(k) for p in partnerships]) for k in keys}
    if keys:
        variables = _sub(project, "Variables")
        for k in keys:
            var = _sub(variables, "Variable", guid=ctx.guid("variable", k), name=k)
            var.set("typeOfVariable", kinds[k])
    if not partnerships:
        return
    cases = _sub(project, "Cases")
    for p in partnerships:
        case = _sub(cases, "Case", guid=ctx.case_of[p.id], name=p.short)
        _sub(case, "Description", p.name)
        for k in keys:
            value = (p.attributes or {}).get(k)
            if value is not None:
                vv = _sub(case, "VariableValue")
                _sub(vv, "VariableRef", targetGUID=ctx.guid("variable", k))
                _value_element(vv, kinds[k], value)
        for tr in transcripts:
            if tr.partnership_id == p.id:
                _sub(case, "SourceRef", targetGUID=ctx.guid("transcript", tr.id))


def _add_sources(
    project: etree._Element,
    ctx: _Export,
    transcripts: list,
    excerpts: list,
    notes: list,
    plain: set[int] = frozenset(),
) -> list[tuple[str, str]]:
    """Transcripts with their coded excerpts as selections; returns the source files.

    A plain document (``plain``: the ids of transcripts without speakers) says so in its
    ``Description`` (:data:`PLAIN_LAYOUT`), so that our import keeps it plain.

    An excerpt nothing codes and no note is anchored to is not exported (another tool
    would show it as an empty annotation). Each note anchored in a source is also
    referenced from the ``TextSource`` itself, where QualCoder looks for annotations.
    """
    notes_on: dict[int, list] = {}
    for n in notes:
        for ex in n.excerpts:
            notes_on.setdefault(ex.id, []).append(n)
    by_transcript: dict[int, list] = {}
    for ex in excerpts:
        by_transcript.setdefault(ex.transcript_id, []).append(ex)
    members: list[tuple[str, str]] = []
    if not transcripts:
        return members
    sources = _sub(project, "Sources")
    for tr in transcripts:
        sguid = ctx.guid("transcript", tr.id)
        src = _sub(sources, "TextSource", guid=sguid, name=tr.title)
        src.set("plainTextPath", f"internal://{sguid}.txt")
        if tr.imported_at:
            src.set("creationDateTime", _stamp(tr.imported_at))
        about = [f"Recorded: {tr.date.isoformat()}"] if tr.date else []
        if tr.id in plain:
            about.append(PLAIN_LAYOUT)
        if about:
            _sub(src, "Description", "\n".join(about))
        members.append((f"Sources/{sguid}.txt", tr.text))
        on_source: list = []
        for ex in by_transcript.get(tr.id, []):
            anchored = notes_on.get(ex.id, [])
            targets = [
                (ctx.tension_guid[t.code], ctx.lead, ctx.team_time)
                for t, exs, _ in ctx.tensions
                if ex.id in exs
            ]
            targets += [
                (ctx.category_guid[n.category], ctx.user_of[n.researcher_id], _stamp(n.created_at))
                for n in anchored
                if n.category in ctx.categories
            ]
            if not targets and not anchored and ex.id not in ctx.frozen_excerpts:
                continue
            sel = _sub(src, "PlainTextSelection", guid=ctx.excerpt_of(ex.id))
            sel.set("startPosition", str(ex.start))
            sel.set("endPosition", str(ex.end))
            user = ctx.user_named(ex.created_by)
            if user:
                sel.set("creatingUser", user)
            if ex.created_at:
                sel.set("creationDateTime", _stamp(ex.created_at))
            ctx.codings(sel, f"excerpt {ex.id}", targets)
            for n in anchored:
                _sub(sel, "NoteRef", targetGUID=ctx.note_guid[n.id])
                if n not in on_source:
                    on_source.append(n)
        for n in on_source:
            _sub(src, "NoteRef", targetGUID=ctx.note_guid[n.id])
    return members


def _add_notes(
    project: etree._Element, ctx: _Export, notes: list, shorts: dict, names: dict
) -> list[tuple[str, str]]:
    """The notes, coded with their category and tensions, and linked to their case.

    A note anchored to excerpts holds its text (``PlainTextContent``) and one
    ``PlainTextSelection`` per excerpt, at the excerpt's positions in its source: the
    shape of an annotation. A note anchored to nothing is a journal: its text is a file
    of the archive (``plainTextPath``), as the standard wants one or the other. Returns
    the journal files.
    """
    members: list[tuple[str, str]] = []
    if not notes:
        return members
    notes_el = _sub(project, "Notes")
    for n in notes:
        title = (
            f"{n.category}: {shorts.get(n.partnership_id, '?')} ({names.get(n.researcher_id, '?')})"
        )
        nguid = ctx.note_guid[n.id]
        note = _sub(notes_el, "Note", guid=nguid, name=title)
        author = ctx.user_of[n.researcher_id]
        note.set("creatingUser", author)
        note.set("creationDateTime", _stamp(n.created_at))
        note.set("modifiedDateTime", _stamp(n.updated_at))
        if not n.excerpts:
            note.set("plainTextPath", f"internal://{nguid}.txt")
            members.append((f"Sources/{nguid}.txt", n.text or ""))
        _sub(note, "Description", f"category: {n.category}; kind: {n.kind}")
        if n.excerpts:
            _sub(note, "PlainTextContent", n.text or "")
        for ex in sorted(n.excerpts, key=lambda e: (e.transcript_id, e.start, e.id)):
            sel = _sub(
                note, "PlainTextSelection", guid=ctx.guid("note-anchor", f"{n.id}\x1f{ex.id}")
            )
            sel.set("startPosition", str(ex.start))
            sel.set("endPosition", str(ex.end))
            sel.set("creatingUser", author)
            sel.set("creationDateTime", _stamp(n.created_at))
        when = _stamp(n.created_at)
        targets = (
            [(ctx.category_guid[n.category], author, when)] if n.category in ctx.categories else []
        )
        targets += [
            (ctx.tension_guid[t.code], ctx.lead, ctx.team_time)
            for t, _, ns in ctx.tensions
            if n.id in ns
        ]
        ctx.codings(note, f"note {n.id}", targets)
    linked = [n for n in notes if n.partnership_id in ctx.case_of]
    if linked:
        links = _sub(project, "Links")
        for n in linked:
            link = _sub(links, "Link", guid=ctx.guid("note-case", n.id), name="about partnership")
            link.set("direction", "OneWay")
            link.set("originGUID", ctx.note_guid[n.id])
            link.set("targetGUID", ctx.case_of[n.partnership_id])
    return members


def _frozen_entry(ctx: _Export, t: dict) -> dict:
    """A frozen tension for its Set: every stored field, its evidence as the GUIDs of
    the exported notes and selections (an item not exported is left out)."""
    out = {k: v for k, v in t.items() if k != "evidence"}
    if "evidence" in t:
        ev = t["evidence"] or {}
        out["evidence"] = {
            key: [g for i in ev[key] if (g := guids(i))]
            for key, guids in (
                ("notes", ctx.note_guid.get),
                ("excerpts", lambda i: ctx.excerpt_of(i) if i in ctx.frozen_excerpts else None),
            )
            if key in ev
        }
    return out


def _add_sets(
    project: etree._Element, ctx: _Export, versions: list, closure: Any, links: list
) -> None:
    """One ``Set`` per frozen framework version, and one of the board's links (our
    convention inside the standard).

    A version's members are the codes of its tensions on the board; its
    ``Description`` is JSON (``{"coprod_nb": "framework", "version", "label",
    "frozen_at", "frozen_by", "tensions", "links"}``): each tension as the version
    stored it (poles, status, sub-themes, proposer, origin) with its evidence as the
    GUIDs of notes and selections of this file, and the links frozen with it, so that
    coprod_nb freezes the version again exactly. The board's links between tensions
    are the Set "Tension links" (``{"coprod_nb": "tension-links", "links"}``).
    """
    if not versions and closure is None and not links:
        return
    sets = _sub(project, "Sets")
    if closure is not None:
        el = _sub(sets, "Set", guid=ctx.guid("closure", "step1"), name="Step 1 closed")
        meta = {
            "coprod_nb": "step1-closed",
            "closed_at": _stamp(closure.closed_at),
            "closed_by": closure.closed_by,
        }
        _sub(el, "Description", json.dumps(meta, ensure_ascii=False, sort_keys=True))
    for fv in versions:
        el = _sub(
            sets, "Set", guid=ctx.guid("framework", fv.version), name=f"Framework v{fv.version}"
        )
        meta = {
            "coprod_nb": "framework",
            "version": fv.version,
            "label": fv.label or "",
            "frozen_at": _stamp(fv.frozen_at),
            "frozen_by": fv.frozen_by,
            "tensions": [_frozen_entry(ctx, t) for t in fv.tensions if "code" in t],
        }
        frozen_links = [t["links"] for t in fv.tensions if "links" in t]
        if frozen_links:
            meta["links"] = frozen_links[0]
        _sub(el, "Description", json.dumps(meta, ensure_ascii=False, sort_keys=True))
        for t in fv.tensions:
            g = ctx.tension_guid.get(t.get("code"))
            if g:
                _sub(el, "MemberCode", targetGUID=g)
    if links:
        el = _sub(sets, "Set", guid=ctx.guid("tension-links", "board"), name="Tension links")
        meta = {
            "coprod_nb": "tension-links",
            "links": [{"source": a, "kind": k, "target": b} for a, k, b in links],
        }
        _sub(el, "Description", json.dumps(meta, ensure_ascii=False, sort_keys=True))
        for code in dict.fromkeys(c for a, _, b in links for c in (a, b)):
            if code in ctx.tension_guid:
                _sub(el, "MemberCode", targetGUID=ctx.tension_guid[code])


def _build_project(store: Any, viewer: str | None, real_names: bool) -> tuple[bytes, list]:
    """``project.qde`` as bytes, and the (member name, text) of each source."""
    study = store.study()
    guid = _Guids(study)
    researchers = sorted(store.researchers(), key=lambda r: (r.name, r.id))
    partnerships = sorted(store.partnerships(), key=lambda p: (p.short, p.id))
    transcripts = sorted(store.transcripts(), key=lambda t: t.id)
    notes, excerpts = _visible(store, viewer, researchers)
    notes = sorted(notes, key=lambda n: n.id)
    excerpts = sorted(excerpts, key=lambda e: (e.transcript_id, e.start, e.end, e.id))
    root_name, tensions = _tension_items(store)
    ctx = _Export(
        guid,
        tensions,
        list(store.note_categories()),
        {r.id: guid("researcher", r.id) for r in researchers},
        {p.id: guid("partnership", p.id) for p in partnerships},
        note_guid={n.id: guid("note", n.id) for n in notes},
    )
    refi_codebook.prepare_export(store, ctx)  # users of an imported project keep their GUIDs
    kept = (study.settings or {}).get(KEPT_GUIDS) or {}
    for key, mapping in (("notes", ctx.note_guid), ("excerpts", ctx.excerpt_guid)):
        for ident, g in (kept.get(key) or {}).items():
            if key == "excerpts" or int(ident) in mapping:
                mapping[int(ident)] = g
    leads = [r for r in researchers if r.lead] or researchers[:1]
    ctx.lead = ctx.user_of[leads[0].id] if leads else None
    versions = store.framework_versions()
    visible = {e.id for e in excerpts}
    ctx.frozen_excerpts = {
        i
        for fv in versions
        for t in fv.tensions
        for i in ((t.get("evidence") or {}).get("excerpts") or ())
        if "code" in t and i in visible
    }
    ctx.team_time = _stamp(versions[-1].frozen_at) if versions else None
    for r in researchers:
        ctx.user_by_name[r.name.casefold()] = ctx.user_of[r.id]
        if r.login:
            ctx.user_by_name.setdefault(r.login.casefold(), ctx.user_of[r.id])

    project = etree.Element(_Q + "Project", nsmap={None: NAMESPACE})
    project.set("name", _xml_text(study.name))
    project.set("origin", ORIGIN)
    if study.created_at:
        project.set("creationDateTime", _stamp(study.created_at))
    if researchers:
        users = _sub(project, "Users")
        for r in researchers:
            _sub(users, "User", guid=ctx.user_of[r.id], name=r.name)
    _add_codebook(project, ctx, root_name)
    _add_cases(project, ctx, partnerships, transcripts)
    members = _add_sources(project, ctx, transcripts, excerpts, notes, store.plain_transcripts())
    shorts = {p.id: p.short for p in partnerships}
    journals = _add_notes(project, ctx, notes, shorts, {r.id: r.name for r in researchers})
    _add_sets(project, ctx, versions, store.step_closure(), store.tension_links())
    scrub, checked = (None, True) if real_names else typed_name_scrubber(store)
    if scrub is not None:
        _scrub_tree(project, scrub)
        journals = [(name, scrub(text)[0]) for name, text in journals]
    members += [(name, _xml_text(text)) for name, text in journals]
    description = study.description or ""
    if real_names:
        description = "REAL NAMES\n\n" + description if description else "REAL NAMES"
    elif not checked:
        # As the notes file and the report do: whoever opens the project is told that
        # names typed by the team may still be in it.
        description = f"{UNCHECKED}\n\n{description}" if description else UNCHECKED
    if description:
        _sub(project, "Description", description)
    refi_codebook.add_foreign(project, store, ctx, scrub=scrub)
    data = etree.tostring(project, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data, members


def _scrub_tree(project: etree._Element, scrub) -> None:
    """Real full names out of the texts and names typed by the team (notes, codes).

    Sources are not touched: transcripts are pseudonymised at import, and selections
    point into them by character offsets.
    """
    for el in project.iter():
        if el.text:
            el.text = scrub(el.text)[0]
        if el.get("name"):
            el.set("name", scrub(el.get("name"))[0])


def _check_schema(data: bytes) -> None:
    schema = project_schema()
    doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    if not schema.validate(doc):
        err = schema.error_log[0]
        raise CoprodError(
            f"the export does not validate against the REFI-QDA schema: "
            f"line {err.line}: {err.message}"
        )


def export_qdpx(
    store: Any,
    path: str | os.PathLike,
    *,
    viewer: str | None = None,
    real_names: bool = False,
    force: bool = False,
) -> Path:
    """Write the study as a REFI-QDA project (``.qdpx``) for other QDA tools.

    Parameters
    ----------
    store : Store
    path : path
        The ``.qdpx`` file to write, by the output rule (:mod:`coprod_nb.exchange.outputs`):
        never onto the study's record, an existing file replaced only with ``force``.
    viewer : str, optional
        Whose view is exported: the person working (``store.actor``), the default;
        naming anyone else is refused. Their notes only while step 1 is open (none for
        someone who is not a researcher), everyone's once it is closed, and only the
        excerpts they may see.
    real_names : bool
        Mark the export as holding real names ("REAL NAMES" in the project's
        description). The exporter never reads the pseudonym key; stored text is
        exported as it is.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    CoprodError
        The project does not validate against the REFI-QDA schema (names the first error),
        or the output rule refuses ``path``.
    """
    path = check_output(path, store, force=force)
    data, members = _build_project(store, viewer, real_names)
    _check_schema(data)
    with Outputs(store, force=force) as out, out.open(path) as raw:
        with zipfile.ZipFile(raw, "w") as zf:
            for name, payload in [("project.qde", data), *members]:
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, payload if isinstance(payload, bytes) else payload.encode())
    return path


# -- import: reading the archive safely ----------------------------------------------------


def _unsafe_path(name: str) -> bool:
    """True for a path that is absolute or could leave the archive's root."""
    norm = name.replace("\\", "/")
    if not norm or norm.startswith("/") or "\x00" in norm or re.match(r"[A-Za-z]:", norm):
        return True
    return any(part == ".." for part in PurePosixPath(norm).parts)


class _Archive:
    """A zip opened for reading members into memory, with size caps; never extracts."""

    def __init__(self, path: Path):
        self.file = path.name
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or "not a zip archive"
            raise InvalidInput(f"{NOT_REFI} ({reason})", file=self.file) from None
        self.read_total = 0
        self.members: dict[str, zipfile.ZipInfo] = {}
        try:
            infos = self.zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise InvalidInput(f"more than {MAX_MEMBERS} archive members", file=self.file)
            for info in infos:
                if _unsafe_path(info.filename):
                    raise InvalidInput(
                        f"archive member {info.filename!r} points outside the archive",
                        file=self.file,
                    )
                name = info.filename.replace("\\", "/")
                if name in self.members:
                    raise InvalidInput(f"archive member {name!r} appears twice", file=self.file)
                self.members[name] = info
        except BaseException:
            self.zf.close()
            raise
        self.folded = {n.casefold(): n for n in self.members}

    def close(self) -> None:
        self.zf.close()

    def find(self, name: str) -> str | None:
        """The member called ``name`` (exact, else ignoring letter case)."""
        return name if name in self.members else self.folded.get(name.casefold())

    def read(self, name: str) -> bytes:
        # Inflated step by step with the bytes counted (ingest.limits), whatever size
        # the member's header declares.
        data = read_member(self.zf, self.members[name], MAX_MEMBER_BYTES, file=self.file)
        self.read_total += len(data)
        if self.read_total > MAX_TOTAL_BYTES:
            raise InvalidInput(
                f"the archive holds more than {MAX_TOTAL_BYTES // 2**20} MB of text to read",
                file=self.file,
            )
        return data


from coprod_nb.exchange import refi_codebook  # noqa: E402  (it reads this module's helpers)

# (element, parent) pairs the importer does not keep; each found is reported by count.
_UNKEPT = (
    ("NoteRef", "Coding"),
    ("NoteRef", "Case"),
    ("CodeRef", "Case"),
    ("SelectionRef", "Case"),
    ("Graph", "Graphs"),
    ("MemberNote", "Set"),
)


def _unkept_report(root: etree._Element) -> str | None:
    """ "not kept: 3 Description on PlainTextSelection, ..." for what the import drops."""
    counts: dict[tuple[str, str], int] = {}
    wanted = set(_UNKEPT)
    for el in root.iter():
        parent = el.getparent()
        if parent is None or not isinstance(el.tag, str) or not isinstance(parent.tag, str):
            continue
        pair = (etree.QName(el).localname, etree.QName(parent).localname)
        if pair in wanted:
            counts[pair] = counts.get(pair, 0) + 1
    if not counts:
        return None
    parts = [f"{n} {el} on {parent}" for (el, parent), n in sorted(counts.items())]
    return "not kept: " + ", ".join(parts)


def _qde_member(archive: _Archive) -> str:
    """``project.qde``, else the one ``*.qde`` of the archive (ATLAS.ti names it after
    the project); several, or none, is refused."""
    member = archive.find("project.qde")
    if member is not None:
        return member
    found = sorted(n for n in archive.members if n.casefold().endswith(".qde"))
    top = [n for n in found if "/" not in n]
    if len(top or found) == 1:
        return (top or found)[0]
    if not found:
        raise InvalidInput(f"{NOT_REFI} (no .qde project file in the archive)", file=archive.file)
    raise InvalidInput(
        f"{NOT_REFI} (several .qde project files: {', '.join(found[:5])})", file=archive.file
    )


def _parse_xml(data: bytes, file: str) -> etree._Element:
    """Parse ``project.qde``: no DTD (so no entity expansion), no network, no huge trees."""
    try:
        defusedxml.sax.parseString(
            data, xml.sax.handler.ContentHandler(), forbid_dtd=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise InvalidInput(
            f"{NOT_REFI}: project.qde declares a DTD or entities, which are refused "
            f"({type(exc).__name__})",
            file=file,
        ) from None
    except xml.sax.SAXParseException as exc:
        raise InvalidInput(
            f"{NOT_REFI}: project.qde is not well-formed XML ({exc.getMessage()})",
            file=file,
            place=f"line {exc.getLineNumber()}",
        ) from None
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"{NOT_REFI}: {exc}", file=file) from None
    if root.tag != _Q + "Project":
        raise InvalidInput(f"{NOT_REFI}: the root element is not a QDA-XML Project", file=file)
    return root


# -- import: reading the project -------------------------------------------------------------


def _guid(value: str | None) -> str:
    return (value or "").strip().strip("{}").lower()


def _kids(el: etree._Element | None, path: str) -> list:
    return [] if el is None else el.findall(path, _NSMAP)


def _text_of(el: etree._Element | None, tag: str) -> str:
    child = None if el is None else el.find(f"q:{tag}", _NSMAP)
    return "" if child is None or child.text is None else child.text


@dataclass
class _Code:
    guid: str
    name: str
    parent: str | None
    description: str
    color: str | None = None


@dataclass
class _Selection:
    guid: str
    start: int
    end: int
    codes: list[str]
    notes: list[str]
    coders: list[tuple[str, str]] = field(default_factory=list)  # (code guid, user guid)


@dataclass
class _Source:
    guid: str
    name: str
    text: str
    member: str
    description: str
    selections: list[_Selection]
    codes: list[str]
    notes: list[str]


@dataclass
class _NoteIn:
    guid: str
    name: str
    text: str
    author: str
    codes: list[str]
    description: str


@dataclass
class _Case:
    guid: str
    name: str
    description: str
    values: dict[str, Any]
    sources: list[str]


def _int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


def _codings(el: etree._Element) -> list[str]:
    return [_guid(ref.get("targetGUID")) for ref in _kids(el, "q:Coding/q:CodeRef")]


def _noterefs(el: etree._Element) -> list[str]:
    return [_guid(ref.get("targetGUID")) for ref in _kids(el, "q:NoteRef")]


def _read_codes(root: etree._Element) -> list[_Code]:
    out: list[_Code] = []

    def walk(parent_el: etree._Element, parent: str | None) -> None:
        for el in _kids(parent_el, "q:Code"):
            # A code without a GUID cannot be referenced, but keeps its place in the tree.
            g = _guid(el.get("guid")) or str(uuid.uuid5(_GUID_NS, f"unnamed code {len(out)}"))
            code = _Code(
                g, el.get("name") or "", parent, _text_of(el, "Description"), el.get("color")
            )
            out.append(code)
            walk(el, code.guid)

    codes_el = root.find("q:CodeBook/q:Codes", _NSMAP)
    if codes_el is not None:
        walk(codes_el, None)  # depth is bounded by the parser (no huge_tree)
    return out


def _decode(data: bytes, source: str, member: str, file: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"source {source!r}: {member} is not UTF-8 text (byte {exc.start})", file=file
        ) from None
    check_characters(text, file, within=member)  # NUL and other controls, as transcripts
    return text


def _source_text(el: etree._Element, name: str, archive: _Archive) -> tuple[str, str] | None:
    """(text, member or "") of a TextSource; None when it has no plain text."""
    content = el.find("q:PlainTextContent", _NSMAP)
    if content is not None:
        return content.text or "", ""
    ref = (el.get("plainTextPath") or "").strip()
    if not ref:
        return None
    file = archive.file
    inner = ref.removeprefix("internal://")
    # A path relative to the archive, with or without internal:// (tools differ); any
    # other scheme (file://, absolute://) points outside it.
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", inner):
        raise InvalidInput(
            f"source {name!r}: plainTextPath {ref!r} is outside the archive "
            "(only paths inside the archive are read)",
            file=file,
        )
    if _unsafe_path(inner):
        raise InvalidInput(
            f"source {name!r}: plainTextPath {ref!r} points outside the archive", file=file
        )
    inner = inner.replace(chr(92), "/")
    member = archive.find(f"Sources/{inner}") or archive.find(inner)
    if member is None:
        raise InvalidInput(
            f"source {name!r}: plainTextPath {ref!r} names no file in the archive", file=file
        )
    return _decode(archive.read(member), name, member, file), member


def _variable_value(vv: etree._Element) -> tuple[bool, Any]:
    for tag in ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue"):
        el = vv.find(f"q:{tag}", _NSMAP)
        if el is None:
            continue
        raw = (el.text or "").strip() if tag != "TextValue" else el.text or ""
        if tag == "BooleanValue":
            return raw in ("true", "1"), raw in ("true", "1", "false", "0")
        if tag == "IntegerValue":
            return _int(raw), _int(raw) is not None
        if tag == "FloatValue":
            try:
                return float(raw), True
            except ValueError:
                return None, False
        return raw, True
    el = vv.find("q:DateTimeValue", _NSMAP)
    return (el.text or "").strip() if el is not None else None, el is not None


def _json_meta(text: str) -> dict:
    """The JSON object of one of our own Set descriptions ({} for anything else)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class _Project:
    name: str
    origin: str
    users: dict[str, str]
    codes: list[_Code]
    cases: list[_Case]
    sources: list[_Source]
    notes: dict[str, _NoteIn]
    links: list[tuple[str, str]]
    sets: list[tuple[str, str]] = field(default_factory=list)  # (name, description)
    description: str = ""

    def metas(self, kind: str) -> list[dict]:
        """The JSON of our own export's Sets of one kind ("framework", ...)."""
        if not self.origin.startswith(ORIGIN):
            return []
        return [m for _, d in self.sets if (m := _json_meta(d)).get("coprod_nb") == kind]

    def closure(self) -> dict | None:
        """Step 1's closure as our own export records it (a ``Set``), if any."""
        for _, desc in self.sets if self.origin.startswith(ORIGIN) else ():
            meta = _json_meta(desc)
            if meta.get("coprod_nb") == "step1-closed":
                return meta
        return None


def _read_project(
    root: etree._Element, archive: _Archive, warnings: list[str], skip_bad: bool = False
) -> _Project:
    users = {
        _guid(u.get("guid")): (u.get("name") or u.get("id") or "").strip()
        for u in _kids(root, "q:Users/q:User")
    }
    variables = {
        _guid(v.get("guid")): v.get("name") or "" for v in _kids(root, "q:Variables/q:Variable")
    }
    cases = []
    for c in _kids(root, "q:Cases/q:Case"):
        values: dict[str, Any] = {}
        for vv in _kids(c, "q:VariableValue"):
            ref = vv.find("q:VariableRef", _NSMAP)
            vname = variables.get(_guid(None if ref is None else ref.get("targetGUID")))
            value, ok = _variable_value(vv)
            if not vname:
                warnings.append(f"case {c.get('name')!r}: a value refers to an unknown variable")
            elif not ok:
                warnings.append(f"case {c.get('name')!r}: unreadable value of {vname!r}")
            else:
                values[vname] = value
        cases.append(
            _Case(
                _guid(c.get("guid")),
                (c.get("name") or "").strip(),
                _text_of(c, "Description").strip(),
                values,
                [_guid(r.get("targetGUID")) for r in _kids(c, "q:SourceRef")],
            )
        )
    sources: list[_Source] = []
    sources_el = root.find("q:Sources", _NSMAP)
    for el in [] if sources_el is None else list(sources_el):
        if not isinstance(el.tag, str):
            continue
        name = el.get("name") or f"source {len(sources) + 1}"
        if el.tag != _Q + "TextSource":
            warnings.append(f"source {name!r}: {etree.QName(el).localname} skipped (text only)")
            continue
        try:
            found = _source_text(el, name, archive)
        except InvalidInput as exc:
            if not skip_bad:
                raise
            warnings.append(f"{exc}; skipped (--skip-bad)")
            continue
        if found is None:
            warnings.append(f"source {name!r}: no plain text (PlainTextContent or path); skipped")
            continue
        selections = []
        for sel in _kids(el, "q:PlainTextSelection"):
            start, end = _int(sel.get("startPosition")), _int(sel.get("endPosition"))
            if start is None or end is None:
                warnings.append(f"source {name!r}: a selection without positions; skipped")
                continue
            selections.append(
                _Selection(
                    _guid(sel.get("guid")),
                    start,
                    end,
                    _codings(sel),
                    _noterefs(sel),
                    [
                        (_guid(ref.get("targetGUID")), _guid(ref.getparent().get("creatingUser")))
                        for ref in _kids(sel, "q:Coding/q:CodeRef")
                    ],
                )
            )
        sources.append(
            _Source(
                _guid(el.get("guid")),
                name,
                found[0],
                found[1],
                _text_of(el, "Description"),
                selections,
                _codings(el),
                _noterefs(el),
            )
        )
    notes = {}
    for n in _kids(root, "q:Notes/q:Note"):
        label = f"note {n.get('name') or ''}".strip()
        try:
            found = _source_text(n, n.get("name") or "", archive)
        except InvalidInput as exc:
            if not skip_bad:
                raise
            warnings.append(f"{label}: {exc}; skipped (--skip-bad)")
            continue
        note = _NoteIn(
            _guid(n.get("guid")),
            n.get("name") or "",
            found[0] if found else "",
            _guid(n.get("creatingUser")),
            _codings(n),
            _text_of(n, "Description"),
        )
        notes[note.guid] = note
    links = [
        (_guid(link.get("originGUID")), _guid(link.get("targetGUID")))
        for link in _kids(root, "q:Links/q:Link")
    ]
    sets = [
        (st.get("name") or "", _text_of(st, "Description")) for st in _kids(root, "q:Sets/q:Set")
    ]
    return _Project(
        root.get("name") or "",
        root.get("origin") or "",
        users,
        _read_codes(root),
        cases,
        sources,
        notes,
        links,
        sets,
        _text_of(root, "Description"),
    )


# -- import: text to turns ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    src_start: int  # the line's first character in the source text
    src_end: int  # the position of its newline (or the end of the text)
    text_start: int  # where the turn's text starts in the source
    text_len: int  # the turn's text is source[text_start : text_start + text_len]
    speaker: str
    labelled: bool = True  # the source line names its speaker


def _split_lines(
    text: str, *, own: bool, speaker_re: re.Pattern[str], plain: bool = False
) -> list[_Line]:
    """The turns of a source: one per non-blank line, or one per paragraph of a plain one.

    A line of our own export is ``Speaker: text`` exactly as :func:`canonical_text`
    wrote it and is split at the first ``": "``, so the canonical text comes back
    identical. Other lines: a ``Name: text`` line (the ingest speaker pattern) is a
    turn of Name, any other line a turn of "Unknown"; surrounding blanks are dropped.

    A plain document (``plain``: our own export says so; else fewer than half of its
    non-blank lines look like ``Name: text``, see :func:`_is_plain`) is kept as it is:
    one turn without a speaker per paragraph (:func:`paragraph_spans`), blank lines and
    indentation included, so its canonical text is the source text itself.
    """
    if plain:
        return _paragraph_lines(text)
    lines: list[_Line] = []
    pos = 0
    for raw in text.split("\n"):
        start, end = pos, pos + len(raw)
        pos = end + 1
        cut = raw.find(": ")
        if own and 1 <= cut <= 200:
            lines.append(_Line(start, end, start + cut + 2, len(raw) - cut - 2, raw[:cut]))
            continue
        stripped = raw.strip()
        if not stripped:
            continue
        offset = start + raw.index(stripped[0])
        m = speaker_re.match(stripped)
        speaker = " ".join((m.group("speaker") or "").split()) if m else ""
        if m and speaker:
            body = m.group("text") or ""
            lead = len(body) - len(body.lstrip())
            lines.append(
                _Line(start, end, offset + m.start("text") + lead, len(body.strip()), speaker)
            )
        else:
            lines.append(_Line(start, end, offset, len(stripped), UNKNOWN_SPEAKER, False))
    if not own and _is_plain(lines):
        return _paragraph_lines(text)
    return lines


def _as_turns(text: str) -> bool:
    """True when every line is ``Speaker: text`` as :func:`canonical_text` writes the
    turns of a transcript with speakers (a plain document's text is rarely so)."""
    body = text[:-1] if text.endswith("\n") else text
    return all(1 <= line.find(": ") <= 200 for line in body.split("\n"))


def _is_plain(lines: list[_Line]) -> bool:
    """The detection rule: a source is a plain document when fewer than half of its
    non-blank lines are ``Name: text`` lines. A document with a few colon lines
    ("Assertion 1: ...") stays plain; a transcript whose turns wrap over several lines
    is plain too, which keeps its text and positions exactly (only its speakers are not
    read)."""
    labelled = sum(line.labelled for line in lines)
    return bool(lines) and 2 * labelled < len(lines)


def _paragraph_lines(text: str) -> list[_Line]:
    return [
        _Line(p.start, p.end, p.start, p.end - p.start, "", False) for p in paragraph_spans(text)
    ]


@dataclass
class _TurnPlan:
    turns: list[RawTurn]
    text: str  # the canonical text the store will hold
    move: Callable[[int], int]  # source offset -> offset in ``text``


def _plan_turns(source: str, lines: list[_Line], key: Any) -> _TurnPlan:
    """The turns to store, their canonical text (after the study's pseudonym key) and the
    map from offsets of the source text to offsets of that text."""
    pairs, movers, turns = [], [], []
    for n, line in enumerate(lines, 1):
        body = source[line.text_start : line.text_start + line.text_len]
        new_body, mover = key.apply_mapped(body)
        speaker = key.apply(line.speaker)
        pairs.append((speaker, new_body))
        movers.append(mover)
        place = f"line {n}" if line.speaker else f"paragraph {n}"
        turns.append(RawTurn(line.speaker, body, place=place))
    text, spans = canonical_text(pairs)
    starts = [line.src_start for line in lines]

    def move(p: int) -> int:
        i = bisect_right(starts, p) - 1
        if i < 0:
            return 0
        line, span = lines[i], spans[i]
        if p > line.src_end:  # in blank lines after this one: the next turn's start
            return (
                spans[i + 1].start - len(pairs[i + 1][0]) - 2 if i + 1 < len(lines) else len(text)
            )
        if p >= line.text_start:
            return span.start + movers[i](min(p - line.text_start, line.text_len))
        if not line.labelled:
            return span.start
        label = len(pairs[i][0]) + 2
        return span.start - label + min(p - line.src_start, label)

    return _TurnPlan(turns, text, move)


# -- import: plan and write --------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What :func:`import_qdpx` added, and what it could not use.

    Attributes
    ----------
    sources : list of str
        Titles of the transcripts added.
    codes : list of dict
        Every code of the project: ``guid``, ``name``, ``parent`` (a guid or None),
        ``description``; the foreign ones are stored in the codebook tables.
    selections : int
        Excerpts added (one per usable text selection).
    codings : list of dict
        ``{"excerpt_id", "code_guid", "coder"}`` (``coder`` the researcher, when the coding
        names its ``creatingUser``; ``transcript_id`` for a code on a whole source), one per
        coder of a span; the foreign ones are stored in the codebook tables.
    notes : list of dict
        Every project note: ``guid``, ``name``, ``text``, ``author``, ``partnership``,
        ``note_id`` (the stored researcher note, or None when it could not be stored).
    warnings : list of str
        What was skipped and why.
    researchers, partnerships, tensions : list of str
        Names (codes for tensions) created in the study.
    """

    sources: list[str] = field(default_factory=list)
    codes: list[dict] = field(default_factory=list)
    selections: int = 0
    codings: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    researchers: list[str] = field(default_factory=list)
    partnerships: list[str] = field(default_factory=list)
    tensions: list[str] = field(default_factory=list)
    lead: str | None = None
    step1_closed: bool = False

    def __str__(self) -> str:
        stored = sum(1 for n in self.notes if n.get("note_id"))
        lines = [
            f"imported {plural(len(self.sources), 'source')}, "
            f"{plural(self.selections, 'selection')}, "
            f"{plural(len(self.codes), 'code')}, {plural(len(self.codings), 'coding')}, "
            f"{stored} of {plural(len(self.notes), 'note')}",
        ]
        for label, items in (
            ("researchers added", self.researchers),
            ("partnerships added", self.partnerships),
            ("tensions added", self.tensions),
        ):
            if items:
                lines.append(f"{label}: {', '.join(items)}")
        if self.lead:
            lines.append(f"lead: {self.lead}")
        if self.step1_closed:
            lines.append("step 1 closed, as in the exported study")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class _Plan:
    researchers: dict[str, str] = field(default_factory=dict)  # user guid -> researcher
    new_researchers: list[str] = field(default_factory=list)
    partnerships: dict[str, str] = field(default_factory=dict)  # case guid -> short name
    new_partnerships: list[tuple[str, str, dict]] = field(default_factory=list)
    source_case: dict[str, str] = field(default_factory=dict)  # source guid -> short name
    # (source, turns, content hash, partnership short, date)
    transcripts: list[tuple[_Source, _TurnPlan, str, str | None, date | None]] = field(
        default_factory=list
    )
    selections: list[tuple[int, _Selection, int, int]] = field(default_factory=list)
    tensions: list[dict] = field(default_factory=list)  # add_tension arguments and "guid"
    links: list[tuple[str, str, str]] = field(default_factory=list)  # the board's links
    excerpt_of: dict[str, list[int]] = field(default_factory=dict)  # selection guid -> ids
    notes: list[tuple[_NoteIn, str | None, str | None, str, str]] = field(default_factory=list)
    # an empty study seeded from our own export takes its note categories and kinds
    categories: list[str] | None = None
    kinds: list[str] | None = None
    foreign: Any = None  # the codebook kept (refi_codebook.Foreign)


def _plan_people(store: Any, project: _Project, plan: _Plan, warnings: list[str]) -> None:
    """Users to researchers (matched by name or login), cases to partnerships (by short)."""
    existing = {}
    for r in store.researchers():
        existing.setdefault(r.name.casefold(), r.name)
        if r.login:
            existing.setdefault(r.login.casefold(), r.name)
    for g, name in project.users.items():
        name = (name or f"User {g[:8]}")[:120]
        if name.casefold() not in existing:
            existing[name.casefold()] = name
            plan.new_researchers.append(name)
        plan.researchers[g] = existing[name.casefold()]

    shorts = {p.short.casefold(): p.short for p in store.partnerships()}
    for n, case in enumerate(project.cases, 1):
        short = (case.name or f"Case {n}")[:40].strip()
        if short.casefold() in shorts:
            warnings.append(f"case {case.name!r}: partnership {short!r} exists; used as it is")
        else:
            shorts[short.casefold()] = short
            name = (case.description or case.name or short)[:200]
            plan.new_partnerships.append((short, name, case.values))
        plan.partnerships[case.guid] = shorts[short.casefold()]
    for case in project.cases:
        for sg in case.sources:
            if (
                plan.source_case.get(sg, plan.partnerships[case.guid])
                != plan.partnerships[case.guid]
            ):
                warnings.append(f"source {sg} is in several cases; the first is used")
            plan.source_case.setdefault(sg, plan.partnerships[case.guid])


def _plan_transcripts(
    store: Any, project: _Project, plan: _Plan, file: str, warnings: list[str]
) -> None:
    """Turns, canonical text and content hash of each source, and where selections land."""
    own = project.origin.startswith(ORIGIN)
    key = store.pseudonym_key()
    speaker_re = re.compile(DEFAULT_SPEAKER_PATTERN)
    stored = store.transcripts()
    known_hash = {t.content_hash: t.title for t in stored}
    known_text = {t.text: t.title for t in stored}
    seen: dict[str, str] = {}
    for src in project.sources:
        # Our own export: marked plain, or (when a memo took the Description's place) a
        # text that is not all "Speaker: text" lines, as only speaker turns write them.
        plain = own and (bool(_PLAIN.search(src.description)) or not _as_turns(src.text))
        lines = _split_lines(src.text, own=own, speaker_re=speaker_re, plain=plain)
        if not lines:
            warnings.append(f"source {src.name!r} has no text; skipped")
            continue
        turns = _plan_turns(src.text, lines, key)
        digest = hashlib.sha256(src.text.encode("utf-8")).hexdigest()
        if digest in known_hash or turns.text in known_text:
            title = known_hash.get(digest) or known_text[turns.text]
            raise DuplicateSource(
                f"source {src.name!r} is already in the study as {title!r}", file=file
            )
        if digest in seen:
            raise DuplicateSource(
                f"sources {seen[digest]!r} and {src.name!r} are the same text", file=file
            )
        seen[digest] = src.name
        m = _RECORDED.search(src.description)
        try:
            when = date.fromisoformat(m.group(1)) if m else None
        except ValueError:
            when = None
        index = len(plan.transcripts)
        plan.transcripts.append((src, turns, digest, plan.source_case.get(src.guid), when))
        for sel in src.selections:
            where = f"source {src.name!r}: selection {sel.start}-{sel.end}"
            if not 0 <= sel.start < sel.end <= len(src.text):
                warnings.append(f"{where} is outside the text (0-{len(src.text)}); skipped")
                continue
            if not src.text[sel.start : sel.end].strip():
                warnings.append(f"{where} covers only blank text; skipped")
                continue
            start, end = turns.move(sel.start), turns.move(sel.end)
            if start >= end:
                warnings.append(f"{where} holds no turn text; skipped")
                continue
            plan.selections.append((index, sel, start, end))


def _plan_tensions(store: Any, project: _Project, plan: _Plan, warnings: list[str]) -> None:
    """Candidate tensions from the tension root of coprod_nb's own export (only)."""
    if not project.origin.startswith(ORIGIN):
        return
    roots = [c for c in project.codes if c.parent is None and c.name.startswith(TENSION_ROOT)]
    if not roots:
        return
    for meta in project.metas("tension-links"):
        plan.links += [
            (k["source"], k["target"], k["kind"])
            for k in meta.get("links") or ()
            if isinstance(k, dict) and {"source", "target", "kind"} <= set(k)
        ]
    have = {t.code.casefold() for t in store.tensions()}
    for c in project.codes:
        if c.parent != roots[0].guid:
            continue
        m = _TENSION_CODE.fullmatch(c.name)
        poles = _POLES.match(c.description)
        if not m or not poles:
            warnings.append(f"code {c.name!r} is not a tension of ours; kept as a code")
            continue
        if m.group(1).casefold() in have:
            warnings.append(f"tension {m.group(1)} already exists; code {c.name!r} kept as a code")
            continue
        have.add(m.group(1).casefold())
        plan.tensions.append(
            {
                "guid": c.guid,
                "code": m.group(1),
                "name": m.group(2),
                "pole_a": poles.group(1),
                "pole_b": poles.group(2),
                "description": poles.group(5) or "",
                "subthemes": [s.name for s in project.codes if s.parent == c.guid],
                # an export before statuses were written: a candidate, as it was read then
                "status": poles.group(3) if poles.group(3) in TENSION_STATUSES else "candidate",
                "proposer": poles.group(4) or "",
            }
        )


def _plan_notes(store: Any, project: _Project, plan: _Plan, warnings: list[str]) -> None:
    """Notes with an author and exactly one case (a Link, or the cases of the sources
    they are anchored in) become researcher notes; the others stay in the summary."""
    codes = {c.guid: c for c in project.codes}
    if project.origin.startswith(ORIGIN) and not store.transcripts() and not store.notes():
        roots = [c.guid for c in project.codes if c.parent is None and c.name == CATEGORY_ROOT]
        plan.categories = [c.name for c in project.codes if roots and c.parent == roots[0]] or None
        found = [
            m.group("kind").strip()
            for n in project.notes.values()
            for m in [_NOTE_DESC.search(n.description)]
            if m and m.group("kind").strip()
        ]
        extra = [
            k
            for k in dict.fromkeys(found)
            if k.casefold() not in {d.casefold() for d in store.data_kinds()}
        ]
        plan.kinds = [*store.data_kinds(), *extra] if extra else None
    categories = {c.casefold(): c for c in plan.categories or store.note_categories()}
    kinds = {k.casefold(): k for k in plan.kinds or store.data_kinds()}
    default_category = categories.get("reflection") or next(iter(categories.values()))
    default_kind = kinds.get("self-reflection") or next(iter(kinds.values()))
    anchors: dict[str, list[str]] = {}
    for src in project.sources:
        for ng in [*src.notes, *(g for sel in src.selections for g in sel.notes)]:
            anchors.setdefault(ng, []).append(src.guid)
    for g in anchors:
        if g not in project.notes:
            warnings.append(f"a note reference points to an unknown note {g}")
    linked: dict[str, set[str]] = {}
    for a, b in project.links:
        for note_g, case_g in ((a, b), (b, a)):
            if note_g in project.notes and case_g in plan.partnerships:
                linked.setdefault(note_g, set()).add(plan.partnerships[case_g])
    for note in project.notes.values():
        cases = linked.get(note.guid) or {
            plan.source_case[sg] for sg in anchors.get(note.guid, []) if sg in plan.source_case
        }
        partnership = next(iter(cases)) if len(cases) == 1 else None
        author = plan.researchers.get(note.author)
        named = [codes[g].name.casefold() for g in note.codes if g in codes]
        category = next((categories[c] for c in named if c in categories), default_category)
        m = _NOTE_DESC.search(note.description)
        kind = kinds.get(m.group("kind").strip().casefold()) if m else None
        if author is None:
            warnings.append(f"note {note.name!r} has no known author; kept in the summary only")
        elif partnership is None:
            many = "more than one" if cases else "no"
            warnings.append(
                f"note {note.name!r} is linked to {many} case; kept in the summary only"
            )
        plan.notes.append((note, author, partnership, category, kind or default_kind))


def _plan(store: Any, project: _Project, file: str, summary: ImportSummary) -> _Plan:
    """Check everything and decide every write; nothing is written here."""
    warnings = summary.warnings
    codes = {c.guid for c in project.codes}
    if len(codes) != len(project.codes):
        warnings.append("some codes share a GUID; the first of each is used")
    summary.codes = [
        {
            "guid": c.guid,
            "name": c.name,
            "parent": c.parent,
            "description": c.description,
            **({"color": c.color} if c.color else {}),
        }
        for c in project.codes
    ]
    refs = [(f"note {n.name!r}", g) for n in project.notes.values() for g in n.codes]
    for src in project.sources:
        refs += [(f"source {src.name!r}", g) for g in src.codes]
        refs += [(f"source {src.name!r}", g) for sel in src.selections for g in sel.codes]
    for owner, g in refs:
        if g not in codes:
            warnings.append(f"{owner}: a coding refers to an unknown code {g}")
    versions = [
        name for name, desc in project.sets if _json_meta(desc).get("coprod_nb") == "framework"
    ]
    if versions:
        warnings.append(
            f"{len(versions)} framework version(s) ({', '.join(versions)}) are frozen again "
            "when the lead finishes the import (coprod-nb close-recall), exactly as they "
            "were (origins, links, evidence); until then the board holds the exported "
            "working tensions"
        )
    plan = _Plan()
    _plan_people(store, project, plan, warnings)
    _plan_transcripts(store, project, plan, file, warnings)
    _plan_tensions(store, project, plan, warnings)
    _plan_notes(store, project, plan, warnings)
    return plan


def _write(store: Any, plan: _Plan, file: str, summary: ImportSummary) -> None:
    """Write a checked plan, in the caller's :meth:`Store.transaction`; the excerpts
    and the notes in bulk (:mod:`coprod_nb.storage.bulk`)."""
    if plan.categories:
        store.set_note_categories(plan.categories)
    if plan.kinds:
        store.update_study(settings={"data_kinds": plan.kinds})
    for name in plan.new_researchers:
        store.add_researcher(name)
        summary.researchers.append(name)
    for short, name, attributes in plan.new_partnerships:
        store.add_partnership(short, name, attributes)
        summary.partnerships.append(short)
    researcher_id = {r.name: r.id for r in store.researchers()}
    partnership_id = {p.short: p.id for p in store.partnerships()}
    ids: list[int] = []
    with store.session() as s:
        for src, turns, digest, partnership, when in plan.transcripts:
            tr = store.add_transcript(
                turns.turns,
                title=src.name[:300],
                source_name=f"{file}:{src.member or src.name}"[:300],
                source_format="qdpx",
                content_hash=digest,
                partnership=partnership_id[partnership] if partnership else None,
                date=when,
                session=s,
            )
            if tr.text != turns.text:  # rolls the transcripts back
                raise CoprodError(f"source {src.name!r}: stored text differs from the plan")
            ids.append(tr.id)
            summary.sources.append(tr.title)
    excerpt_of: dict[str, list[int]] = {}
    codings: list[dict] = []
    made = bulk.add_excerpts(store, [(ids[i], start, end) for i, _, start, end in plan.selections])
    for (_, sel, _, _), ex_id in zip(plan.selections, made, strict=True):
        summary.selections += 1
        excerpt_of.setdefault(sel.guid, []).append(ex_id)
        # each coder's coding of the span stays its own
        for g, user in dict.fromkeys(sel.coders):
            coder = plan.researchers.get(user)
            codings.append(
                {"excerpt_id": ex_id, "code_guid": g, **({"coder": coder} if coder else {})}
            )
    codes = {c["guid"] for c in summary.codes}
    for (src, *_), tid in zip(plan.transcripts, ids, strict=True):
        for g in dict.fromkeys(src.codes):
            if g in codes:
                codings.append({"transcript_id": tid, "code_guid": g})
    codings = [c for c in codings if c["code_guid"] in codes]
    summary.codings = codings
    for t in plan.tensions:
        store.add_tension(**{k: v for k, v in t.items() if k != "guid"})
        summary.tensions.append(t["code"])
        evidence = [
            c["excerpt_id"] for c in codings if c.get("excerpt_id") and c["code_guid"] == t["guid"]
        ]
        if evidence:
            store.attach_evidence(t["code"], excerpts=evidence)
    made = set(summary.tensions)
    for a, b, kind in plan.links:
        if a in made and b in made:
            store.link_tensions(a, b, kind)
    plan.excerpt_of = excerpt_of
    excerpts_of_note: dict[str, list[int]] = {}
    for src, *_ in plan.transcripts:
        for sel in src.selections:
            for ng in sel.notes:
                excerpts_of_note.setdefault(ng, []).extend(excerpt_of.get(sel.guid, []))
    kept = [k for k, n in enumerate(plan.notes) if n[1] is not None and n[2] is not None]
    note_ids = bulk.add_notes(
        store,
        [
            {
                "researcher": researcher_id[author],
                "partnership": partnership_id[partnership],
                "text": note.text,
                "category": category,
                "kind": kind,
                "excerpts": excerpts_of_note.get(note.guid, []),
            }
            for note, author, partnership, category, kind in (plan.notes[k] for k in kept)
        ],
    )
    stored = dict(zip(kept, note_ids, strict=True))
    for k, (note, author, partnership, _category, _kind) in enumerate(plan.notes):
        summary.notes.append(
            {
                "guid": note.guid,
                "name": note.name,
                "text": note.text,
                "author": author,
                "partnership": partnership,
                "note_id": stored.get(k),
            }
        )
    refi_codebook.write_foreign(store, plan, ids, summary, file)


def import_qdpx(
    store: Any,
    path: str | os.PathLike,
    *,
    lead: str | None = None,
    skip_bad: bool = False,
) -> ImportSummary:
    """Seed a study from a REFI-QDA project (``.qdpx``) written by any QDA tool.

    What becomes what:

    - each ``TextSource`` (text from ``PlainTextContent`` or its ``internal://`` file) a
      transcript, ``source_format`` "qdpx", ``content_hash`` the SHA-256 of the text;
      one turn per non-blank line: ``Name: text`` is a turn of Name, any other line a
      turn of "Unknown". A source written by coprod_nb (project ``origin``) is split
      at the first ``": "`` of each line, so its canonical text comes back identical
      and the selections keep their offsets; other texts are re-laid out as
      ``Speaker: text`` lines and the selections are moved onto the same words.
      A *plain document* (fewer than half of its non-blank lines are ``Name: text``
      lines, or our own export marks it :data:`PLAIN_LAYOUT`) is kept as its text: one
      turn without a speaker (the empty label) per paragraph, blank lines and
      indentation included, so its selections keep their positions exactly;
    - each ``PlainTextSelection`` an excerpt;
    - the code book, the codings with their coder, the Sets, the memos (project and code
      notes, source and selection descriptions), the variables and source values and the
      users into the codebook tables, GUIDs kept (:mod:`coprod_nb.exchange.refi_codebook`;
      exported again by :func:`export_qdpx`); other tools' codes create nothing else. The
      tension codes of coprod_nb's own export become the board's tensions (status and
      proposer from the code's description, *candidate* in a file without them; the
      sub-themes; the coded excerpts as evidence, the coded notes once step 1 is closed;
      the links of its "Tension links" Set), unless the code exists. In an empty
      study, its framework Sets are frozen again exactly by the lead
      (:func:`finish_qdpx_import`, at once when the lead imports);
    - ``Users`` researchers (matched by name or login, added when missing);
    - ``Cases`` partnerships (short name = the case name up to 40 characters, name =
      its description, attributes from the variable values; an existing one is reused);
    - ``Notes`` researcher notes when the author is a user and the note is linked to
      exactly one case (a ``Link``, or the cases of the sources it is anchored in);
      otherwise kept in the summary with a warning.

    Untrusted input: nothing is extracted to disk; members are read into memory up to
    :data:`MAX_MEMBER_BYTES` each and :data:`MAX_TOTAL_BYTES` in all; a DTD (entity
    bombs, external entities) is refused; a member name or ``plainTextPath`` that is
    absolute or climbs out with ``..`` is refused. Dangling references (a coding of an
    unknown code, a reference to an unknown note) and selections that do not fit the
    text are skipped with a warning. A project that does not validate against the
    schema is read as far as possible, with a warning.

    All or nothing: everything is read and checked before the first write, and the
    writes are one transaction (:meth:`Store.transaction`), the excerpts and notes in
    bulk with their events; a failure of the database midway leaves the study as it was.

    Parameters
    ----------
    store : Store
    path : path to the ``.qdpx`` file
    lead : str, optional
        The user who becomes the study's lead when it has none (default: the author of
        the first note, else the first user), so that no note is stranded. When the
        project records step 1 as closed (our own export), step 1 is closed again if the
        person importing is that lead; otherwise a warning says who must close it.
    skip_bad : bool
        Skip a source or note whose text cannot be read (with a warning) instead of
        refusing the whole file.

    Returns
    -------
    ImportSummary

    Raises
    ------
    InvalidInput
        Not a zip, no ``project.qde``, unsafe paths, oversized members, a DTD,
        malformed XML, unreadable or non-UTF-8 sources.
    DuplicateSource
        A source is already in the study (or twice in the file).
    """
    path = Path(path)
    file = path.name
    summary = ImportSummary()
    archive = _Archive(path)
    try:
        member = _qde_member(archive)
        root = _parse_xml(archive.read(member), file)
        schema = project_schema()
        if not schema.validate(root):
            err = schema.error_log[0]
            summary.warnings.append(
                f"project.qde does not follow the REFI-QDA schema (line {err.line}: "
                f"{err.message}); read as far as possible"
            )
        project = _read_project(root, archive, summary.warnings, skip_bad)
        foreign = refi_codebook.read_foreign(root, project.origin, summary.warnings)
        unkept = _unkept_report(root)
        if unkept:
            summary.warnings.append(unkept)
    finally:
        archive.close()
    plan = _plan(store, project, file, summary)
    refi_codebook.attach(plan, foreign, project)
    lead_name = _plan_lead(store, project, plan, lead, file)
    empty = not store.transcripts() and not store.researchers()
    # One transaction: a failure anywhere in the writes leaves the study as it was.
    # Recorded as the person working (store.actor): nobody imports in another's name.
    with store.transaction():
        if empty and project.name.strip():  # a new study takes the project's name
            store.update_study(name=project.name, description=project.description)
        _write(store, plan, file, summary)
        frameworks, kept = _plan_frameworks(project, plan, summary)
        if frameworks and empty:
            store.update_study(settings={PENDING_FRAMEWORKS: frameworks, KEPT_GUIDS: kept})
        _write_lead(store, project, lead_name, summary)
        _write_note_evidence(store, plan, summary)
        if summary.step1_closed:  # the lead imports: the versions are frozen again now
            _refreeze(store, (store.study().settings or {}).get(PENDING_FRAMEWORKS) or [])
    refresh_statistics(store.engine, (*IMPORTED_TABLES, "excerpt", "note"))
    return summary


def _plan_frameworks(
    project: _Project, plan: _Plan, summary: ImportSummary
) -> tuple[list[dict], dict]:
    """The framework versions of our own export as :meth:`Store.restore_framework`
    takes them (evidence GUIDs turned into the ids just written), oldest first, and the
    GUIDs they named by id (kept, so the next export names those items alike)."""
    note_id = {n["guid"]: n["note_id"] for n in summary.notes if n.get("note_id")}
    ids_of = {
        "notes": lambda g: note_id.get(g),
        "excerpts": lambda g: next(iter(plan.excerpt_of.get(g, ())), None),
    }
    kept: dict[str, dict[str, str]] = {"notes": {}, "excerpts": {}}
    out, missing = [], 0
    for meta in sorted(project.metas("framework"), key=lambda m: m.get("version") or 0):
        tensions = []
        for t in meta.get("tensions") or ():
            if not isinstance(t, dict) or not t.get("code"):
                continue
            entry = dict(t)
            if isinstance(t.get("evidence"), dict):
                entry["evidence"] = {}
                for key, items in t["evidence"].items():
                    if key not in ids_of:
                        continue
                    entry["evidence"][key] = []
                    for g in items or ():
                        found = ids_of[key](_guid(str(g)))
                        if found is None:
                            missing += 1
                            continue
                        entry["evidence"][key].append(found)
                        kept[key][str(found)] = str(g)
            tensions.append(entry)
        if isinstance(meta.get("links"), list):
            tensions.append({"links": meta["links"]})
        out.append(
            {"version": meta.get("version"), "label": meta.get("label") or "", "tensions": tensions}
        )
    if missing:
        summary.warnings.append(
            f"{plural(missing, 'evidence item')} of the framework versions "
            "name no note or selection of the file; left out of the versions frozen again"
        )
    return out, kept


def _write_note_evidence(store: Any, plan: _Plan, summary: ImportSummary) -> None:
    """Notes coded with a tension code become its evidence (only once step 1 is closed,
    when notes may be evidence; before, the coding is reported)."""
    stored = {n["guid"]: n["note_id"] for n in summary.notes if n.get("note_id")}
    pending: dict[str, list[int]] = {}
    for t in plan.tensions:
        for note, *_ in plan.notes:
            if t["guid"] in note.codes and note.guid in stored:
                pending.setdefault(t["code"], []).append(stored[note.guid])
    if not pending:
        return
    if store.step_closure() is None:
        # Notes become evidence once step 1 is closed: kept until the lead closes it
        # (finish_qdpx_import).
        settings = store.study().settings or {}
        kept = dict(settings.get(PENDING_EVIDENCE) or {})
        for code, ids in pending.items():
            kept[code] = list(dict.fromkeys([*kept.get(code, []), *ids]))
        store.update_study(settings={PENDING_EVIDENCE: kept})
        return
    for code, ids in pending.items():
        store.attach_evidence(code, notes=ids)


def finish_qdpx_import(store: Any) -> int:
    """The lead's part of an import: close step 1 when the project recorded it closed,
    make the notes coded with a tension its evidence (notes may be evidence only once
    step 1 is closed), and freeze the project's framework versions again exactly as they
    were (:func:`_refreeze`). Done by ``coprod-nb close-recall`` too.

    Returns
    -------
    int
        Notes attached as evidence.

    Raises
    ------
    Forbidden
        The person working is not the study lead.
    """
    settings = store.study().settings or {}
    if settings.get(PENDING_CLOSURE) and store.step_closure() is None:
        store.close_recall()
    if store.step_closure() is None:
        return 0
    pending = settings.get(PENDING_EVIDENCE) or {}
    n = sum(store.attach_evidence(code, notes=ids) for code, ids in pending.items())
    if pending or settings.get(PENDING_CLOSURE):
        store.update_study(settings={PENDING_EVIDENCE: {}, PENDING_CLOSURE: False})
    _refreeze(store, settings.get(PENDING_FRAMEWORKS) or [])
    return n


def _refreeze(store: Any, versions: list[dict]) -> None:
    """Freeze each exported framework version again, oldest first, exactly as it was
    frozen (:meth:`Store.restore_framework`: tensions, origins, links, evidence), whatever
    the board holds now; the board itself came in with the import. A version of an
    export made before evidence was written takes its tensions' evidence on the board."""
    if not versions or store.step_closure() is None:
        return
    board = {t.code: t.id for t in store.tensions()}
    # versions are written one by one: after a failure midway, the next run goes on
    # from the first version not written yet
    for meta in versions[len(store.framework_versions()) :]:
        tensions = []
        for t in meta.get("tensions") or ():
            t = dict(t)
            if "code" in t and "evidence" not in t and t["code"] in board:
                ev = store.evidence(board[t["code"]])
                t["evidence"] = {
                    "notes": [e.note_id for e in ev if e.note_id],
                    "excerpts": [e.excerpt_id for e in ev if e.excerpt_id],
                }
            tensions.append(t)
        store.restore_framework(tensions, meta.get("label") or "")
    store.update_study(settings={PENDING_FRAMEWORKS: []})


def _plan_lead(
    store: Any, project: _Project, plan: _Plan, lead: str | None, file: str
) -> str | None:
    """The researcher who becomes lead (None when the study has one already)."""
    if any(r.lead for r in store.researchers()):
        if lead:
            raise InvalidInput(
                f"the study already has a lead; --lead {lead!r} is not used", file=file
            )
        return None
    names = {n.casefold(): n for n in [*plan.researchers.values(), *plan.new_researchers]}
    names.update({r.name.casefold(): r.name for r in store.researchers()})
    if lead:
        if lead.strip().casefold() not in names:
            raise InvalidInput(
                f"--lead {lead!r} names no user of the project "
                f"(users: {', '.join(sorted(names.values())) or 'none'})",
                file=file,
            )
        return names[lead.strip().casefold()]
    authors = [a for _, a, *_ in plan.notes if a]
    if authors:
        return authors[0]
    return next(iter(plan.researchers.values()), None)


def _write_lead(store: Any, project: _Project, lead: str | None, summary: ImportSummary) -> None:
    """Name the lead; close step 1 again when the project says it was closed."""
    if lead:
        store.update_researcher(lead, lead=True)
        summary.lead = lead
    closure = project.closure()
    if closure is None or store.step_closure() is not None:
        return
    me = next((r for r in store.researchers() if store.actor in (r.name, r.login)), None)
    if me is not None and me.lead:
        store.close_recall()
        summary.step1_closed = True
    else:
        who = next((r.name for r in store.researchers() if r.lead), "the lead")
        store.update_study(settings={PENDING_CLOSURE: True})
        summary.warnings.append(
            f"step 1 was closed in the exported study; {who} must close it here "
            "(coprod-nb close-recall) so the imported notes are visible to the team"
        )
