"""The codebook of other QDA tools through a REFI-QDA exchange (issue 16, item 2).

What :func:`~coprod_nb.exchange.refi_qda.import_qdpx` keeps of another tool's project,
besides its sources, notes and cases: the code book (hierarchy, colours, codability),
the codings with their coder and time, the Sets (member codes and sources), the memos
(the project's notes, a code's notes, a source's and a selection's description), the
variables with their types and the sources' values, and the users. GUIDs are kept, and
:func:`~coprod_nb.exchange.refi_qda.export_qdpx` writes all of it back: foreign codes
under their own roots next to ours, each selection's codings as one selection with its
GUID, a researcher who was a user of the project under that user's GUID.

The codes of coprod_nb's own export (the ``Tensions`` and ``Note categories`` roots)
are not foreign: they become tensions and note categories, as before.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from coprod_nb.exchange import refi_qda as _r

_PROJECT_ORDER = (
    "Users",
    "CodeBook",
    "Variables",
    "Cases",
    "Sources",
    "Notes",
    "Links",
    "Sets",
    "Graphs",
    "Description",
    "NoteRef",
)
_SOURCE_ORDER = (
    "Description",
    "PlainTextContent",
    "PlainTextSelection",
    "Coding",
    "NoteRef",
    "VariableValue",
)
_DATE_TYPES = {"Date": "DateValue", "DateTime": "DateTimeValue"}


@dataclass
class _CodingIn:
    guid: str
    code: str
    user: str
    when: datetime | None


@dataclass
class _SelectionIn:
    guid: str
    user: str
    when: datetime | None
    description: str
    codings: list[_CodingIn]


@dataclass
class Foreign:
    """What an import keeps of another tool's codebook (read, not yet written)."""

    codes: list[dict] = field(default_factory=list)
    selections: dict[str, _SelectionIn] = field(default_factory=dict)  # by selection guid
    source_codings: dict[str, list[_CodingIn]] = field(default_factory=dict)  # by source
    source_memos: dict[str, str] = field(default_factory=dict)
    source_values: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    variables: list[dict] = field(default_factory=list)
    sets: list[dict] = field(default_factory=list)
    project_notes: list[str] = field(default_factory=list)
    code_notes: list[tuple[str, str]] = field(default_factory=list)  # (code, note)
    project: Any = None  # the project read (users, notes)

    @property
    def code_guids(self) -> set[str]:
        return {c["guid"] for c in self.codes}

    def is_empty(self) -> bool:
        return not (self.codes or self.sets or self.source_memos or self.source_values)


