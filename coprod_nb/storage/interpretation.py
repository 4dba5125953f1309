"""Step 2 in the store: meetings and dissents, tensions, evidence, links, frozen frameworks.

While step 1 is open the board may already hold tensions (a .qdpx project's board or a
manifest carried over, or candidates drafted from the literature by the lead): what stays
closed until the lead closes step 1 is what would break the blind readings, namely notes as
evidence (:meth:`attach_evidence`) and freezing a framework (:meth:`freeze_framework`,
which the method puts after the individual readings). Refusing every board write before closure was
considered and left out: an imported project's tensions arrive before its lead can close
step 1 in the new study.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coprod_nb.domain.decisions import Decision, decision_codes
from coprod_nb.domain.framework import LINK_KINDS, TENSION_STATUSES, Framework, Tension
from coprod_nb.domain.wording import plural
from coprod_nb.errors import Forbidden, InvalidInput, NotFound, OutOfOrder
from coprod_nb.storage import access, events
from coprod_nb.storage.integrity import tensions_digest
from coprod_nb.storage.models import (
    DecisionRow,
    Dissent,
    Event,
    Excerpt,
    FrameworkVersion,
    Meeting,
    Note,
    Partnership,
    Researcher,
    TensionEvidence,
    TensionLink,
    TensionRow,
    Transcript,
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


class NoteLine(NamedTuple):
    """A note as the tension board lists it: no Note object, no excerpts."""

    id: int
    researcher: str
    partnership: str
    category: str
    text: str
    deleted: bool


class ExcerptLine(NamedTuple):
    """An excerpt as the tension board lists it, with its transcript's title and partnership."""

    id: int
    transcript: str
    partnership: str | None
    text: str


class Listing(NamedTuple):
    """The first ``limit`` rows of a list and how many rows the whole list has."""

    rows: list
    total: int


