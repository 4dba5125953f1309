"""Storage: SQLAlchemy tables, the study store, the event log and migrations.

The names below load on first use, so that a module of the package (the search of
``coprod-nb search``, the database helpers) can be imported without the ORM models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coprod_nb._lazy import lazy_names

if TYPE_CHECKING:
    from coprod_nb.storage.database import head_revision, make_engine
    from coprod_nb.storage.events import HistoryEntry
    from coprod_nb.storage.search import SearchHit
    from coprod_nb.storage.store import Store, default_actor

_LAZY = {
    "HistoryEntry": "coprod_nb.storage.events",
    "SearchHit": "coprod_nb.storage.search",
    "Store": "coprod_nb.storage.store",
    "default_actor": "coprod_nb.storage.store",
    "head_revision": "coprod_nb.storage.database",
    "make_engine": "coprod_nb.storage.database",
}

__all__ = ["HistoryEntry", "SearchHit", "Store", "default_actor", "head_revision", "make_engine"]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
