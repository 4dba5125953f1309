"""Step 3 in the store: the workshop, card responses, polls, decisions, spectra.

The framework after the workshop is never edited in place: it is derived by replaying
the workshop's decisions over the frozen version it started from, so every change has a
record, a rationale, and can be reverted.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import func, insert, select

from coprod_nb.domain.decisions import Decision, DecisionError, check_decisions, replay
from coprod_nb.domain.framework import Framework, Tension
from coprod_nb.errors import Forbidden, InvalidInput, NotFound, OutOfOrder
from coprod_nb.storage import access, events
from coprod_nb.storage.database import retry_on_conflict
from coprod_nb.storage.interpretation import add_framework_version
from coprod_nb.storage.models import (
    Ballot,
    CardResponse,
    DecisionRow,
    Event,
    FrameworkVersion,
    Participant,
    ParticipantToken,
    Partnership,
    Poll,
    SpectrumPosition,
    Workshop,
)

CIRCLES: tuple[str, ...] = ("inner", "outer", "none")

#: What a link key looks like (``secrets.token_urlsafe(32)`` gives 43 of these characters).
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,128}")
# One message for an unknown, revoked or other workshop's key: a visitor must not learn
# whether a key ever existed.
_BAD_LINK = (
    "this link is not valid (it may have been replaced by a newer one): "
    "ask the facilitator for your personal link"
)

#: What a page already open says when its link was revoked or replaced meanwhile.
LINK_GONE = (
    "this link is no longer valid (the facilitator revoked or replaced it): nothing more "
    "is saved from this page; ask the facilitator for your new personal link"
)


def _decision_of(row: DecisionRow) -> Decision:
    """The Decision of a stored row, marked reverted if it was."""
    return Decision.from_dict({**row.payload, "reverted": row.reverted_at is not None})


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a link key: the only form in which a key is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


#: Why a frozen workshop refuses a decision, and why it refuses a change of its record
#: (filled with ``action``, ``date`` and ``version``).
_DECISIONS_FROZEN = (
    "cannot {action}: the result of the workshop of {date:%Y-%m-%d} is already frozen as "
    "framework v{version}, so its decisions can no longer change. To reshape the framework "
    "further, record a new workshop on the newest framework (add_workshop) and record the "
    "decisions there."
)
_RECORD_FROZEN = (
    "cannot {action}: the workshop of {date:%Y-%m-%d} is finished, its result frozen as "
    "framework v{version}, and its record (responses, polls, ballots) stays as that result "
    "cites it. To collect more, record a new workshop on the newest framework "
    "(add_workshop) and work there."
)


class WorkshopRepository:
    """Mixed into :class:`~coprod_nb.storage.Store`."""

    # -- the workshop -----------------------------------------------------------------

    def add_workshop(
        self,
        when: date,
        *,
        facilitators: Iterable[str] = (),
        participants: Iterable[str] = (),
        mode: str = "online",
        base_version: int | None = None,
        consensus_threshold: float = 0.75,
    ) -> Workshop:
        """Record the workshop: it works on a frozen framework (the newest by default).

        The consensus threshold is fixed here, before any result is seen, and is
        reported with every result.
        """
        if not 0.5 < consensus_threshold <= 1:
            raise InvalidInput("the consensus threshold is a share above 0.5 and at most 1")
        base = self.framework(base_version)
        with self.session() as s:
            access.require_lead(self, s, "record the workshop")
            fac = [self._researcher(s, f).name for f in facilitators]
            par = [
                self._find(s, Participant, p, ("name",), "participant").name for p in participants
            ]
            ws = Workshop(
                date=when,
                mode=mode,
                facilitators=fac,
                participants=par,
                base_version=base.version,
                consensus_threshold=consensus_threshold,
                threshold_fixed_at=events.utcnow(),
            )
            s.add(ws)
            s.flush()
            events.log(s, self.actor, "create", "workshop", ws.id, after=events.snapshot(ws))
            return ws

    def set_consensus_threshold(
        self, workshop: int | None, threshold: float, *, rationale: str
    ) -> Workshop:
        """Change a workshop's consensus threshold while it has no results (the lead's act).

        Recorded as an event (before, after, why). Once the workshop has a card response
        or a ballot, the database refuses the change (a trigger, migration 0008; see
        :mod:`coprod_nb.storage.guards`), whoever writes it.

        Raises
        ------
        InvalidInput
            A threshold outside (0.5, 1] or no rationale.
        OutOfOrder
            The workshop already has results, or its result is frozen.
        """
        if not 0.5 < threshold <= 1:
            raise InvalidInput("the consensus threshold is a share above 0.5 and at most 1")
        if not (rationale or "").strip():
            raise InvalidInput("say why the consensus threshold changes (a rationale)")
        ws_id = self.workshop(workshop).id
        with self.session() as s:
            access.require_lead(self, s, "change the consensus threshold")
            ws = s.get(Workshop, ws_id, with_for_update=True)
            before = ws.consensus_threshold
            ws.consensus_threshold, ws.threshold_fixed_at = threshold, events.utcnow()
            s.flush()  # the guard's trigger refuses here once results exist
            # A frozen workshop without results keeps its threshold too (it was reported
            # with the frozen result); checked after the trigger, whose reason comes first.
            self._refuse_frozen(s, ws_id, "change the consensus threshold")
            events.log(
                s,
                self.actor,
                "threshold",
                "workshop",
                ws.id,
                before={"consensus_threshold": before},
                after={"consensus_threshold": threshold},
                detail=rationale.strip(),
            )
            return ws

    def workshops(self) -> list[Workshop]:
        """Workshops by date."""
        with self.session(write=False) as s:
            return list(s.scalars(select(Workshop).order_by(Workshop.date, Workshop.id)))

    def workshop(self, ref: int | Workshop | None = None) -> Workshop:
        """A workshop by id; without one, :meth:`default_workshop` (NotFound if none)."""
        if ref is None:
            ws = self.default_workshop()
            if ws is None:
                raise NotFound("no workshop has been recorded yet")
            return ws
        ref = ref.id if isinstance(ref, Workshop) else int(ref)
        for ws in self.workshops():
            if ws.id == ref:
                return ws
        raise NotFound(f"no workshop {ref}")

    def default_workshop(self) -> Workshop | None:
        """The workshop meant when none is named (None when there is none).

        The open one (its result not frozen yet; the newest of them if several), else the
        newest. This is the one rule behind every "the workshop" default: the store's
        methods called without a workshop and every step-3 view.
        """
        found = self.workshops()
        return self.open_workshop() or (found[-1] if found else None)

    # -- card responses (the resource pack, before the workshop) -------------------------

    @retry_on_conflict
    def set_response(
        self,
        workshop: int,
        participant: str,
        code: str,
        *,
        comment: str | None = None,
        suggestion: str | None = None,
        circle: str | None = None,
        reason: str | None = None,
        source: str = "widget",
        link: str | None = None,
    ) -> CardResponse:
        """Record (or update) a participant's comment, suggestion or circle for one card.

        With ``link`` (the key of the participant's personal link, as the participant
        app passes it) the key is checked in the same transaction as the write, so a
        link revoked or replaced meanwhile cannot write (:class:`Forbidden`). Once the
        workshop's result is frozen its responses are part of what that result cites and
        are refused (:class:`~coprod_nb.errors.OutOfOrder`, naming the version).
        """
        if circle is not None and circle not in CIRCLES:
            raise InvalidInput(f"circle must be one of {', '.join(CIRCLES)} (got {circle!r})")
        ws = self.workshop(workshop)
        if code not in self.framework(ws.base_version):
            raise InvalidInput(f"{code} is not a card of framework v{ws.base_version}")
        with self.session() as s:
            person = self._find(s, Participant, participant, ("name",), "participant")
            if link is not None:
                self._check_link(s, link, ws.id, person.id)
            self._refuse_frozen(s, ws.id, f"record {person.name}'s response to {code}")
            row = s.scalars(
                select(CardResponse).where(
                    CardResponse.workshop_id == ws.id,
                    CardResponse.participant_id == person.id,
                    CardResponse.code == code,
                )
            ).first()
            before = events.snapshot(row) if row else None
            if row is None:
                row = CardResponse(
                    workshop_id=ws.id,
                    participant_id=person.id,
                    code=code,
                    comment="",
                    suggestion="",
                    circle="none",
                    reason="",
                )
                s.add(row)
            for key, value in (
                ("comment", comment),
                ("suggestion", suggestion),
                ("circle", circle),
                ("reason", reason),
            ):
                if value is not None:
                    setattr(row, key, value.strip())
            row.source, row.updated_at = source, events.utcnow()
            s.flush()
            events.log(
                s,
                self.actor,
                "respond",
                "card_response",
                row.id,
                before=before,
                after=events.snapshot(row),
            )
            return row

    def responses(
        self, workshop: int | None = None, participant: str | None = None
    ) -> list[CardResponse]:
        """Every card response of a workshop (only one participant's when given)."""
        ws = self.workshop(workshop)
        with self.session(write=False) as s:
            q = select(CardResponse).where(CardResponse.workshop_id == ws.id)
            if participant is not None:
                person = self._find(s, Participant, participant, ("name",), "participant")
                q = q.where(CardResponse.participant_id == person.id)
            return list(s.scalars(q.order_by(CardResponse.code, CardResponse.participant_id)))

    def placements(self, workshop: int | None = None) -> dict[str, dict[str, str]]:
        """participant -> {code: ring} from the card responses."""
        names = {p.id: p.name for p in self.participants()}
        out: dict[str, dict[str, str]] = {}
        for r in self.responses(workshop):
            out.setdefault(names[r.participant_id], {})[r.code] = r.circle
        return out

    @retry_on_conflict
    def undo_response(
        self,
        workshop: int | None = None,
        participant: str | None = None,
        *,
        since: datetime | None = None,
    ) -> CardResponse | None:
        """Undo the last card-response change made by the person working (``Store.actor``).

        Only changes logged under ``Store.actor`` count, in this workshop and, when
        ``participant`` is given, that participant's cards only; undoing again undoes the
        change before (an undo is not itself undone). The card gets its values from
        before the change back (a card that did not exist gets empty values and
        ``none``: rows are never deleted). With ``since`` (a view's opening time), only
        changes made from then on are undone. Logged as an ``undo`` event. Returns the
        card, or None when there is nothing left to undo. Refused once the workshop's
        result is frozen, as :meth:`set_response` is.
        """
        ws = self.workshop(workshop)
        with self.session() as s:
            self._refuse_frozen(s, ws.id, "undo a card response")
            person = None
            if participant is not None:
                person = self._find(s, Participant, participant, ("name",), "participant")
            found = s.scalars(
                select(Event)
                .where(
                    Event.actor == self.actor,
                    Event.object_type == "card_response",
                    Event.action.in_(("respond", "undo")),
                    Event.at >= (since or datetime.min),
                    access.visible_events(s, access.acting(self, s)),
                )
                .order_by(Event.id.desc())
            )
            pending, target = 0, None
            for ev in found:
                after = ev.after or {}
                if after.get("workshop_id") != ws.id:
                    continue
                if person is not None and after.get("participant_id") != person.id:
                    continue
                if ev.action == "undo":
                    pending += 1  # each undo consumes the next older change
                elif pending:
                    pending -= 1
                else:
                    target = ev
                    break
            if target is None:
                return None
            row = s.get(CardResponse, target.object_id)
            if row is None:
                return None
            before = events.snapshot(row)
            old = target.before or {}
            for key, default in (
                ("comment", ""),
                ("suggestion", ""),
                ("circle", "none"),
                ("reason", ""),
            ):
                setattr(row, key, old.get(key, default))
            row.updated_at = events.utcnow()
            s.flush()
            events.log(
                s,
                self.actor,
                "undo",
                "card_response",
                row.id,
                before=before,
                after=events.snapshot(row),
                detail=f"undo of event {target.id}",
            )
            return row

    # -- polls ----------------------------------------------------------------------------

    def open_poll(
        self,
        workshop: int,
        name: str,
        options: Iterable[str],
        *,
        max_choices: int | None = None,
        ranked: bool = False,
    ) -> Poll:
        """Open a poll; its results stay hidden until :meth:`close_poll`.

        Refused (:class:`~coprod_nb.errors.OutOfOrder`) once the workshop's result is frozen.
        """
        ws = self.workshop(workshop)
        options = list(dict.fromkeys(options))
        if not options:
            raise InvalidInput("a poll needs options")
        if max_choices is not None and max_choices < 1:
            raise InvalidInput("max_choices must be at least 1")
        with self.session() as s:
            self._refuse_frozen(s, ws.id, f"open the poll {name!r}")
            if s.scalars(select(Poll).where(Poll.workshop_id == ws.id, Poll.name == name)).first():
                raise InvalidInput(f"the workshop already has a poll called {name!r}")
            poll = Poll(
                workshop_id=ws.id,
                name=name,
                options=options,
                max_choices=max_choices,
                ranked=ranked,
                opened_at=events.utcnow(),
            )
            s.add(poll)
            s.flush()
            events.log(s, self.actor, "open", "poll", poll.id, after=events.snapshot(poll))
            return poll

    def poll(self, name: str, workshop: int | None = None) -> Poll:
        """A poll of a workshop by name ("opening", "revote", ...)."""
        ws = self.workshop(workshop)
        with self.session(write=False) as s:
            poll = s.scalars(
                select(Poll).where(Poll.workshop_id == ws.id, Poll.name == name)
            ).first()
        if poll is None:
            raise NotFound(f"no poll {name!r}")
        return poll

    @retry_on_conflict
    def cast_ballot(
        self, poll_id: int, participant: str, choices: Iterable[str], *, link: str | None = None
    ) -> Ballot:
        """A participant's nominations (in rank order if ranked). A second ballot replaces
        the first; once the poll is closed, or its workshop's result frozen (a poll left
        open at the freeze), ballots are refused. With ``link`` the key of the
        participant's personal link is checked in the same transaction as the write."""
        choices = list(choices)
        with self.session() as s:
            poll = s.get(Poll, poll_id)
            if poll is None:
                raise NotFound(f"no poll {poll_id}")
            person = self._find(s, Participant, participant, ("name",), "participant")
            if link is not None:
                self._check_link(s, link, poll.workshop_id, person.id)
            if poll.closed_at is not None:
                raise Forbidden(f"the poll {poll.name!r} is closed")
            # A poll left open at the freeze takes no more ballots: the result it could
            # have informed is fixed (closing it still shows what was cast before).
            ws = self._refuse_frozen(s, poll.workshop_id, f"cast a ballot in {poll.name!r}")
            if ws.participants and person.name not in ws.participants:
                raise Forbidden(f"{person.name} is not a participant of this workshop")
            unknown = [c for c in choices if c not in poll.options]
            if unknown:
                raise InvalidInput(f"not on the ballot: {', '.join(unknown)}")
            if len(set(choices)) != len(choices):
                raise InvalidInput("a tension can be nominated once")
            if poll.max_choices is not None and len(choices) > poll.max_choices:
                raise InvalidInput(f"at most {poll.max_choices} nominations")
            if getattr(self, "connected_as", None):
                # A researcher's role cannot read an open poll's ballots: the database
                # casts this one (storage/team.py).
                from coprod_nb.storage.team import cast_ballot_in_db

                ballot = Ballot(
                    id=cast_ballot_in_db(s, poll.id, person.id, choices),
                    poll_id=poll.id,
                    participant_id=person.id,
                    choices=choices,
                    cast_at=events.utcnow(),
                )
            else:
                ballot = s.scalars(
                    select(Ballot).where(
                        Ballot.poll_id == poll.id, Ballot.participant_id == person.id
                    )
                ).first()
                if ballot is None:
                    ballot = Ballot(
                        poll_id=poll.id,
                        participant_id=person.id,
                        choices=choices,
                        cast_at=events.utcnow(),
                    )
                    s.add(ballot)
                else:
                    ballot.choices, ballot.cast_at = choices, events.utcnow()
            s.flush()
            # The log records that a ballot was cast, not what it says: results stay
            # hidden until the poll closes.
            events.log(s, self.actor, "vote", "poll", poll.id, after={"by": person.name})
            return ballot

    def close_poll(self, poll_id: int) -> Poll:
        """Close a poll (the study lead's act): no more ballots, results become visible."""
        with self.session() as s:
            access.require_lead(self, s, "close a poll")
            poll = s.get(Poll, poll_id)
            if poll is None:
                raise NotFound(f"no poll {poll_id}")
            if poll.closed_at is not None:
                raise InvalidInput(f"the poll {poll.name!r} is already closed")
            poll.closed_at = events.utcnow()
            n = s.scalar(select(func.count(Ballot.id)).where(Ballot.poll_id == poll.id))
            events.log(s, self.actor, "close", "poll", poll.id, after={"ballots": n})
            return poll

    def ballots(self, poll_id: int) -> dict[str, list[str]]:
        """participant -> choices. Refused while the poll is open (no bandwagon effects)."""
        with self.session(write=False) as s:
            poll = s.get(Poll, poll_id)
            if poll is None:
                raise NotFound(f"no poll {poll_id}")
            access.require_ballots_readable(poll)
            rows = s.execute(
                select(Participant.name, Ballot.choices)
                .join(Participant, Ballot.participant_id == Participant.id)
                .where(Ballot.poll_id == poll.id)
                .order_by(Participant.name)
            ).all()
            return {name: list(choices) for name, choices in rows}

    def own_ballot(self, poll_id: int, participant: str) -> list[str] | None:
        """A participant's ballot (None before they vote), once the poll is closed.

        While the poll is open a ballot is its participant's alone: they see it through
        their personal link (:meth:`own_ballot_by_link`, the participant app), and this
        refuses (:class:`Forbidden`).
        """
        with self.session(write=False) as s:
            poll = s.get(Poll, poll_id)
            if poll is None:
                raise NotFound(f"no poll {poll_id}")
            access.require_ballots_readable(poll)
            person = self._find(s, Participant, participant, ("name",), "participant")
            choices = s.scalar(
                select(Ballot.choices).where(
                    Ballot.poll_id == poll_id, Ballot.participant_id == person.id
                )
            )
        return None if choices is None else list(choices)

    def voters(self, poll_id: int) -> list[str]:
        """Who has voted, by name (not what: visible while the poll is open)."""
        with self.session(write=False) as s:
            if getattr(self, "connected_as", None):
                from coprod_nb.storage.team import voter_names_in_db

                return voter_names_in_db(s, poll_id)
            return list(
                s.scalars(
                    select(Participant.name)
                    .join(Ballot, Ballot.participant_id == Participant.id)
                    .where(Ballot.poll_id == poll_id)
                    .order_by(Participant.name)
                )
            )

    def ballot_count(self, poll_id: int) -> int:
        """How many participants have voted (visible while the poll is open)."""
        if getattr(self, "connected_as", None):
            return len(self.voters(poll_id))
        with self.session(write=False) as s:
            return s.scalar(select(func.count(Ballot.id)).where(Ballot.poll_id == poll_id))

    def polls(self, workshop: int | None = None) -> list[Poll]:
        """The polls of a workshop, in the order they were opened."""
        ws = self.workshop(workshop)
        with self.session(write=False) as s:
            return list(s.scalars(select(Poll).where(Poll.workshop_id == ws.id).order_by(Poll.id)))

    def current_poll(self, workshop: int | None = None) -> Poll | None:
        """The poll participants answer now: the newest open one, else the newest one."""
        polls = self.polls(workshop)
        open_ = [p for p in polls if p.closed_at is None]
        return (open_ or polls or [None])[-1]

    # -- personal links (the live participant app) ----------------------------------------

    def _workshop_people(self, s, ws: Workshop, participants: Iterable[str] | None):
        names = list(participants) if participants is not None else None
        if names is None:
            if ws.participants:
                names = list(ws.participants)
            else:
                return list(s.scalars(select(Participant).order_by(Participant.name)))
        people = [self._find(s, Participant, n, ("name",), "participant") for n in names]
        if ws.participants:
            outside = [p.name for p in people if p.name not in ws.participants]
            if outside:
                raise InvalidInput(
                    f"not a participant of the workshop of {ws.date:%Y-%m-%d}: "
                    + ", ".join(outside)
                )
        return people

    def issue_links(
        self, workshop: int | None = None, participants: Iterable[str] | None = None
    ) -> dict[str, str]:
        """New personal link keys for the live participant app.

        Each participant's earlier keys for this workshop are revoked. The keys are
        returned once and never stored: only their SHA-256 is kept.

        Parameters
        ----------
        workshop : int, optional
            The workshop (the latest by default).
        participants : iterable of str, optional
            Whom to issue keys for (default: the workshop's participants).

        Returns
        -------
        dict
            Participant name -> key, to put in the link as ``?key=...``.
        """
        ws = self.workshop(workshop)
        now = events.utcnow()
        out: dict[str, str] = {}
        with self.session() as s:
            access.require_lead(self, s, "issue participant links")
            people = self._workshop_people(s, ws, participants)
            if not people:
                raise InvalidInput("the study has no participants to issue links for")
            for person in people:
                self._revoke(s, ws.id, person.id, now)
                token = secrets.token_urlsafe(32)
                s.add(
                    ParticipantToken(
                        workshop_id=ws.id,
                        participant_id=person.id,
                        token_hash=token_hash(token),
                        issued_at=now,
                        issued_by=self.actor,
                        revoked_at=None,
                    )
                )
                out[person.name] = token
            s.flush()
            # Who got a link, never the key (nor its hash).
            events.log(s, self.actor, "issue links", "workshop", ws.id, after={"to": list(out)})
        return out

    def revoke_links(
        self, workshop: int | None = None, participants: Iterable[str] | None = None
    ) -> int:
        """Revoke the personal links of a workshop (of some participants); returns how many."""
        ws = self.workshop(workshop)
        now = events.utcnow()
        with self.session() as s:
            access.require_lead(self, s, "revoke participant links")
            people = self._workshop_people(s, ws, participants)
            n = sum(self._revoke(s, ws.id, p.id, now) for p in people)
            events.log(
                s,
                self.actor,
                "revoke links",
                "workshop",
                ws.id,
                after={"of": [p.name for p in people], "revoked": n},
            )
        return n

    @staticmethod
    def _revoke(s, workshop_id: int, participant_id: int, when: datetime) -> int:
        rows = s.scalars(
            select(ParticipantToken).where(
                ParticipantToken.workshop_id == workshop_id,
                ParticipantToken.participant_id == participant_id,
                ParticipantToken.revoked_at.is_(None),
            )
        ).all()
        for row in rows:
            row.revoked_at = when
        return len(rows)

    def active_links(self, workshop: int | None = None) -> dict[str, datetime]:
        """Participant name -> when their working link was issued (keys are not kept)."""
        ws = self.workshop(workshop)
        with self.session(write=False) as s:
            rows = s.execute(
                select(Participant.name, ParticipantToken.issued_at)
                .join(Participant, ParticipantToken.participant_id == Participant.id)
                .where(ParticipantToken.workshop_id == ws.id, ParticipantToken.revoked_at.is_(None))
                .order_by(Participant.name)
            ).all()
        return dict(rows)

    def participant_for_token(
        self, token: str | None, workshop: int | None = None
    ) -> tuple[Workshop, Participant]:
        """The workshop and participant a link key belongs to.

        Parameters
        ----------
        token : str
            The key of a personal link.
        workshop : int, optional
            Accept only keys of this workshop.

        Raises
        ------
        Forbidden
            No key, a malformed one, or one that is unknown, revoked (replaced by a newer
            link), of another workshop, or of someone no longer on the workshop's list.
            Unknown and revoked keys get the same message.
        """
        token = (token or "").strip()
        if not token:
            raise Forbidden("the link has no key: open the personal link the facilitator sent you")
        if not _KEY_SHAPE.fullmatch(token):
            raise Forbidden(
                "the link's key is malformed (part of it may be missing): "
                "copy the whole personal link the facilitator sent you"
            )
        with self.session(write=False) as s:
            row = s.scalars(
                select(ParticipantToken).where(ParticipantToken.token_hash == token_hash(token))
            ).first()
            if row is None or row.revoked_at is not None:
                raise Forbidden(_BAD_LINK)
            if workshop is not None and row.workshop_id != int(workshop):
                raise Forbidden(_BAD_LINK)
            ws = s.get(Workshop, row.workshop_id)
            person = s.get(Participant, row.participant_id)
            if ws.participants and person.name not in ws.participants:
                raise Forbidden(_BAD_LINK)
            return ws, person

    @staticmethod
    def _check_link(s, token: str, workshop_id: int, participant_id: int) -> None:
        """Refuse a write through a link that is no longer the participant's working one.

        Runs inside the writing transaction, so a revocation committed before the write
        stops it (``serve-workshop --revoke``, new links, taken off the workshop).
        """
        row = s.scalars(
            select(ParticipantToken).where(
                ParticipantToken.token_hash == token_hash((token or "").strip())
            )
        ).first()
        ws = s.get(Workshop, workshop_id)
        person = s.get(Participant, participant_id)
        if (
            row is None
            or row.revoked_at is not None
            or row.workshop_id != workshop_id
            or row.participant_id != participant_id
            or (ws.participants and person.name not in ws.participants)
        ):
            raise Forbidden(LINK_GONE)

    def own_ballot_by_link(self, token: str | None, poll_id: int) -> list[str] | None:
        """The ballot of the participant whose personal link ``token`` is (None before they
        vote), open poll or not: a participant sees their own ballot, through their link.
        """
        ws, person = self.participant_for_token(token)
        with self.session(write=False) as s:
            poll = s.get(Poll, poll_id)
            if poll is None or poll.workshop_id != ws.id:
                raise NotFound(f"no poll {poll_id} in this workshop")
            choices = s.scalar(
                select(Ballot.choices).where(
                    Ballot.poll_id == poll_id, Ballot.participant_id == person.id
                )
            )
        return None if choices is None else list(choices)

    # -- decisions ------------------------------------------------------------------------

    def record_decision(self, workshop: int | None, decision: Decision) -> DecisionRow:
        """Record a decision after checking it applies to the current framework.

        The check and the write are one transaction under the workshop's lock (its row
        ``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` takes SQLite's write
        lock): a decision recorded meanwhile by someone else is part of what this one is
        checked against, and a failure writes nothing.

        Raises
        ------
        OutOfOrder
            The workshop's result is already frozen.
        DecisionError
            The decision cannot apply, its id is taken, or it has no rationale.
        """
        ws_id = self.workshop(workshop).id
        with self.session() as s:
            access.require_lead(self, s, "record a decision")
            ws = self._open_workshop_for_update(s, ws_id, "record a decision")
            ((row_id, _),) = self._record_all(s, ws, [decision])
            return s.get(DecisionRow, row_id)

    def record_decisions(self, workshop: int | None, decisions: list[Decision]) -> list[str]:
        """Record several decisions (a facilitator's log): all of them or none.

        The whole sequence is checked first (:func:`~coprod_nb.domain.decisions.
        check_decisions`: every decision against the framework as the earlier ones leave
        it, ids, rationales), then written, in one transaction under the workshop's lock.
        A decision marked ``reverted`` is recorded and reverted at once. Returns the refs
        recorded.
        """
        ws_id = self.workshop(workshop).id
        with self.session() as s:
            access.require_lead(self, s, "record a decision")
            ws = self._open_workshop_for_update(s, ws_id, "record decisions")
            return [ref for _, ref in self._record_all(s, ws, list(decisions))]

    def revert_decision(
        self, workshop: int | None, ref: str, *, rationale: str = ""
    ) -> DecisionRow:
        """Revert a decision: the framework is replayed without it.

        Refused when a later decision depends on it (revert that one first), and once
        the workshop's result is frozen (:class:`~coprod_nb.errors.OutOfOrder`).
        """
        ws_id = self.workshop(workshop).id
        with self.session() as s:
            access.require_lead(self, s, "revert a decision")
            ws = self._open_workshop_for_update(s, ws_id, f"revert {ref}")
            return self._revert(s, ws, ref, rationale)

    def undo_decision(self, workshop: int | None, ref: str, *, rationale: str = "") -> DecisionRow:
        """Undo the workshop's newest decision ``ref`` (the study lead's act).

        The decision record is a log: the undo does not delete the decision but reverts
        it, with an event that says it was an undo (and why, if ``rationale`` is given),
        so the framework is replayed as it was before. Only the newest decision can be
        undone this way; an older one is reverted with its reason
        (:meth:`revert_decision`).

        Raises
        ------
        Forbidden
            The person working is not the study lead.
        OutOfOrder
            The workshop's result is already frozen, or a decision was recorded after
            ``ref`` (by anyone): undoing ``ref`` would no longer be undoing the last step.
        NotFound, InvalidInput
            No decision ``ref``, or it is already reverted.
        """
        ws_id = self.workshop(workshop).id
        with self.session() as s:
            access.require_lead(self, s, "revert a decision")
            ws = self._open_workshop_for_update(s, ws_id, f"undo {ref}")
            rows = self._rows(s, ws.id)
            target = next((r for r in rows if r.ref == ref), None)
            if target is None:
                raise NotFound(f"no decision {ref} in the workshop of {ws.date:%Y-%m-%d}")
            later = [r.ref for r in rows if r.seq > target.seq]
            if later:
                raise OutOfOrder(
                    f"cannot undo {ref}: {', '.join(later)} was recorded after it, so it is "
                    f"no longer the last decision; revert {ref} with a reason instead"
                )
            why = "undo of the last decision" + (
                f": {rationale.strip()}" if rationale.strip() else ""
            )
            return self._revert(s, ws, ref, why)

    def decisions(
        self,
        workshop: int | None = None,
        *,
        include_reverted: bool = True,
        as_of: datetime | None = None,
    ) -> list[Decision]:
        """The workshop's decisions in order (reverted ones marked ``reverted``).

        With ``as_of`` (e.g. a framework version's ``frozen_at``), the log as it stood
        then: decisions recorded later are left out, and one reverted later is active.
        """
        ws = self.workshop(workshop)
        out = []
        with self.session(write=False) as s:
            rows = self._rows(s, ws.id)
        for r in rows:
            if as_of is not None and r.recorded_at > as_of:
                continue
            reverted = r.reverted_at is not None and (as_of is None or r.reverted_at <= as_of)
            d = Decision.from_dict({**r.payload, "reverted": reverted})
            if include_reverted or not d.reverted:
                out.append(d)
        return out

    def current_framework(self, workshop: int | None = None) -> Framework:
        """The framework now: the workshop's base version with its decisions replayed."""
        ws = self.workshop(workshop)
        return replay(self.framework(ws.base_version), self.decisions(ws.id))

    def freeze_workshop_framework(
        self, workshop: int | None = None, label: str = "", *, by: int | str | None = None
    ) -> FrameworkVersion:
        """Freeze the replayed framework as the next version (the study lead's act).

        From then on the workshop's decisions can no longer be recorded or reverted.
        ``by``, if given, must name the person working, who must be the lead.
        """
        ws_id = self.workshop(workshop).id
        with self.session() as s:
            who = access.require_lead(self, s, "freeze the workshop's framework", by)
            ws = s.get(Workshop, ws_id, with_for_update=True)
            framework = replay(
                self._frozen_framework(s, ws.base_version),
                [_decision_of(r) for r in self._rows(s, ws.id)],
            )
            return add_framework_version(
                s,
                self.actor,
                who,
                [t.to_dict() for t in framework.tensions],
                label,
                default=": after the workshop",
                workshop=ws.id,
            )

    def workshop_frozen_as(self, workshop: int | None = None) -> int | None:
        """The framework version the workshop's result was frozen as (None while open)."""
        ws = self.workshop(workshop)
        with self.session(write=False) as s:
            versions = self._frozen_from(s, ws.id)
        return versions[0] if versions else None

    def frozen_workshops(self) -> dict[int, list[int]]:
        """Workshop id -> the framework versions frozen from its result (open ones absent)."""
        with self.session(write=False) as s:
            return self._frozen_workshops(s)

    def open_workshop(self) -> Workshop | None:
        """The newest workshop whose result is not frozen yet (None if every one is)."""
        frozen = self.frozen_workshops()
        open_ = [ws for ws in self.workshops() if ws.id not in frozen]
        return open_[-1] if open_ else None

    # the decisions' helpers: every one works inside the caller's transaction

    @staticmethod
    def _frozen_workshops(s) -> dict[int, list[int]]:
        """workshop id -> the versions frozen from it, from the freeze events."""
        out: dict[int, list[int]] = {}
        for after in s.scalars(
            select(Event.after)
            .where(Event.object_type == "framework", Event.action == "freeze")
            .order_by(Event.id)
        ):
            if isinstance(after, dict) and after.get("workshop") is not None:
                out.setdefault(int(after["workshop"]), []).append(int(after["version"]))
        return out

    def _frozen_from(self, s, workshop_id: int) -> list[int]:
        return self._frozen_workshops(s).get(workshop_id, [])

    def _unfrozen_workshop(self, s, workshop_id: int, action: str, why: str, lock) -> Workshop:
        """The workshop read with ``lock``; OutOfOrder (``why``, filled in) once frozen."""
        ws = s.get(Workshop, workshop_id, with_for_update=lock)
        if ws is None:
            raise NotFound(f"no workshop {workshop_id}")
        frozen = self._frozen_from(s, ws.id)
        if frozen:
            raise OutOfOrder(why.format(action=action, date=ws.date, version=frozen[0]))
        return ws

    def _open_workshop_for_update(self, s, workshop_id: int, action: str) -> Workshop:
        return self._unfrozen_workshop(s, workshop_id, action, _DECISIONS_FROZEN, True)

    def _refuse_frozen(self, s, workshop_id: int, action: str) -> Workshop:
        """The workshop, read in the caller's transaction; OutOfOrder once it is frozen.

        A frozen result's decisions cite the workshop's record (``prompted_by``: its
        responses, its polls), so that record is finished too: card responses (comments,
        suggestions, circles, reasons), their undo, new polls and ballots are refused.
        The row is read with a shared lock (``FOR SHARE`` on PostgreSQL; SQLite writes one
        at a time anyway): :meth:`freeze_workshop_framework` locks it for update, so a
        write and a freeze of the same workshop do not interleave, while writes of many
        participants do not wait for each other.
        """
        return self._unfrozen_workshop(s, workshop_id, action, _RECORD_FROZEN, {"read": True})

    @staticmethod
    def _rows(s, workshop_id: int) -> list[DecisionRow]:
        return list(
            s.scalars(
                select(DecisionRow)
                .where(DecisionRow.workshop_id == workshop_id)
                .order_by(DecisionRow.seq)
            )
        )

    @staticmethod
    def _frozen_framework(s, version: int) -> Framework:
        fv = s.scalars(select(FrameworkVersion).where(FrameworkVersion.version == version)).first()
        if fv is None:
            raise NotFound(f"no framework version {version}")
        tensions = tuple(Tension.from_dict(t) for t in fv.tensions if "code" in t)
        return Framework(tensions, version=fv.version, label=fv.label)

    def _record_all(self, s, ws: Workshop, decisions: list[Decision]) -> list[tuple[int, str]]:
        """Check ``decisions`` whole after the stored ones, then write them (no commit);
        return the new rows' ids and refs.

        The stored sequence is replayed once and each new decision applied once, so a
        log of n decisions costs time linear in n (not a replay per decision).
        """
        rows = self._rows(s, ws.id)
        seq = max((r.seq for r in rows), default=0)
        # Decisions without an id get the next free "D<seq>", as a facilitator numbers them.
        named = [d if d.ref else replace(d, ref=f"D{seq + i}") for i, d in enumerate(decisions, 1)]
        current = replay(
            self._frozen_framework(s, ws.base_version), [_decision_of(r) for r in rows]
        )
        check_decisions(current, named, taken_refs=[r.ref for r in rows])
        now = events.utcnow()
        values = [
            {
                "workshop_id": ws.id,
                "seq": seq + i,
                "ref": decision.ref,
                "kind": decision.kind,
                "payload": replace(decision, reverted=False).to_dict(),
                "recorded_by": self.actor,
                "recorded_at": now,
                "reverted_at": now if decision.reverted else None,
            }
            for i, decision in enumerate(named, 1)
        ]
        # Rows and events by SQLAlchemy Core, one INSERT each (executemany): an ORM
        # object per decision and per event made a log of 10,000 cost more per decision
        # than one of 1,000 (docs/performance.md). The ids come back in the rows' order.
        s.flush()
        table = DecisionRow.__table__
        ids = (
            s.connection()
            .execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), values)
            .scalars()
            .all()
        )
        entries = []
        for decision, row, row_id in zip(named, values, ids, strict=True):
            entries.append(
                {
                    "action": "decide",
                    "object_type": "decision",
                    "object_id": row_id,
                    "after": row["payload"],
                    "detail": decision.summary(),
                }
            )
            if decision.reverted:
                why = "reverted in the decision log"
                entries.append(
                    {
                        "action": "revert",
                        "object_type": "decision",
                        "object_id": row_id,
                        "detail": why,
                    }
                )
        events.log_many(s, self.actor, entries)
        return [(row_id, row["ref"]) for row_id, row in zip(ids, values, strict=True)]

    def _revert(self, s, ws: Workshop, ref: str, rationale: str) -> DecisionRow:
        rows = self._rows(s, ws.id)
        target = next((r for r in rows if r.ref == ref), None)
        if target is None:
            raise NotFound(f"no decision {ref}")
        if target.reverted_at is not None:
            raise InvalidInput(f"{ref} is already reverted")
        remaining = [_decision_of(r) for r in rows if r.ref != ref]
        try:
            replay(self._frozen_framework(s, ws.base_version), remaining)
        except DecisionError as exc:
            raise DecisionError(f"cannot revert {ref}: a later decision needs it ({exc})") from exc
        if not rationale.strip():
            raise DecisionError(f"say why {ref} is reverted (a rationale is required)")
        target.reverted_at = events.utcnow()
        events.log(s, self.actor, "revert", "decision", target.id, detail=rationale)
        return target

    # -- spectra --------------------------------------------------------------------------

    @retry_on_conflict
    def set_position(
        self, partnership: str, code: str, when: str, position: float
    ) -> SpectrumPosition:
        """Where a partnership sits on a tension at a time point (0 = pole A, 100 = pole B)."""
        if not 0 <= float(position) <= 100:
            raise InvalidInput(f"a position is between 0 and 100 (got {position})")
        frozen = {
            t.code for v in self.framework_versions() for t in self.framework(v.version).tensions
        }
        if code not in frozen:
            raise InvalidInput(f"{code} is not a tension of any frozen framework")
        with self.session() as s:
            pship = self._find(s, Partnership, partnership, ("short", "name"), "partnership")
            row = s.scalars(
                select(SpectrumPosition).where(
                    SpectrumPosition.partnership_id == pship.id,
                    SpectrumPosition.code == code,
                    SpectrumPosition.when == str(when),
                )
            ).first()
            if row is None:
                row = SpectrumPosition(
                    partnership_id=pship.id,
                    code=code,
                    when=str(when),
                    position=float(position),
                    recorded_by=self.actor,
                )
                s.add(row)
            else:
                row.position = float(position)
            s.flush()
            events.log(s, self.actor, "position", "spectrum", row.id, after=events.snapshot(row))
            return row

    def positions(self) -> list[dict]:
        """Every spectrum position as a dict (partnership, tension, when, position)."""
        shorts = {p.id: p.short for p in self.partnerships()}
        with self.session(write=False) as s:
            rows = s.scalars(
                select(SpectrumPosition).order_by(
                    SpectrumPosition.code, SpectrumPosition.partnership_id, SpectrumPosition.when
                )
            )
            return [
                {
                    "partnership": shorts[r.partnership_id],
                    "tension": r.code,
                    "when": r.when,
                    "position": r.position,
                }
                for r in rows
            ]
