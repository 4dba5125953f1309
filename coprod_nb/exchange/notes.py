"""A researcher's step-1 notes as a file (Markdown or CSV): ``coprod-nb notes`` and
:class:`~coprod_nb.widgets.notes_export.MyNotesView` both use this.

- **Blinding** applies (:func:`~coprod_nb.analysis.notes_table` asks the access policy):
  while step 1 is open a researcher gets only their own notes.
- **Pseudonymised** like every export: a real name of the key typed into a note, or in a
  quoted passage, is replaced by its pseudonym (:mod:`coprod_nb.exchange._names`).
- **Markdown** is escaped (:mod:`coprod_nb.domain.markdown`); **CSV** goes through the one
  table writer (:func:`coprod_nb.exchange.tables.table_csv`: every field quoted, the
  formula guard applied).
- Written to a path by the output rule (:mod:`coprod_nb.exchange.outputs`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from coprod_nb.analysis import notes_markdown, notes_table
from coprod_nb.errors import InvalidInput
from coprod_nb.exchange._names import UNCHECKED, typed_name_scrubber
from coprod_nb.exchange.outputs import check_output, write_output
from coprod_nb.exchange.tables import _map_text, table_csv
from coprod_nb.storage import Store

__all__ = ["FORMATS", "NotesFile", "notes_file", "write_notes"]

FORMATS = ("md", "csv")


@dataclass(frozen=True)
class NotesFile:
    """A notes export: its bytes, the notes in it, whose they are, names replaced."""

    data: bytes
    notes: pd.DataFrame
    researcher: str
    names_replaced: int
    names_checked: bool


def notes_file(
    store: Store,
    fmt: str = "md",
    *,
    researcher: str | None = None,
    partnership: str | None = None,
    category: str | None = None,
) -> NotesFile:
    """The notes of ``researcher`` (default: the person working) as ``md`` or ``csv``.

    Raises
    ------
    InvalidInput
        An unknown format.
    Forbidden
        A colleague's notes while step 1 is open.
    """
    kind = str(fmt).strip().lower().lstrip(".")
    if kind not in FORMATS:
        raise InvalidInput(f"unknown notes format {fmt!r}: choose md or csv")
    notes = notes_table(store, researcher=researcher, partnership=partnership, category=category)
    whose = store.researcher(researcher).name if researcher else None
    if whose is None:
        me = store.acting_researcher()
        whose = me.name if me is not None else str(store.actor)
    scrub, checked = typed_name_scrubber(store)
    notes, replaced = _map_text(notes, scrub)
    if kind == "csv":
        data = table_csv(notes).encode("utf-8")
    else:
        text = notes_markdown(notes, f"Notes of {whose}")
        if not checked:
            text += f"\n{UNCHECKED}\n"
        data = text.encode("utf-8")
    return NotesFile(data, notes, whose, replaced, checked)


def write_notes(
    store: Store,
    fmt: str,
    out: str | os.PathLike,
    *,
    researcher: str | None = None,
    partnership: str | None = None,
    category: str | None = None,
    force: bool = False,
) -> tuple[Path, NotesFile]:
    """Write :func:`notes_file` to ``out`` by the output rule; returns the path and file."""
    check_output(out, store, force=force)
    made = notes_file(store, fmt, researcher=researcher, partnership=partnership, category=category)
    return write_output(out, made.data, store, force=force), made
