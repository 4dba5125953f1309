"""THE access policy: what the person working may see and do.

One module decides, and every read of notes, excerpts, events and ballots asks it:

- **Who is working** is the store's actor (``Store.actor``: the database role on
  PostgreSQL, declared on SQLite), matched to a researcher by login, else name
  (:func:`acting`). An argument naming who looks or acts (``viewer``, ``by``) may only
  name that researcher: :func:`viewer_of` refuses anyone else, so no call lets one
  person stand in for another.
- **Step 1 is blind.** Until the study lead closes step 1, a researcher sees only their
  own notes (:func:`visible_notes`), the excerpts their own notes anchor and those no
  colleague's note anchors and no colleague made (:func:`visible_excerpts`), and only
  events not about colleagues' notes or excerpts (:func:`visible_events`). Someone who
  is none of the researchers sees no note and no colleague's excerpt before the
  closure. Counts of notes per researcher (progress) are not blind.
- **Lead acts** (close step 1, freeze a framework, record the workshop, record and
  revert decisions, freeze the workshop's framework, close a poll, issue and revoke
  participant links) are the study lead's: :func:`require_lead`.
- **A codebook brought from other tools** (codes, codings, sets, memos, variables,
  users of a REFI-QDA project) is team material, not blind step-1 notes: whoever may
  open the study reads all of it, before and after step 1 closes
  (:func:`visible_codebook`). Only the team codes by hand; an import loads it like
  transcripts (:func:`require_team`).
- **Ballots** are hidden until their poll closes (:func:`may_read_ballots`); a
  participant sees their own through their personal link (the participant app).

On PostgreSQL the database enforces the same rule again (storage/team.py, migration
0007), so a bug here cannot show what the role may not read.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from coprod_nb.domain.notes import RECALL
from coprod_nb.errors import Forbidden, NotFound
from coprod_nb.storage.models import (
    Event,
    Excerpt,
    Note,
    NoteExcerpt,
    Poll,
    Researcher,
    StepClosure,
)

__all__ = [
    "LEAD_ACTS",
    "acting",
    "as_lead",
    "note_counts",
    "note_counts_by_author",
    "may_read_ballots",
    "recall_closed",
    "require_ballots_readable",
    "require_lead",
    "require_notes_visible",
    "require_team",
    "viewer_of",
    "writer_of",
    "visible_codebook",
    "visible_events",
    "visible_excerpts",
    "visible_notes",
]

#: What only the study lead may do, as the refusal names it.
LEAD_ACTS = (
    "close step 1",
    "freeze a framework",
    "record the workshop",
    "record a decision",
    "revert a decision",
    "freeze the workshop's framework",
    "close a poll",
    "issue participant links",
    "revoke participant links",
)


def recall_closed(s: Session) -> bool:
    """Whether the lead has closed step 1 (individual recall)."""
    return s.scalar(select(StepClosure.id).where(StepClosure.step == RECALL)) is not None


def _lookup(s: Session, ref: Any) -> Researcher:
    if isinstance(ref, Researcher):
        return s.get(Researcher, ref.id) or ref
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        found = s.get(Researcher, int(ref))
        if found is not None:
            return found
    if isinstance(ref, str):
        found = _named(s, ref, ("name", "login"))
        if found is not None:
            return found
    raise NotFound(f"no researcher {ref!r}")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def _named(s: Session, ref: str, fields: tuple[str, ...]) -> Researcher | None:
    """The researcher whose ``fields`` (in that order) equal ``ref``, ignoring case and
    Unicode composition. Compared in Python: SQLite's lower() folds ASCII only, so
    "ÉMILE" would not be Émile there (a team is a few dozen rows)."""
    folded = _fold(ref)
    if not folded:
        return None
    team = s.scalars(select(Researcher).order_by(Researcher.id)).all()
    for field in fields:
        for r in team:
            value = getattr(r, field)
            if value and _fold(value) == folded:
                return r
    return None


def acting(store: Any, s: Session) -> Researcher | None:
    """The researcher who is working: whose login, else name, is ``store.actor``.

    Case is ignored. None when the actor is nobody of the research team (the study's
    owner, a demo builder): the person working is never guessed.
    """
    return _named(s, getattr(store, "actor", "") or "", ("login", "name"))


def viewer_of(
    store: Any, s: Session, viewer: Any = None, *, doing: str = "look"
) -> Researcher | None:
    """The acting researcher, checked against a ``viewer`` (or ``by``) argument.

    Without ``viewer``: the acting researcher (None when the actor is no researcher).
    With one: it must name the acting researcher, else :class:`Forbidden`
    ("you are birch; you cannot look as Cedar"). A viewer that names no researcher at
    all is :class:`NotFound`.
    """
    me = acting(store, s)
    if viewer is None:
        return me
    them = _lookup(s, viewer)
    if me is None or them.id != me.id:
        raise Forbidden(f"you are {store.actor}; you cannot {doing} as {them.name}")
    return me


def writer_of(store: Any, s: Session, author: Researcher) -> Researcher:
    """``author`` of a note (or reading) being written, if the person working may write it.

    A researcher writes only in their own name ("you are birch; you cannot write as
    Cedar"). Someone who is none of the researchers (the owner loading a study, the demo
    builder, an import) records notes in the researchers' names, as a SQLite study's
    owner could anyway; on PostgreSQL the database lets a role write only its own rows.
    """
    me = acting(store, s)
    if me is not None and me.id != author.id:
        raise Forbidden(f"you are {store.actor}; you cannot write as {author.name}")
    return author


def require_lead(store: Any, s: Session, act: str, by: Any = None) -> Researcher:
    """The acting researcher if they are the study lead, else :class:`Forbidden`.

    ``by`` (optional, as in ``close_recall(by=...)``) must name the acting researcher.
    """
    me = viewer_of(store, s, by, doing=act)
    if me is not None and me.lead:
        return me
    leads = [r.name for r in s.scalars(select(Researcher).where(Researcher.lead))]
    who = f"the study lead ({', '.join(leads)})" if leads else "the study lead (none is named)"
    you = me.name if me is not None else f"{store.actor}, who is not a researcher of this study"
    raise Forbidden(f"only {who} can {act}; you are {you}")


def require_lead_once_named(store: Any, s: Session, act: str) -> None:
    """Acts that are the lead's once the study has one: who is on the team, their logins,
    the lead flag, and writing out the real names (a study manifest).

    A researcher other than the lead is refused (a non-lead making themselves lead would
    undo every lead-only rule). Before any lead is named the team is still being set up,
    and someone who is none of the researchers (the owner setting up, a builder) may act,
    as in :func:`writer_of`.
    """
    me = acting(store, s)
    if me is None or me.lead:
        return
    if s.scalars(select(Researcher.id).where(Researcher.lead)).first() is None:
        return
    require_lead(store, s, act)


def require_team(store: Any, s: Session, act: str, *, loading: bool = False) -> Researcher | None:
    """The acting researcher, for a write to the codebook brought from other tools.

    Codes and codings are made by hand by a researcher of the team, in their own name:
    someone who is none of the researchers is refused once the study has a lead (before
    any lead is named the team is still being set up, as in
    :func:`require_lead_once_named`). ``loading``: an import of another tool's project,
    which is loading the study like its transcripts and notes (:func:`writer_of`), may be
    run by whoever may open it (the owner); the coders stay the project's users. Returns
    None for someone who is no researcher.
    """
    me = acting(store, s)
    if me is not None or loading:
        return me
    if s.scalars(select(Researcher.id).where(Researcher.lead)).first() is None:
        return None
    raise Forbidden(
        f"only a researcher of the study team can {act}; "
        f"{store.actor} is not a researcher of this study"
    )


def visible_codebook(s: Session, me: Researcher | None) -> ColumnElement[bool]:
    """Where-clause on the codebook tables (codes, codings, sets, memos): all of it.

    Codings made in another tool are the team's shared material, not step-1 notes, so
    step 1 does not hide them (the one rule for them; see the module docstring).
    """
    return true()


# -- blinding -------------------------------------------------------------------------


def visible_notes(s: Session, me: Researcher | None) -> ColumnElement[bool]:
    """Where-clause on :class:`Note`: the notes ``me`` may see now."""
    if recall_closed(s):
        return true()
    if me is None:
        return false()
    return Note.researcher_id == me.id


def require_notes_visible(s: Session, me: Researcher | None, author: Researcher) -> None:
    """:class:`Forbidden` when asking for ``author``'s notes while they are hidden from ``me``."""
    if not recall_closed(s) and (me is None or author.id != me.id):
        raise Forbidden("step 1 is open: colleagues' notes stay hidden until the lead closes it")


