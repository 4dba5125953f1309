"""The study store: one object per open study, with the repository functions on it.

Every write runs in one transaction together with its event-log row, so the log is
complete and a failed write leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from types import EllipsisType
from typing import Any

from sqlalchemy import bindparam, func, inspect, literal, select, update
from sqlalchemy.exc import DatabaseError, IntegrityError, ProgrammingError
from sqlalchemy.orm import Session, defer, sessionmaker

from coprod_nb.domain import PseudonymTable, RawTurn, canonical_text, word_count
from coprod_nb.domain.notes import DEFAULT_CATEGORIES
from coprod_nb.domain.pseudonyms import check_entry
from coprod_nb.domain.transcript import speaker_prefix
from coprod_nb.domain.wording import plural
from coprod_nb.errors import Forbidden, InvalidInput, NotFound
from coprod_nb.storage import access, events
from coprod_nb.storage.codebook import CodebookRepository
from coprod_nb.storage.database import (
    FILE_MODE,
    damage_reason,
    damaged_study,
)
from coprod_nb.storage.guards import guard_refusal
from coprod_nb.storage.ingest import NewTranscript, write_transcripts
from coprod_nb.storage.interpretation import InterpretationRepository
from coprod_nb.storage.models import (
    Excerpt,
    NameKey,
    Note,
    Participant,
    Partnership,
    Reading,
    Researcher,
    Study,
    Transcript,
    TranscriptPerson,
    Turn,
)
from coprod_nb.storage.notes import NotesRepository, new_excerpt
from coprod_nb.storage.opening import default_actor, open_database  # noqa: F401 (re-exported)
from coprod_nb.storage.pages import ensure_position_index
from coprod_nb.storage.reflection import ReflectionRepository
from coprod_nb.storage.search import SearchHits, search_turns
from coprod_nb.storage.team import (
    DatabaseRefused,
    constraint_refusal,
    database_refusal,
    is_duplicate,
)
from coprod_nb.storage.workshop import WorkshopRepository

DEFAULT_SETTINGS: dict[str, Any] = {
    "speaker_pattern": None,
}


def _check_attributes(attributes: Any) -> dict:
    """A partnership's attributes: a table with text keys (values as given)."""
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and k.strip() for k in attributes
    ):
        raise InvalidInput("a partnership's attributes are a table of named values")
    return dict(attributes)


@cache
def _rewrite_statements() -> dict[str, Any]:
    """The statements of a pseudonym re-apply, built once (a study has hundreds of
    transcripts, and building a statement costs more than running it)."""
    turn, excerpt, tr = Turn.__table__, Excerpt.__table__, Transcript.__table__
    tid, d = bindparam("b_tid"), bindparam("b_d")
    return {
        "lines": select(turn.c.id, turn.c.seq, turn.c.char_end)
        .where(turn.c.transcript_id == tid)
        .order_by(turn.c.seq),
        "fields": select(turn.c.id, turn.c.speaker, turn.c.text, turn.c.char_start).where(
            turn.c.id.in_(bindparam("b_ids", expanding=True))
        ),
        "content": update(turn)
        .where(turn.c.id == bindparam("b_id"))
        .values(
            speaker=bindparam("b_speaker"),
            text=bindparam("b_text"),
            char_start=bindparam("b_start"),
            char_end=bindparam("b_end"),
        ),
        "stretch": update(turn)
        .where(
            turn.c.transcript_id == tid,
            turn.c.seq > bindparam("b_lo"),
            turn.c.seq < bindparam("b_hi"),
        )
        .values(char_start=turn.c.char_start + d, char_end=turn.c.char_end + d),
        "excerpts": select(excerpt.c.id, excerpt.c.start, excerpt.c.end, excerpt.c.text).where(
            excerpt.c.transcript_id == tid
        ),
        "move": update(excerpt)
        .where(excerpt.c.id == bindparam("b_id"))
        .values(start=bindparam("b_s"), end=bindparam("b_e"), text=bindparam("b_t")),
        "text": update(tr)
        .where(tr.c.id == tid)
        .values(text=bindparam("b_text"), word_count=tr.c.word_count + bindparam("b_words")),
    }


def _key_pair(real_name: str, pseudonym: str) -> tuple[str, str]:
    """A checked (real name, pseudonym) pair of the name key."""
    real_name, pseudonym = (real_name or "").strip(), (pseudonym or "").strip()
    if not real_name or not pseudonym:
        raise InvalidInput("both a real name and a pseudonym are needed")
    if real_name.casefold() == pseudonym.casefold():
        raise InvalidInput("the pseudonym must differ from the real name")
    return real_name, pseudonym


def _clean_list(items: list[str], what: str) -> tuple[str, ...]:
    """Stripped, non-blank, distinct texts (a list of categories or prompts)."""
    if isinstance(items, str):
        raise InvalidInput(f"give a list of {what} texts, not one text")
    cleaned = tuple(str(x).strip() for x in items)
    if not cleaned:
        raise InvalidInput(f"give at least one {what} (or None for the defaults)")
    if any(not x for x in cleaned):
        raise InvalidInput(f"a {what} cannot be blank")
    seen: set[str] = set()
    for x in cleaned:
        if x.casefold() in seen:
            raise InvalidInput(f"the {what} {x!r} is given twice")
        seen.add(x.casefold())
    return cleaned


@dataclass(frozen=True)
class SpeakerMatch:
    """How a speaker label of a turn was matched to a person of the study."""

    label: str
    participant_id: int | None = None
    researcher_id: int | None = None

    @property
    def matched(self) -> bool:
        return self.participant_id is not None or self.researcher_id is not None