def _when(value: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


# Lines our own export writes at the end of a source's Description (recording date, plain
# layout): they are the transcript's, not a memo.
_MARK = re.compile(r"Recorded: \d{4}-\d{2}-\d{2}|Layout: plain text\b.*")


def _source_memo(desc: str) -> str:
    """A source's Description without the lines of ours at its end ("" when only those)."""
    lines = desc.split("\n")
    k = len(lines)
    while k and _MARK.fullmatch(lines[k - 1].strip()):
        k -= 1
    if k == len(lines):
        return desc
    head = lines[:k]
    if head and head[-1] == "":
        head = head[:-1]  # the blank line the export puts between memo and our lines
    return "\n".join(head)


def _coding(el: etree._Element) -> _CodingIn | None:
    ref = el.find("q:CodeRef", _r._NSMAP)
    if ref is None:
        return None
    return _CodingIn(
        _r._guid(el.get("guid")) or str(uuid.uuid4()),
        _r._guid(ref.get("targetGUID")),
        _r._guid(el.get("creatingUser")),
        _when(el.get("creationDateTime")),
    )


def read_foreign(root: etree._Element, origin: str, warnings: list[str]) -> Foreign:
    """Read the codebook parts of ``project.qde`` (nothing is written)."""
    out = Foreign()
    own = origin.startswith(_r.ORIGIN)

    def walk(parent_el: etree._Element, parent: str | None) -> None:
        for el in _r._kids(parent_el, "q:Code"):
            name = el.get("name") or ""
            if (
                own
                and parent is None
                and (name.startswith(_r.TENSION_ROOT) or name == _r.CATEGORY_ROOT)
            ):
                continue  # ours: tensions and note categories
            g = _r._guid(el.get("guid"))
            if not g:  # nothing can code it; its children hang from its parent
                unnamed[0] += 1
                walk(el, parent)
                continue
            if g in out.code_guids:
                continue  # the GUID is taken (``_plan`` reports it)
            out.codes.append(
                {
                    "guid": g,
                    "name": name,
                    "parent": parent,
                    "color": el.get("color"),
                    "description": _r._text_of(el, "Description"),
                    "codable": (el.get("isCodable") or "true").strip() in ("true", "1"),
                }
            )
            out.code_notes += [(g, n) for n in _r._noterefs(el)]
            walk(el, g)

    unnamed = [0]
    codes_el = root.find("q:CodeBook/q:Codes", _r._NSMAP)
    if codes_el is not None:
        walk(codes_el, None)
    if unnamed[0]:
        warnings.append(f"not kept: {unnamed[0]} Code without a guid (nothing can code it)")
    known = out.code_guids
    for v in _r._kids(root, "q:Variables/q:Variable"):
        out.variables.append(
            {
                "guid": _r._guid(v.get("guid")) or str(uuid.uuid4()),
                "name": v.get("name") or "",
                "type": v.get("typeOfVariable") or "Text",
                "description": _r._text_of(v, "Description"),
            }
        )
    names = {v["guid"]: v["name"] for v in out.variables}
    for src in _r._kids(root, "q:Sources/q:TextSource"):
        sg = _r._guid(src.get("guid"))
        desc = _source_memo(_r._text_of(src, "Description"))
        if desc:
            out.source_memos[sg] = desc
        found = [c for c in map(_coding, _r._kids(src, "q:Coding")) if c and c.code in known]
        if found:
            out.source_codings[sg] = found
        for vv in _r._kids(src, "q:VariableValue"):
            ref = vv.find("q:VariableRef", _r._NSMAP)
            name = names.get(_r._guid(None if ref is None else ref.get("targetGUID")))
            value, ok = _r._variable_value(vv)
            if name and ok:
                out.source_values.setdefault(sg, []).append((name, value))
            else:
                warnings.append(f"source {src.get('name')!r}: an unreadable variable value")
        for sel in _r._kids(src, "q:PlainTextSelection"):
            g = _r._guid(sel.get("guid"))
            codings = [c for c in map(_coding, _r._kids(sel, "q:Coding")) if c and c.code in known]
            description = _r._text_of(sel, "Description")
            if g and (codings or description):
                out.selections[g] = _SelectionIn(
                    g,
                    _r._guid(sel.get("creatingUser")),
                    _when(sel.get("creationDateTime")),
                    description,
                    codings,
                )
    for st in _r._kids(root, "q:Sets/q:Set"):
        desc = _r._text_of(st, "Description")
        if _r._json_meta(desc).get("coprod_nb") is not None:
            continue  # ours: framework versions and the step-1 closure
        out.sets.append(
            {
                "guid": _r._guid(st.get("guid")) or str(uuid.uuid4()),
                "name": st.get("name") or "",
                "description": desc,
                "codes": [
                    g
                    for m in _r._kids(st, "q:MemberCode")
                    if (g := _r._guid(m.get("targetGUID"))) in known
                ],
                "sources": [_r._guid(m.get("targetGUID")) for m in _r._kids(st, "q:MemberSource")],
            }
        )
    out.project_notes = _r._noterefs(root)
    return out


def attach(plan: Any, foreign: Foreign, project: Any) -> None:
    """Keep what :func:`read_foreign` read with the import's plan."""
    foreign.project = project
    plan.foreign = foreign


def write_foreign(store: Any, plan: Any, ids: list[int], summary: Any, file: str) -> dict[str, int]:
    """Write the codebook an import read, with the transcripts it landed in."""
    foreign: Foreign | None = getattr(plan, "foreign", None)
    if foreign is None:
        return {}
    project = foreign.project
    tid_of = {src.guid: tid for (src, *_), tid in zip(plan.transcripts, ids, strict=True)}
    users = [
        {"guid": g, "name": plan.researchers.get(g) or name or f"User {g[:8]}"}
        for g, name in project.users.items()
        if g
    ]
    codings, memos = [], []
    for index, sel, start, end in plan.selections:
        found = foreign.selections.get(sel.guid)
        if found is None:
            continue
        tid = ids[index]
        for c in found.codings:
            codings.append(
                {
                    "guid": c.guid,
                    "code": c.code,
                    "transcript_id": tid,
                    "start": start,
                    "end": end,
                    "selection_guid": sel.guid,
                    "user": c.user or found.user,
                    "created_at": c.when,
                }
            )
        if found.description:
            memos.append(
                {
                    "kind": "selection",
                    "guid": sel.guid,
                    "text": found.description,
                    "transcript_id": tid,
                    "start": start,
                    "end": end,
                    "selection_guid": sel.guid,
                    "user": found.user,
                    "created_at": found.when,
                }
            )
    for sg, items in foreign.source_codings.items():
        if sg in tid_of:
            codings += [
                {
                    "guid": c.guid,
                    "code": c.code,
                    "transcript_id": tid_of[sg],
                    "user": c.user,
                    "created_at": c.when,
                }
                for c in items
            ]
    for sg, text in foreign.source_memos.items():
        if sg in tid_of:
            memos.append({"kind": "source", "text": text, "transcript_id": tid_of[sg]})
    stored = {n["guid"]: n.get("note_id") for n in summary.notes}

    def note_memo(kind: str, ng: str, code: str | None = None) -> dict | None:
        note = project.notes.get(ng)
        if note is None:
            return None
        note_id = stored.get(ng)
        # A note kept as a researcher's note stays theirs (blind in step 1): the memo
        # points at it and holds no copy of its text.
        return {
            "kind": kind,
            "guid": ng,
            "name": note.name,
            "text": "" if note_id else note.text,
            "note_id": note_id,
            "code": code,
            "user": note.author,
        }

    memos += [m for g in foreign.project_notes if (m := note_memo("project", g))]
    memos += [m for c, g in foreign.code_notes if (m := note_memo("code", g, c))]
    sets = [
        {**st, "transcripts": [tid_of[g] for g in st["sources"] if g in tid_of]}
        for st in foreign.sets
    ]
    values = [
        (name, tid_of[sg], value)
        for sg, items in foreign.source_values.items()
        if sg in tid_of
        for name, value in items
    ]
    return store.import_codebook(
        {
            "users": users,
            "codes": foreign.codes,
            "codings": codings,
            "sets": sets,
            "memos": memos,
            "variables": foreign.variables,
            "values": values,
        },
        detail=f"from {file}",
    )


# -- export ------------------------------------------------------------------------------


def prepare_export(store: Any, ctx: Any) -> None:
    """A researcher who was a user of an imported project keeps that user's GUID (the
    first such user, when several projects named them)."""
    claimed: set[int] = set()
    for u in store.qda_users():
        if u.researcher_id in ctx.user_of and u.researcher_id not in claimed:
            ctx.user_of[u.researcher_id] = u.guid
            claimed.add(u.researcher_id)


def _child(parent: etree._Element, tag: str, order: tuple[str, ...]) -> etree._Element:
    """``parent``'s child ``tag``, made in the schema's order when missing."""
    found = parent.find(_r._Q + tag)
    if found is not None:
        return found
    el = etree.Element(_r._Q + tag)
    later = order[order.index(tag) + 1 :]
    for i, kid in enumerate(parent):
        if isinstance(kid.tag, str) and etree.QName(kid).localname in later:
            parent.insert(i, el)
            return el
    parent.append(el)
    return el


def _insert(parent: etree._Element, el: etree._Element, order: tuple[str, ...]) -> None:
    """Put ``el`` after the last child that comes no later than it in ``order``.

    Searched from the end: what may follow a selection (codings, note references,
    variable values) is short, so thousands of selections are placed in linear time.
    """
    rank = order.index(etree.QName(el).localname)
    kid = parent[-1] if len(parent) else None
    while kid is not None:
        if isinstance(kid.tag, str) and order.index(etree.QName(kid).localname) <= rank:
            kid.addnext(el)
            return
        kid = kid.getprevious()
    parent.insert(0, el)


def _el(tag: str, text: str | None = None, **attrs: Any) -> etree._Element:
    el = etree.Element(_r._Q + tag)
    for k, v in attrs.items():
        if v is not None:
            el.set(k, _r._xml_text(str(v)))
    if text is not None:
        el.text = _r._xml_text(text)
    return el


def add_foreign(project: etree._Element, store: Any, ctx: Any, scrub: Any = None) -> None:
    """Write the kept codebook into an export's ``project.qde`` (after our own parts)."""
    codes = store.codes()
    memos = store.memos()
    sets = store.code_sets()
    variables = store.variables()
    values = store.variable_values()
    if not (codes or memos or sets or variables or values):
        return
    added: list[etree._Element] = []
    users = {u.id: u for u in store.qda_users()}

    def user_guid(uid: int | None) -> str | None:
        u = users.get(uid) if uid else None
        if u is None:
            return None
        if u.researcher_id in ctx.user_of:
            return ctx.user_of[u.researcher_id]
        return u.guid

    written = {u.get("guid") for u in project.iterfind(f"{_r._Q}Users/{_r._Q}User")}
    unmapped = [u for u in users.values() if u.researcher_id not in ctx.user_of]
    if unmapped:
        users_el = _child(project, "Users", _PROJECT_ORDER)
        for u in unmapped:
            if u.guid not in written:
                users_el.append(_el("User", guid=u.guid, name=u.name))
                written.add(u.guid)
    notes_out: list[etree._Element] = []

    def memo_ref(m: Any) -> str | None:
        """The GUID a NoteRef of a project or code memo points at (a Note is written)."""
        if m.note_id is not None:
            return ctx.note_guid.get(m.note_id)  # None: the note is not the exporter's to see
        g = m.guid or str(uuid.uuid4())
        note = _el(
            "Note",
            guid=g,
            name=m.name or "Memo",
            creatingUser=user_guid(m.user_id),
            creationDateTime=_r._stamp(m.created_at),
        )
        note.append(_el("PlainTextContent", m.text or ""))
        notes_out.append(note)
        return g

    by_parent: dict[int | None, list] = {}
    for c in codes:
        by_parent.setdefault(c.parent_id, []).append(c)
    code_memos: dict[int, list] = {}
    for m in memos:
        if m.kind == "code" and m.code_id:
            code_memos.setdefault(m.code_id, []).append(m)
    book = _child(project, "CodeBook", _PROJECT_ORDER)
    codes_el = book.find(_r._Q + "Codes")
    if codes_el is None:
        codes_el = _r._sub(book, "Codes")

    def write_code(parent_el: etree._Element, c: Any) -> None:
        el = _el("Code", guid=c.guid, name=c.name, isCodable="true" if c.codable else "false")
        if c.color:
            el.set("color", c.color)
        if c.description:
            el.append(_el("Description", c.description))
        for m in code_memos.get(c.id, []):
            g = memo_ref(m)
            if g:
                el.append(_el("NoteRef", targetGUID=g))
        parent_el.append(el)
        added.append(el)
        for kid in by_parent.get(c.id, []):
            write_code(el, kid)

    for c in by_parent.get(None, []):
        write_code(codes_el, c)

    _add_variables(project, ctx, variables, values, added)

    sources = {s.get("guid"): s for s in project.iterfind(f"{_r._Q}Sources/{_r._Q}TextSource")}
    guid_of = {c.id: c.guid for c in codes}
    spans: dict[tuple[int, str], dict] = {}
    whole: dict[int, list] = {}
    for k in store.codings():
        if k.start is None:
            whole.setdefault(k.transcript_id, []).append(k)
            continue
        key = (k.transcript_id, k.selection_guid or k.guid)
        spans.setdefault(key, {"start": k.start, "end": k.end, "codings": [], "memo": None})
        spans[key]["codings"].append(k)
    for m in memos:
        if m.kind == "selection" and m.transcript_id and m.start is not None:
            key = (m.transcript_id, m.selection_guid or m.guid or str(uuid.uuid4()))
            spans.setdefault(key, {"start": m.start, "end": m.end, "codings": [], "memo": None})
            spans[key]["memo"] = m
    for (tid, sguid), span in sorted(spans.items(), key=lambda kv: (kv[0][0], kv[1]["start"])):
        src = sources.get(ctx.guid("transcript", tid))
        if src is None:
            continue
        first = span["codings"][0] if span["codings"] else span["memo"]
        sel = _el(
            "PlainTextSelection",
            guid=sguid,
            startPosition=span["start"],
            endPosition=span["end"],
            creatingUser=user_guid(first.user_id),
            creationDateTime=_r._stamp(first.created_at),
        )
        if span["memo"] is not None:
            sel.append(_el("Description", span["memo"].text))
        for k in span["codings"]:
            coding = _el(
                "Coding",
                guid=k.guid,
                creatingUser=user_guid(k.user_id),
                creationDateTime=_r._stamp(k.created_at),
            )
            coding.append(_el("CodeRef", targetGUID=guid_of[k.code_id]))
            sel.append(coding)
        _insert(src, sel, _SOURCE_ORDER)
        added.append(sel)
    for tid, items in whole.items():
        src = sources.get(ctx.guid("transcript", tid))
        for k in items if src is not None else ():
            coding = _el(
                "Coding",
                guid=k.guid,
                creatingUser=user_guid(k.user_id),
                creationDateTime=_r._stamp(k.created_at),
            )
            coding.append(_el("CodeRef", targetGUID=guid_of[k.code_id]))
            _insert(src, coding, _SOURCE_ORDER)
            added.append(coding)
    for m in memos:
        src = sources.get(ctx.guid("transcript", m.transcript_id)) if m.transcript_id else None
        if m.kind == "source" and src is not None:
            desc = src.find(_r._Q + "Description")
            if desc is None:
                desc = _el("Description")
                src.insert(0, desc)
            ours = desc.text or ""  # recording date, plain layout: after the memo
            desc.text = _r._xml_text(m.text + (f"\n\n{ours}" if ours else ""))
            added.append(desc)

    project_refs = [g for m in memos if m.kind == "project" and (g := memo_ref(m))]
    if notes_out:
        notes_el = _child(project, "Notes", _PROJECT_ORDER)
        for n in notes_out:
            notes_el.append(n)
            added.append(n)
    if sets:
        sets_el = _child(project, "Sets", _PROJECT_ORDER)
        for st, member_codes, member_sources in sets:
            el = _el("Set", guid=st.guid, name=st.name)
            if st.description:
                el.append(_el("Description", st.description))
            for g in member_codes:
                el.append(_el("MemberCode", targetGUID=g))
            for tid in member_sources:
                el.append(_el("MemberSource", targetGUID=ctx.guid("transcript", tid)))
            sets_el.append(el)
            added.append(el)
    for g in project_refs:
        ref = _el("NoteRef", targetGUID=g)
        project.append(ref)
    if scrub is not None:
        for top in added:
            for el in top.iter():
                if el.text:
                    el.text = scrub(el.text)[0]
                if el.get("name"):
                    el.set("name", scrub(el.get("name"))[0])


def _add_variables(
    project: etree._Element, ctx: Any, variables: list, values: list, added: list
) -> None:
    """Stored variables: their GUIDs and types on the case variables of the same name, and
    the sources' variables and values."""
    if not variables and not values:
        return
    var_el = _child(project, "Variables", _PROJECT_ORDER)
    present = {v.get("name"): v for v in var_el.iterfind(_r._Q + "Variable")}
    stored = {v.name: v for v in variables}
    retarget: dict[str, str] = {}
    for name, v in stored.items():
        el = present.get(name)
        if el is None:
            el = _el("Variable", guid=v.guid, name=v.name, typeOfVariable=v.type)
            if v.description:
                el.append(_el("Description", v.description))
            var_el.append(el)
            added.append(el)
            continue
        retarget[el.get("guid")] = v.guid
        el.set("guid", v.guid)
        if v.type in _DATE_TYPES:
            el.set("typeOfVariable", v.type)
    for ref in project.iterfind(f".//{_r._Q}VariableRef"):
        g = ref.get("targetGUID")
        if g in retarget:
            ref.set("targetGUID", retarget[g])
            kind = next((v.type for v in variables if v.guid == retarget[g]), "Text")
            text_el = ref.getparent().find(_r._Q + "TextValue")
            if kind in _DATE_TYPES and text_el is not None:
                text_el.tag = _r._Q + _DATE_TYPES[kind]
    sources = {s.get("guid"): s for s in project.iterfind(f"{_r._Q}Sources/{_r._Q}TextSource")}
    for name, tid, value in values:
        src = sources.get(ctx.guid("transcript", tid))
        v = stored.get(name)
        if src is None or v is None:
            continue
        vv = _el("VariableValue")
        vv.append(_el("VariableRef", targetGUID=v.guid))
        tag = _DATE_TYPES.get(v.type)
        if tag:
            vv.append(_el(tag, str(value)))
        else:
            _r._value_element(vv, v.type, value)
        _insert(src, vv, _SOURCE_ORDER)
        added.append(vv)
