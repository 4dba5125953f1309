"""A decision log written by SQLAlchemy Core writes what one ORM object per row wrote.

The oracle is the version it replaced, kept here (``OrmStore._record_all``). Both
record the same log on two copies of the same study, under the same fictional clock;
the decision and event tables must be equal row for row. No timing is asserted.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import date, datetime

import pytest

from coprod_nb.domain.decisions import Decision, check_decisions, replay
from coprod_nb.domain.framework import Tension
from coprod_nb.storage import Store, events
from coprod_nb.storage.models import DecisionRow
from tests.acting import as_lead

CLOCK = datetime(2031, 3, 4, 10)


class OrmStore(Store):
    """The store with the ORM ``_record_all`` that the Core writes replaced."""

    def _record_all(self, s, ws, decisions):
        rows = self._rows(s, ws.id)
        seq = max((r.seq for r in rows), default=0)
        named = [d if d.ref else replace(d, ref=f"D{seq + i}") for i, d in enumerate(decisions, 1)]
        current = replay(
            self._frozen_framework(s, ws.base_version),
            [
                Decision.from_dict({**r.payload, "reverted": r.reverted_at is not None})
                for r in rows
            ],
        )
        check_decisions(current, named, taken_refs=[r.ref for r in rows])
        now = events.utcnow()
        out = [
            DecisionRow(
                workshop_id=ws.id,
                seq=seq + i,
                ref=decision.ref,
                kind=decision.kind,
                payload=replace(decision, reverted=False).to_dict(),
                recorded_by=self.actor,
                recorded_at=now,
                reverted_at=now if decision.reverted else None,
            )
            for i, decision in enumerate(named, 1)
        ]
        s.add_all(out)
        s.flush()
        for decision, row in zip(named, out, strict=True):
            events.log(
                s, self.actor, "decide", "decision", row.id, after=row.payload,
                detail=decision.summary(),
            )  # fmt: skip
            if decision.reverted:
                why = "reverted in the decision log"
                events.log(s, self.actor, "revert", "decision", row.id, detail=why)
        return [(row.id, row.ref) for row in out]


def a_log(codes: list[str]) -> list[Decision]:
    """Every kind of decision on a framework of ``codes`` (at least three), one reverted."""
    a, b, c = codes[:3]
    parts = (Tension("S1", "part one", "x", "y"), Tension("S2", "part two", "x", "y"))
    return [
        Decision("keep", targets=(a,), rationale="named most"),
        Decision("rename", targets=(b,), name="A new name", rationale="clearer"),
        Decision("add", code="N1", name="Added", pole_a="p", pole_b="q", rationale="new"),
        Decision("drop", targets=(c,), rationale="no one", reverted=True),
        Decision("reword", targets=(a,), pole_a="first pole", rationale="wording"),
        Decision("subthemes", targets=("N1",), subthemes=("s", "t"), rationale="detail"),
        Decision("split", targets=(c,), parts=parts, rationale="two things"),
        Decision("fold", targets=("S2",), into=a, rationale="the same"),
        Decision(
            "merge",
            targets=(b, "N1"),
            code="M1",
            name="Merged",
            pole_a="p",
            pole_b="q",
            rationale="together",
        ),
    ]


def dump(db) -> dict:
    with closing(sqlite3.connect(db)) as con:
        return {
            t: con.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
            for t in ("decision", "event")
        }


def both_ways(template, tmp_path, record):
    out = []
    for cls, name in ((OrmStore, "orm"), (Store, "core")):
        shutil.copytree(template, tmp_path / name)
        store = cls(tmp_path / name, actor="tester")
        with events.fictional_clock(CLOCK):
            ws = as_lead(store).add_workshop(date(2031, 3, 4), base_version=1)
            result = record(as_lead(store), ws.id, a_log(store.framework(1).codes))
        final = store.current_framework(ws.id).codes
        store.close()
        out.append((dump(tmp_path / name / "study.db"), result, final))
    return out


@pytest.mark.parametrize("study", ["demo", "second"])
def test_a_log_is_written_as_the_orm_wrote_it(study, tmp_path, joint_template, second_templates):
    template = joint_template if study == "demo" else second_templates("joint")
    (orm, orm_refs, orm_final), (core, core_refs, core_final) = both_ways(
        template, tmp_path, lambda st, ws, log: st.record_decisions(ws, log)
    )
    assert core == orm
    assert core_refs == orm_refs == [f"D{i}" for i in range(1, 10)]
    assert core_final == orm_final and "M1" in core_final
    new = [e for e in core["event"] if e[4] == "decision"]
    assert [e[3] for e in new] == ["decide"] * 4 + ["revert"] + ["decide"] * 5


def test_one_decision_at_a_time_is_written_alike(tmp_path, second_templates):
    def one_by_one(st, ws, log):
        return [
            (r.id, r.ref, r.seq, r.reverted_at) for r in (st.record_decision(ws, d) for d in log)
        ]

    (orm, orm_rows, _), (core, core_rows, _) = both_ways(
        second_templates("workshop"), tmp_path, one_by_one
    )
    assert core == orm and core_rows == orm_rows
    assert [r[2] for r in core_rows] == list(range(1, 10))
