"""Study overview, transcripts table, search results and histories as DataFrames."""

from __future__ import annotations

import html

import pandas as pd
from sqlalchemy import func, inspect, select, text

from coprod_nb.domain import format_time
from coprod_nb.storage import Store
from coprod_nb.storage.models import Participant, Partnership, Researcher, Transcript, Turn
from coprod_nb.storage.search import HIT_END, HIT_START


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


def marked_to_text(snippet: str) -> str:
    """A search snippet with hits as ``**word**`` (plain text, for tables and the CLI)."""
    return snippet.replace(HIT_START, "**").replace(HIT_END, "**")


def marked_to_html(snippet: str) -> str:
    """A search snippet as safe HTML: the text escaped, hits in ``<mark>``."""
    return (
        html.escape(snippet).replace(HIT_START, '<mark class="cp-hit">').replace(HIT_END, "</mark>")
    )


def search(store: Store, query: str, limit: int = 50) -> pd.DataFrame:
    """Study-wide search: one row per matching turn, best first.

    Columns: transcript_id, transcript, partnership, turn_id, seq, speaker, time, snippet
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
