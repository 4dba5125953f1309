"""Study overview, transcripts table, search results and histories as DataFrames."""

from __future__ import annotations

import html

import pandas as pd
from sqlalchemy import func, inspect, select, text

from coprod_nb.domain import format_time
from coprod_nb.domain.wording import plural
from coprod_nb.storage import Store
from coprod_nb.storage.models import Participant, Partnership, Researcher, Transcript, Turn
from coprod_nb.storage.search import HIT_END, HIT_START, marked_to_text


def study_info(store: Store) -> dict:
    """Counts of what a study holds, plus words per transcript (the ``info`` command)."""
    tables = set(inspect(store.engine).get_table_names())
    with store.session(write=False) as s:

        def count(model) -> int:
            return s.scalar(select(func.count()).select_from(model))

        words = s.execute(
            select(Transcript.title, Transcript.word_count).order_by(Transcript.id)
        ).all()
        out = {
            "partnerships": count(Partnership),
            "participants": count(Participant),
            "researchers": count(Researcher),
            "transcripts": count(Transcript),
            "turns": count(Turn),
            "words": sum(w for _, w in words),
            # Notes and tensions arrive with steps 1 and 2; counted once their tables exist.
            "notes": _count_table(s, "note") if "note" in tables else 0,
            "tensions": _count_table(s, "tension") if "tension" in tables else 0,
            "words_per_transcript": {t: w for t, w in words},
        }
    return {"study": store.study().name, **out}


def _count_table(s, table: str) -> int:
    return s.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def transcripts_table(store: Store) -> pd.DataFrame:
    """One row per transcript: title, partnership, date, people, turns, words, source."""
    with store.session(write=False) as s:
        rows = s.execute(
            select(
                Transcript.id,
                Transcript.title,
                Partnership.short,
                Transcript.date,
                Transcript.source_format,
                Transcript.word_count,
                func.count(Turn.id),
            )
            .outerjoin(Partnership, Transcript.partnership_id == Partnership.id)
            .outerjoin(Turn, Turn.transcript_id == Transcript.id)
            .group_by(Transcript.id, Partnership.short)
            .order_by(Transcript.date, Transcript.title)
        ).all()
    records = []
    for tid, title, short, when, fmt, words, turns in rows:
        people = store.people_of(tid)
        records.append(
            {
                "id": tid,
                "title": title,
                "partnership": short,
                "date": when,
                "participants": ", ".join(people["participants"]),
                "interviewers": ", ".join(people["interviewers"]),
                "turns": turns,
                "words": words,
                "format": fmt,
            }
        )
    cols = [
        "id",
        "title",
        "partnership",
        "date",
        "participants",
        "interviewers",
        "turns",
        "words",
        "format",
    ]
    return pd.DataFrame.from_records(records, columns=cols).set_index("id")


def marked_to_html(snippet: str) -> str:
    """A search snippet as safe HTML: the text escaped, hits in ``<mark>``."""
    return (
        html.escape(snippet).replace(HIT_START, '<mark class="cp-hit">').replace(HIT_END, "</mark>")
    )


def search(store: Store, query: str, limit: int = 50) -> pd.DataFrame:
    """Study-wide search: one row per matching turn, best first.

    Columns: transcript_id, transcript, partnership, turn_id, seq, speaker ("" for a
    paragraph of a plain document), time, snippet
    (hits as ``**word**``).
    """
    hits = store.search(query, limit)
    cols = [
        "transcript_id",
        "transcript",
        "partnership",
        "turn_id",
        "seq",
        "speaker",
        "time",
        "snippet",
    ]
    return pd.DataFrame(
        [
            (
                h.transcript_id,
                h.transcript,
                h.partnership,
                h.turn_id,
                h.seq,
                h.speaker,
                format_time(h.start_ms),
                marked_to_text(h.snippet),
            )
            for h in hits
        ],
        columns=cols,
    )


def history_table(
    store: Store, object_type: str, object_id: int | None = None, *, viewer: str | None = None
) -> pd.DataFrame:
    """The event log of one object (or a type) as a DataFrame, oldest first.

    Notes' and excerpts' histories need ``viewer`` while step 1 is open (blinding).
    """
    entries = store.history(object_type, object_id, viewer=viewer)
    cols = ["at", "actor", "action", "object_type", "object_id", "before", "after", "detail"]
    return pd.DataFrame(
        [
            (e.at, e.actor, e.action, e.object_type, e.object_id, e.before, e.after, e.detail)
            for e in entries
        ],
        columns=cols,
    )


def study_status(store: Store) -> pd.DataFrame:
    """Where a study stands in the method, and what to do next.

    One row per part (set-up, transcripts, step 1, step 2, step 3) with what is done and,
    where something is missing, the notebook and widget that does it. Reads only.

    Returns
    -------
    DataFrame
        Columns ``part``, ``state`` and ``next``.
    """
    partnerships, researchers = store.partnerships(), store.researchers()
    participants = store.participants()
    transcripts = store.transcripts(text=False)
    leads = [r.name for r in researchers if r.lead]
    rows = []
    setup = (
        f"{plural(len(partnerships), 'partnership')}, {plural(len(researchers), 'researcher')}"
        f" (lead: {', '.join(leads) or 'none'}), {plural(len(participants), 'participant')}"
    )
    todo = []
    if not partnerships:
        todo.append("add partnerships")
    if not researchers:
        todo.append("add researchers")
    elif not leads:
        todo.append("mark a researcher as lead")
    rows.append(("set-up", setup, _next(todo, "notebook 00, Study set-up")))
    rows.append(
        (
            "transcripts",
            f"{len(transcripts)} imported",
            "" if transcripts else "import them: notebook 00, Import transcripts",
        )
    )
    closed = store.step_closed()
    if closed:
        closure = store.step_closure(snapshot=False)
        recall = f"closed by {closure.closed_by} on {closure.closed_at:%Y-%m-%d}"
        recall_next = ""
    else:
        recall = "open: each researcher reads and writes blind notes"
        recall_next = "when everyone has read everything, the lead closes it: notebook 01"
    rows.append(("step 1: individual recall", recall, recall_next))
    versions = store.framework_versions()
    if versions:
        joint = ", ".join(f"v{v.version}" for v in versions) + " frozen"
        joint_next = ""
    else:
        joint = "no framework frozen yet"
        joint_next = (
            "name tensions and agree framework v1: notebook 02, Tension board"
            if closed
            else "starts when step 1 is closed"
        )
    rows.append(("step 2: joint interpretation", joint, joint_next))
    workshops = store.workshops()
    if workshops:
        newest = workshops[-1]
        workshop = (
            f"{plural(len(workshops), 'workshop')}; the newest on {newest.date:%Y-%m-%d}, "
            f"on framework v{newest.base_version}"
        )
        workshop_next = ""
    else:
        workshop = "no workshop recorded yet"
        workshop_next = (
            "record the workshop: notebook 03, Workshop" if versions else "starts with v1"
        )
    rows.append(("step 3: workshop sensemaking", workshop, workshop_next))
    return pd.DataFrame(rows, columns=["part", "state", "next"])


def _next(todo: list[str], where: str) -> str:
    return f"{'; '.join(todo)}: {where}" if todo else ""
