"""Step 1 in the store: notes, their anchors and versions, readings, closing the step.

Blinding is not decided here: every read asks the access policy
(:mod:`coprod_nb.storage.access`), which knows who is working (``self.actor``) and, until
the lead closes step 1, returns only that researcher's notes. A ``viewer`` argument may
only name the person working.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, undefer

from coprod_nb.domain.notes import (
    DATA_KINDS,
    DEFAULT_CATEGORIES,
    DEFAULT_PROMPTS,
    RECALL,
    check_choice,
)
from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.storage import access, events
from coprod_nb.storage.database import retry_on_conflict
from coprod_nb.storage.models import (
    Excerpt,
    Note,
    NoteExcerpt,
    NoteVersion,
    Partnership,
    Reading,
    Researcher,
    StepClosure,
    Transcript,
)


def _note_state(note: Note) -> dict:
    state = events.snapshot(note)
    state["excerpts"] = [e.id for e in note.excerpts]
    return state


def new_excerpt(actor: str, tr_id: int, title: str, text: str, start: int, end: int) -> Excerpt:
    """The row of a span ``[start, end)`` of a transcript's canonical ``text``, checked.

    One place for :meth:`Store.add_excerpt` and the bulk writer
    (:func:`coprod_nb.storage.bulk.add_excerpts`). Raises InvalidInput (naming the
    transcript by ``title``) for a span outside the text.
    """
    if not 0 <= start < end <= len(text):
        raise InvalidInput(
            f"excerpt {start}-{end} is outside the transcript (0-{len(text)})", file=title
        )
    return Excerpt(
        transcript_id=tr_id,
        start=start,
        end=end,
        text=text[start:end],
        created_by=actor,
        created_at=events.utcnow(),
    )


def new_note(
    author_id: int, partnership_id: int, text: str, category: str, kind: str, excerpts
) -> Note:
    """The row of a new note (version 1, created and updated now), with its excerpts.

    One place for :meth:`NotesRepository.add_note` and the bulk writer; who may write it
    (:func:`access.writer_of`) and the choices are checked by the callers first.
    """
    now = events.utcnow()
    return Note(
        researcher_id=author_id,
        partnership_id=partnership_id,
        category=category,
        kind=kind,
        text=text,
        version=1,
        created_at=now,
        updated_at=now,
        excerpts=list(excerpts),
    )


class NotesRepository:
    """Mixed into :class:`~coprod_nb.storage.Store`."""

    # -- who is working ----------------------------------------------------------------

    def acting_researcher(self) -> Researcher | None:
        """The researcher who is working: whose login, else name, is ``self.actor``.

        Case is ignored; ``actor`` comes from ``$COPROD_USER``, ``$JUPYTERHUB_USER`` or the
        OS login (:func:`~coprod_nb.storage.store.default_actor`). None when the actor is
        nobody of the research team: the person working is never guessed.
        """
        with self.session(write=False) as s:
            return access.acting(self, s)

    # -- settings -----------------------------------------------------------------

    def note_categories(self) -> tuple[str, ...]:
        """The study's note categories (default: practice, barrier, facilitator, reflection)."""
        return tuple((self.study().settings or {}).get("categories") or DEFAULT_CATEGORIES)

    def data_kinds(self) -> tuple[str, ...]:
        """Kinds of auto-ethnographic data a note can be."""
        return tuple((self.study().settings or {}).get("data_kinds") or DATA_KINDS)

    def prompts(self) -> tuple[str, ...]:
        """The study's reflective prompts for step 1 (defaults shipped)."""
        return tuple((self.study().settings or {}).get("prompts") or DEFAULT_PROMPTS)

    # -- step state -----------------------------------------------------------------

    def step_closure(self, step: str = RECALL, *, snapshot: bool = True) -> StepClosure | None:
        """When and by whom a step was closed, or None while it is open.

        With ``snapshot=False`` the snapshot of every note (megabytes of JSON in a large
        study) is not read, and reading ``.snapshot`` raises. To ask only whether a step
        is closed, :meth:`step_closed` is cheaper still.
        """
        with self.session(write=False) as s:
            q = select(StepClosure).where(StepClosure.step == step)
            if snapshot:
                # The column is deferred in the model, and the object outlives the
                # session: load it now, as a first access once detached would fail.
                q = q.options(undefer(StepClosure.snapshot))
            return s.scalars(q).first()

    def step_closed(self, step: str = RECALL) -> bool:
        """Whether the lead has closed ``step`` (reads one id, never the snapshot)."""
        with self.session(write=False) as s:
            return self._step_closed(s, step)

    @staticmethod
    def _step_closed(s: Session, step: str = RECALL) -> bool:
        return s.scalar(select(StepClosure.id).where(StepClosure.step == step)) is not None

    def close_recall(self, by: int | str | None = None) -> StepClosure:
        """Close step 1 (the study lead's act): notes become visible to the team, edits
        become versions.

        The person working (``self.actor``) must be the lead; ``by``, if given, must name
        them (:func:`~coprod_nb.storage.access.require_lead`). A snapshot of every note at
        this moment is kept with the closure.
        """
        with self.session() as s:
            lead = access.require_lead(self, s, "close step 1", by)
            if self._step_closed(s):
                raise InvalidInput("step 1 is already closed")
            notes = s.scalars(select(Note).options(selectinload(Note.excerpts))).all()
            closure = StepClosure(
                step=RECALL,
                closed_at=events.utcnow(),
                closed_by=lead.name,
                snapshot={"notes": [_note_state(n) for n in notes]},
            )
            s.add(closure)
            s.flush()
            if s.get_bind().dialect.name != "sqlite":
                # On a server the lead's role sees only the lead's notes: the database
                # takes the snapshot of every note itself (storage/team.py), so read it back.
                s.refresh(closure, ["snapshot", "closed_by", "closed_at"])
            events.log(
                s,
                self.actor,
                "close",
                "step",
                closure.id,
                after={"step": RECALL, "by": lead.name, "notes": len(closure.snapshot["notes"])},
            )
            return closure

    # -- notes ------------------------------------------------------------------------

    def add_note(
        self,
        researcher: int | str,
        partnership: int | str,
        text: str = "",
        *,
        category: str = "reflection",
        kind: str = "self-reflection",
        excerpts: Iterable[int] = (),
    ) -> Note:
        """Write a new note for a partnership, optionally anchored to excerpts."""
        if partnership is None or partnership == "":
            raise InvalidInput("a note needs a partnership")
        self._check_choices(category, kind)
        with self.session() as s:
            author = access.writer_of(self, s, self._researcher(s, researcher))
            pship = self._find(s, Partnership, partnership, ("short", "name"), "partnership")
            note = new_note(author.id, pship.id, text, category, kind, self._excerpts(s, excerpts))
            s.add(note)
            s.flush()
            events.log(s, self.actor, "create", "note", note.id, after=_note_state(note))
            return note

    def update_note(
        self,
        note_id: int,
        researcher: int | str,
        *,
        text: str | None = None,
        category: str | None = None,
        kind: str | None = None,
        partnership: int | str | None = None,
        excerpts: Iterable[int] | None = None,
    ) -> Note:
        """Change one's own note. After step 1 closed, the old content is kept as a version."""
        with self.session() as s:
            note = self._own_note(s, note_id, researcher)
            before = _note_state(note)
            self._check_choices(category or note.category, kind or note.kind)
            closed = self._step_closed(s)
            changes = {
                "text": text,
                "category": category,
                "kind": kind,
            }
            if closed:
                s.add(
                    NoteVersion(
                        note_id=note.id,
                        version=note.version,
                        category=note.category,
                        kind=note.kind,
                        text=note.text,
                        saved_at=note.updated_at,
                    )
                )
                note.version += 1
            for field, value in changes.items():
                if value is not None:
                    setattr(note, field, value)
            if partnership is not None:
                note.partnership_id = self._find(
                    s, Partnership, partnership, ("short", "name"), "partnership"
                ).id
            if excerpts is not None:
                note.excerpts = self._excerpts(s, excerpts)
            note.updated_at = events.utcnow()
            after = _note_state(note)
            if {k: v for k, v in after.items() if k != "updated_at"} != {
                k: v for k, v in before.items() if k != "updated_at"
            }:
                events.log(s, self.actor, "update", "note", note.id, before=before, after=after)
            return note

    def delete_note(self, note_id: int, researcher: int | str) -> Note:
        """Soft-delete one's own note (it can be restored; nothing is erased)."""
        return self._set_deleted(note_id, researcher, deleted=True)

    def restore_note(self, note_id: int, researcher: int | str) -> Note:
        """Undo a soft delete."""
        return self._set_deleted(note_id, researcher, deleted=False)

    def _set_deleted(self, note_id: int, researcher: int | str, *, deleted: bool) -> Note:
        with self.session() as s:
            note = self._own_note(s, note_id, researcher)
            before = _note_state(note)
            note.deleted_at = events.utcnow() if deleted else None
            events.log(
                s,
                self.actor,
                "delete" if deleted else "restore",
                "note",
                note.id,
                before=before,
                after=_note_state(note),
            )
            return note

    def notes(
        self,
        viewer: int | str | None = None,
        *,
        researcher: int | str | None = None,
        partnership: int | str | None = None,
        category: str | None = None,
        include_deleted: bool = False,
    ) -> list[Note]:
        """Notes the person working may see, filtered.

        Before step 1 closes, a researcher sees only their own notes: asking for a
        colleague's raises :class:`Forbidden`, and no filter returns them. ``viewer``
        (optional) must name the person working.
        """
        with self.session(write=False) as s:
            me = access.viewer_of(self, s, viewer)
            q = select(Note).options(selectinload(Note.excerpts)).where(access.visible_notes(s, me))
            if researcher is not None:
                author = self._researcher(s, researcher)
                access.require_notes_visible(s, me, author)
                q = q.where(Note.researcher_id == author.id)
            if partnership is not None:
                pship = self._find(s, Partnership, partnership, ("short", "name"), "partnership")
                q = q.where(Note.partnership_id == pship.id)
            if category is not None:
                q = q.where(Note.category == category)
            if not include_deleted:
                q = q.where(Note.deleted_at.is_(None))
            return list(s.scalars(q.order_by(Note.partnership_id, Note.created_at, Note.id)))

    def note_counts(
        self, viewer: int | str | None = None, *, include_deleted: bool = False
    ) -> list[tuple[str, str, str, int]]:
        """(researcher, partnership short name, category, notes) for the notes ``viewer`` may see.

        Counted by the database: the step-2 comparison needs only these numbers, and
        building every Note object of a large study to count them took seconds
        (docs/performance.md). Blinding is that of :meth:`notes`; combinations without
        notes are absent.
        """
        with self.session(write=False) as s:
            me = access.viewer_of(self, s, viewer)
            q = (
                select(Researcher.name, Partnership.short, Note.category, func.count(Note.id))
                .select_from(Note)
                .join(Researcher, Note.researcher_id == Researcher.id)
                .join(Partnership, Note.partnership_id == Partnership.id)
                .where(access.visible_notes(s, me))
                .group_by(Researcher.name, Partnership.short, Note.category)
            )
            if not include_deleted:
                q = q.where(Note.deleted_at.is_(None))
            return [(r, p, c, int(n)) for r, p, c, n in s.execute(q)]

    def note_anchors(
        self, viewer: int | str | None = None
    ) -> list[tuple[int, str, str, int, int, int, str]]:
        """(note, researcher, category, transcript id, start, end, quoted text) per anchor.

        One plain query, for the notes ``viewer`` may see (blinding is that of
        :meth:`notes`; deleted notes left out), in the order of :meth:`notes` and each
        note's anchors by position: the step-2 overlaps need only these columns, not
        thousands of Note objects with their excerpts (docs/performance.md).
        """
        with self.session(write=False) as s:
            me = access.viewer_of(self, s, viewer)
            q = (
                select(
                    Note.id,
                    Researcher.name,
                    Note.category,
                    Excerpt.transcript_id,
                    Excerpt.start,
                    Excerpt.end,
                    Excerpt.text,
                )
                .select_from(Note)
                .join(Researcher, Note.researcher_id == Researcher.id)
                .join(NoteExcerpt, NoteExcerpt.note_id == Note.id)
                .join(Excerpt, Excerpt.id == NoteExcerpt.excerpt_id)
                .where(access.visible_notes(s, me), Note.deleted_at.is_(None))
                .order_by(Note.partnership_id, Note.created_at, Note.id, Excerpt.start, Excerpt.id)
            )
            return [tuple(row) for row in s.execute(q)]

    def has_notes(self, researcher: int | str) -> bool:
        """Whether a researcher has written a note (a deleted one too): a fact, not a note."""
        with self.session(write=False) as s:
            author = self._researcher(s, researcher)
            return (
                s.scalar(select(Note.id).where(Note.researcher_id == author.id).limit(1))
                is not None
            )

    def note(self, note_id: int, viewer: int | str | None = None) -> Note:
        """One note, if the person working may see it (see :meth:`notes`)."""
        with self.session(write=False) as s:
            me = access.viewer_of(self, s, viewer)
            note = s.scalars(
                select(Note)
                .options(selectinload(Note.excerpts))
                .where(Note.id == note_id, access.visible_notes(s, me))
            ).first()
            if note is None:
                raise NotFound(f"no note {note_id}")  # a hidden one: do not reveal it exists
            return note

    def note_versions(self, note_id: int, viewer: int | str | None = None) -> list[NoteVersion]:
        """Earlier versions of a note (edits made after step 1 closed), oldest first."""
        self.note(note_id, viewer)
        with self.session(write=False) as s:
            q = select(NoteVersion).where(NoteVersion.note_id == note_id)
            return list(s.scalars(q.order_by(NoteVersion.version)))

    # -- readings ---------------------------------------------------------------------

    @retry_on_conflict
    def mark_read(self, researcher: int | str, transcript: int | str, read: bool = True) -> None:
        """Record that a researcher has read a transcript (or take it back)."""
        with self.session() as s:
            r = access.writer_of(self, s, self._researcher(s, researcher))
            tr = self._find(s, Transcript, transcript, ("title", "source_name"), "transcript")
            row = s.scalars(
                select(Reading).where(Reading.researcher_id == r.id, Reading.transcript_id == tr.id)
            ).first()
            if read and row is None:
                s.add(Reading(researcher_id=r.id, transcript_id=tr.id, read_at=events.utcnow()))
                events.log(s, self.actor, "read", "transcript", tr.id, after={"by": r.name})
            elif not read and row is not None:
                s.delete(row)
                events.log(s, self.actor, "unread", "transcript", tr.id, after={"by": r.name})

    def readings(self) -> list[tuple[str, int]]:
        """(researcher name, transcript id) for every transcript marked read."""
        with self.session(write=False) as s:
            rows = s.execute(select(Researcher.name, Reading.transcript_id).join(Researcher))
            return [tuple(r) for r in rows]

    # -- helpers ----------------------------------------------------------------------

    def _check_choices(self, category: str, kind: str) -> None:
        try:
            check_choice(category, self.note_categories(), "category")
            check_choice(kind, self.data_kinds(), "kind of data")
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc

    def _researcher(self, s: Session, ref: int | str) -> Researcher:
        return self._find(s, Researcher, ref, ("name", "login"), "researcher")

    def _own_note(self, s: Session, note_id: int, researcher: int | str) -> Note:
        note = s.get(Note, note_id, options=[selectinload(Note.excerpts)])
        author = access.writer_of(self, s, self._researcher(s, researcher))
        if note is None:
            raise NotFound(f"no note {note_id}")
        if note.researcher_id != author.id:
            raise Forbidden("only the author can change a note")
        return note

    @staticmethod
    def _excerpts(s: Session, ids: Iterable[int]) -> list[Excerpt]:
        found = []
        for i in dict.fromkeys(ids):
            ex = s.get(Excerpt, i)
            if ex is None:
                raise NotFound(f"no excerpt {i}")
            found.append(ex)
        return found
