"""Acting as a researcher in tests: ``as_(store, "Alder").close_recall()``.

The access policy (coprod_nb/storage/access.py) gives the person working their own view,
and the lead's acts to the lead only; a test that plays several researchers on one SQLite
study declares who is working for each call. ``as_(store, name)`` is the store, with every
method call made as ``name`` (a login or a researcher's name); ``as_lead(store)`` as the
study lead. Passed where a store is expected (an analysis function, an export), the
whole call runs as that researcher.
"""

from __future__ import annotations

from typing import Any

__all__ = ["as_", "as_lead"]


class _Acting:
    def __init__(self, store: Any, who: str | None):
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_who", who)

    def _name(self) -> str:
        who = self._who
        if isinstance(who, int) or (isinstance(who, str) and who.isdigit()):
            found = self._store.researcher(int(who))
            return found.login or found.name
        if who is not None:
            return who
        lead = next((r for r in self._store.researchers() if r.lead), None)
        assert lead is not None, "the study has no lead"
        return lead.login or lead.name

    @property
    def actor(self) -> str:
        return self._name()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr) or name == "session":
            return attr
        store, who = self._store, self._name()

        def call(*args, **kwargs):
            before = store._actor
            store._actor = who
            try:
                return attr(*args, **kwargs)
            finally:
                store._actor = before

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._store, name, value)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def as_(store: Any, who: str) -> Any:
    """``store``, with every call made as ``who``."""
    return _Acting(store, who)


def as_lead(store: Any) -> Any:
    """``store``, with every call made as the study lead."""
    return _Acting(store, None)


def all_excerpts(store: Any) -> list:
    """Every excerpt of the study, read past the access policy (a test's oracle)."""
    from sqlalchemy import select

    from coprod_nb.storage.models import Excerpt

    with store.session(write=False) as s:
        return list(s.scalars(select(Excerpt).order_by(Excerpt.transcript_id, Excerpt.start)))
