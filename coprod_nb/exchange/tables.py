"""Every table of a study as DataFrames, written as CSV files or as one XLSX workbook.

For researchers who continue in R, SPSS, Excel or pandas, and for an auditor who wants
the whole record (the event log included) in plain tables.

Rules this module keeps:

- **Pseudonyms only** by default. The study's real-name key (``name_key``) is left out
  unless ``real_names=True``; then the export says so on its first line. As a second
  guard, a real full name from the key that still occurs in stored text (a note, the
  minutes, a file name) is replaced by its pseudonym and the README counts how many.
- **Blinding** by the access policy (:mod:`coprod_nb.storage.access`): notes, excerpts
  and events are those the person working (``store.actor``) may see; while step 1 is
  open that is only their own notes, and the event log leaves out colleagues' notes and
  the excerpts only they chose. A ``viewer`` argument must name the person working.
- **Polls**: ballots of an open poll are left out (results stay hidden until it closes).
- **Formula injection**: transcript and note text is untrusted input, and a spreadsheet
  runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return
  before one) as a formula (e.g. ``=HYPERLINK(...)`` sending data to a web site). Such
  cells are written with a leading ``'`` in CSV and XLSX, so they show as text; every CSV
  field is quoted, so a carriage return or line feed inside a cell cannot start a row.
- **One table writer**: :func:`table_csv` and :func:`table_xlsx` are the only CSV and XLSX
  writers of the package (the notes export uses them too; a test checks that no other
  module writes CSV or XLSX).
- **The output rule** (:mod:`coprod_nb.exchange.outputs`): never onto the study's record,
  existing files replaced only with ``force``, all files or none.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import func, select

from coprod_nb.domain.decisions import Decision
from coprod_nb.domain.notes import RECALL
from coprod_nb.domain.pseudonyms import name_scrubber
from coprod_nb.domain.wording import plural
from coprod_nb.errors import InvalidInput
from coprod_nb.exchange.outputs import (
    Outputs,
    check_folder,
    check_output,
    os_error_of,
    write_output,
)
from coprod_nb.storage import Store, access
from coprod_nb.storage.models import (
    DecisionRow,
    Event,
    NoteVersion,
    Poll,
    Reading,
    SpectrumPosition,
    StepClosure,
    TensionLink,
    Transcript,
    TranscriptPerson,
    Turn,
)

__all__ = [
    "FORMATS",
    "PSEUDONYMISED",
    "REAL_NAMES_NOTICE",
    "TABLES",
    "export_tables",
    "guard_formula",
    "study_tables",
    "table_csv",
    "table_xlsx",
    "write_table",
]

REAL_NAMES_NOTICE = "This export contains REAL NAMES of participants"
PSEUDONYMISED = "Pseudonymised export: no real names"
FORMATS: tuple[str, ...] = ("csv", "xlsx")

#: Table name -> what one row is (the README's description of each file or sheet).
TABLES: dict[str, str] = {
    "study": "the study: name, description, settings (JSON), when step 1 was closed",
    "partnerships": "a partnership (case); its attributes as attr_<key> columns",
    "participants": "a participant (pseudonym), partnership, role, consent",
    "researchers": "a researcher (pseudonym), login, study lead or not",
    "transcripts": "a transcript without its text: partnership, date, people, turns, source",
    "turns": "a speaker turn: transcript, seq, speaker, start/end in ms, offsets, text",
    "excerpts": "a quoted span of a transcript (start/end are offsets into its text)",
    "notes": "a step-1 note visible to the viewer; excerpt_ids are its anchors; deleted flag",
    "note_versions": "the content a note had before an edit made after step 1 closed",
    "readings": "a researcher marked a transcript as read",
    "meetings": "a joint interpretation meeting",
    "dissents": "a disagreement in a meeting: positions (JSON), settled, resolution",
    "tensions": "a tension of the working set: poles, sub-themes, status, evidence count",
    "tension_evidence": "a note or an excerpt attached to a tension as evidence",
    "tension_links": "a typed link between two tensions",
    "framework_versions": "one tension of one frozen framework version (from its snapshot)",
    "workshops": "a sensemaking workshop: facilitators, participants, threshold",
    "card_responses": "a participant's response to one tension card: comment, circle",
    "polls": "a poll of a workshop: options, open or closed, ballots cast",
    "ballots": "a ballot of a closed poll (choices in rank order); open polls left out",
    "decisions": "a workshop decision: kind, summary, rationale, reverted; payload (JSON)",
    "spectrum_positions": "where a partnership sits on a tension (0 pole A .. 100 pole B)",
    "events": "the append-only event log: who did what, when; before/after as JSON",
}
_REAL_NAME_TABLES: dict[str, str] = {
    "notice": "the warning that this export holds real names",
    "name_key": "the real-name key: real name -> pseudonym (SENSITIVE)",
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_XLSX_CELL_LIMIT = 32_767  # characters Excel holds in one cell
_CUT_MARK = " [cut: Excel holds 32,767 characters in a cell; the CSV export has it all]"
_SEP = "; "


def guard_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would run as a formula with a single quote.

    Parameters
    ----------
    value : any
        A cell value; only ``str`` starting with ``=``, ``+``, ``-``, ``@``, a tab or a
        carriage return is changed.

    Returns
    -------
    any
        ``"'" + value`` for such text, otherwise ``value`` unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


# ------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class _Collected:
    tables: dict[str, pd.DataFrame]
    viewer: str | None
    step1_closed: bool
    names_replaced: int


def study_tables(
    store: Store, *, viewer: str | None = None, real_names: bool = False
) -> dict[str, pd.DataFrame]:
    """Every entity of a study as one DataFrame, pseudonymised.

    Parameters
    ----------
    store : Store
    viewer : str, optional
        Whose view is exported: the person working (``store.actor``), the default;
        naming anyone else is refused (blinding applies).
    real_names : bool, default False
        Add the tables ``notice`` and ``name_key`` (real name -> pseudonym) first.
        Without it the key is never read into a table, and a real full name found in
        stored text is replaced by its pseudonym.

    Returns
    -------
    dict of str -> DataFrame
        Keyed by the names in :data:`TABLES`, in that order. Lists of names, codes
        or ids are joined with ``"; "``; structured values are JSON text.

    Raises
    ------
    NotFound
        An unknown viewer.
    Forbidden
        A viewer who is not the person working.
    """
    return _collect(store, viewer, real_names).tables


def _collect(store: Store, viewer: str | None, real_names: bool) -> _Collected:
    who = _viewer(store, viewer)
    closed = store.step_closed()
    # Every row below is read through the store, which asks the access policy.
    shorts = {p.id: p.short for p in store.partnerships()}
    titles = {t.id: t.title for t in store.transcripts()}
    names = {r.id: r.name for r in store.researchers()}
    people = {p.id: p for p in store.participants()}

    notes = store.notes(viewer, include_deleted=True)
    excerpts = store.excerpts(viewer=viewer)
    note_ids = {n.id for n in notes}
    tensions = store.tensions()
    evidence = store.evidence()
    codes = {t.id: t.code for t in tensions}
    workshops = store.workshops()
    meetings = store.meetings()

    tables = {
        "study": _study(store),
        "partnerships": _partnerships(store),
        "participants": _frame(
            [
                {
                    "id": p.id,
                    "name": p.name,
                    "partnership_id": p.partnership_id,
                    "partnership": shorts.get(p.partnership_id),
                    "role": p.role,
                    "consent_record": p.consent_record,
                    "consent_quote": p.consent_quote,
                }
                for p in people.values()
            ],
            "id name partnership_id partnership role consent_record consent_quote",
            ints="partnership_id",
        ),
        "researchers": _frame(
            [
                {"id": r.id, "name": r.name, "login": r.login, "lead": r.lead}
                for r in store.researchers()
            ],
            "id name login lead",
        ),
        "transcripts": _transcripts(store, shorts, names, people),
        "turns": _turns(store, titles),
        "excerpts": _frame(
            [
                {
                    "id": e.id,
                    "transcript_id": e.transcript_id,
                    "transcript": titles.get(e.transcript_id),
                    "start": e.start,
                    "end": e.end,
                    "text": e.text,
                    "created_by": e.created_by,
                    "created_at": e.created_at,
                }
                for e in excerpts
            ],
            "id transcript_id transcript start end text created_by created_at",
        ),
        "notes": _frame(
            [
                {
                    "id": n.id,
                    "researcher_id": n.researcher_id,
                    "researcher": names.get(n.researcher_id),
                    "partnership_id": n.partnership_id,
                    "partnership": shorts.get(n.partnership_id),
                    "category": n.category,
                    "kind": n.kind,
                    "text": n.text,
                    "excerpt_ids": _join(e.id for e in n.excerpts),
                    "version": n.version,
                    "created_at": n.created_at,
                    "updated_at": n.updated_at,
                    "deleted": n.deleted_at is not None,
                    "deleted_at": n.deleted_at,
                }
                for n in notes
            ],
            "id researcher_id researcher partnership_id partnership category kind text "
            "excerpt_ids version created_at updated_at deleted deleted_at",
        ),
        "note_versions": _note_versions(store, note_ids),
        "readings": _readings(store, names, titles),
        "meetings": _frame(
            [
                {
                    "id": m.id,
                    "date": m.date,
                    "title": m.title,
                    "attendees": _join(m.attendees),
                    "minutes": m.minutes,
                    "dissents": len(m.dissents),
                }
                for m in meetings
            ],
            "id date title attendees minutes dissents",
        ),
        "dissents": _frame(
            [
                {
                    "id": d.id,
                    "meeting_id": m.id,
                    "meeting_date": m.date,
                    "topic": d.topic,
                    "positions": _json(d.positions),
                    "settled": d.settled,
                    "resolution": d.resolution,
                }
                for m in meetings
                for d in m.dissents
            ],
            "id meeting_id meeting_date topic positions settled resolution",
        ),
        "tensions": _frame(
            [
                {
                    "id": t.id,
                    "code": t.code,
                    "name": t.name,
                    "pole_a": t.pole_a,
                    "pole_b": t.pole_b,
                    "description": t.description,
                    "subthemes": _join(t.subthemes or ()),
                    "proposer": t.proposer,
                    "status": t.status,
                    "evidence": sum(e.tension_id == t.id for e in evidence),
                    "created_at": t.created_at,
                    "updated_at": t.updated_at,
                }
                for t in tensions
            ],
            "id code name pole_a pole_b description subthemes proposer status evidence "
            "created_at updated_at",
        ),
        "tension_evidence": _frame(
            [
                {
                    "id": e.id,
                    "tension_id": e.tension_id,
                    "tension": codes.get(e.tension_id),
                    "note_id": e.note_id,
                    "excerpt_id": e.excerpt_id,
                    "added_by": e.added_by,
                    "added_at": e.added_at,
                }
                for e in evidence
            ],
            "id tension_id tension note_id excerpt_id added_by added_at",
            ints="note_id excerpt_id",
        ),
        "tension_links": _tension_links(store, codes),
        "framework_versions": _framework_versions(store),
        "workshops": _frame(
            [
                {
                    "id": w.id,
                    "date": w.date,
                    "mode": w.mode,
                    "facilitators": _join(w.facilitators),
                    "participants": _join(w.participants),
                    "base_version": w.base_version,
                    "consensus_threshold": w.consensus_threshold,
                    "threshold_fixed_at": w.threshold_fixed_at,
                    "notes": w.notes,
                }
                for w in workshops
            ],
            "id date mode facilitators participants base_version consensus_threshold "
            "threshold_fixed_at notes",
        ),
        "card_responses": _frame(
            [
                {
                    "id": r.id,
                    "workshop_id": r.workshop_id,
                    "participant_id": r.participant_id,
                    "participant": people[r.participant_id].name,
                    "partnership": shorts.get(people[r.participant_id].partnership_id),
                    "code": r.code,
                    "comment": r.comment,
                    "suggestion": r.suggestion,
                    "circle": r.circle,
                    "reason": r.reason,
                    "source": r.source,
                    "updated_at": r.updated_at,
                }
                for w in workshops
                for r in store.responses(w.id)
            ],
            "id workshop_id participant_id participant partnership code comment suggestion "
            "circle reason source updated_at",
        ),
        **_polls_and_ballots(store, shorts, people),
        "decisions": _decisions(store),
        "spectrum_positions": _spectrum_positions(store, shorts),
        "events": _events(store, viewer),
    }
    replaced = 0
    if real_names:
        key = store.pseudonym_key().mapping
        tables = {
            "notice": pd.DataFrame({"notice": [REAL_NAMES_NOTICE]}),
            "name_key": _frame(
                [{"real_name": r, "pseudonym": p} for r, p in sorted(key.items())],
                "real_name pseudonym",
            ),
            **tables,
        }
    else:
        scrub = name_scrubber(store.pseudonym_key().mapping)
        for name, df in tables.items():
            tables[name], n = _map_text(df, scrub)
            replaced += n
    return _Collected(tables, who, closed, replaced)


def _viewer(store: Store, viewer: str | None) -> str:
    """Whose view is exported: the person working (a ``viewer`` must name them)."""
    with store.session(write=False) as s:
        me = access.viewer_of(store, s, viewer)
    return me.name if me is not None else str(store.actor)


def _study(store: Store) -> pd.DataFrame:
    study = store.study()
    row = {
        "id": study.id,
        "name": study.name,
        "description": study.description,
        "created_at": study.created_at,
        "settings": _json(study.settings or {}),
        f"{RECALL}_closed_at": None,
        f"{RECALL}_closed_by": None,
    }
    with store.session(write=False) as s:
        for c in s.scalars(select(StepClosure).order_by(StepClosure.id)):
            row[f"{c.step}_closed_at"], row[f"{c.step}_closed_by"] = c.closed_at, c.closed_by
    return pd.DataFrame([row])


def _partnerships(store: Store) -> pd.DataFrame:
    found = store.partnerships()
    keys = list(dict.fromkeys(k for p in found for k in (p.attributes or {})))
    rows = []
    for p in found:
        row = {"id": p.id, "short": p.short, "name": p.name}
        attrs = p.attributes or {}
        for k in keys:
            value = attrs.get(k)
            row[f"attr_{k}"] = _json(value) if isinstance(value, list | dict) else value
        rows.append(row)
    return _frame(rows, ["id", "short", "name", *(f"attr_{k}" for k in keys)])


def _transcripts(store: Store, shorts: dict, names: dict, people: dict) -> pd.DataFrame:
    with store.session(write=False) as s:
        links = s.execute(
            select(
                TranscriptPerson.transcript_id,
                TranscriptPerson.participant_id,
                TranscriptPerson.researcher_id,
            ).order_by(TranscriptPerson.id)
        ).all()
        turns = dict(
            s.execute(
                select(Turn.transcript_id, func.count(Turn.id)).group_by(Turn.transcript_id)
            ).all()
        )
    who: dict[int, tuple[list[str], list[str]]] = {}
    for tid, pid, rid in links:
        part, inter = who.setdefault(tid, ([], []))
        if pid is not None:
            part.append(people[pid].name)
        if rid is not None:
            inter.append(names[rid])
    rows = [
        {
            "id": t.id,
            "title": t.title,
            "partnership_id": t.partnership_id,
            "partnership": shorts.get(t.partnership_id),
            "date": t.date,
            "participants": _join(sorted(who.get(t.id, ([], []))[0])),
            "interviewers": _join(sorted(who.get(t.id, ([], []))[1])),
            "turns": turns.get(t.id, 0),
            "word_count": t.word_count,
            "source_name": t.source_name,
            "source_format": t.source_format,
            "content_hash": t.content_hash,
            "imported_at": t.imported_at,
            "imported_by": t.imported_by,
        }
        for t in store.transcripts()
    ]
    return _frame(
        rows,
        "id title partnership_id partnership date participants interviewers turns word_count "
        "source_name source_format content_hash imported_at imported_by",
        ints="partnership_id",
    )


def _turns(store: Store, titles: dict) -> pd.DataFrame:
    with store.session(write=False) as s:
        rows = [
            {
                "id": t.id,
                "transcript_id": t.transcript_id,
                "transcript": titles.get(t.transcript_id),
                "seq": t.seq,
                "speaker": t.speaker,
                "participant_id": t.participant_id,
                "researcher_id": t.researcher_id,
                "start_ms": t.start_ms,
                "end_ms": t.end_ms,
                "char_start": t.char_start,
                "char_end": t.char_end,
                "text": t.text,
            }
            for t in s.scalars(
                select(Turn)
                .join(Transcript, Turn.transcript_id == Transcript.id)
                .order_by(Transcript.date, Transcript.title, Turn.transcript_id, Turn.seq)
            )
        ]
    return _frame(
        rows,
        "id transcript_id transcript seq speaker participant_id researcher_id start_ms end_ms "
        "char_start char_end text",
        ints="participant_id researcher_id start_ms end_ms",
    )


def _note_versions(store: Store, note_ids: set[int]) -> pd.DataFrame:
    with store.session(write=False) as s:
        found = s.scalars(
            select(NoteVersion)
            .where(NoteVersion.note_id.in_(sorted(note_ids)))
            .order_by(NoteVersion.note_id, NoteVersion.version)
        ).all()
    rows = [
        {
            "id": v.id,
            "note_id": v.note_id,
            "version": v.version,
            "category": v.category,
            "kind": v.kind,
            "text": v.text,
            "saved_at": v.saved_at,
        }
        for v in found
    ]
    return _frame(rows, "id note_id version category kind text saved_at")


def _readings(store: Store, names: dict, titles: dict) -> pd.DataFrame:
    with store.session(write=False) as s:
        found = s.scalars(select(Reading).order_by(Reading.id)).all()
    rows = [
        {
            "id": r.id,
            "researcher_id": r.researcher_id,
            "researcher": names.get(r.researcher_id),
            "transcript_id": r.transcript_id,
            "transcript": titles.get(r.transcript_id),
            "read_at": r.read_at,
        }
        for r in found
    ]
    return _frame(rows, "id researcher_id researcher transcript_id transcript read_at")


def _tension_links(store: Store, codes: dict) -> pd.DataFrame:
    with store.session(write=False) as s:
        found = s.scalars(select(TensionLink).order_by(TensionLink.id)).all()
    rows = [
        {
            "id": k.id,
            "source_id": k.source_id,
            "source": codes.get(k.source_id),
            "kind": k.kind,
            "target_id": k.target_id,
            "target": codes.get(k.target_id),
        }
        for k in found
    ]
    return _frame(rows, "id source_id source kind target_id target")


def _framework_versions(store: Store) -> pd.DataFrame:
    rows = []
    for fv in store.framework_versions():
        links = next((t["links"] for t in fv.tensions if "links" in t), [])
        tensions = [t for t in fv.tensions if "code" in t]
        for seq, t in enumerate(tensions, start=1):
            evidence = t.get("evidence") or {}
            rows.append(
                {
                    "version": fv.version,
                    "label": fv.label,
                    "frozen_at": fv.frozen_at,
                    "frozen_by": fv.frozen_by,
                    "seq": seq,
                    "code": t["code"],
                    "name": t.get("name", ""),
                    "pole_a": t.get("pole_a", ""),
                    "pole_b": t.get("pole_b", ""),
                    "description": t.get("description", ""),
                    "subthemes": _join(t.get("subthemes") or ()),
                    "status": t.get("status", ""),
                    "proposer": t.get("proposer", ""),
                    "origin": _join(t.get("origin") or ()),
                    "evidence_notes": _join(evidence.get("notes") or ()),
                    "evidence_excerpts": _join(evidence.get("excerpts") or ()),
                    "links": _join(
                        f"{k['kind']} {k['target']}" for k in links if k["source"] == t["code"]
                    ),
                }
            )
    return _frame(
        rows,
        "version label frozen_at frozen_by seq code name pole_a pole_b description subthemes "
        "status proposer origin evidence_notes evidence_excerpts links",
    )


def _polls_and_ballots(store: Store, shorts: dict, people: dict) -> dict[str, pd.DataFrame]:
    with store.session(write=False) as s:
        polls = s.scalars(select(Poll).order_by(Poll.workshop_id, Poll.id)).all()
    partnership_of = {p.name: shorts.get(p.partnership_id) for p in people.values()}
    poll_rows, ballot_rows = [], []
    for p in polls:
        closed = p.closed_at is not None
        poll_rows.append(
            {
                "id": p.id,
                "workshop_id": p.workshop_id,
                "name": p.name,
                "options": _join(p.options),
                "max_choices": p.max_choices,
                "ranked": p.ranked,
                "status": "closed" if closed else "open",
                "opened_at": p.opened_at,
                "closed_at": p.closed_at,
                "ballots_cast": store.ballot_count(p.id),
            }
        )
        if not closed:
            continue  # results stay hidden until the poll closes (the store refuses anyway)
        for participant, choices in store.ballots(p.id).items():
            ballot_rows.append(
                {
                    "poll_id": p.id,
                    "workshop_id": p.workshop_id,
                    "poll": p.name,
                    "participant": participant,
                    "partnership": partnership_of.get(participant),
                    "choices": _join(choices),
                    "n_choices": len(choices),
                }
            )
    return {
        "polls": _frame(
            poll_rows,
            "id workshop_id name options max_choices ranked status opened_at closed_at "
            "ballots_cast",
            ints="max_choices",
        ),
        "ballots": _frame(
            ballot_rows, "poll_id workshop_id poll participant partnership choices n_choices"
        ),
    }


def _decisions(store: Store) -> pd.DataFrame:
    with store.session(write=False) as s:
        found = s.scalars(
            select(DecisionRow).order_by(DecisionRow.workshop_id, DecisionRow.seq)
        ).all()
    rows = []
    for r in found:
        d = Decision.from_dict(r.payload)
        rows.append(
            {
                "id": r.id,
                "workshop_id": r.workshop_id,
                "seq": r.seq,
                "ref": r.ref,
                "kind": r.kind,
                "summary": d.summary(),
                "targets": _join(d.targets),
                "rationale": d.rationale,
                "proposer": d.proposer,
                "date": d.date,
                "prompted_by": _join(d.prompted_by),
                "reverted": r.reverted_at is not None,
                "recorded_by": r.recorded_by,
                "recorded_at": r.recorded_at,
                "reverted_at": r.reverted_at,
                "payload": _json(r.payload),
            }
        )
    return _frame(
        rows,
        "id workshop_id seq ref kind summary targets rationale proposer date prompted_by "
        "reverted recorded_by recorded_at reverted_at payload",
    )


def _spectrum_positions(store: Store, shorts: dict) -> pd.DataFrame:
    with store.session(write=False) as s:
        found = s.scalars(
            select(SpectrumPosition).order_by(
                SpectrumPosition.code, SpectrumPosition.partnership_id, SpectrumPosition.when
            )
        ).all()
    rows = [
        {
            "id": p.id,
            "partnership_id": p.partnership_id,
            "partnership": shorts.get(p.partnership_id),
            "tension": p.code,
            "when": p.when,
            "position": p.position,
            "recorded_by": p.recorded_by,
        }
        for p in found
    ]
    return _frame(rows, "id partnership_id partnership tension when position recorded_by")


def _events(store: Store, viewer: str | None) -> pd.DataFrame:
    """The event log, as the access policy lets the person working see it."""
    with store.session(write=False) as s:
        me = access.viewer_of(store, s, viewer)
        found = s.scalars(
            select(Event).where(access.visible_events(s, me)).order_by(Event.id)
        ).all()
    rows = []
    for e in found:
        rows.append(
            {
                "id": e.id,
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": e.object_id,
                "detail": e.detail,
                "before": _json(e.before) if e.before is not None else None,
                "after": _json(e.after) if e.after is not None else None,
            }
        )
    return _frame(
        rows,
        "id at actor action object_type object_id detail before after",
        ints="object_id",
    )


# ------------------------------------------------------------------------- helpers


def _frame(rows: list[dict], columns: str | list[str], *, ints: str = "") -> pd.DataFrame:
    """A DataFrame with fixed columns (also when empty); ``ints`` may hold missing values."""
    cols = columns.split() if isinstance(columns, str) else list(columns)
    df = pd.DataFrame(rows, columns=cols)
    for col in ints.split():
        df[col] = df[col].astype("Int64")
    return df


def _join(items) -> str:
    return _SEP.join(str(i) for i in items)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or isinstance(series.dtype, pd.StringDtype)


def _map_text(df: pd.DataFrame, fn: Callable[[str], tuple[str, int]]) -> tuple[pd.DataFrame, int]:
    """Apply ``fn`` (text -> (new text, changes)) to every text cell and column name."""
    total = 0

    def cell(value: Any) -> Any:
        nonlocal total
        if not isinstance(value, str):
            return value
        new, n = fn(value)
        total += n
        return new

    out = df.copy()
    for col in out.columns:
        if _is_text(out[col]):
            out[col] = out[col].map(cell).astype(out[col].dtype)
    out.columns = [cell(c) for c in out.columns]
    return out, total


# ------------------------------------------------------------------------- writing


def export_tables(
    store: Store,
    fmt: str,
    out: str | Path,
    *,
    viewer: str | None = None,
    real_names: bool = False,
    force: bool = False,
) -> Path:
    """Write every table of a study as CSV files in a folder, or as one XLSX workbook.

    Parameters
    ----------
    store : Store
    fmt : {"csv", "xlsx"}
        ``"csv"``: a folder ``out`` with ``README.txt`` and one ``<table>.csv`` per table
        (UTF-8, header row, every field quoted). ``"xlsx"``: a workbook ``out`` (ending in
        ``.xlsx``) with a ``README`` sheet first, then one sheet per table.
    out : path
        Where to write, by the output rule (:mod:`coprod_nb.exchange.outputs`): never onto
        the study's record; files that exist (the folder's CSV files, the workbook) are
        replaced only with ``force``; all files or none.
    viewer, real_names
        As in :func:`study_tables`. With ``real_names`` the README's first line (and
        the first sheet's first cell) is :data:`REAL_NAMES_NOTICE`, otherwise
        :data:`PSEUDONYMISED`.
    force : bool, default False
        Replace files that exist.

    Returns
    -------
    Path
        The folder or the workbook written.

    Raises
    ------
    InvalidInput
        An unknown format, a workbook name not ending in ``.xlsx``, or a path the output
        rule refuses (an existing file without ``force``, a missing parent folder, ...).
    """
    kind = str(fmt).strip().lower()
    if kind not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}: choose csv or xlsx")
    if kind == "csv":
        folder = check_folder(out, store)
        for name in ("README.txt", *(f"{t}.csv" for t in (*_REAL_NAME_TABLES, *TABLES))):
            if (folder / name).exists():
                check_output(folder / name, store, force=force)
    else:
        check_output(out, store, force=force)
        if Path(out).suffix.lower() != ".xlsx":
            raise InvalidInput("an XLSX workbook's name ends in .xlsx", file=str(out))
    got = _collect(store, viewer, real_names)
    with Outputs(store, force=force) as written:
        if kind == "csv":
            folder = written.folder(out)
            with written.open(folder / "README.txt", text=True, newline="\n") as fh:
                fh.write("\n".join(_readme(store, got, "csv")) + "\n")
            for name, df in got.tables.items():
                written.write(folder / f"{name}.csv", table_csv(df))
            return folder
        with written.open(out) as fh:
            _write_xlsx(store, got, fh, Path(out).absolute().parent)
    return Path(out).absolute()


def _readme(store: Store, got: _Collected, kind: str, extra: tuple[str, ...] = ()) -> list[str]:
    real = "notice" in got.tables
    study = store.study()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [REAL_NAMES_NOTICE if real else PSEUDONYMISED]
    if real:
        lines.append("Keep it as safe as the real-name key itself; do not share it.")
    lines += [
        f"Study: {study.name}",
        f"Exported {when} by {store.actor} with coprod_nb.",
    ]
    if got.step1_closed:
        lines.append(f"Notes as seen by {got.viewer}: step 1 is closed, every researcher's notes.")
    else:
        lines.append(
            f"Notes as seen by {got.viewer}: step 1 is OPEN, so only {got.viewer}'s own notes "
            "(none for someone who is not a researcher of the study); "
            "colleagues' notes, the excerpts only they chose and their log entries are left out."
        )
    if got.names_replaced:
        lines.append(
            f"{plural(got.names_replaced, 'real name')} found in stored text, each replaced "
            "by its pseudonym."
        )
    lines += [
        "Times are UTC. Lists of names, codes or ids are joined with '; '; settings, "
        "positions, payload, before and after are JSON.",
        "A cell that starts with =, +, -, @, a tab or a carriage return is written with a "
        "leading ' so that a spreadsheet shows it as text instead of running it as a formula "
        "(transcripts and notes are untrusted text).",
        *extra,
        "",
        "Files:" if kind == "csv" else "Sheets:",
    ]
    docs = {**_REAL_NAME_TABLES, **TABLES}
    for name, df in got.tables.items():
        label = f"{name}.csv" if kind == "csv" else name
        rows = f"{len(df)} row{'' if len(df) == 1 else 's'}"
        lines.append(f"{label} ({rows}): {docs[name]}")
    return lines


def table_csv(df: pd.DataFrame) -> str:
    """THE CSV form of a table: formula guard applied, every field quoted.

    Quoting every field (``csv.QUOTE_ALL``) keeps a carriage return, a line feed, a quote
    or a separator inside its cell: a spreadsheet that starts a new row at a bare ``\\r``
    cannot be made to read the rest of a cell as a row of its own (a formula row).
    Lines end in ``\\r\\n`` (RFC 4180).
    """
    return _guarded(df).to_csv(index=False, quoting=csv.QUOTE_ALL, lineterminator="\r\n")


def table_xlsx(
    sheets: dict[str, pd.DataFrame],
    fh: BinaryIO,
    readme: list[str] = (),
    *,
    scratch: Path | None = None,
) -> int:
    """THE XLSX form of tables: one sheet each (after a ``README`` sheet if given).

    The formula guard is applied as in :func:`table_csv`; characters a workbook cannot
    hold are dropped and a cell longer than Excel holds is cut (marked). openpyxl writes
    each sheet to a temporary file first: with ``scratch`` (the output's folder) those
    go there instead of the system's temporary folder, so no study text lands in /tmp.
    Returns the number of cells cut.
    """
    cut = 0

    def fit(text: str) -> tuple[str, int]:
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
        if len(text) > _XLSX_CELL_LIMIT:
            return text[: _XLSX_CELL_LIMIT - len(_CUT_MARK)] + _CUT_MARK, 1
        return text, 0

    fitted = {}
    for name, df in sheets.items():
        fitted[name[:31]], n = _map_text(_guarded(df), fit)
        cut += n
    lines = list(readme)
    if cut and lines:
        lines.append(
            f"{plural(cut, 'cell')} longer than Excel allows were cut (marked [cut: ...])."
        )
    # Built in memory, then copied: a write that fails half-way (a full disk) then leaves
    # openpyxl's zip archive on a buffer that is still open, not on a closed file.
    buffer = io.BytesIO()
    saved_hook, failed = sys.unraisablehook, None
    try:
        with _scratch_in(scratch), pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            if lines:
                pd.DataFrame({"README": [guard_formula(fit(x)[0]) for x in lines]}).to_excel(
                    writer, sheet_name="README", index=False, header=False
                )
            for name, df in fitted.items():
                df.to_excel(writer, sheet_name=name, index=False, freeze_panes=(1, 0))
    except Exception as exc:
        failed = os_error_of(exc)
        if failed is None:
            raise
        # openpyxl's half-written sheets complain again when they are collected; the
        # failure is reported once, as the error raised below.
        sys.unraisablehook = lambda _unraisable: None
    try:
        if failed is not None:
            gc.collect()
            raise failed
    finally:
        sys.unraisablehook = saved_hook
    fh.write(buffer.getbuffer())
    return cut


@contextlib.contextmanager
def _scratch_in(folder: Path | None):
    # openpyxl names its temporary files with tempfile's default folder; there is no
    # argument for it. Pointed at the output's folder for the length of one workbook.
    if folder is None:
        yield
        return
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = saved


def write_table(
    df: pd.DataFrame, fmt: str, out: str | Path, store: Store | None = None, *, force: bool = False
) -> Path:
    """Write one table as ``csv`` or ``xlsx`` by the output rule (see :func:`table_csv`)."""
    kind = str(fmt).strip().lower()
    if kind == "csv":
        return write_output(out, table_csv(df), store, force=force)
    if kind != "xlsx":
        raise InvalidInput(f"unknown table format {fmt!r}: choose csv or xlsx")
    target = check_output(out, store, force=force)
    with Outputs(store, force=force) as written, written.open(target) as fh:
        table_xlsx({"table": df}, fh, scratch=target.parent)
    return target


def _write_xlsx(store: Store, got: _Collected, fh: BinaryIO, scratch: Path) -> None:
    table_xlsx(got.tables, fh, _readme(store, got, "xlsx"), scratch=scratch)


def _guarded(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with formula-like text cells (and column names) prefixed with ``'``."""

    def guard(text: str) -> tuple[str, int]:
        new = guard_formula(text)
        return new, int(new is not text)

    return _map_text(df, guard)[0]
