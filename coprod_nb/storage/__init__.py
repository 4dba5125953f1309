"""Storage: SQLAlchemy tables, the study store, the event log and migrations."""

from coprod_nb.storage.database import head_revision, make_engine
from coprod_nb.storage.events import HistoryEntry
from coprod_nb.storage.search import SearchHit
from coprod_nb.storage.store import Store, default_actor

__all__ = ["HistoryEntry", "SearchHit", "Store", "default_actor", "head_revision", "make_engine"]