class InterpretationRepository:
    """Mixed into :class:`~coprod_nb.storage.Store`."""

    # -- what the tension board lists -------------------------------------------------

    def note_lines(
        self,
        viewer: int | str | None = None,
        *,
        researcher: int | str | None = None,
        partnership: int | str | None = None,
        category: str | None = None,
        ids: Iterable[int] | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
    ) -> Listing:
        """The notes :meth:`notes` returns, as :class:`NoteLine` rows: the first ``limit``
        of them (in the order of :meth:`notes`) and how many there are.

        Plain columns and one count, so a board on a study of 20,000 notes builds no
        Note objects (docs/performance.md). Blinding and refusals are those of
        :meth:`notes` (the access policy); ``ids`` keeps only those notes.
        """
        with self.session(write=False) as s:
            me = access.viewer_of(self, s, viewer)
            where = [access.visible_notes(s, me)]
            if researcher is not None:
                author = self._researcher(s, researcher)
                access.require_notes_visible(s, me, author)
                where.append(Note.researcher_id == author.id)
            if partnership is not None:
                pship = self._find(s, Partnership, partnership, ("short", "name"), "partnership")
                where.append(Note.partnership_id == pship.id)
            if category is not None:
                where.append(Note.category == category)
            if ids is not None:
                where.append(Note.id.in_(list(ids)))
            if not include_deleted:
                where.append(Note.deleted_at.is_(None))
            total = s.scalar(select(func.count(Note.id)).where(*where)) or 0
            q = (
                select(
                    Note.id,
                    Researcher.name,
                    Partnership.short,
                    Note.category,
                    Note.text,
                    Note.deleted_at.is_not(None),
                )
                .select_from(Note)
                .join(Researcher, Note.researcher_id == Researcher.id)
                .join(Partnership, Note.partnership_id == Partnership.id)
                .where(*where)
                .order_by(Note.partnership_id, Note.created_at, Note.id)
                .limit(limit)
            )
            return Listing([NoteLine(*r[:5], bool(r[5])) for r in s.execute(q)], int(total))

    def excerpt_lines(
        self,
        viewer: int | str | None = None,
        *,
        partnership: int | str | None = None,
        ids: Iterable[int] | None = None,
        limit: int | None = None,
    ) -> Listing:
        """The excerpts :meth:`excerpts` returns (of one partnership's transcripts, or
        all), as :class:`ExcerptLine` rows: the first ``limit`` and how many there are.

        Blinding is that of :meth:`excerpts` (the access policy).
        """
        with self.session(write=False) as s:
            me = access.viewer_of(self, s, viewer)
            where = [access.visible_excerpts(s, me)]
            if partnership is not None:
                pship = self._find(s, Partnership, partnership, ("short", "name"), "partnership")
                where.append(Transcript.partnership_id == pship.id)
            if ids is not None:
                where.append(Excerpt.id.in_(list(ids)))
            total = s.scalar(
                select(func.count(Excerpt.id))
                .select_from(Excerpt)
                .join(Transcript, Transcript.id == Excerpt.transcript_id)
                .where(*where)
            )
            q = (
                select(Excerpt.id, Transcript.title, Partnership.short, Excerpt.text)
                .select_from(Excerpt)
                .join(Transcript, Transcript.id == Excerpt.transcript_id)
                .outerjoin(Partnership, Partnership.id == Transcript.partnership_id)
                .where(*where)
                .order_by(Excerpt.transcript_id, Excerpt.start)
                .limit(limit)
            )
            return Listing([ExcerptLine(*r) for r in s.execute(q)], int(total or 0))

    def evidence_counts(self) -> dict[int, int]:
        """Evidence items per tension id (tensions without evidence are absent)."""
        with self.session(write=False) as s:
            q = select(TensionEvidence.tension_id, func.count(TensionEvidence.id)).group_by(
                TensionEvidence.tension_id
            )
            return {tid: int(n) for tid, n in s.execute(q)}

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

    def unlink_tensions(self, link_id: int) -> None:
        """Remove one link between tensions (by the link's id), logged as a delete."""
        with self.session() as s:
            link = s.get(TensionLink, link_id)
            if link is None:
                raise NotFound(f"no link {link_id} between tensions")
            before = events.snapshot(link)
            s.delete(link)
            events.log(s, self.actor, "delete", "tension_link", link_id, before=before)

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
            snapshot = [tension_of(r, ev[r.id]).to_dict() for r in rows]
            return add_framework_version(
                s,
                self.actor,
                who,
                snapshot + ([{"links": links}] if links else []),
                label,
            )

    def restore_framework(self, tensions: list[dict], label: str = "") -> FrameworkVersion:
        """Freeze the next framework version exactly as ``tensions`` gives it: the frozen
        version of another study, brought by an import (``finish_qdpx_import``).

        ``tensions`` is a version's stored list (each tension's fields, ``origin`` and
        ``evidence`` with this study's note and excerpt ids, and an optional
        ``{"links": [...]}`` entry), written as it is, so that merges, links and the
        evidence of tensions no longer on the board are kept. The lead's act, after
        step 1, like :meth:`freeze_framework`; logged as a freeze with its digest.

        Raises
        ------
        OutOfOrder
            Step 1 (individual recall) is still open.
        Forbidden
            The person working is not the study lead.
        InvalidInput, NotFound
            A tension without a name, poles or a known status, a code used twice, an
            evidence id that is not in the study.
        """
        items = [t for t in tensions if isinstance(t, dict) and "code" in t]
        codes = [str(t["code"]) for t in items]
        if not items:
            raise InvalidInput("a framework version needs at least one tension")
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise InvalidInput(f"tension code(s) {', '.join(twice)} used twice in one version")
        for t in items:
            self._check_tension(
                str(t.get("name") or ""),
                str(t.get("pole_a") or ""),
                str(t.get("pole_b") or ""),
                str(t.get("status") or ""),
            )
        with self.session() as s:
            who = access.require_lead(self, s, "freeze a framework")
            if not self._step_closed(s):
                raise OutOfOrder(STEP_1_OPEN)
            for t in items:
                ev = t.get("evidence") or {}
                for model, key in ((Note, "notes"), (Excerpt, "excerpts")):
                    for ident in ev.get(key) or ():
                        if s.get(model, ident) is None:
                            raise NotFound(f"tension {t['code']}: no {key[:-1]} {ident}")
            return add_framework_version(
                s, self.actor, who, [dict(t) for t in tensions], label, restored=True
            )

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


