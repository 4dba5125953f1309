"""Step 2 in the store: meetings and dissents, tensions, evidence, links, frozen frameworks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coprod_nb.domain.decisions import Decision, decision_codes
from coprod_nb.domain.framework import LINK_KINDS, TENSION_STATUSES, Framework, Tension
from coprod_nb.errors import Forbidden, InvalidInput, NotFound, OutOfOrder
from coprod_nb.storage import access, events
from coprod_nb.storage.integrity import tensions_digest
from coprod_nb.storage.models import (
    DecisionRow,
    Dissent,
    Excerpt,
    FrameworkVersion,
    Meeting,
    Note,
    TensionEvidence,
    TensionLink,
    TensionRow,
)

#: Why a framework cannot be frozen yet, and what to do.
STEP_1_OPEN = (
    "step 1 (individual recall) is still open: a framework is frozen only after the study "
    "lead closes step 1 (Store.close_recall, or `coprod-nb close-recall`), so that it rests "
    "on the whole team's notes read together"
)

_TENSION_FIELDS = ("name", "pole_a", "pole_b", "description", "subthemes", "proposer", "status")


def tension_of(row: TensionRow, evidence: dict | None = None) -> Tension:
    """The domain :class:`Tension` of a stored row."""
    return Tension(
        code=row.code,
        name=row.name,
        pole_a=row.pole_a,
        pole_b=row.pole_b,
        description=row.description,
        subthemes=tuple(row.subthemes or ()),
        status=row.status,
        proposer=row.proposer,
        evidence=evidence or {},
    )


class InterpretationRepository:
    """Mixed into :class:`~coprod_nb.storage.Store`."""

    # -- meetings -------------------------------------------------------------------

    def add_meeting(
        self,
        when: date,
        attendees: Iterable[str] = (),
        minutes: str = "",
        title: str = "Joint interpretation meeting",
    ) -> Meeting:
        """Record a dated joint interpretation meeting."""
        names = [self.researcher(a).name for a in attendees]
        return self._add(
            Meeting(date=when, title=title, attendees=names, minutes=minutes),
            "meeting",
            "meeting could not be stored",
        )

    def update_meeting(self, meeting_id: int, **changes) -> Meeting:
        """Change a meeting's date, title, attendees or minutes."""
        with self.session() as s:
            m = s.get(Meeting, meeting_id)
            if m is None:
                raise NotFound(f"no meeting {meeting_id}")
            before = events.snapshot(m)
            for key, value in changes.items():
                if key == "attendees":
                    value = [self._researcher(s, a).name for a in value]
                elif key not in ("date", "title", "minutes"):
                    raise InvalidInput(f"unknown meeting field {key!r}")
                setattr(m, key, value)
            events.log(
                s, self.actor, "update", "meeting", m.id, before=before, after=events.snapshot(m)
            )
            return m

    def meetings(self) -> list[Meeting]:
        """Meetings by date, with their dissents loaded."""
        with self.session(write=False) as s:
            rows = list(s.scalars(select(Meeting).order_by(Meeting.date, Meeting.id)))
            for m in rows:
                list(m.dissents)
            return rows

    def add_dissent(
        self,
        meeting_id: int,
        topic: str,
        positions: list[dict],
        resolution: str = "",
        settled: bool = False,
    ) -> Dissent:
        """Log a disagreement: the positions (``{"who", "position"}``) and its settlement."""
        if not topic.strip():
            raise InvalidInput("a dissent needs a topic")
        for p in positions:
            if not str(p.get("who", "")).strip() or not str(p.get("position", "")).strip():
                raise InvalidInput("each position needs 'who' and 'position'")
        with self.session(write=False) as s:
            if s.get(Meeting, meeting_id) is None:
                raise NotFound(f"no meeting {meeting_id}")
        return self._add(
            Dissent(
                meeting_id=meeting_id,
                topic=topic,
                positions=list(positions),
                resolution=resolution,
                settled=settled,
            ),
            "dissent",
            "dissent could not be stored",
        )

    def settle_dissent(self, dissent_id: int, resolution: str, settled: bool = True) -> Dissent:
        """Record how a dissent was settled (or reopen it with ``settled=False``)."""
        with self.session() as s:
            d = s.get(Dissent, dissent_id)
            if d is None:
                raise NotFound(f"no dissent {dissent_id}")
            before = events.snapshot(d)
            d.resolution, d.settled = resolution, settled
            events.log(
                s,
                self.actor,
                "settle" if settled else "reopen",
                "dissent",
                d.id,
                before=before,
                after=events.snapshot(d),
            )
            return d

    # -- tensions -------------------------------------------------------------------

    def add_tension(
        self,
        name: str,
        pole_a: str,
        pole_b: str,
        *,
        code: str | None = None,
        description: str = "",
        subthemes: Iterable[str] = (),
        proposer: str = "",
        status: str = "candidate",
    ) -> TensionRow:
        """Name a tension between two poles (status candidate, agreed or parked)."""
        self._check_tension(name, pole_a, pole_b, status)
        with self.session() as s:
            taken = _codes_in_use(s)
            if code is None:
                n = s.scalar(select(func.count(TensionRow.id))) or 0
                while f"T{n + 1}" in taken:
                    n += 1
                code = f"T{n + 1}"
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,19}", code):
                raise InvalidInput(f"a tension code is a short word like T1 (got {code!r})")
            if s.scalars(select(TensionRow.id).where(TensionRow.code == code)).first():
                raise InvalidInput(f"tension {code} already exists")
            if code in taken:
                raise InvalidInput(
                    f"tension code {code} is already used by a framework version or a "
                    "workshop's decisions (and so by the lineage): choose another code"
                )
            now = events.utcnow()
            row = TensionRow(
                code=code,
                name=name.strip(),
                pole_a=pole_a.strip(),
                pole_b=pole_b.strip(),
                description=description,
                subthemes=[t.strip() for t in subthemes if t.strip()],
                proposer=proposer,
                status=status,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
            s.flush()
            events.log(s, self.actor, "create", "tension", row.id, after=events.snapshot(row))
            return row

    def update_tension(self, ref: int | str, **changes) -> TensionRow:
        """Edit a tension's name, poles, description, sub-themes, proposer or status."""
        unknown = set(changes) - set(_TENSION_FIELDS)
        if unknown:
            raise InvalidInput(f"unknown tension field(s) {sorted(unknown)}")
        with self.session() as s:
            row = self._tension(s, ref)
            before = events.snapshot(row)
            merged = {f: changes.get(f, getattr(row, f)) for f in _TENSION_FIELDS}
            self._check_tension(
                merged["name"], merged["pole_a"], merged["pole_b"], merged["status"]
            )
            for key, value in changes.items():
                if key == "subthemes":
                    value = [t.strip() for t in value if t.strip()]
                elif isinstance(value, str):
                    value = value.strip()
                setattr(row, key, value)
            row.updated_at = events.utcnow()
            events.log(
                s,
                self.actor,
                "update",
                "tension",
                row.id,
                before=before,
                after=events.snapshot(row),
            )
            return row

    def tensions(self, status: str | None = None) -> list[TensionRow]:
        """The working set of tensions, in code order."""
        with self.session(write=False) as s:
            q = select(TensionRow)
            if status is not None:
                q = q.where(TensionRow.status == status)
            return sorted(s.scalars(q), key=lambda t: _code_key(t.code))

    def tension(self, ref: int | str) -> TensionRow:
        """A tension by id, code or name."""
        with self.session(write=False) as s:
            return self._tension(s, ref)

    # -- evidence and links -------------------------------------------------------------

    def attach_evidence(
        self, tension: int | str, *, notes: Iterable[int] = (), excerpts: Iterable[int] = ()
    ) -> int:
        """Attach notes and excerpts to a tension as evidence; returns how many were new.

        Notes can only be used once step 1 is closed (until then they are private).
        """
        notes, excerpts = list(dict.fromkeys(notes)), list(dict.fromkeys(excerpts))
        with self.session() as s:
            row = self._tension(s, tension)
            if notes and not self._step_closed(s):
                raise Forbidden("notes become evidence only after the lead closes step 1")
            have = {
                (e.note_id, e.excerpt_id)
                for e in s.scalars(
                    select(TensionEvidence).where(TensionEvidence.tension_id == row.id)
                )
            }
            added = []
            for nid in notes:
                if s.get(Note, nid) is None:
                    raise NotFound(f"no note {nid}")
                if (nid, None) not in have:
                    added.append(
                        TensionEvidence(
                            tension_id=row.id,
                            note_id=nid,
                            added_by=self.actor,
                            added_at=events.utcnow(),
                        )
                    )
            for eid in excerpts:
                if s.get(Excerpt, eid) is None:
                    raise NotFound(f"no excerpt {eid}")
                if (None, eid) not in have:
                    added.append(
                        TensionEvidence(
                            tension_id=row.id,
                            excerpt_id=eid,
                            added_by=self.actor,
                            added_at=events.utcnow(),
                        )
                    )
            s.add_all(added)
            s.flush()
            if added:
                events.log(
                    s,
                    self.actor,
                    "attach",
                    "tension",
                    row.id,
                    after={
                        "notes": [e.note_id for e in added if e.note_id],
                        "excerpts": [e.excerpt_id for e in added if e.excerpt_id],
                    },
                )
            return len(added)

    def detach_evidence(
        self, tension: int | str, *, notes: Iterable[int] = (), excerpts: Iterable[int] = ()
    ) -> int:
        """Remove evidence from a tension; returns how many items were removed."""
        notes, excerpts = set(notes), set(excerpts)
        with self.session() as s:
            row = self._tension(s, tension)
            gone = [
                e
                for e in s.scalars(
                    select(TensionEvidence).where(TensionEvidence.tension_id == row.id)
                )
                if e.note_id in notes or e.excerpt_id in excerpts
            ]
            for e in gone:
                s.delete(e)
            if gone:
                events.log(
                    s,
                    self.actor,
                    "detach",
                    "tension",
                    row.id,
                    before={
                        "notes": [e.note_id for e in gone if e.note_id],
                        "excerpts": [e.excerpt_id for e in gone if e.excerpt_id],
                    },
                )
            return len(gone)

    def evidence(self, tension: int | str | None = None) -> list[TensionEvidence]:
        """Evidence items (of one tension, or all)."""
        with self.session(write=False) as s:
            q = select(TensionEvidence)
            if tension is not None:
                q = q.where(TensionEvidence.tension_id == self._tension(s, tension).id)
            return list(s.scalars(q.order_by(TensionEvidence.id)))

    def link_tensions(self, source: int | str, target: int | str, kind: str) -> TensionLink:
        """A typed link between two tensions: relates to, contradicts or part of."""
        if kind not in LINK_KINDS:
            raise InvalidInput(f"a link is one of {', '.join(LINK_KINDS)} (got {kind!r})")
        with self.session(write=False) as s:
            a, b = self._tension(s, source), self._tension(s, target)
        if a.id == b.id:
            raise InvalidInput("a tension cannot be linked to itself")
        try:
            return self._add(
                TensionLink(source_id=a.id, target_id=b.id, kind=kind),
                "tension_link",
                f"{a.code} already {kind} {b.code}",
            )
        except IntegrityError as exc:  # pragma: no cover - _add converts it already
            raise InvalidInput(str(exc)) from exc

    def tension_links(self) -> list[tuple[str, str, str]]:
        """(source code, kind, target code) for every link."""
        with self.session(write=False) as s:
            codes = dict(s.execute(select(TensionRow.id, TensionRow.code)).all())
            return [
                (codes[link.source_id], link.kind, codes[link.target_id])
                for link in s.scalars(select(TensionLink).order_by(TensionLink.id))
            ]

    # -- frameworks -----------------------------------------------------------------------

    def freeze_framework(self, label: str = "", *, by: int | str | None = None) -> FrameworkVersion:
        """Snapshot the agreed tensions as the next framework version.

        The snapshot carries each tension's evidence ids and links; it can never be
        changed afterwards (the database refuses updates to frozen versions). Like
        closing step 1, agreeing a framework is the study lead's act, and it comes after
        step 1: every freeze (v1, and any later one from the tension board) is refused
        while step 1 is open.

        Raises
        ------
        OutOfOrder
            Step 1 (individual recall) is still open.
        Forbidden
            The person working is not the study lead (or ``by`` names someone else).
        """
        with self.session() as s:
            who = access.require_lead(self, s, "freeze a framework", by)
            if not self._step_closed(s):
                raise OutOfOrder(STEP_1_OPEN)
            rows = sorted(
                s.scalars(select(TensionRow).where(TensionRow.status == "agreed")),
                key=lambda t: _code_key(t.code),
            )
            if not rows:
                raise InvalidInput("no agreed tension to freeze (mark tensions as agreed first)")
            ev: dict[int, dict] = {r.id: {"notes": [], "excerpts": []} for r in rows}
            for e in s.scalars(select(TensionEvidence)):
                if e.tension_id in ev:
                    ev[e.tension_id]["notes" if e.note_id else "excerpts"].append(
                        e.note_id or e.excerpt_id
                    )
            codes = dict(s.execute(select(TensionRow.id, TensionRow.code)).all())
            links = [
                {"source": codes[k.source_id], "kind": k.kind, "target": codes[k.target_id]}
                for k in s.scalars(select(TensionLink))
            ]
            version = (s.scalar(select(func.max(FrameworkVersion.version))) or 0) + 1
            snapshot = [tension_of(r, ev[r.id]).to_dict() for r in rows]
            fv = FrameworkVersion(
                version=version,
                label=label or f"v{version}",
                frozen_at=events.utcnow(),
                frozen_by=who.name,
                tensions=snapshot + ([{"links": links}] if links else []),
            )
            s.add(fv)
            s.flush()
            events.log(
                s,
                self.actor,
                "freeze",
                "framework",
                fv.id,
                after={
                    "version": version,
                    "tensions": [r.code for r in rows],
                    "digest": tensions_digest(fv.tensions),  # what `coprod-nb check` compares
                },
            )
            return fv

    def framework_versions(self) -> list[FrameworkVersion]:
        """Every frozen framework version, oldest first."""
        with self.session(write=False) as s:
            return list(s.scalars(select(FrameworkVersion).order_by(FrameworkVersion.version)))

    def framework(self, version: int | None = None) -> Framework:
        """A frozen version as a :class:`Framework` (the newest when ``version`` is None)."""
        versions = self.framework_versions()
        if not versions:
            raise NotFound("no framework has been frozen yet")
        fv = (
            versions[-1]
            if version is None
            else next((v for v in versions if v.version == version), None)
        )
        if fv is None:
            raise NotFound(f"no framework version {version}")
        tensions = tuple(Tension.from_dict(t) for t in fv.tensions if "code" in t)
        return Framework(tensions, version=fv.version, label=fv.label)

    def frozen_links(self, version: int | None = None) -> list[dict]:
        """The links stored with a frozen version."""
        fv = self.framework_versions()
        chosen = fv[-1] if version is None else next(v for v in fv if v.version == version)
        return next((t["links"] for t in chosen.tensions if "links" in t), [])

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _check_tension(name: str, pole_a: str, pole_b: str, status: str) -> None:
        if not name.strip():
            raise InvalidInput("a tension needs a name")
        if not pole_a.strip() or not pole_b.strip():
            raise InvalidInput("a tension needs two poles")
        if status not in TENSION_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(TENSION_STATUSES)}")

    def _tension(self, s: Session, ref: int | str) -> TensionRow:
        return self._find(s, TensionRow, ref, ("code", "name"), "tension")


def _codes_in_use(s: Session) -> set[str]:
    """Every tension code the record uses: the working set, every frozen version (codes
    and origins), and every decision (targets, new codes, split parts, fold targets).

    A new tension takes none of these, so that a code in the decision log or the lineage
    always means one tension.
    """
    codes = set(s.scalars(select(TensionRow.code)))
    for tensions in s.scalars(select(FrameworkVersion.tensions)):
        for t in tensions or ():
            if isinstance(t, dict):
                codes.update(c for c in [t.get("code"), *(t.get("origin") or ())] if c)
    for payload in s.scalars(select(DecisionRow.payload)):
        codes |= decision_codes(Decision.from_dict(payload))
    return codes


def _code_key(code: str) -> tuple:
    m = re.fullmatch(r"([A-Za-z_.-]*)(\d+)", code)
    return (m.group(1), int(m.group(2))) if m else (code, 0)