def _excerpt_clause(s: Session, me: Researcher | None, excerpt_id) -> ColumnElement[bool]:
    if recall_closed(s):
        return true()
    my_id = me.id if me is not None else -1
    anchored_by_me = exists(
        select(NoteExcerpt.note_id)
        .join(Note, Note.id == NoteExcerpt.note_id)
        .where(NoteExcerpt.excerpt_id == excerpt_id, Note.researcher_id == my_id)
    )
    anchored_by_other = exists(
        select(NoteExcerpt.note_id)
        .join(Note, Note.id == NoteExcerpt.note_id)
        .where(NoteExcerpt.excerpt_id == excerpt_id, Note.researcher_id != my_id)
    )
    others = [
        r
        for r in s.execute(select(Researcher.id, Researcher.login, Researcher.name)).all()
        if r.id != my_id
    ]
    names = sorted({(x or "").casefold() for r in others for x in (r.login, r.name) if x})
    if excerpt_id is Excerpt.id:
        made_by_colleague = func.lower(Excerpt.created_by).in_(names) if names else false()
    else:
        made = aliased(Excerpt)
        made_by_colleague = (
            exists(
                select(made.id).where(made.id == excerpt_id, func.lower(made.created_by).in_(names))
            )
            if names
            else false()
        )
    return or_(anchored_by_me, and_(~anchored_by_other, ~made_by_colleague))


