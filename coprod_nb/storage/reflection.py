"""After the workshop in the store: the reflective questions worksheet.

Each partnership answers the six reflective questions (one answer per topic); every
change is logged with the answer before and after, like any other change.
"""

from __future__ import annotations

from sqlalchemy import select

from coprod_nb.domain.reflection import check_topic
from coprod_nb.errors import InvalidInput
from coprod_nb.storage import events
from coprod_nb.storage.models import Partnership, ReflectiveAnswer


class ReflectionRepository:
    """Mixed into :class:`~coprod_nb.storage.Store`."""

    def set_answer(
        self, partnership: int | str, topic: int, answer: str
    ) -> ReflectiveAnswer | None:
        """Record (or replace) a partnership's answer to reflective question ``topic`` (1-6).

        An empty answer clears a stored one. Saving the same text again, or an empty
        answer where there is none, writes nothing (and returns the row, or None).
        """
        try:
            number = check_topic(topic)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
        text = str(answer or "").strip()
        with self.session() as s:
            pship = self._find(s, Partnership, partnership, ("short", "name"), "partnership")
            row = s.scalars(
                select(ReflectiveAnswer).where(
                    ReflectiveAnswer.partnership_id == pship.id, ReflectiveAnswer.topic == number
                )
            ).first()
            if (row.answer if row is not None else "") == text:
                return row  # nothing changed: no event, so the log only holds real changes
            before = events.snapshot(row) if row is not None else None
            if row is None:
                row = ReflectiveAnswer(partnership_id=pship.id, topic=number)
                s.add(row)
            row.answer, row.answered_by, row.updated_at = text, self.actor, events.utcnow()
            s.flush()
            events.log(
                s,
                self.actor,
                "answer",
                "reflective_answer",
                row.id,
                before=before,
                after=events.snapshot(row),
                detail=f"{pship.short}, topic {number}",
            )
            return row

    def answers(self, partnership: int | str | None = None) -> list[ReflectiveAnswer]:
        """Worksheet answers (of one partnership, or all), by partnership short name and topic."""
        with self.session(write=False) as s:
            q = select(ReflectiveAnswer).join(
                Partnership, ReflectiveAnswer.partnership_id == Partnership.id
            )
            if partnership is not None:
                pship = self._find(s, Partnership, partnership, ("short", "name"), "partnership")
                q = q.where(ReflectiveAnswer.partnership_id == pship.id)
            return list(s.scalars(q.order_by(Partnership.short, ReflectiveAnswer.topic)))
