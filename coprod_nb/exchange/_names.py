"""Real names typed by the team, taken out of what leaves the study."""

from __future__ import annotations

from collections.abc import Callable

from coprod_nb.domain.pseudonyms import name_scrubber
from coprod_nb.errors import Forbidden

UNCHECKED = (
    "Real names typed by the team (notes, tension texts) were not checked: this database "
    "role may not read the name key; ask the study lead to make the export."
)


def typed_name_scrubber(store) -> tuple[Callable[[str], tuple[str, int]], bool]:
    """The key's full-name scrubber, and whether the key could be read.

    A researcher's PostgreSQL role may be refused the key: the export is then made
    without the check (and says so) rather than not at all.
    """
    try:
        mapping = store.pseudonym_key().mapping
    except Forbidden:
        return name_scrubber({}), False
    return name_scrubber(mapping), True
