"""Many excerpts, or many notes, written in one go (an import of thousands of them).

The same rows, checks and events as :meth:`Store.add_excerpt` and
:meth:`Store.add_note` one by one, with the per-item work done once: each transcript's
text, each author's right to write (:func:`access.writer_of`), each partnership, each
category and kind are looked up once, and the rows go to the database in one flush
(batched inserts) instead of one transaction each. A store call like the others: its
own transaction, or a part of the caller's :meth:`Store.transaction`; a bad item
writes nothing.

A refusal of the database during the flush (a trigger of :mod:`~coprod_nb.storage.guards`,
a researcher's role on PostgreSQL, a CHECK or a unique constraint) is told as the store
tells it (:meth:`Store._write_refusal`, the one translation): a
:class:`~coprod_nb.errors.CoprodError` with the database's reason, never SQLAlchemy's
error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from coprod_nb.domain.wording import plural
from coprod_nb.errors import InvalidInput, NotFound
from coprod_nb.storage import access, events
from coprod_nb.storage.models import Excerpt, Partnership, Transcript
from coprod_nb.storage.notes import _note_state, new_excerpt, new_note

__all__ = ["add_excerpts", "add_notes"]

# Rows per IN (...) list: far below any database's limit of bound parameters.
_CHUNK = 2_000


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for k in range(0, len(items), _CHUNK):
        yield items[k : k + _CHUNK]


def _log_created(s, actor: str, kind: str, items: list[tuple[int, dict]]) -> None:
    # One executemany through the event log's own writer (events.log_many).
    events.log_many(
        s,
        actor,
        [{"action": "create", "object_type": kind, "object_id": i, "after": a} for i, a in items],
    )


def _flush(store: Any, s, made: list, what: str) -> None:
    """Write ``made`` in one flush; the database's refusal as the store's clear error."""
    s.add_all(made)
    try:
        s.flush()
    except DBAPIError as exc:
        refused = store._write_refusal(exc, plural(len(made), what))
        if refused is None:
            raise
        raise refused from exc


def _log(store: Any, s, kind: str, items: list[tuple[int, dict]]) -> None:
    """Their events, a refusal told like :func:`_flush`'s (the log has triggers too)."""
    try:
        _log_created(s, store.actor, kind, items)
    except DBAPIError as exc:
        refused = store._write_refusal(exc, f"the events of {plural(len(items), 'new ' + kind)}")
        if refused is None:
            raise
        raise refused from exc


def add_excerpts(store: Any, spans: Sequence[tuple[int, int, int]]) -> list[int]:
    """Excerpts ``(transcript_id, start, end)`` (spans of the canonical text); their ids.

    Raises
    ------
    NotFound
        An unknown transcript.
    InvalidInput
        A span outside its transcript (named by title and offsets).
    CoprodError
        The database refused the rows (its reason; nothing written).
    """
    if not spans:
        return []
    with store.session() as s:
        wanted = sorted({tid for tid, _, _ in spans})
        texts: dict[int, tuple[str, str]] = {}
        for part in _chunks(wanted):
            rows = s.execute(
                select(Transcript.id, Transcript.title, Transcript.text).where(
                    Transcript.id.in_(part)
                )
            )
            texts.update((r.id, (r.title, r.text)) for r in rows)
        made = []
        for tid, start, end in spans:
            if tid not in texts:
                raise NotFound(f"no transcript {tid}")
            made.append(new_excerpt(store.actor, tid, *texts[tid], start, end))
        _flush(store, s, made, "excerpt")
        _log(store, s, "excerpt", [(ex.id, events.snapshot(ex)) for ex in made])
        return [ex.id for ex in made]


def add_notes(store: Any, notes: Sequence[dict]) -> list[int]:
    """Notes, each a dict of :meth:`Store.add_note`'s arguments (``researcher``,
    ``partnership``, ``text``, ``category``, ``kind``, ``excerpts``); their ids.

    Who may write whose note is the access policy's (:func:`access.writer_of`), asked
    once per author: a researcher writes only in their own name.
    """
    if not notes:
        return []
    for choice in {
        (n.get("category", "reflection"), n.get("kind", "self-reflection")) for n in notes
    }:
        store._check_choices(*choice)
    with store.session() as s:
        authors: dict[Any, Any] = {}
        pships: dict[Any, Any] = {}
        for n in notes:
            ref, pref = n["researcher"], n["partnership"]
            if pref is None or pref == "":
                raise InvalidInput("a note needs a partnership")
            if ref not in authors:
                authors[ref] = access.writer_of(store, s, store._researcher(s, ref))
            if pref not in pships:
                pships[pref] = store._find(s, Partnership, pref, ("short", "name"), "partnership")
        wanted = sorted({i for n in notes for i in n.get("excerpts", ())})
        excerpts: dict[int, Excerpt] = {}
        for part in _chunks(wanted):
            excerpts.update(
                (e.id, e) for e in s.scalars(select(Excerpt).where(Excerpt.id.in_(part)))
            )
        missing = [i for i in wanted if i not in excerpts]
        if missing:
            raise NotFound(f"no excerpt {missing[0]}")
        made = []
        for n in notes:
            made.append(
                new_note(
                    authors[n["researcher"]].id,
                    pships[n["partnership"]].id,
                    n.get("text", ""),
                    n.get("category", "reflection"),
                    n.get("kind", "self-reflection"),
                    [excerpts[i] for i in dict.fromkeys(n.get("excerpts", ()))],
                )
            )
        _flush(store, s, made, "note")
        _log(store, s, "note", [(n.id, _note_state(n)) for n in made])
        return [note.id for note in made]
