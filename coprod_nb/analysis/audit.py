"""The audit trail: who did what, when, why and on what evidence, read from the event log.

An auditor traces the final framework back to the transcripts with three views: the
full history of one note, tension or decision (:func:`object_history`), what each
researcher could see when step 1 closed (:func:`step1_visibility`), and every step-2
and step-3 decision-like act in order (:func:`audit_trail`). Everything comes from the
append-only event log and the closure snapshot, never from the objects as they are now.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pandas as pd
from sqlalchemy import select

from coprod_nb.domain.notes import RECALL
from coprod_nb.domain.wording import plural, prompt_source
from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.storage import HistoryEntry, Store
from coprod_nb.storage.models import (
    DecisionRow,
    Dissent,
    Meeting,
    Partnership,
    Poll,
    TensionRow,
    Workshop,
)

__all__ = [
    "AUDIT_COLUMNS",
    "HISTORY_COLUMNS",
    "OBJECT_KINDS",
    "audit_objects",
    "audit_trail",
    "describe_change",
    "object_history",
    "step1_visibility",
]

OBJECT_KINDS: tuple[str, ...] = ("note", "tension", "decision")
HISTORY_COLUMNS = ["at", "actor", "action", "before", "after", "detail"]
AUDIT_COLUMNS = [
    "step",
    "date",
    "at",
    "who",
    "action",
    "object",
    "summary",
    "proposer",
    "rationale",
    "evidence",
]
VISIBILITY_COLUMNS = ["researcher", "own", "others", "from", "closed_at", "closed_by"]

# Event types an audit of steps 2 and 3 reads, in the order they are looked up.
_STEP2_TYPES = ("tension", "tension_link", "meeting", "dissent", "framework")
_STEP3_TYPES = ("workshop", "poll", "decision")
_SKIPPED = {("poll", "vote")}  # a ballot is not a decision, and its content stays secret


# --------------------------------------------------------------------- object history


def _frame(rows: list[tuple[int, dict]]) -> pd.DataFrame:
    rows.sort(key=lambda r: r[0])  # event ids: the order things were logged
    return pd.DataFrame([r[1] for r in rows], columns=HISTORY_COLUMNS)


def _row(e: HistoryEntry, *, action: str | None = None, detail: str | None = None) -> dict:
    return {
        "at": e.at,
        "actor": e.actor,
        "action": action or e.action,
        "before": e.before,
        "after": e.after,
        "detail": e.detail if detail is None else detail,
    }


def _ids(items: dict | None, key: str) -> list[int]:
    return list((items or {}).get(key) or [])


def _evidence_text(items: dict | None) -> str:
    parts = []
    for key, word in (("notes", "note"), ("excerpts", "excerpt")):
        ids = _ids(items, key)
        if ids:
            parts.append(f"{word}{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}")
    return "; ".join(parts)


def _note_history(store: Store, ref: int | str, viewer: str | None) -> pd.DataFrame:
    try:
        note_id = int(ref)
    except (TypeError, ValueError):
        raise InvalidInput(f"a note is given by its number (got {ref!r})") from None
    # Blinding holds in the audit too (a note's history shows its text): the store asks
    # the access policy, and a note hidden from the person working is not found.
    try:
        store.note(note_id, viewer)
    except NotFound:
        if not store.step_closed(RECALL):
            raise Forbidden(
                "step 1 is open: a note's history is shown to its author only"
            ) from None
        raise
    codes = {t.id: t.code for t in store.tensions()}
    rows = [(e.id, _row(e)) for e in store.history("note", note_id, viewer=viewer)]
    for e in store.history("tension"):
        if e.action == "attach" and note_id in _ids(e.after, "notes"):
            detail = f"attached to {codes.get(e.object_id, e.object_id)} as evidence"
            rows.append((e.id, _row(e, detail=detail)))
        elif e.action == "detach" and note_id in _ids(e.before, "notes"):
            detail = f"detached from {codes.get(e.object_id, e.object_id)}"
            rows.append((e.id, _row(e, detail=detail)))
    for e in store.history("step"):
        if (e.after or {}).get("step") == RECALL:
            rows.append((e.id, _row(e, detail="step 1 closed: visible to the team")))
    return _frame(rows)


def _concerns(payload: dict, code: str) -> bool:
    return (
        code in (payload.get("targets") or [])
        or payload.get("code") == code
        or payload.get("into") == code
        or any(p.get("code") == code for p in payload.get("parts") or [])
    )


def _decision_rows(store: Store) -> dict[int, DecisionRow]:
    with store.session(write=False) as s:
        return {d.id: d for d in s.scalars(select(DecisionRow).order_by(DecisionRow.id))}


def _tension_history(store: Store, ref: int | str) -> pd.DataFrame:
    try:
        row = store.tension(ref)
        code, row_id = row.code, row.id
    except NotFound:
        # Added and merged tensions (T7, T8) exist only in decisions and frozen versions.
        code, row_id = str(ref), None
    decisions = _decision_rows(store)
    codes = {t.id: t.code for t in store.tensions()}
    rows = []
    if row_id is not None:
        for e in store.history("tension", row_id):
            detail = e.detail
            if e.action in ("attach", "detach"):
                detail = _evidence_text(e.after if e.action == "attach" else e.before)
            rows.append((e.id, _row(e, detail=detail)))
        for e in store.history("tension_link"):
            after = e.after or {}
            if row_id in (after.get("source_id"), after.get("target_id")):
                detail = (
                    f"{codes.get(after.get('source_id'))} {after.get('kind')} "
                    f"{codes.get(after.get('target_id'))}"
                )
                rows.append((e.id, _row(e, action="link", detail=detail)))
    for e in store.history("decision"):
        d = decisions.get(e.object_id)
        if d is not None and _concerns(d.payload, code):
            detail = e.detail if e.action == "decide" else f"{d.ref} reverted: {e.detail}".strip()
            rows.append((e.id, _row(e, detail=detail)))
    for e in store.history("framework"):
        if code in (e.after or {}).get("tensions", []):
            version = (e.after or {}).get("version")
            rows.append((e.id, _row(e, detail=f"in framework v{version}")))
    if not rows:
        raise NotFound(f"no tension {ref!r}")
    return _frame(rows)


def _decision_history(store: Store, ref: int | str, workshop: int | None) -> pd.DataFrame:
    rows_by_id = _decision_rows(store)
    if isinstance(ref, int):
        found = rows_by_id.get(ref)
    else:
        ws = store.workshop(workshop).id
        found = next(
            (d for d in rows_by_id.values() if d.workshop_id == ws and d.ref == str(ref)), None
        )
    if found is None:
        raise NotFound(f"no decision {ref!r}")
    rows = []
    for e in store.history("decision", found.id):
        detail = e.detail if e.action == "decide" else f"reverted: {e.detail}".rstrip(": ")
        rows.append((e.id, _row(e, detail=detail)))
    return _frame(rows)


def object_history(
    store: Store,
    kind: str,
    ref: int | str,
    *,
    viewer: str | None = None,
    workshop: int | None = None,
) -> pd.DataFrame:
    """The full history of one note, tension or decision, oldest first.

    Parameters
    ----------
    store : Store
    kind : {"note", "tension", "decision"}
    ref : int or str
        A note's number; a tension's code, id or name (codes that exist only in
        decisions, such as a merged tension, work too); a decision's ref ("D2") in
        ``workshop`` (the latest by default) or its database id as an int.
    viewer : str, optional
        Who is looking: must name the person working (``store.actor``), the default.
        While step 1 is open a note's history is its author's only.
    workshop : int, optional

    Returns
    -------
    DataFrame
        Columns at, actor, action, before, after, detail. A note's history includes
        the tensions it was attached to (or detached from) and the step-1 closure; a
        tension's its evidence attach/detach, links, the decisions that name it and
        the frozen versions that hold it; a decision's its recording and revert.

    Raises
    ------
    InvalidInput
        An unknown kind.
    NotFound
        No such object.
    Forbidden
        A colleague's note while step 1 is open.
    """
    if kind == "note":
        return _note_history(store, ref, viewer)
    if kind == "tension":
        return _tension_history(store, ref)
    if kind == "decision":
        return _decision_history(store, ref, workshop)
    raise InvalidInput(f"kind must be one of {', '.join(OBJECT_KINDS)} (got {kind!r})")


def audit_objects(
    store: Store, kind: str, *, viewer: str | None = None
) -> list[tuple[str, int | str]]:
    """``(label, ref)`` for every object of ``kind`` whose history can be shown.

    Notes are listed only once step 1 is closed, or the viewer's own before that; a
    tension code that only decisions made (T7, T8) is listed after the stored ones.
    """
    if kind == "note":
        shorts = {p.id: p.short for p in store.partnerships()}
        names = {r.id: r.name for r in store.researchers()}
        notes = sorted(store.notes(viewer, include_deleted=True), key=lambda n: n.id)
        return [
            (
                f"#{n.id} {names[n.researcher_id]} · {shorts[n.partnership_id]} · {n.category}"
                + (" (deleted)" if n.deleted_at else ""),
                n.id,
            )
            for n in notes
        ]
    if kind == "tension":
        out = [(f"{t.code}: {t.name}", t.code) for t in store.tensions()]
        known = {code for _, code in out}
        for d in _decision_rows(store).values():
            code = d.payload.get("code")
            if code and code not in known:
                known.add(code)
                out.append((f"{code}: {d.payload.get('name') or ''}", code))
        return out
    if kind == "decision":
        try:
            ws = store.workshop().id
        except NotFound:
            return []
        return [
            (f"{d.ref}: {d.kind}" + (" (reverted)" if d.reverted_at else ""), d.ref)
            for d in _decision_rows(store).values()
            if d.workshop_id == ws
        ]
    raise InvalidInput(f"kind must be one of {', '.join(OBJECT_KINDS)} (got {kind!r})")


# --------------------------------------------------------------------- step 1 closure


def step1_visibility(store: Store) -> pd.DataFrame:
    """Who saw what when step 1 closed, from the closure's snapshot of every note.

    Returns
    -------
    DataFrame
        One row per researcher: own (their notes at closure), others (colleagues'
        notes that became visible to them then), from ("Birch 13, Cedar 13"),
        closed_at, closed_by. Notes deleted before the closure are not counted: they
        were never shown. Empty while step 1 is open. ``attrs``: closed_at,
        closed_by, notes.
    """
    closure = store.step_closure(RECALL)
    if closure is None:
        return pd.DataFrame(columns=VISIBILITY_COLUMNS)
    names = {r.id: r.name for r in store.researchers()}
    shown = [n for n in closure.snapshot.get("notes", []) if not n.get("deleted_at")]
    per = Counter(n["researcher_id"] for n in shown)
    rows = []
    for rid, name in names.items():
        others = {names.get(o, str(o)): k for o, k in per.items() if o != rid}
        rows.append(
            {
                "researcher": name,
                "own": per.get(rid, 0),
                "others": sum(others.values()),
                "from": ", ".join(f"{who} {k}" for who, k in sorted(others.items())),
                "closed_at": closure.closed_at,
                "closed_by": closure.closed_by,
            }
        )
    table = pd.DataFrame(rows, columns=VISIBILITY_COLUMNS)
    table.attrs.update(closed_at=closure.closed_at, closed_by=closure.closed_by, notes=len(shown))
    return table


# --------------------------------------------------------------------- audit trail


class _Context:
    """Names and dates the events refer to by id, loaded once."""

    def __init__(self, store: Store):
        with store.session(write=False) as s:
            self.tensions = dict(s.execute(select(TensionRow.id, TensionRow.code)).all())
            self.meetings = dict(s.execute(select(Meeting.id, Meeting.date)).all())
            self.dissents = {
                d.id: (d.meeting_id, d.topic) for d in s.scalars(select(Dissent)).all()
            }
            self.workshops = dict(s.execute(select(Workshop.id, Workshop.date)).all())
            self.polls = {p.id: (p.workshop_id, p.name) for p in s.scalars(select(Poll)).all()}
            self.partnerships = dict(s.execute(select(Partnership.id, Partnership.short)).all())
        self.decisions = _decision_rows(store)


def describe_change(before: dict | None, after: dict | None, skip=("updated_at",)) -> str:
    """``"status: candidate → agreed, name: … → …"``: the fields an event changed, cut short."""
    before, after = before or {}, after or {}
    changed = [k for k in after if k not in skip and before.get(k) != after.get(k)]

    def show(v) -> str:
        text = "; ".join(map(str, v)) if isinstance(v, list) else str(v)
        return text if len(text) <= 60 else text[:59] + "…"

    return ", ".join(f"{k}: {show(before.get(k))} → {show(after.get(k))}" for k in changed)


def _as_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


def _describe(e: HistoryEntry, ctx: _Context) -> dict:
    """step, date, object, summary, proposer, rationale, evidence of one event."""
    after, before = e.after or {}, e.before or {}
    out = {
        "step": 2,
        "date": e.at.date(),
        "object": "",
        "summary": e.detail,
        "proposer": "",
        "rationale": "",
        "evidence": "",
    }
    kind = e.object_type
    if kind == "tension":
        code = after.get("code") or ctx.tensions.get(e.object_id, str(e.object_id))
        out["object"] = code
        if e.action == "create":
            out["summary"] = f"named {code} '{after.get('name', '')}' ({after.get('status', '')})"
            out["proposer"] = after.get("proposer") or ""
        elif e.action == "update":
            out["summary"] = describe_change(before, after) or "saved without changes"
        elif e.action in ("attach", "detach"):
            items = after if e.action == "attach" else before
            n, x = len(_ids(items, "notes")), len(_ids(items, "excerpts"))
            verb = "attached" if e.action == "attach" else "detached"
            out["summary"] = f"{verb} {plural(n, 'note')} and {plural(x, 'excerpt')} as evidence"
            out["evidence"] = _evidence_text(items)
    elif kind == "tension_link":
        a, b = ctx.tensions.get(after.get("source_id")), ctx.tensions.get(after.get("target_id"))
        out["object"] = f"{a}–{b}"
        out["summary"] = f"linked: {a} {after.get('kind')} {b}"
    elif kind == "meeting":
        when = ctx.meetings.get(e.object_id)
        out["date"] = when or out["date"]
        out["object"] = f"meeting {when}"
        out["summary"] = (
            f"meeting recorded; attendees {', '.join(after.get('attendees') or [])}"
            if e.action == "create"
            else describe_change(before, after)
        )
    elif kind == "dissent":
        meeting, topic = ctx.dissents.get(e.object_id, (after.get("meeting_id"), ""))
        out["date"] = ctx.meetings.get(meeting) or out["date"]
        out["object"] = f"dissent {e.object_id}"
        topic = after.get("topic") or topic
        if e.action == "create":
            positions = " | ".join(
                f"{p.get('who')}: {p.get('position')}" for p in after.get("positions") or []
            )
            out["summary"] = f"dissent logged: {topic} ({positions})" if positions else topic
            out["proposer"] = ", ".join(p.get("who", "") for p in after.get("positions") or [])
        else:
            out["summary"] = f"dissent {'settled' if e.action == 'settle' else 'reopened'}: {topic}"
        state = "settled" if after.get("settled") else "open"
        out["rationale"] = (
            f"{after.get('resolution')} ({state})" if after.get("resolution") else f"({state})"
        )
    elif kind == "framework":
        version = after.get("version")
        out["object"] = f"framework v{version}"
        out["summary"] = f"froze v{version}: {', '.join(after.get('tensions') or [])}"
        if "workshop" in after:
            out["step"] = 3
            out["date"] = ctx.workshops.get(after["workshop"]) or out["date"]
    elif kind == "workshop" and e.action in ("issue links", "revoke links"):
        # The participant app's personal links: to whom, never a key.
        out["step"] = 3
        out["date"] = ctx.workshops.get(e.object_id) or out["date"]
        out["object"] = f"workshop {out['date'] or ''}".strip()
        if e.action == "issue links":
            out["summary"] = f"personal links issued to: {', '.join(after.get('to') or [])}"
        else:
            out["summary"] = (
                f"{plural(after.get('revoked', 0), 'personal link')} revoked: "
                f"{', '.join(after.get('of') or [])}"
            )
    elif kind == "workshop":
        out["step"] = 3
        out["date"] = _as_date(after.get("date")) or out["date"]
        out["object"] = f"workshop {after.get('date', '')}"
        threshold = after.get("consensus_threshold")
        out["summary"] = (
            f"workshop recorded (base framework v{after.get('base_version')}); consensus "
            f"threshold {threshold:.0%} fixed before any result"
            if isinstance(threshold, int | float)
            else "workshop recorded"
        )
    elif kind == "poll":
        out["step"] = 3
        ws, name = ctx.polls.get(e.object_id, (None, after.get("name", "")))
        out["date"] = ctx.workshops.get(ws) or out["date"]
        out["object"] = f"poll {name}"
        if e.action == "open":
            how = "ranked" if after.get("ranked") else "approval"
            most = f", up to {after['max_choices']}" if after.get("max_choices") else ""
            out["summary"] = f"opened ({how}{most}): {', '.join(after.get('options') or [])}"
        else:
            out["summary"] = f"closed with {after.get('ballots', 0)} ballots; results shown"
    elif kind == "decision":
        out["step"] = 3
        d = ctx.decisions.get(e.object_id)
        payload = d.payload if d is not None else after
        out["object"] = payload.get("ref", "")
        if e.action == "decide":
            out["date"] = _as_date(payload.get("date")) or out["date"]
            out["proposer"] = payload.get("proposer") or ""
            out["rationale"] = payload.get("rationale") or ""
            out["evidence"] = "; ".join(prompt_source(p) for p in payload.get("prompted_by") or [])
        else:
            out["summary"] = f"reverted {payload.get('ref', '')}"
            out["rationale"] = e.detail
    return out


def audit_trail(store: Store) -> pd.DataFrame:
    """Every step-2 and step-3 decision-like act, in the order it was logged.

    Tensions named, edited and given evidence; links; the meeting and its dissents;
    frozen frameworks; the workshop (with its consensus threshold), polls opened and
    closed (never a ballot's content); decisions and their reverts.

    Returns
    -------
    DataFrame
        Columns step (2 or 3); date (of the act as recorded with it: the decision's
        date, the meeting's or the workshop's, else the day it was logged); at (the
        log's timestamp); who (the account that recorded it); action; object ("T3",
        "D2", "poll opening", "framework v2"); summary; proposer; rationale (a
        decision's rationale, a revert's reason, a dissent's resolution); evidence
        (evidence ids attached, or what prompted a decision).
    """
    ctx = _Context(store)
    entries = [
        e
        for kind in (*_STEP2_TYPES, *_STEP3_TYPES)
        for e in store.history(kind)
        if (e.object_type, e.action) not in _SKIPPED
    ]
    entries.sort(key=lambda e: e.id)
    rows = [{"at": e.at, "who": e.actor, "action": e.action, **_describe(e, ctx)} for e in entries]
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)
