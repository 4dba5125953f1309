"""A codebook brought from other QDA tools, in the store (tables of migration 0009).

Codes (with their hierarchy and colours), codings (a code on a span of a transcript's
canonical text, in code points, or on a whole transcript, by a coder), sets, memos,
source variables and the project's users. Who may read and write them is decided in
:mod:`coprod_nb.storage.access` (:func:`~coprod_nb.storage.access.visible_codebook`,
:func:`~coprod_nb.storage.access.require_team`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import inspect, select

from coprod_nb.errors import InvalidInput, NotFound
from coprod_nb.storage import access, events
from coprod_nb.storage.models import (
    QdaCode,
    QdaCoding,
    QdaMemo,
    QdaSet,
    QdaSetMember,
    QdaUser,
    QdaVariable,
    QdaVariableValue,
    Researcher,
    Transcript,
)

MEMO_KINDS = ("project", "source", "selection", "code")
VARIABLE_TYPES = ("Text", "Boolean", "Integer", "Float", "Date", "DateTime")


def _new_guid() -> str:
    return str(uuid.uuid4())


_TABLES = (
    QdaUser,
    QdaCode,
    QdaCoding,
    QdaSet,
    QdaSetMember,
    QdaMemo,
    QdaVariable,
    QdaVariableValue,
)


class CodebookRepository:
    """Mixed into :class:`~coprod_nb.storage.Store`."""

    def _codebook_tables(self, *, create: bool = False) -> bool:
        """Whether the tables exist. A study stamped while migration 0009 was still an
        empty placeholder has none: it reads as an empty codebook, and its first write
        makes them (as 0009 would have)."""
        if getattr(self, "_qda_ready", False):
            return True
        # Through the store's session: inside a Store.transaction (an import) a
        # connection of its own would wait for the transaction's write lock.
        with self.session(write=create) as s:
            conn = s.connection()
            ready = inspect(conn).has_table("qda_code")
            if not ready and create:
                from coprod_nb.storage.models import Base

                Base.metadata.create_all(
                    conn, tables=[t.__table__ for t in _TABLES], checkfirst=True
                )
                ready = True
        self._qda_ready = ready
        return ready

    # -- reading ----------------------------------------------------------------------

    def codes(self) -> list[QdaCode]:
        """Every code, parents before children, siblings in their stored order."""
        if not self._codebook_tables():
            return []
        with self.session(write=False) as s:
            seen = access.visible_codebook(s, access.acting(self, s))
            q = select(QdaCode).where(seen).order_by(QdaCode.seq, QdaCode.id)
            rows = list(s.scalars(q))
        children: dict[int | None, list[QdaCode]] = {}
        for c in rows:
            children.setdefault(c.parent_id, []).append(c)
        out: list[QdaCode] = []

        def walk(parent: int | None) -> None:
            for c in children.get(parent, []):
                out.append(c)
                walk(c.id)

        walk(None)
        return out

    def code(self, ref: int | str) -> QdaCode:
        """One code, by id, GUID or unique name (:class:`NotFound` when none)."""
        if not self._codebook_tables():
            raise NotFound(f"no code {ref!r}")
        with self.session(write=False) as s:
            return self._code(s, ref)

    def codings(self, code: int | str | None = None, coder: str | None = None) -> list[QdaCoding]:
        """Codings (of one code, and of one coder by user or researcher name), by
        transcript and position; whole-transcript codings first."""
        if not self._codebook_tables():
            return []
        with self.session(write=False) as s:
            q = select(QdaCoding).where(access.visible_codebook(s, access.acting(self, s)))
            if code is not None:
                q = q.where(QdaCoding.code_id == self._code(s, code).id)
            if coder is not None:
                users = self._users_named(s, coder)
                q = q.where(QdaCoding.user_id.in_(users))
            order = (QdaCoding.transcript_id, QdaCoding.start.is_not(None), QdaCoding.start)
            return list(s.scalars(q.order_by(*order, QdaCoding.id)))

    def qda_users(self) -> list[QdaUser]:
        """The users (coders) of the imported projects, with their researcher."""
        if not self._codebook_tables():
            return []
        with self.session(write=False) as s:
            return list(s.scalars(select(QdaUser).order_by(QdaUser.id)))

    def code_sets(self) -> list[tuple[QdaSet, list[str], list[int]]]:
        """Each set with the GUIDs of its member codes and the ids of its transcripts."""
        if not self._codebook_tables():
            return []
        with self.session(write=False) as s:
            out = []
            for st in s.scalars(select(QdaSet).order_by(QdaSet.id)):
                members = list(s.scalars(select(QdaSetMember).where(QdaSetMember.set_id == st.id)))
                codes = [s.get(QdaCode, m.code_id).guid for m in members if m.code_id]
                out.append((st, codes, [m.transcript_id for m in members if m.transcript_id]))
            return out

    def memos(self, kind: str | None = None) -> list[QdaMemo]:
        """Memos (of one kind: project, source, selection or code)."""
        if not self._codebook_tables():
            return []
        with self.session(write=False) as s:
            q = select(QdaMemo).where(access.visible_codebook(s, access.acting(self, s)))
            if kind is not None:
                q = q.where(QdaMemo.kind == kind)
            return list(s.scalars(q.order_by(QdaMemo.id)))

    def variables(self) -> list[QdaVariable]:
        """The variables of sources and cases, with their REFI-QDA types."""
        if not self._codebook_tables():
            return []
        with self.session(write=False) as s:
            return list(s.scalars(select(QdaVariable).order_by(QdaVariable.id)))

    def variable_values(self) -> list[tuple[str, int, Any]]:
        """(variable name, transcript id, value) of every source's variables."""
        if not self._codebook_tables():
            return []
        with self.session(write=False) as s:
            q = (
                select(QdaVariable.name, QdaVariableValue.transcript_id, QdaVariableValue.value)
                .join(QdaVariable, QdaVariable.id == QdaVariableValue.variable_id)
                .order_by(QdaVariableValue.transcript_id, QdaVariable.id)
            )
            return [(name, tid, (value or {}).get("value")) for name, tid, value in s.execute(q)]

    # -- writing ----------------------------------------------------------------------

    def add_code(
        self,
        name: str,
        *,
        parent: int | str | None = None,
        color: str | None = None,
        description: str = "",
    ) -> QdaCode:
        """A new code (under ``parent``, a code's id, GUID or name)."""
        self._codebook_tables(create=True)
        name = str(name or "").strip()
        if not name:
            raise InvalidInput("a code needs a name")
        with self.session() as s:
            access.require_team(self, s, "add a code")
            up = self._code(s, parent) if parent is not None else None
            seq = max([c.seq for c in s.scalars(select(QdaCode))] or [0]) + 1
            code = QdaCode(
                guid=_new_guid(),
                name=name[:300],
                color=color,
                description=description or "",
                codable=True,
                parent_id=up.id if up else None,
                seq=seq,
            )
            s.add(code)
            s.flush()
            events.log(s, self.actor, "create", "qda_code", code.id, after=events.snapshot(code))
            return code

    def add_coding(
        self,
        code: int | str,
        transcript: int | str,
        start: int | None = None,
        end: int | None = None,
    ) -> QdaCoding:
        """Code a span ``[start, end)`` of a transcript's canonical text (code points),
        or the whole transcript (no span). The coder is the person working."""
        self._codebook_tables(create=True)
        tr = self.transcript(transcript)
        if (start is None) != (end is None):
            raise InvalidInput("a coding needs both a start and an end, or neither")
        if start is not None and not 0 <= start < end <= len(tr.text):
            raise InvalidInput(
                f"coding {start}-{end} is outside the transcript (0-{len(tr.text)})",
                file=tr.title,
            )
        with self.session() as s:
            me = access.require_team(self, s, "code a transcript")
            row = QdaCoding(
                guid=_new_guid(),
                code_id=self._code(s, code).id,
                transcript_id=tr.id,
                start=start,
                end=end,
                user_id=self._user_of(s, me).id if me is not None else None,
                created_at=events.utcnow(),
            )
            s.add(row)
            s.flush()
            events.log(s, self.actor, "create", "qda_coding", row.id, after=events.snapshot(row))
            return row

    def import_codebook(self, items: dict[str, list[dict]], *, detail: str = "") -> dict[str, int]:
        """Write what an import read, in one transaction (GUIDs kept; rows whose GUID is
        already stored are left as they are). ``items`` holds lists ``users`` (guid,
        name), ``codes`` (guid, name, color, description, codable, parent guid),
        ``codings`` (guid, code guid, transcript_id, start, end, selection_guid, user
        guid, created_at), ``sets`` (guid, name, description, codes, transcripts),
        ``memos`` (kind, guid, name, text, transcript_id, start, end, selection_guid,
        code guid, note_id, user guid, created_at), ``variables`` (guid, name, type,
        description) and ``values`` (variable name, transcript_id, value).

        Returns the number of rows written per list.
        """
        self._codebook_tables(create=True)
        counts = {k: 0 for k in ("users", "codes", "codings", "sets", "memos", "variables")}
        counts["values"] = 0
        with self.session() as s:
            access.require_team(self, s, "import a codebook", loading=True)
            researchers = {r.name.casefold(): r.id for r in s.scalars(select(Researcher))}
            users = {u.guid: u for u in s.scalars(select(QdaUser))}
            for u in items.get("users", []):
                if u["guid"] in users:
                    continue
                row = QdaUser(
                    guid=u["guid"],
                    name=u["name"][:120],
                    researcher_id=researchers.get(u["name"].casefold()),
                )
                s.add(row)
                users[row.guid] = row
                counts["users"] += 1
            codes = {c.guid: c for c in s.scalars(select(QdaCode))}
            seq = max([c.seq for c in codes.values()] or [0])
            for c in items.get("codes", []):
                if c["guid"] in codes:
                    continue
                seq += 1
                parent = codes.get(c.get("parent") or "")
                row = QdaCode(
                    guid=c["guid"],
                    name=(c.get("name") or "")[:300],
                    color=c.get("color"),
                    description=c.get("description") or "",
                    codable=c.get("codable", True),
                    parent_id=None,
                    seq=seq,
                )
                s.add(row)
                s.flush()
                if parent is not None:
                    row.parent_id = parent.id
                codes[row.guid] = row
                counts["codes"] += 1
            s.flush()

            def user_id(g: str | None) -> int | None:
                u = users.get(g or "")
                return u.id if u is not None else None

            known = set(s.scalars(select(QdaCoding.guid)))
            for k in items.get("codings", []):
                if k["guid"] in known or k["code"] not in codes:
                    continue
                known.add(k["guid"])
                s.add(
                    QdaCoding(
                        guid=k["guid"],
                        code_id=codes[k["code"]].id,
                        transcript_id=k["transcript_id"],
                        start=k.get("start"),
                        end=k.get("end"),
                        selection_guid=k.get("selection_guid"),
                        user_id=user_id(k.get("user")),
                        created_at=k.get("created_at"),
                    )
                )
                counts["codings"] += 1
            have_sets = set(s.scalars(select(QdaSet.guid)))
            for st in items.get("sets", []):
                if st["guid"] in have_sets:
                    continue
                row = QdaSet(guid=st["guid"], name=st["name"][:300], description=st["description"])
                s.add(row)
                s.flush()
                for g in st.get("codes", []):
                    if g in codes:
                        s.add(QdaSetMember(set_id=row.id, code_id=codes[g].id))
                for tid in st.get("transcripts", []):
                    s.add(QdaSetMember(set_id=row.id, transcript_id=tid))
                counts["sets"] += 1
            for m in items.get("memos", []):
                if m["kind"] not in MEMO_KINDS:
                    raise InvalidInput(f"a memo on {m['kind']!r}: not one of {MEMO_KINDS}")
                code = codes.get(m.get("code") or "")
                s.add(
                    QdaMemo(
                        guid=m.get("guid"),
                        kind=m["kind"],
                        name=(m.get("name") or "")[:300],
                        text=m.get("text") or "",
                        transcript_id=m.get("transcript_id"),
                        start=m.get("start"),
                        end=m.get("end"),
                        selection_guid=m.get("selection_guid"),
                        code_id=code.id if code is not None else None,
                        note_id=m.get("note_id"),
                        user_id=user_id(m.get("user")),
                        created_at=m.get("created_at"),
                    )
                )
                counts["memos"] += 1
            variables = {v.name: v for v in s.scalars(select(QdaVariable))}
            for v in items.get("variables", []):
                if v["name"] in variables:
                    continue
                kind = v.get("type") if v.get("type") in VARIABLE_TYPES else "Text"
                row = QdaVariable(
                    guid=v["guid"],
                    name=v["name"][:200],
                    type=kind,
                    description=v.get("description") or "",
                )
                s.add(row)
                variables[row.name] = row
                counts["variables"] += 1
            s.flush()
            for name, tid, value in items.get("values", []):
                s.add(
                    QdaVariableValue(
                        variable_id=variables[name].id, transcript_id=tid, value={"value": value}
                    )
                )
                counts["values"] += 1
            s.flush()
            events.log(
                s,
                self.actor,
                "import",
                "qda_codebook",
                None,
                after=dict(counts),
                detail=detail,
            )
        return counts

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _code(s: Any, ref: int | str | QdaCode) -> QdaCode:
        if isinstance(ref, QdaCode):
            return s.get(QdaCode, ref.id) or ref
        if isinstance(ref, int):
            found = s.get(QdaCode, ref)
            if found is not None:
                return found
            raise NotFound(f"no code {ref}")
        text = str(ref).strip()
        found = s.scalars(select(QdaCode).where(QdaCode.guid == text.lower())).first()
        if found is not None:
            return found
        named = list(s.scalars(select(QdaCode).where(QdaCode.name == text)))
        if len(named) == 1:
            return named[0]
        if named:
            raise InvalidInput(f"{len(named)} codes are called {text!r}; name one by its GUID")
        raise NotFound(f"no code {text!r}")

    @staticmethod
    def _users_named(s: Any, name: str) -> list[int]:
        folded = name.strip().casefold()
        out = []
        for u in s.scalars(select(QdaUser)):
            r = s.get(Researcher, u.researcher_id) if u.researcher_id else None
            names = {u.name.casefold()} | (
                {r.name.casefold(), (r.login or "").casefold()} if r else set()
            )
            if folded in names:
                out.append(u.id)
        return out

    @staticmethod
    def _user_of(s: Any, me: Researcher) -> QdaUser:
        """The acting researcher's user (made on their first coding)."""
        found = s.scalars(
            select(QdaUser).where(QdaUser.researcher_id == me.id).order_by(QdaUser.id)
        ).first()
        if found is None:
            found = QdaUser(guid=_new_guid(), name=me.name, researcher_id=me.id)
            s.add(found)
            s.flush()
        return found


def coding_text(transcript: Transcript, coding: QdaCoding) -> str:
    """The coded words (the whole text for a whole-transcript coding)."""
    if coding.start is None:
        return transcript.text
    return transcript.text[coding.start : coding.end]


def stamp(moment: datetime | None) -> datetime | None:
    """A stored naive-UTC time, to the second."""
    return None if moment is None else moment.replace(microsecond=0)