class Store(
    NotesRepository,
    InterpretationRepository,
    WorkshopRepository,
    ReflectionRepository,
    CodebookRepository,
):
    """An open study.

    Parameters
    ----------
    study_dir : path
        The study folder (holds ``study.db`` unless ``url`` is given, and backups).
    url : str, optional
        A SQLAlchemy URL; defaults to ``$COPROD_DB``, else ``study_dir/study.db``.
    actor : str, optional
        Recorded as "who" in the event log; defaults to :func:`default_actor`.
    create : bool
        Create the folder and database when missing (otherwise NotFound).
    file_mode : int
        Permissions of a SQLite ``study.db`` created now (default ``0o600``: its owner
        only; a course's group studies use ``0o660``). Backups get those of the study.
    """

    def __init__(
        self,
        study_dir: str | os.PathLike,
        url: str | None = None,
        *,
        actor: str | None = None,
        create: bool = True,
        file_mode: int = FILE_MODE,
    ):
        # Which file may be opened, the upgrade and who is acting: storage/opening.py,
        # the one rule (the command line's search opens a study there too).
        opened = open_database(study_dir, url, actor=actor, create=create, file_mode=file_mode)
        self.study_dir, self.url, self.engine = opened.study_dir, opened.url, opened.engine
        self.backup, self._db_file = opened.backup, opened.db_file
        self._actor, self.connected_as = opened.actor, opened.connected_as
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(coprod_read_only=True), expire_on_commit=False
        )
        self._key: PseudonymTable | None = None
        with self.session() as s:
            if s.scalar(select(func.count(Study.id))) == 0:
                if not create:
                    raise NotFound(f"no study in {self.url}")
                study = Study(
                    name=self.study_dir.name,
                    description="",
                    created_at=events.utcnow(),
                    settings=dict(DEFAULT_SETTINGS),
                )
                s.add(study)
                s.flush()
                events.log(s, self.actor, "create", "study", study.id, after=events.snapshot(study))
        ensure_position_index(self.engine)  # a study stamped 0016 while it was a placeholder

    # -- plumbing -------------------------------------------------------------

    @property
    def actor(self) -> str:
        """Who is working: recorded as "who" in the event log, and whose view the access
        policy (:mod:`coprod_nb.storage.access`) gives.

        On SQLite it is declared and may be changed (``study.actor = "alder"`` to act as
        the lead on a demo). On a database server the connected role is the actor: it
        cannot be changed to anyone else (:class:`Forbidden`).
        """
        return self._actor

    @actor.setter
    def actor(self, value: str) -> None:
        value = (value or "").strip()
        if not value:
            raise InvalidInput("say who is working (a login or a researcher's name)")
        if self.connected_as and value.casefold() != self._actor.casefold():
            raise Forbidden(
                f"you are connected as {self.connected_as}: on a database server the role "
                f"is who is working, so this store cannot act as {value}"
            )
        self._actor = value

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error.

        Write sessions take SQLite's write lock at once (waiting up to the busy
        timeout), so two researchers saving at the same moment queue instead of
        failing; read sessions (``write=False``) never wait.
        """
        outer = getattr(self, "_outer", None)
        if outer is not None and outer[0] == threading.get_ident():
            # Inside transaction(): join it, in a savepoint, so that a call that fails
            # undoes its own writes only (the block decides about the rest).
            try:
                with outer[1].begin_nested():
                    yield outer[1]
            except BaseException as exc:
                refused = self._refusal(exc)
                if refused is not None:
                    raise refused from exc
                raise
            return
        s = (self._sessions if write else self._read_sessions)()
        try:
            yield s
            s.commit()
        except BaseException as exc:
            reason = damage_reason(exc) if self._db_file else None
            try:
                s.rollback()
            except DatabaseError:
                if reason is None:
                    raise
            if reason is not None:
                # SQLite found the file damaged mid-way: say which file and how to restore.
                raise damaged_study(self._db_file, self.study_dir, reason) from exc
            refused = self._refusal(exc)
            if refused is not None:
                raise refused from exc
            raise
        finally:
            s.close()

    @staticmethod
    def _refusal(exc: BaseException) -> Exception | None:
        # A trigger of the record's guards (storage/guards.py) refused the write, or on a
        # team study on PostgreSQL the database refused this researcher's role.
        return guard_refusal(exc) or database_refusal(exc)

    @classmethod
    def _write_refusal(cls, exc: BaseException, what: str) -> Exception | None:
        """A clear error for the database refusing a write of ``what``, else None.

        The guards' and the roles' refusals as :meth:`session` gives them, then any
        other refusal (a trigger, a CHECK, a unique constraint) with the database's
        reason (:func:`~coprod_nb.storage.team.constraint_refusal`): for calls that
        have no finer message of their own, such as the bulk writes of an import.
        """
        return cls._refusal(exc) or constraint_refusal(exc, what)

    @classmethod
    def _clash_or_refusal(cls, exc: IntegrityError, what: str, clash: str) -> Exception:
        """The error to raise for ``exc``: a taken name, or the database's refusal of ``what``.

        ``InvalidInput(clash)`` only for a unique constraint; a trigger, a CHECK or a
        foreign key refusing the row is told with its reason, never as a clash.
        """
        if is_duplicate(exc):
            return InvalidInput(clash)
        return cls._write_refusal(exc, what)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction for a block of store calls: all of them or none.

        Inside the block (in the same thread) every :meth:`session`, reads included,
        joins it, each in a savepoint; the block commits at its end, and an error out of
        it rolls every call back. For writers that must be all or nothing, such as an
        import. Nested blocks join the outermost one.
        """
        outer = getattr(self, "_outer", None)
        if outer is not None and outer[0] == threading.get_ident():
            with self.session() as s:
                yield s
            return
        with self.session() as s:
            self._outer = (threading.get_ident(), s)
            try:
                yield s
            finally:
                self._outer = None

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.study_dir)!r})"

    # -- study ----------------------------------------------------------------

    def study(self) -> Study:
        """The study row (name, description, settings)."""
        with self.session(write=False) as s:
            return s.scalars(select(Study)).one()

    def update_study(self, **changes: Any) -> Study:
        """Change the study's name, description or settings (merged key by key)."""
        with self.session() as s:
            study = s.scalars(select(Study)).one()
            before = events.snapshot(study)
            for key, value in changes.items():
                if key == "settings":
                    study.settings = {**(study.settings or {}), **value}
                elif key == "name":
                    if not str(value or "").strip():
                        raise InvalidInput("a study needs a name")
                    study.name = str(value).strip()
                elif key == "description":
                    study.description = str(value or "")
                else:
                    raise InvalidInput(f"unknown study field {key!r}")
            events.log(
                s,
                self.actor,
                "update",
                "study",
                study.id,
                before=before,
                after=events.snapshot(study),
            )
            return study

    # -- partnerships, researchers, participants ------------------------------

    def add_partnership(self, short: str, name: str, attributes: dict | None = None) -> Partnership:
        """Add a partnership (a case) with free attributes (region, kind, ...)."""
        short, name = short.strip(), name.strip()
        if not short or not name:
            raise InvalidInput("a partnership needs a short name and a name")
        return self._add(
            Partnership(short=short, name=name, attributes=_check_attributes(attributes or {})),
            "partnership",
            f"partnership {short!r} already exists",
        )

    def partnerships(self) -> list[Partnership]:
        """All partnerships, by short name."""
        with self.session(write=False) as s:
            return list(s.scalars(select(Partnership).order_by(Partnership.short)))

    def partnership(self, ref: int | str) -> Partnership:
        """A partnership by id, short name or name."""
        with self.session(write=False) as s:
            return self._find(s, Partnership, ref, ("short", "name"), "partnership")

    def add_researcher(
        self,
        name: str,
        login: str | None = None,
        lead: bool = False,
        *,
        real_name: str | None = None,
    ) -> Researcher:
        """Add a member of the research team (``name`` is the pseudonym used in the study).

        ``real_name``, when given, goes into the name key (as :meth:`set_pseudonym`
        would) in the same transaction, so a refused pair adds nobody.
        """
        name = name.strip()
        if not name:
            raise InvalidInput("a researcher needs a name")
        login = (login or "").strip() or None
        if lead:
            with self.session(write=False) as s:
                access.require_lead_once_named(self, s, "name another lead")
        return self._add(
            Researcher(name=name, login=login, lead=bool(lead)),
            "researcher",
            f"researcher {name!r} (or login {login!r}) already exists",
            real_name=real_name,
        )

    def researchers(self) -> list[Researcher]:
        """The research team, by name."""
        with self.session(write=False) as s:
            return list(s.scalars(select(Researcher).order_by(Researcher.name)))

    def researcher(self, ref: int | str) -> Researcher:
        """A researcher by id, name or login."""
        with self.session(write=False) as s:
            return self._find(s, Researcher, ref, ("name", "login"), "researcher")

    def remove_researcher(self, ref: int | str) -> Researcher:
        """Take a researcher who has written no note off the team (their readings go too).

        Notes, even deleted ones, are data of the analysis, so an author (and the study
        lead) stays: removing one raises :class:`Forbidden`. Course mode uses this to move
        a student who has not started writing to another group.
        """
        with self.session() as s:
            person = self._find(s, Researcher, ref, ("name", "login"), "researcher")
            access.require_lead_once_named(self, s, "take a researcher off the team")
            if person.lead:
                raise Forbidden(f"{person.name} leads the study and stays on the team")
            if s.scalars(select(Note.id).where(Note.researcher_id == person.id)).first():
                raise Forbidden(f"{person.name} has written notes and stays on the team")
            before = events.snapshot(person)
            for model in (Reading, TranscriptPerson):
                for row in s.scalars(select(model).where(model.researcher_id == person.id)).all():
                    s.delete(row)
            for turn in s.scalars(select(Turn).where(Turn.researcher_id == person.id)).all():
                turn.researcher_id = None
            s.delete(person)
            events.log(s, self.actor, "delete", "researcher", person.id, before=before)
            return person

    def add_participant(
        self,
        name: str,
        partnership: int | str | None = None,
        role: str = "",
        consent_record: bool = False,
        consent_quote: bool = False,
        *,
        real_name: str | None = None,
    ) -> Participant:
        """Add a participant (``name`` is the pseudonym used in the study).

        ``real_name``, when given, goes into the name key (as :meth:`set_pseudonym`
        would) in the same transaction, so a refused pair adds nobody.
        """
        name = name.strip()
        if not name:
            raise InvalidInput("a participant needs a name")
        pid = self.partnership(partnership).id if partnership is not None else None
        return self._add(
            Participant(
                name=name,
                partnership_id=pid,
                role=(role or "").strip(),
                consent_record=bool(consent_record),
                consent_quote=bool(consent_quote),
            ),
            "participant",
            f"participant {name!r} already exists",
            real_name=real_name,
        )

    def participants(self) -> list[Participant]:
        """All participants, by name."""
        with self.session(write=False) as s:
            return list(s.scalars(select(Participant).order_by(Participant.name)))

    def participant(self, ref: int | str) -> Participant:
        """A participant by id or name."""
        with self.session(write=False) as s:
            return self._find(s, Participant, ref, ("name",), "participant")

    def update_partnership(
        self,
        ref: int | str,
        *,
        short: str | None = None,
        name: str | None = None,
        attributes: dict | None = None,
    ) -> Partnership:
        """Change a partnership's name or attributes (the attributes are replaced whole).

        The short name is how people, notes and exports refer to a partnership, so it
        can change only while nothing refers to the partnership (see
        :meth:`remove_partnership`).

        Raises
        ------
        InvalidInput
            An empty name, attributes that are not a table, or a short name taken.
        Forbidden
            A new short name for a partnership something refers to.
        """
        with self.session() as s:
            row = self._find(s, Partnership, ref, ("short", "name"), "partnership")
            before = events.snapshot(row)
            if name is not None:
                if not name.strip():
                    raise InvalidInput("a partnership needs a name")
                row.name = name.strip()
            if attributes is not None:
                row.attributes = _check_attributes(attributes)
            if short is not None and short.strip() != row.short:
                short = short.strip()
                if not short:
                    raise InvalidInput("a partnership needs a short name")
                used = self._partnership_uses(s, row.id)
                if used:
                    raise Forbidden(
                        f"{row.short} is referred to by {used}: its short name stays "
                        "(change its name instead)"
                    )
                if s.scalar(select(Partnership.id).where(Partnership.short == short)):
                    raise InvalidInput(f"partnership {short!r} already exists")
                row.short = short
            s.flush()
            after = events.snapshot(row)
            if after != before:
                events.log(
                    s, self.actor, "update", "partnership", row.id, before=before, after=after
                )
            return row

    def remove_partnership(self, ref: int | str) -> Partnership:
        """Remove a partnership that nothing refers to yet (a mistake of the set-up).

        Participants, transcripts, notes, spectrum positions and worksheet answers refer
        to a partnership: while any does, it stays (:class:`Forbidden` says which).
        """
        with self.session() as s:
            row = self._find(s, Partnership, ref, ("short", "name"), "partnership")
            used = self._partnership_uses(s, row.id)
            if used:
                raise Forbidden(f"{row.short} is referred to by {used} and stays in the study")
            before = events.snapshot(row)
            s.delete(row)
            events.log(s, self.actor, "delete", "partnership", row.id, before=before)
            return row

    @staticmethod
    def _partnership_uses(s: Session, pid: int) -> str:
        """What refers to partnership ``pid``, in words ("" when nothing does)."""
        from coprod_nb.storage.models import ReflectiveAnswer, SpectrumPosition

        found = []
        for model, what in (
            (Participant, "participant"),
            (Transcript, "transcript"),
            (Note, "note"),
            (SpectrumPosition, "spectrum position"),
            (ReflectiveAnswer, "worksheet answer"),
        ):
            n = s.scalar(select(func.count(model.id)).where(model.partnership_id == pid))
            if n:
                found.append(f"{n} {what}{'s' if n != 1 else ''}")
        return ", ".join(found)

    def update_researcher(
        self,
        ref: int | str,
        *,
        name: str | None = None,
        login: str | None = None,
        lead: bool | None = None,
        real_name: str | None = None,
    ) -> Researcher:
        """Change a researcher's study name, login (``""`` for none) or lead flag.

        ``real_name``, when given, is recorded in the name key for the (new) study name,
        in the same transaction.

        Rules: a study that has a lead keeps one (make another researcher lead before
        taking the flag away from the last); the study name (a pseudonym, shown in
        transcripts, notes and meetings) changes only while the researcher appears in
        no transcript, note, meeting or workshop. Their entries of the name key follow a
        new study name.

        Raises
        ------
        InvalidInput
            An empty name, or a name or login another researcher has.
        Forbidden
            Taking the lead flag from the last lead, or renaming someone already on record.
        """
        try:
            with self.session() as s:
                person = self._find(s, Researcher, ref, ("name", "login"), "researcher")
                before = events.snapshot(person)
                new_login = None if login is None else (login.strip() or None)
                if (lead is not None and bool(lead) != person.lead) or (
                    login is not None and new_login != person.login
                ):
                    # who acts as whom, and who leads: the lead's to change
                    access.require_lead_once_named(self, s, "change a researcher's login or lead")
                if lead is not None and bool(lead) != person.lead:
                    if not lead:
                        others = s.scalar(
                            select(func.count(Researcher.id)).where(
                                Researcher.lead.is_(True), Researcher.id != person.id
                            )
                        )
                        if not others:
                            raise Forbidden(
                                f"{person.name} is the study's only lead: make another "
                                "researcher lead first"
                            )
                    person.lead = bool(lead)
                if login is not None:
                    person.login = login.strip() or None
                self._rename_person(s, person, "researcher", name, real_name)
                s.flush()
                after = events.snapshot(person)
                if after != before:
                    events.log(
                        s, self.actor, "update", "researcher", person.id, before=before, after=after
                    )
        except IntegrityError as exc:
            taken = " or ".join(
                f"the {field} {value.strip()!r}"
                for field, value in (("name", name), ("login", login))
                if value is not None and value.strip()
            )
            raise self._clash_or_refusal(
                exc,
                f"the change to researcher {ref}",
                f"another researcher already has {taken or 'that name or login'}",
            ) from exc
        self._key = None
        if real_name is not None and real_name.strip():
            self.reapply_pseudonyms()
        return person

    def update_participant(
        self,
        ref: int | str,
        *,
        name: str | None = None,
        partnership: int | str | None | EllipsisType = ...,
        role: str | None = None,
        consent_record: bool | None = None,
        consent_quote: bool | None = None,
        real_name: str | None = None,
    ) -> Participant:
        """Change a participant's partnership (``None`` for none), role or consents.

        Arguments left out stay as they are. ``real_name``, when given, is recorded in
        the name key for the (new) study name, in the same transaction. The study name (a
        pseudonym) changes only while the participant appears in no transcript or
        workshop; their entries of the name key follow it.

        Raises
        ------
        InvalidInput
            An empty name or one another participant has.
        NotFound
            An unknown partnership.
        Forbidden
            Renaming a participant already on record.
        """
        try:
            with self.session() as s:
                person = self._find(s, Participant, ref, ("name",), "participant")
                before = events.snapshot(person)
                if partnership is not ...:
                    person.partnership_id = (
                        None
                        if partnership is None
                        else self._find(
                            s, Partnership, partnership, ("short", "name"), "partnership"
                        ).id
                    )
                if role is not None:
                    person.role = role.strip()
                if consent_record is not None:
                    person.consent_record = bool(consent_record)
                if consent_quote is not None:
                    person.consent_quote = bool(consent_quote)
                self._rename_person(s, person, "participant", name, real_name)
                s.flush()
                after = events.snapshot(person)
                if after != before:
                    events.log(
                        s,
                        self.actor,
                        "update",
                        "participant",
                        person.id,
                        before=before,
                        after=after,
                    )
        except IntegrityError as exc:
            raise self._clash_or_refusal(
                exc, f"the change to participant {ref}", f"participant {name!r} already exists"
            ) from exc
        self._key = None
        if real_name is not None and real_name.strip():
            self.reapply_pseudonyms()
        return person

    def _rename_person(
        self,
        s: Session,
        person: Researcher | Participant,
        kind: str,
        name: str | None,
        real_name: str | None,
    ) -> None:
        """A new study name (while the person is on no record) and a real name for the key."""
        if name is not None and name.strip() != person.name:
            new = name.strip()
            if not new:
                raise InvalidInput(f"a {kind} needs a name")
            self._check_rename(s, person, kind)
            self._rename_in_key(s, person.name, new)
            person.name = new
        if real_name is not None and real_name.strip():
            self._set_key(s, *_key_pair(real_name, person.name))

    @staticmethod
    def _check_rename(s: Session, person: Researcher | Participant, kind: str) -> None:
        """Refuse a new study name for someone transcripts or records already name."""
        from coprod_nb.storage.models import Meeting, Workshop

        column = (
            TranscriptPerson.researcher_id
            if kind == "researcher"
            else (TranscriptPerson.participant_id)
        )
        turn_column = Turn.researcher_id if kind == "researcher" else Turn.participant_id
        on_record = s.scalar(select(TranscriptPerson.id).where(column == person.id)) or s.scalar(
            select(Turn.id).where(turn_column == person.id).limit(1)
        )
        if kind == "researcher":
            on_record = on_record or s.scalar(
                select(Note.id).where(Note.researcher_id == person.id).limit(1)
            )
            on_record = on_record or any(
                person.name in (m.attendees or []) for m in s.scalars(select(Meeting))
            )
        on_record = on_record or any(
            person.name in (ws.facilitators or []) + (ws.participants or [])
            for ws in s.scalars(select(Workshop))
        )
        if on_record:
            raise Forbidden(
                f"{person.name} already appears in the study's transcripts or records: "
                "the study name stays (a pseudonym cannot change once used)"
            )

    @staticmethod
    def _rename_in_key(s: Session, old: str, new: str) -> None:
        for row in s.scalars(select(NameKey).where(NameKey.pseudonym == old)):
            if row.real_name.casefold() == new.casefold():
                raise InvalidInput("the study name must differ from the person's real name")
            row.pseudonym = new

    def set_note_categories(self, categories: list[str] | None) -> tuple[str, ...]:
        """Set the study's note categories (``None``: back to the shipped defaults).

        Categories must be distinct and not blank; one that notes already use cannot be
        taken away. Recorded as an update of the study's settings.
        """
        wanted = None if categories is None else _clean_list(categories, "category")
        kept = wanted or DEFAULT_CATEGORIES
        with self.session(write=False) as s:
            used = set(s.scalars(select(Note.category).distinct()))
        missing = sorted(used - set(kept))
        if missing:
            raise Forbidden(
                f"notes use the categor{'y' if len(missing) == 1 else 'ies'} "
                f"{', '.join(missing)}: keep {'it' if len(missing) == 1 else 'them'}"
            )
        self.update_study(settings={"categories": list(wanted) if wanted else None})
        return self.note_categories()

    def set_prompts(self, prompts: list[str] | None) -> tuple[str, ...]:
        """Set the study's reflective prompts for step 1 (``None``: the shipped ones)."""
        wanted = None if prompts is None else _clean_list(prompts, "prompt")
        self.update_study(settings={"prompts": list(wanted) if wanted else None})
        return self.prompts()

    # -- pseudonyms -------------------------------------------------------------

    def pseudonym_key(self) -> PseudonymTable:
        """The real-name key as a :class:`PseudonymTable` (sensitive: never export it)."""
        if self._key is None:
            try:
                with self.session(write=False) as s:
                    rows = s.execute(select(NameKey.real_name, NameKey.pseudonym)).all()
            except (ProgrammingError, DatabaseRefused) as exc:
                # PostgreSQL roles of researchers other than the lead may be refused the key
                # (SECURITY.md); say what that means instead of showing a database error.
                if getattr(exc.orig, "sqlstate", None) != "42501":
                    raise
                raise Forbidden(
                    "this database role may not read the name key (table name_key): "
                    "importing transcripts, setting pseudonyms and exports that check real "
                    "names are the study lead's tasks"
                ) from None
            self._key = PseudonymTable(dict(rows))
        return self._key

    def set_pseudonym(self, real_name: str, pseudonym: str, *, reapply: bool = True) -> int:
        """Record that ``real_name`` is shown as ``pseudonym`` and apply it to stored turns.

        Returns the number of turns changed. Excerpts keep pointing at the same words.
        The event log records the pseudonym, never the real name.
        """
        real_name, pseudonym = _key_pair(real_name, pseudonym)
        with self.session() as s:
            self._set_key(s, real_name, pseudonym)
        self._key = None
        return self.reapply_pseudonyms() if reapply else 0

    def _set_key(self, s: Session, real_name: str, pseudonym: str) -> None:
        # The one write path of the key: its rules (no pseudonym that is a real name, no
        # cycle, one entry per name in any case or normalisation) are the domain's.
        key = dict(s.execute(select(NameKey.real_name, NameKey.pseudonym)).all())
        real_name, pseudonym = check_entry(key, real_name, pseudonym)
        row = s.scalars(select(NameKey).where(NameKey.real_name == real_name)).first()
        if row is None:
            row = NameKey(real_name=real_name, pseudonym=pseudonym)
            s.add(row)
        else:
            row.pseudonym = pseudonym
        s.flush()
        events.log(s, self.actor, "set", "pseudonym", row.id, after={"pseudonym": pseudonym})

    def reapply_pseudonyms(self) -> int:
        """Apply the whole key to every stored turn (speaker labels and text).

        A transcript whose text and key give its stored digest (``key_digest``, written
        by the last re-apply) is skipped: the key has been applied to that text already.
        """
        key = self.pseudonym_key()
        key_digest = key.digest()
        tr = Transcript.__table__
        changed = 0
        with self.session() as s:
            conn = s.connection()
            # A study stamped while migration 0012 was a placeholder has no digests: the
            # key is then applied to every transcript, as before the digests.
            digests = "key_digest" in {c["name"] for c in inspect(conn).get_columns("transcript")}
            stored_digest = tr.c.key_digest if digests else literal(None)
            # Plain rows, not ORM objects: a transcript the key leaves as it is costs a
            # hash of its text, and one regex pass the first time.
            done = []
            for tid, text, stored in conn.execute(
                select(tr.c.id, tr.c.text, stored_digest).order_by(tr.c.id)
            ).all():
                if stored is not None and stored == key.text_digest(text, key_digest):
                    continue
                n, text = self._repseudonymise(s, tid, text, key)
                changed += n
                done.append({"b_id": tid, "b_digest": key.text_digest(text, key_digest)})
            if done and digests:
                conn.execute(
                    update(tr)
                    .where(tr.c.id == bindparam("b_id"))
                    .values(key_digest=bindparam("b_digest")),
                    done,
                )
        return changed

    def _repseudonymise(
        self, s: Session, tid: int, old_text: str, key: PseudonymTable
    ) -> tuple[int, str]:
        # Set-based (docs/performance.md): one executemany UPDATE of the turns that
        # changed (SQLite's FTS5 trigger fires for those only), one executemany UPDATE
        # shifting each stretch of turns between two changed ones (their offsets move by
        # the same amount), one of the excerpts that moved. Returns the turns changed
        # and the new text.
        new_text, moved = key.apply_mapped(old_text)
        if new_text == old_text:
            return 0, old_text
        conn, sql_of = s.connection(), _rewrite_statements()
        rows = conn.execute(sql_of["lines"], {"b_tid": tid}).all()
        # Only turns whose line ("Speaker: text\n") holds one of the edits can change:
        # the others are not read or passed through the key again. The key's boundaries
        # are non-word characters, which the line's ": " and newline are, so a name found
        # in a field is found in the text, and no name runs over a line break.
        line_ends = [r.char_end + 1 for r in rows]
        hit = sorted({bisect_right(line_ends, start) for start, _, _ in moved.edits})
        hit = [i for i in hit if i < len(rows)]
        ids = [rows[i].id for i in hit]
        fields = {}
        for chunk in range(0, len(ids), 5000):
            for r in conn.execute(sql_of["fields"], {"b_ids": ids[chunk : chunk + 5000]}):
                fields[r.id] = r
        content, stretches, pieces = [], [], []
        words = shift = last = 0
        for i in hit:
            r = fields[rows[i].id]
            speaker, body = key.apply(r.speaker), key.apply(r.text)
            if (speaker, body) == (r.speaker, r.text):
                continue
            label, old_label = speaker_prefix(speaker), speaker_prefix(r.speaker)
            if shift:  # the turns since the last changed one move by the same amount
                stretches.append({"b_tid": tid, "b_lo": last, "b_hi": rows[i].seq, "b_d": shift})
            start = r.char_start + shift + len(label) - len(old_label)
            content.append(
                {
                    "b_id": r.id,
                    "b_speaker": speaker,
                    "b_text": body,
                    "b_start": start,
                    "b_end": start + len(body),
                }
            )
            words += word_count(body) - word_count(r.text)
            pieces.append((r.char_start - len(old_label), line_ends[i], f"{label}{body}\n"))
            shift += len(label) + len(body) - len(old_label) - len(r.text)
            last = rows[i].seq
        if not content:
            return 0, old_text
        if shift:
            stretches.append({"b_tid": tid, "b_lo": last, "b_hi": rows[-1].seq + 1, "b_d": shift})
        # The new text: the old one with the changed lines replaced (what canonical_text
        # gives for the new turns, without joining every line again).
        text, at = [], 0
        for line_start, line_end, line in pieces:
            text += [old_text[at:line_start], line]
            at = line_end
        text = "".join([*text, old_text[at:]])
        conn.execute(sql_of["content"], content)
        if stretches:
            conn.execute(sql_of["stretch"], stretches)
        moves = []
        for ex_id, start, end, quoted in conn.execute(sql_of["excerpts"], {"b_tid": tid}):
            new_start, new_end = moved(start), moved(end)
            now = text[new_start:new_end]
            if (new_start, new_end, now) != (start, end, quoted):
                moves.append({"b_id": ex_id, "b_s": new_start, "b_e": new_end, "b_t": now})
        if moves:
            conn.execute(sql_of["move"], moves)
        conn.execute(sql_of["text"], {"b_tid": tid, "b_text": text, "b_words": words})
        events.log(
            s,
            self.actor,
            "pseudonymise",
            "transcript",
            tid,
            detail=f"{plural(len(content), 'turn')} changed",
        )
        return len(content), text

    def _rebuild_text(self, s: Session, tr: Transcript, old_starts: list[int]) -> None:
        """Recompute a transcript's canonical text after speaker labels changed.

        Turn texts are unchanged, so each excerpt keeps its offset relative to its turn.
        """
        tr.text, spans = canonical_text([(t.speaker, t.text) for t in tr.turns])
        for t, span in zip(tr.turns, spans, strict=True):
            t.char_start, t.char_end = span.start, span.end

        def move(offset: int) -> int:
            i = bisect_right(old_starts, offset) - 1
            if i < 0:
                return tr.turns[0].char_start
            turn = tr.turns[i]
            return turn.char_start + min(offset - old_starts[i], len(turn.text))

        for ex in s.scalars(select(Excerpt).where(Excerpt.transcript_id == tr.id)):
            ex.start, ex.end = move(ex.start), move(ex.end)

    # -- transcripts ------------------------------------------------------------

    def match_speaker(self, label: str) -> SpeakerMatch:
        """Match a (pseudonymised) speaker label to a participant or researcher."""
        with self.session(write=False) as s:
            return self._match(s, label)

    @staticmethod
    def _people(s: Session) -> tuple[list[Participant], list[Researcher]]:
        return list(s.scalars(select(Participant))), list(s.scalars(select(Researcher)))

    @classmethod
    def _match(cls, s: Session, label: str, people: tuple | None = None) -> SpeakerMatch:
        # ``people`` (from _people): loaded once by a caller that matches many labels
        participants, researchers = people or cls._people(s)
        folded = label.strip().casefold()
        for p in participants:
            if p.name.casefold() == folded:
                return SpeakerMatch(label, participant_id=p.id)
        for r in researchers:
            if r.name.casefold() == folded or (r.login or "").casefold() == folded:
                return SpeakerMatch(label, researcher_id=r.id)
        return SpeakerMatch(label)

    def add_transcript(
        self,
        turns: list[RawTurn],
        *,
        title: str,
        source_name: str,
        source_format: str,
        content_hash: str,
        partnership: int | str | None = None,
        date: date | None = None,
        participants: list[int | str] = (),
        interviewers: list[int | str] = (),
        session: Session | None = None,
    ) -> Transcript:
        """Store a transcript's turns, pseudonymised with the study's key.

        People not given are inferred from the matched speakers, and the partnership
        from the participants' partnership when they share one. Pass ``session`` to
        add several transcripts in one transaction (``import_transcripts`` writes a
        whole import at once: :func:`coprod_nb.storage.ingest.write_transcripts`).
        """
        item = NewTranscript(
            turns,
            title=title,
            source_name=source_name,
            source_format=source_format,
            content_hash=content_hash,
            partnership=partnership,
            date=date,
            participants=participants,
            interviewers=interviewers,
        )
        with self._maybe_session(session) as s:
            (written,) = write_transcripts(self, s, [item])
            return s.get(Transcript, written.id)

    @contextmanager
    def _maybe_session(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
        else:
            with self.session() as s:
                yield s

    def transcripts(self, *, text: bool = True) -> list[Transcript]:
        """All transcripts, by date then title.

        ``text=False`` leaves out the canonical texts (megabytes in a large study) when
        only titles and ids are needed, as in a picker; reading ``.text`` then fails.
        """
        with self.session(write=False) as s:
            q = select(Transcript).order_by(Transcript.date, Transcript.title)
            if not text:
                q = q.options(defer(Transcript.text))
            return list(s.scalars(q))

    def transcript(self, ref: int | str) -> Transcript:
        """A transcript by id, title or source file name."""
        with self.session(write=False) as s:
            return self._find(s, Transcript, ref, ("title", "source_name"), "transcript")

    def update_transcript(
        self, ref: int | str, *, partnership: int | str | None = ..., date: dt.date | None = ...
    ) -> Transcript:
        """Set a transcript's partnership or date of conversation (``None`` clears it).

        For a transcript imported before its partnership was set up, or with a date its
        file name did not give. Its text and turns never change here. Logged as an event.
        """
        with self.session() as s:
            tr = self._find(s, Transcript, ref, ("title", "source_name"), "transcript")
            before = {"partnership_id": tr.partnership_id, "date": tr.date}
            if partnership is not ...:
                tr.partnership_id = (
                    None
                    if partnership is None
                    else self._find(
                        s, Partnership, partnership, ("short", "name"), "partnership"
                    ).id
                )
            if date is not ...:
                if date is not None and not isinstance(date, dt.date):
                    raise InvalidInput(f"a transcript's date must be a date (got {date!r})")
                tr.date = date
            after = {"partnership_id": tr.partnership_id, "date": tr.date}
            if after != before:
                events.log(
                    s,
                    self.actor,
                    "update",
                    "transcript",
                    tr.id,
                    before={k: str(v) if v is not None else None for k, v in before.items()},
                    after={k: str(v) if v is not None else None for k, v in after.items()},
                )
            return tr

    def transcript_id(self, ref: int | str) -> int:
        """A transcript's id by id, title or source file name, without loading its text.

        Finding the id through :meth:`transcript` read the whole canonical text (10 MB
        for a long conversation) on every page of turns (docs/performance.md).
        """
        if isinstance(ref, Transcript):
            return ref.id
        with self.session(write=False) as s:
            if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
                found = s.scalar(select(Transcript.id).where(Transcript.id == int(ref)))
                if found is not None:
                    return found
            if isinstance(ref, str):
                fields = (Transcript.title, Transcript.source_name)
                for match in [f == ref for f in fields] + [
                    func.lower(f) == ref.casefold() for f in fields
                ]:
                    found = s.scalars(select(Transcript.id).where(match)).first()
                    if found is not None:
                        return found
        raise NotFound(f"no transcript {ref!r}")

    def turns(self, transcript: int | str, start: int = 0, stop: int | None = None) -> list[Turn]:
        """Turns ``start:stop`` of a transcript, in order (a window, for long transcripts)."""
        tid = self.transcript_id(transcript)
        with self.session(write=False) as s:
            q = select(Turn).where(Turn.transcript_id == tid, Turn.seq >= start)
            if stop is not None:
                q = q.where(Turn.seq < stop)
            return list(s.scalars(q.order_by(Turn.seq)))

    def turn_count(self, transcript: int | str) -> int:
        """Number of turns of a transcript (without loading them)."""
        tid = self.transcript_id(transcript)
        with self.session(write=False) as s:
            return s.scalar(select(func.count(Turn.id)).where(Turn.transcript_id == tid))

    def people_of(self, transcript: int | str) -> dict[str, list[str]]:
        """Names of a transcript's participants and interviewers."""
        tid = self.transcript(transcript).id
        with self.session(write=False) as s:
            rows = s.execute(
                select(Participant.name, Researcher.name)
                .select_from(TranscriptPerson)
                .outerjoin(Participant, TranscriptPerson.participant_id == Participant.id)
                .outerjoin(Researcher, TranscriptPerson.researcher_id == Researcher.id)
                .where(TranscriptPerson.transcript_id == tid)
            ).all()
        return {
            "participants": sorted(p for p, _ in rows if p),
            "interviewers": sorted(r for _, r in rows if r),
        }

    def unmatched_speakers(self) -> dict[str, list[str]]:
        """Speaker labels matched to nobody, with the transcripts they occur in."""
        with self.session(write=False) as s:
            rows = s.execute(
                select(Turn.speaker, Transcript.title)
                .join(Transcript)
                .where(Turn.participant_id.is_(None), Turn.researcher_id.is_(None))
                .where(Turn.speaker != "")  # a plain document's paragraphs have no speaker
                .distinct()
                .order_by(Turn.speaker, Transcript.title)
            ).all()
        out: dict[str, list[str]] = {}
        for speaker, title in rows:
            out.setdefault(speaker, []).append(title)
        return out

    def plain_transcripts(self) -> set[int]:
        """Ids of the plain documents: transcripts whose turns all have no speaker."""
        with self.session(write=False) as s:
            rows = s.scalars(
                select(Turn.transcript_id)
                .group_by(Turn.transcript_id)
                .having(func.max(Turn.speaker) == "")
            )
            return set(rows)

    def map_speaker(self, label: str, person: str, *, transcript: int | str | None = None) -> int:
        """Link every turn spoken by ``label`` to a participant or researcher named ``person``.

        The turns are relabelled with the person's study name (a display name such
        as "Max R (Carrow)" can identify someone), and excerpts keep pointing at the same
        words. Returns the number of turns linked.
        """
        if not label.strip():
            # the paragraphs of a plain document: nobody spoke them
            raise InvalidInput("a turn without a speaker (a plain document) has no speaker to map")
        match = self.match_speaker(person)
        if not match.matched:
            raise NotFound(f"no participant or researcher called {person!r}")
        with self.session() as s:
            q = select(Turn).where(Turn.speaker == label)
            if transcript is not None:
                q = q.where(Turn.transcript_id == self.transcript(transcript).id)
            turns = list(s.scalars(q))
            if not turns:
                raise NotFound(f"no turn spoken by {label!r}")
            shown = self._find(
                s,
                Participant if match.participant_id else Researcher,
                match.participant_id or match.researcher_id,
                (),
                "person",
            ).name
            for tid in sorted({t.transcript_id for t in turns}):
                tr = s.get(Transcript, tid)
                old_starts = [t.char_start for t in tr.turns]
                for t in tr.turns:
                    if t.speaker == label:
                        t.participant_id, t.researcher_id = (
                            match.participant_id,
                            match.researcher_id,
                        )
                        t.speaker = shown
                self._rebuild_text(s, tr, old_starts)
            linked = {
                tuple(row)
                for row in s.execute(
                    select(
                        TranscriptPerson.transcript_id,
                        TranscriptPerson.participant_id,
                        TranscriptPerson.researcher_id,
                    )
                )
            }
            for tid in sorted({t.transcript_id for t in turns}):
                if (tid, match.participant_id, match.researcher_id) not in linked:
                    s.add(
                        TranscriptPerson(
                            transcript_id=tid,
                            participant_id=match.participant_id,
                            researcher_id=match.researcher_id,
                        )
                    )
            events.log(
                s,
                self.actor,
                "map_speaker",
                "speaker",
                None,
                after={"label": label, "person": person, "turns": len(turns)},
            )
            return len(turns)

    # -- excerpts ---------------------------------------------------------------

    def add_excerpt(self, transcript: int | str, start: int, end: int) -> Excerpt:
        """A span ``[start, end)`` of a transcript's canonical text."""
        tr = self.transcript(transcript)
        ex = new_excerpt(self.actor, tr.id, tr.title, tr.text, start, end)
        return self._add(ex, "excerpt", "excerpt could not be stored")

    def excerpt_of_turn(self, turn_id: int, start: int = 0, end: int | None = None) -> Excerpt:
        """An excerpt of one turn's text, ``[start, end)`` relative to the turn."""
        with self.session() as s:
            turn = s.get(Turn, turn_id)
            if turn is None:
                raise NotFound(f"no turn {turn_id}")
            length = turn.char_end - turn.char_start
            end = length if end is None else end
            if not 0 <= start < end <= length:
                raise InvalidInput(f"span {start}-{end} is outside turn {turn_id} (0-{length})")
            tid, base = turn.transcript_id, turn.char_start
        return self.add_excerpt(tid, base + start, base + end)

    def excerpt_of_quote(self, transcript: int | str, quote: str) -> Excerpt:
        """An excerpt of the first place where ``quote`` occurs in a transcript."""
        tr = self.transcript(transcript)
        pos = tr.text.find(quote)
        if pos < 0:
            raise NotFound(f"quote not found in {tr.title!r}: {quote[:60]!r}")
        return self.add_excerpt(tr.id, pos, pos + len(quote))

    def excerpts(
        self, transcript: int | str | None = None, *, viewer: int | str | None = None
    ) -> list[Excerpt]:
        """Excerpts (of one transcript, or all) that the person working may see.

        While step 1 is open, excerpts that colleagues chose (their notes anchor them, or
        they made them) are left out: which passages a colleague chose is part of their
        reading (:func:`~coprod_nb.storage.access.visible_excerpts`). ``viewer``
        (optional) must name the person working.
        """
        with self.session(write=False) as s:
            me = access.viewer_of(self, s, viewer)
            q = select(Excerpt).where(access.visible_excerpts(s, me))
            if transcript is not None:
                q = q.where(Excerpt.transcript_id == self.transcript(transcript).id)
            return list(s.scalars(q.order_by(Excerpt.transcript_id, Excerpt.start)))

    # -- search -----------------------------------------------------------------

    def search(self, query: str, limit: int = 50) -> SearchHits:
        """Study-wide full-text search over turns; hits are marked in the snippets.

        A list of hits, best first; a query matching more than
        :data:`~coprod_nb.storage.search.RANK_WINDOW` turns ranks the first that many in
        study order and says so (``hits.more``, ``hits.summary()``).
        """
        with self.session(write=False) as s:
            return search_turns(s, query, limit)

    # -- history ----------------------------------------------------------------

    def history(
        self, object_type: str, object_id: int | None = None, *, viewer: int | str | None = None
    ) -> list[events.HistoryEntry]:
        """Every logged change to one object (or to all objects of a type), oldest first.

        While step 1 is open, the history of notes and excerpts is blind like the notes:
        only the events the person working may see come back
        (:func:`~coprod_nb.storage.access.visible_events`). ``viewer`` (optional) must
        name the person working.
        """
        with self.session(write=False) as s:
            me = access.viewer_of(self, s, viewer)
            return events.history(s, object_type, object_id, where=access.visible_events(s, me))

    # -- helpers ------------------------------------------------------------------

    def _add(
        self, obj: Any, kind: str, duplicate_message: str, *, real_name: str | None = None
    ) -> Any:
        pair = None
        if real_name is not None and real_name.strip():
            pair = _key_pair(real_name, obj.name)
        try:
            with self.session() as s:
                s.add(obj)
                s.flush()
                events.log(s, self.actor, "create", kind, obj.id, after=events.snapshot(obj))
                if pair:
                    self._set_key(s, *pair)
        except IntegrityError as exc:
            raise self._clash_or_refusal(exc, f"the new {kind}", duplicate_message) from exc
        if pair:
            self._key = None
            self.reapply_pseudonyms()
        return obj

    @staticmethod
    def _find(s: Session, model: type, ref: int | str, fields: tuple[str, ...], kind: str) -> Any:
        if isinstance(ref, model):
            return ref
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            obj = s.get(model, int(ref))
            if obj is not None:
                return obj
        if isinstance(ref, str):
            for field in fields:
                obj = s.scalars(select(model).where(getattr(model, field) == ref)).first()
                if obj is not None:
                    return obj
            folded = ref.casefold()
            for field in fields:
                obj = s.scalars(
                    select(model).where(func.lower(getattr(model, field)) == folded)
                ).first()
                if obj is not None:
                    return obj
        raise NotFound(f"no {kind} {ref!r}")