def visible_excerpts(s: Session, me: Researcher | None) -> ColumnElement[bool]:
    """Where-clause on :class:`Excerpt`: the excerpts ``me`` may see now.

    Before the closure: those ``me``'s notes anchor, and those that no colleague's note
    anchors and no colleague made (which passages a colleague chose is part of their
    reading).
    """
    return _excerpt_clause(s, me, Excerpt.id)


def visible_events(s: Session, me: Researcher | None) -> ColumnElement[bool]:
    """Where-clause on :class:`Event`: no event about a note or excerpt ``me`` may not see."""
    if recall_closed(s):
        return true()
    note_ok = Event.object_id.in_(select(Note.id).where(visible_notes(s, me)))
    return or_(
        Event.object_type.not_in(("note", "excerpt")),
        and_(Event.object_type == "note", note_ok),
        and_(Event.object_type == "excerpt", _excerpt_clause(s, me, Event.object_id)),
    )


# -- ballots --------------------------------------------------------------------------


def may_read_ballots(poll: Poll) -> bool:
    """Whether a poll's ballots (and tally) may be read: only once the poll is closed."""
    return poll.closed_at is not None


def require_ballots_readable(poll: Poll) -> None:
    """:class:`Forbidden` while the poll is open (no bandwagon effects)."""
    if not may_read_ballots(poll):
        raise Forbidden(
            f"the poll {poll.name!r} is open: results are hidden until the facilitator closes it"
        )


# -- builders -------------------------------------------------------------------------


@contextmanager
def as_lead(store: Any) -> Iterator[Any]:
    """Act as the study lead for a block: a study builder's lead acts (the demo, a
    synthetic study, a manifest, a course's group studies) are the lead's.

    On SQLite the actor is declared, so the block declares the lead (by login, else
    name) and restores the actor after it. On a database server the role is the actor:
    nothing changes, and a role that is not the lead's is refused at the first lead act.
    """
    if getattr(store, "connected_as", None):
        yield store
        return
    with store.session(write=False) as s:
        lead = s.scalars(select(Researcher).where(Researcher.lead).order_by(Researcher.id)).first()
    if lead is None:
        yield store
        return
    before = store.actor
    store.actor = lead.login or lead.name
    try:
        yield store
    finally:
        store.actor = before


# -- counts (not blind) ---------------------------------------------------------------


def note_counts(s: Session, *, on_server: bool, per_partnership: bool = False) -> list[tuple]:
    """Live notes per researcher (and partnership), counted where the rows can be seen.

    The one place that chooses how to count: a researcher's database role reads only
    their own notes before step 1 closes, so on a server (``on_server``: the store is
    connected as a role) the database counts everyone's (``coprod_note_counts()``);
    otherwise :func:`note_counts_by_author` counts the rows.
    """
    if not on_server:
        return note_counts_by_author(s, per_partnership=per_partnership)
    from coprod_nb.storage.team import note_counts_in_db

    found = note_counts_in_db(s)
    if per_partnership:
        return [tuple(r) for r in found]
    totals: dict[str, int] = {}
    for name, _pid, n in found:
        totals[name] = totals.get(name, 0) + n
    return list(totals.items())


def note_counts_by_author(s: Session, *, per_partnership: bool = False) -> list[tuple]:
    """(researcher name, [partnership id,] notes) of every researcher's live notes.

    Counts are not blind: the team follows each other's progress while step 1 is open
    (never the notes themselves). A researcher's database role cannot count colleagues'
    rows: on a server the database counts (``coprod_note_counts()``, storage/team.py).
    """
    keys = [Researcher.name] + ([Note.partnership_id] if per_partnership else [])
    q = (
        select(*keys, func.count(Note.id))
        .join(Researcher, Note.researcher_id == Researcher.id)
        .where(Note.deleted_at.is_(None))
        .group_by(*keys)
    )
    return [tuple(r) for r in s.execute(q)]
