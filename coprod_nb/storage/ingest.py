"""Writing imported transcripts: every row through SQLAlchemy Core, in the caller's
transaction.

An import of 200 files writes 200 transcripts, ~30,000 turns, their people links and
one event each. Built as ORM objects, the transcripts and events cost a flush each and
the snapshot a read-back; here every row is a plain dict handed to one ``INSERT``
(``executemany`` for the turns, the links and the events), and the event's snapshot is
the transcript row as written. The caller (``Store.add_transcript``,
``import_transcripts``) owns the transaction: the import stays all-or-nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import bindparam, insert, inspect, select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from coprod_nb.domain import RawTurn, canonical_text, word_count
from coprod_nb.domain.wording import plural
from coprod_nb.errors import DuplicateSource, InvalidInput
from coprod_nb.storage import events
from coprod_nb.storage.models import (
    Participant,
    Partnership,
    Researcher,
    Transcript,
    TranscriptPerson,
    Turn,
)


@dataclass(frozen=True)
class NewTranscript:
    """One transcript to write: its parsed turns and what is known about its source.

    ``partnership``, ``participants`` and ``interviewers`` name existing rows (id, name
    or short name); left empty, they are inferred from the matched speakers.
    """

    turns: Sequence[RawTurn]
    title: str
    source_name: str
    source_format: str
    content_hash: str
    partnership: int | str | None = None
    date: date | None = None
    participants: Sequence[int | str] = ()
    interviewers: Sequence[int | str] = ()


@dataclass(frozen=True)
class WrittenTranscript:
    """A transcript as written: its id and the pseudonymised title, with its counts."""

    id: int
    title: str
    turns: int
    word_count: int


@cache
def _snapshot_columns() -> tuple[str, ...]:
    # The columns the import event records: every loaded column but the text (the event
    # would hold the whole transcript) and the deferred ones (never loaded by the ORM).
    return tuple(
        c.key for c in inspect(Transcript).column_attrs if not c.deferred and c.key != "text"
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


#: The turn columns an import writes, in the table's order (that of the compiled INSERT).
_TURN_COLUMNS = (
    "transcript_id",
    "seq",
    "speaker",
    "participant_id",
    "researcher_id",
    "text",
    "start_ms",
    "end_ms",
    "char_start",
    "char_end",
)


@cache
def _turn_insert(dialect) -> tuple[str, bool]:
    """The turns' INSERT compiled for ``dialect``, and whether it takes plain tuples."""
    table = Turn.__table__
    compiled = (
        insert(table).values({c: bindparam(c) for c in _TURN_COLUMNS}).compile(dialect=dialect)
    )
    return str(compiled), list(compiled.positiontup or ()) == list(_TURN_COLUMNS)


def _insert_turns(conn, rows: list[tuple]) -> None:
    """Insert turn rows (tuples in ``_TURN_COLUMNS`` order) by one ``executemany``.

    Core would build and process a parameter dict per row (a tenth of a second for an
    import's 30,000 turns); a driver taking positional parameters (``sqlite3``) is handed
    the compiled statement and the tuples themselves. Others go through Core.
    """
    statement, positional = _turn_insert(conn.dialect)
    if positional:
        conn.exec_driver_sql(statement, rows)
    else:
        conn.execute(
            insert(Turn.__table__), [dict(zip(_TURN_COLUMNS, r, strict=True)) for r in rows]
        )


def _fts_trigger(s: Session) -> bool:
    # A study stamped 0011 while that revision was still an empty placeholder keeps the
    # per-row trigger of 0001; it must not be indexed twice.
    found = s.execute(
        sql("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'turn_fts_ai'")
    ).first()
    return found is not None