def add_framework_version(
    s: Session,
    actor: str,
    who: Researcher,
    tensions: list[dict],
    label: str = "",
    *,
    default: str = "",
    **detail,
) -> FrameworkVersion:
    """Write the next frozen framework version and its freeze event, with the digest that
    `coprod-nb check` compares (every freeze: the board's, a restored one, a workshop's).

    Without ``label`` the version is labelled ``vN`` followed by ``default``; ``detail``
    goes into the event's ``after`` beside the version, its tension codes and the digest.
    """
    version = (s.scalar(select(func.max(FrameworkVersion.version))) or 0) + 1
    fv = FrameworkVersion(
        version=version,
        label=label or f"v{version}{default}",
        frozen_at=events.utcnow(),
        frozen_by=who.name,
        tensions=tensions,
    )
    s.add(fv)
    s.flush()
    codes = [t["code"] for t in tensions if "code" in t]
    events.log(
        s,
        actor,
        "freeze",
        "framework",
        fv.id,
        after={
            "version": version,
            "tensions": codes,
            **detail,
            "digest": tensions_digest(fv.tensions),
        },
    )
    return fv


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


# -- undo at the tension board ---------------------------------------------------------


@dataclass(frozen=True)
class BoardChange:
    """One change made at a tension board, with what undoing it writes back."""

    kind: str  # "tension" (fields saved), "attach", "detach" or "link"
    tension_id: int
    code: str
    event_id: int  # the event the change logged: later events decide whether it can be undone
    before: dict = field(default_factory=dict)  # "tension": the fields as they were
    notes: tuple[int, ...] = ()
    excerpts: tuple[int, ...] = ()
    link_id: int | None = None

    def describe(self) -> str:
        """The change in words (as the undo status names it)."""
        if self.kind == "tension":
            return f"the edit of {self.code}"
        if self.kind == "link":
            return f"the link {self.before.get('link', '')}".rstrip()
        items = [plural(len(self.notes), "note")] if self.notes else []
        items += [plural(len(self.excerpts), "excerpt")] if self.excerpts else []
        verb = "attached to" if self.kind == "attach" else "detached from"
        return f"{' and '.join(items)} {verb} {self.code}"


