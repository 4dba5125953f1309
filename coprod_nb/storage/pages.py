"""One page of a transcript for a reader: its turns and the anchored passages on them.

A page is fetched with a few indexed queries and never loads the transcript's canonical
text (megabytes for a long conversation), so paging stays fast however long it is.
Which passages come back is the access policy's (:func:`access.visible_excerpts`): during
step 1 one's own, after it everyone's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Engine, and_, bindparam, inspect, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex

from coprod_nb.storage import access
from coprod_nb.storage.models import (
    Excerpt,
    Note,
    NoteExcerpt,
    TensionEvidence,
    TensionRow,
    Turn,
)
from coprod_nb.storage.search import _TOKEN, _WORD

__all__ = ["Mark", "TurnPage", "ensure_position_index", "query_spans", "turn_page"]

_TURN_COLUMNS = (
    Turn.id,
    Turn.transcript_id,
    Turn.seq,
    Turn.speaker,
    Turn.start_ms,
    Turn.end_ms,
    Turn.text,
    Turn.char_start,
    Turn.char_end,
)

#: The index on excerpt (transcript_id, start) a page's passages are read through (0016).
POSITION_INDEX = "ix_excerpt_transcript_start"

# Built once: constructing a statement costs more than SQLite takes to run this one.
_PAGE = (
    select(*_TURN_COLUMNS)
    .where(
        Turn.transcript_id == bindparam("tid"),
        Turn.seq >= bindparam("start"),
        Turn.seq < bindparam("stop"),
    )
    .order_by(Turn.seq)
)


@dataclass(frozen=True)
class Mark:
    """An anchored passage that lies (partly) on the page.

    ``start``/``end`` are offsets in the transcript's canonical text (code points).
    ``notes`` are the visible notes anchoring it, own notes first; ``categories`` their
    categories and ``tensions`` the codes of tensions it (or one of those notes) is
    evidence for; ``mine`` whether the person working made it or anchors it.
    """

    excerpt_id: int
    start: int
    end: int
    notes: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    tensions: tuple[str, ...] = ()
    mine: bool = False


@dataclass
class TurnPage:
    """Turns ``start:stop`` of a transcript (rows with ``id``, ``seq``, ``speaker``,
    ``start_ms``, ``text``, ``char_start``, ...) and the marks on them."""

    turns: list = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    tension_names: dict[str, str] = field(default_factory=dict)


def turn_page(store, transcript_id: int, start: int, stop: int) -> TurnPage:
    """The turns with ``start <= seq < stop`` and the passages the person working may see.

    Three queries besides the access policy's, the last two only when the page has
    turns and passages: the turns; the passages overlapping the page's offsets (a range
    of the index on excerpt ``(transcript_id, start)``) joined to the visible notes
    anchoring them; the tension evidence of both.

    Parameters
    ----------
    store : Store
    transcript_id : int
    start, stop : int
        The window of turn numbers (``seq``).
    """
    with store.session(write=False) as s:
        # Plain rows through the session's connection: the ORM's per-row work is most of
        # a page's time, and a page needs only columns.
        conn = s.connection()
        turns = conn.execute(_PAGE, {"tid": transcript_id, "start": start, "stop": stop}).all()
        if not turns:
            return TurnPage()
        lo, hi = turns[0].char_start, turns[-1].char_end
        me = access.acting(store, s)
        # The passages the policy lets me see, in a subquery of their own so that its
        # EXISTS tests on notes stay about each passage (not the notes joined below).
        page = (
            select(Excerpt.id, Excerpt.start, Excerpt.end, Excerpt.created_by)
            .where(
                Excerpt.transcript_id == transcript_id,
                Excerpt.start < hi,
                Excerpt.end > lo,
                access.visible_excerpts(s, me),
            )
            .subquery()
        )
        rows = conn.execute(
            select(page, Note.id.label("note_id"), Note.category, Note.researcher_id)
            .outerjoin(NoteExcerpt, NoteExcerpt.excerpt_id == page.c.id)
            .outerjoin(
                Note,
                and_(
                    Note.id == NoteExcerpt.note_id,
                    Note.deleted_at.is_(None),
                    access.visible_notes(s, me),
                ),
            )
            .order_by(page.c.start, page.c.id, Note.id)
        ).all()
        if not rows:
            return TurnPage(list(turns))
        ids = list(dict.fromkeys(r.id for r in rows))
        note_ids = sorted({r.note_id for r in rows if r.note_id is not None})
        # Apart, not joined above: tension_evidence has no index on its excerpt or note,
        # and one scan of it is cheaper than SQLite's automatic index per page.
        evidence = conn.execute(
            select(
                TensionEvidence.excerpt_id,
                TensionEvidence.note_id,
                TensionRow.code,
                TensionRow.name,
            )
            .join(TensionRow, TensionRow.id == TensionEvidence.tension_id)
            .where(
                or_(
                    TensionEvidence.excerpt_id.in_(ids),
                    TensionEvidence.note_id.in_(note_ids),
                )
            )
            .order_by(TensionRow.code)
        ).all()
    my_id = me.id if me is not None else None
    my_names = {(x or "").casefold() for x in ((me.login, me.name) if me else ()) if x}
    excerpts: dict[int, object] = {}
    notes: dict[int, list] = {}  # excerpt -> the visible notes anchoring it
    for r in rows:
        excerpts.setdefault(r.id, r)
        if r.note_id is not None:
            notes.setdefault(r.id, []).append(r)
    note_tensions: dict[int, list[str]] = {}
    excerpt_tensions: dict[int, list[str]] = {}
    for e in evidence:
        if e.excerpt_id is not None:
            excerpt_tensions.setdefault(e.excerpt_id, []).append(e.code)
        if e.note_id is not None:
            note_tensions.setdefault(e.note_id, []).append(e.code)
    marks = []
    for ex in excerpts.values():
        anchored = sorted(notes.get(ex.id, []), key=lambda n: (n.researcher_id != my_id, n.note_id))
        codes = list(excerpt_tensions.get(ex.id, []))
        for n in anchored:
            codes += note_tensions.get(n.note_id, [])
        marks.append(
            Mark(
                excerpt_id=ex.id,
                start=ex.start,
                end=ex.end,
                notes=tuple(n.note_id for n in anchored),
                categories=tuple(dict.fromkeys(n.category for n in anchored)),
                tensions=tuple(dict.fromkeys(codes)),
                mine=(ex.created_by or "").casefold() in my_names
                or any(n.researcher_id == my_id for n in anchored),
            )
        )
    return TurnPage(list(turns), marks, {e.code: e.name for e in evidence})


def ensure_position_index(engine: Engine) -> bool:
    """Make sure the excerpt index of a page exists (True when it does).

    Migration 0016 creates it; a study stamped 0016 while that revision was an empty
    placeholder has none, and alembic will not run 0016 for it again. Without the index
    a page is still right, only slower, so a role that may not create indexes (a
    researcher of a team study on PostgreSQL) leaves it to the owner's next opening.
    """
    index = next(i for i in Excerpt.__table__.indexes if i.name == POSITION_INDEX)
    with engine.connect() as conn:
        if any(i["name"] == POSITION_INDEX for i in inspect(conn).get_indexes("excerpt")):
            return True
    try:
        with engine.begin() as conn:
            conn.execute(CreateIndex(index, if_not_exists=True))
    except DBAPIError:
        return False
    return True


def query_spans(query: str, text: str) -> list[tuple[int, int]]:
    """Where the words of a search query occur in ``text`` (code-point offsets, sorted).

    Reads the query as the study search does (:func:`~coprod_nb.storage.search.fts5_query`):
    words, ``"a phrase"``, ``prefix*``; matching ignores case. It marks the hits of a
    turn the search found; it does not decide which turns match.
    """
    patterns = []
    for token in _TOKEN.findall(query or ""):
        words = _WORD.findall(token)
        if not words:
            continue
        if token.startswith('"'):
            patterns.append(r"\W+".join(re.escape(w) for w in words))
            continue
        for i, word in enumerate(words):
            prefix = token.endswith("*") and i == len(words) - 1
            patterns.append(re.escape(word) + (r"\w*" if prefix else ""))
    if not patterns:
        return []
    rx = re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)", re.IGNORECASE)
    return [(m.start(), m.end()) for m in rx.finditer(text) if m.end() > m.start()]