def write_transcripts(
    store: Any, s: Session, items: Sequence[NewTranscript]
) -> list[WrittenTranscript]:
    """Write transcripts, pseudonymised with the study's key, in the session ``s``.

    Each one is checked before anything is written (it has turns, the people named
    exist, its content is not in the study nor earlier in ``items``); the first problem
    raises, naming the file, and the caller's transaction then writes nothing. The rows,
    their ids, offsets, full-text index and events are those one ORM object per row gave
    (``tests/test_ingest_core.py`` compares them).

    Parameters
    ----------
    store : Store
        Gives the key, the person working (recorded as importer and in the events) and
        the speaker matching.
    s : Session
        A write session; not committed here.
    items : sequence of NewTranscript

    Returns
    -------
    list of WrittenTranscript
        In the order of ``items``.
    """
    if not items:
        return []
    key = store.pseudonym_key()
    actor = store.actor
    people = store._people(s)  # loaded once for all the files, matched per speaker
    conn = s.connection()
    tr_table = Transcript.__table__
    hashes = [it.content_hash for it in items]
    stored = set(
        conn.execute(select(tr_table.c.content_hash).where(tr_table.c.content_hash.in_(hashes)))
        .scalars()
        .all()
    )
    planned: list[tuple[dict, list[tuple], list[dict], dict]] = []
    for it in items:
        source_name = it.source_name
        if not it.turns:
            raise InvalidInput("a transcript needs at least one turn", file=source_name)
        # One regex pass over every label and text (most turns hold no name).
        fields = key.apply_many([f for t in it.turns for f in (t.speaker, t.text)])
        pseudo = list(zip(fields[::2], fields[1::2], strict=True))
        # File names often carry the interviewee's name: they are pseudonymised too.
        title, source_name = key.apply(it.title), key.apply(source_name)
        text, spans = canonical_text(pseudo)
        # one lookup per distinct speaker, not per turn
        matches = {
            label: store._match(s, label, people) for label in dict.fromkeys(lb for lb, _ in pseudo)
        }
        part_ids = [
            store._find(s, Participant, p, ("name",), "participant").id for p in it.participants
        ] or [m.participant_id for m in matches.values() if m.participant_id is not None]
        res_ids = [
            store._find(s, Researcher, r, ("name", "login"), "researcher").id
            for r in it.interviewers
        ] or [m.researcher_id for m in matches.values() if m.researcher_id is not None]
        if it.partnership is not None:
            pship = store._find(s, Partnership, it.partnership, ("short", "name"), "partnership")
            pship_id = pship.id
        else:
            pships = {s.get(Participant, pid).partnership_id for pid in part_ids} - {None}
            pship_id = pships.pop() if len(pships) == 1 else None
        if it.content_hash in stored:
            raise DuplicateSource("this file is already in the study", file=source_name)
        stored.add(it.content_hash)
        row = {
            "title": title,
            "partnership_id": pship_id,
            "date": it.date,
            "source_name": source_name,
            "source_format": it.source_format,
            "content_hash": it.content_hash,
            # read in this order (the import time, then its event's) as the fictional
            # clock of the demo gives one second per reading
            "imported_at": events.utcnow(),
            "imported_by": actor,
            # one count over the texts joined by line breaks, which no word spans
            "word_count": word_count("\n".join(t for _, t in pseudo)),
            "text": text,
        }
        event = {
            "at": events.utcnow(),
            "action": "import",
            "object_type": "transcript",
            "detail": f"{plural(len(it.turns), 'turn')} from {it.source_format}",
        }
        who = {label: (m.participant_id, m.researcher_id) for label, m in matches.items()}
        turns = (it.turns, pseudo, spans, who)
        people_rows = [
            {"participant_id": pid, "researcher_id": None} for pid in dict.fromkeys(part_ids)
        ] + [{"participant_id": None, "researcher_id": rid} for rid in dict.fromkeys(res_ids)]
        planned.append((row, turns, people_rows, event))

    # Everything checked: now the writes, in the order one file after another gave
    # (transcript, its turns, its people), so the ids are the same; the events follow.
    s.flush()  # pending ORM rows of the caller first, so the event ids keep their order
    written, all_turns, all_people, all_events = [], [], [], []
    insert_transcript = insert(tr_table)
    for row, (raws, pseudo, spans, who), people_rows, event in planned:
        tid = conn.execute(insert_transcript, row).inserted_primary_key[0]
        # in _TURN_COLUMNS order; built once the transcript's id is known
        all_turns += [
            (tid, i, label, *who[label], body, raw.start_ms, raw.end_ms, span.start, span.end)
            for i, (raw, (label, body), span) in enumerate(zip(raws, pseudo, spans, strict=True))
        ]
        for p in people_rows:
            p["transcript_id"] = tid
        all_people += people_rows
        after = {c: _plain(row.get(c)) for c in _snapshot_columns()}
        after["id"] = tid
        all_events.append({**event, "object_id": tid, "after": after})
        written.append(WrittenTranscript(tid, row["title"], len(raws), row["word_count"]))
    # One INSERT executed with every row (executemany). PostgreSQL indexes each turn
    # itself (a generated column); SQLite's FTS5 index is filled in bulk below.
    _insert_turns(conn, all_turns)
    if all_people:
        conn.execute(insert(TranscriptPerson.__table__), all_people)
    if s.bind.dialect.name == "sqlite" and written and not _fts_trigger(s):
        # One statement for the import's turns (migration 0011): its transcripts have
        # the highest ids, as they were inserted last in this transaction.
        conn.execute(
            sql(
                "INSERT INTO turn_fts(rowid, text) "
                "SELECT id, text FROM turn WHERE transcript_id >= :first"
            ),
            {"first": written[0].id},
        )
    events.log_many(s, actor, all_events)
    return written


#: What an import of transcripts writes, for the planner's statistics (PostgreSQL):
#: turn_search's hold its words' frequencies, which the planner reads to choose between
#: the GIN index and the turns in order (migration 0018).
IMPORTED_TABLES = ("transcript", "turn", "turn_search", "transcript_person")


def refresh_statistics(engine, tables: Sequence[str] = IMPORTED_TABLES) -> None:
    """Bring PostgreSQL's planner statistics up to date after a large write.

    Right after an import the planner still counts the tables as they were (until
    autovacuum's next pass, up to a minute later), and picks plans for an empty table:
    the first searches of a freshly imported 800-transcript study took 47 ms of median
    instead of 17 ms (``docs/performance.md``). ``ANALYZE`` samples the table, a few
    tenths of a second. Only the tables the connected role owns are analysed (only an
    owner may): a team member's role leaves it to autovacuum, which catches up within
    a minute. SQLite needs nothing: its planner does not use gathered statistics here.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        owned = conn.execute(
            sql(
                "SELECT t FROM unnest(CAST(:tables AS text[])) AS t "
                "JOIN pg_class c ON c.oid = to_regclass(t) "
                "WHERE pg_has_role(current_user, c.relowner, 'MEMBER')"
            ),
            {"tables": list(tables)},
        ).scalars()
        names = ", ".join(f'"{t}"' for t in owned if t.isidentifier())
        if names:
            conn.exec_driver_sql(f"ANALYZE {names}")