class BoardUndo:
    """The changes made at one tension board since it opened, undone newest first.

    Each edit goes through the store's own write functions (:meth:`save_tension`,
    :meth:`attach`, :meth:`detach`, :meth:`link`) and is remembered; :meth:`undo`
    writes the previous state back through the same functions, as the person working,
    so authority and the event log are those of any edit. A change is no longer undone
    (:class:`~coprod_nb.errors.OutOfOrder`, nothing written) once a framework was agreed
    or a workshop recorded after it (they hold it), or when someone else changed the
    tension (or the link) since. Creating a tension is not undone (park it instead).
    """

    def __init__(self, store):
        self.store = store
        self._changes: list[BoardChange] = []
        self._mine: set[int] = set()  # events written here, undos included

    @property
    def changes(self) -> tuple[BoardChange, ...]:
        """The changes that may still be undone, oldest first."""
        return tuple(self._changes)

    # -- edits ---------------------------------------------------------------------

    def save_tension(self, ref: int | str | None, *, code: str | None = None, **fields):
        """Add a tension (``ref`` None) or update one; an update is remembered."""
        if ref is None:
            return self.store.add_tension(code=code, **fields)
        old = self.store.tension(ref)
        before = {f: getattr(old, f) for f in _TENSION_FIELDS}
        row = self.store.update_tension(old.id, **fields)
        self._remember("tension", row.id, row.code, "tension", row.id, before=before)
        return row

    def attach(self, tension: int | str, *, notes=(), excerpts=()) -> int:
        """:meth:`Store.attach_evidence`, remembering the items that were new."""
        return self._evidence_edit("attach", tension, notes, excerpts)

    def detach(self, tension: int | str, *, notes=(), excerpts=()) -> int:
        """:meth:`Store.detach_evidence`, remembering the items that were removed."""
        return self._evidence_edit("detach", tension, notes, excerpts)

    def _evidence_edit(self, kind: str, tension: int | str, notes, excerpts) -> int:
        t = self.store.tension(tension)
        had = self._evidence(t.id)
        write = self.store.attach_evidence if kind == "attach" else self.store.detach_evidence
        changed = write(t.id, notes=notes, excerpts=excerpts)
        if changed:
            # the items this edit added (attach) or took away (detach)
            moved_notes, moved_excerpts = (
                now ^ old for now, old in zip(self._evidence(t.id), had, strict=True)
            )
            self._remember(
                kind, t.id, t.code, "tension", t.id, notes=moved_notes, excerpts=moved_excerpts
            )
        return changed

    def link(self, source: int | str, target: int | str, kind: str) -> TensionLink:
        """:meth:`Store.link_tensions`, remembered."""
        row = self.store.link_tensions(source, target, kind)
        a, b = self.store.tension(row.source_id), self.store.tension(row.target_id)
        words = {"link": f"{a.code} {kind} {b.code}"}
        self._remember("link", a.id, a.code, "tension_link", row.id, before=words, link_id=row.id)
        return row

    # -- undo ----------------------------------------------------------------------

    def undo(self) -> str:
        """Undo the newest change still remembered; returns what was undone, in words.

        Raises
        ------
        InvalidInput
            Nothing is left to undo.
        OutOfOrder
            The change can no longer be undone (the message says why); nothing changes.
        """
        if not self._changes:
            raise InvalidInput("nothing to undo: no change was made at this board since it opened")
        change = self._changes[-1]
        self._check(change)
        store = self.store
        if change.kind == "tension":
            store.update_tension(change.tension_id, **change.before)
            self._mine.add(self._last_event("tension", change.tension_id))
        elif change.kind == "attach":
            store.detach_evidence(change.tension_id, notes=change.notes, excerpts=change.excerpts)
            self._mine.add(self._last_event("tension", change.tension_id))
        elif change.kind == "detach":
            store.attach_evidence(change.tension_id, notes=change.notes, excerpts=change.excerpts)
            self._mine.add(self._last_event("tension", change.tension_id))
        else:
            store.unlink_tensions(change.link_id)
            self._mine.add(self._last_event("tension_link", change.link_id))
        self._changes.pop()
        return change.describe()

    def _check(self, change: BoardChange) -> None:
        what = change.describe()
        with self.store.session(write=False) as s:
            later = select(Event).where(Event.id > change.event_id).order_by(Event.id)
            frozen = s.scalars(
                later.where(Event.object_type == "framework", Event.action == "freeze")
            ).first()
            if frozen is not None:
                version = (frozen.after or {}).get("version", "")
                raise OutOfOrder(
                    f"{what} can no longer be undone: framework v{version} was agreed after "
                    "it and holds it (edit the tension instead)"
                )
            workshop = s.scalars(
                later.where(Event.object_type == "workshop", Event.action == "create")
            ).first()
            if workshop is not None:
                raise OutOfOrder(
                    f"{what} can no longer be undone: step 2 is over, a workshop was recorded "
                    "after it (its decisions change the tensions now)"
                )
            kind, oid = (
                ("tension_link", change.link_id)
                if change.kind == "link"
                else ("tension", change.tension_id)
            )
            others = [
                e
                for e in s.scalars(later.where(Event.object_type == kind, Event.object_id == oid))
                if e.id not in self._mine
            ]
            if others:
                who = others[-1].actor
                found = s.scalars(
                    select(Researcher.name).where(func.lower(Researcher.login) == who.casefold())
                ).first()
                raise OutOfOrder(
                    f"{what} can no longer be undone: {found or who} changed "
                    f"{change.code if kind == 'tension' else 'the link'} since "
                    f"({others[-1].action} at {others[-1].at:%Y-%m-%d %H:%M})"
                )
            if change.kind == "link" and s.get(TensionLink, change.link_id) is None:
                raise OutOfOrder(f"{what} can no longer be undone: the link is gone")

    def _remember(self, kind, tension_id, code, object_type, object_id, **parts) -> None:
        event_id = self._last_event(object_type, object_id)
        self._mine.add(event_id)
        for key in ("notes", "excerpts"):
            if key in parts:
                parts[key] = tuple(sorted(parts[key]))
        self._changes.append(BoardChange(kind, tension_id, code, event_id, **parts))

    def _last_event(self, object_type: str, object_id: int) -> int:
        with self.store.session(write=False) as s:
            q = select(func.max(Event.id)).where(
                Event.object_type == object_type, Event.object_id == object_id
            )
            return s.scalar(q) or 0

    def _evidence(self, tension_id: int) -> tuple[set[int], set[int]]:
        items = self.store.evidence(tension_id)
        return {e.note_id for e in items if e.note_id}, {
            e.excerpt_id for e in items if e.excerpt_id
        }
