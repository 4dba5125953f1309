"""A codebook brought from other QDA tools: its codes and the excerpts they code.

Codes and codings come from a REFI-QDA import (``coprod-nb import project.qdpx``, see
:mod:`coprod_nb.exchange.refi_codebook`); they are the team's shared material (the
access policy does not hide them in step 1).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

CODEBOOK_COLUMNS = ["code", "path", "colour", "description", "codings", "coders", "guid"]
EXCERPT_COLUMNS = [
    "transcript",
    "partnership",
    "start",
    "end",
    "text",
    "code",
    "path",
    "coder",
    "coding_id",
]
PATH_SEPARATOR = " / "


def _coder_names(store: Any) -> dict[int, str]:
    """Each user's name as the study knows it: the researcher's pseudonym when mapped."""
    researchers = {r.id: r.name for r in store.researchers()}
    return {u.id: researchers.get(u.researcher_id, u.name) for u in store.qda_users()}


def _paths(codes: list) -> dict[int, str]:
    by_id = {c.id: c for c in codes}

    def path(c: Any) -> str:
        parent = by_id.get(c.parent_id)
        return f"{path(parent)}{PATH_SEPARATOR}{c.name}" if parent is not None else c.name

    return {c.id: path(c) for c in codes}


def codebook(store: Any) -> pd.DataFrame:
    """One row per code, parents before children.

    Returns
    -------
    DataFrame
        ``code``, ``path`` (names from the root, joined by " / "), ``colour`` (``#RRGGBB``
        or ""), ``description``, ``codings`` (how many), ``coders`` (their names, sorted,
        joined by ", "), ``guid``. Empty (with these columns) when the study has no
        imported codebook.
    """
    codes = store.codes()
    if not codes:
        return pd.DataFrame(columns=CODEBOOK_COLUMNS)
    paths = _paths(codes)
    names = _coder_names(store)
    counts: dict[int, int] = {}
    coders: dict[int, set[str]] = {}
    for k in store.codings():
        counts[k.code_id] = counts.get(k.code_id, 0) + 1
        if k.user_id in names:
            coders.setdefault(k.code_id, set()).add(names[k.user_id])
    rows = [
        {
            "code": c.name,
            "path": paths[c.id],
            "colour": c.color or "",
            "description": c.description or "",
            "codings": counts.get(c.id, 0),
            "coders": ", ".join(sorted(coders.get(c.id, ()))),
            "guid": c.guid,
        }
        for c in codes
    ]
    return pd.DataFrame(rows, columns=CODEBOOK_COLUMNS)


def coded_excerpts(
    store: Any,
    code: int | str | None = None,
    coder: str | None = None,
    query: str | None = None,
    *,
    subcodes: bool = False,
) -> pd.DataFrame:
    """The coded spans, by transcript and position.

    Parameters
    ----------
    store : Store
    code : int or str, optional
        Only this code's codings (its id, GUID or unique name); with ``subcodes`` also
        those of the codes under it.
    coder : str, optional
        Only this coder's (a user's or researcher's name or login).
    query : str, optional
        Only spans holding every word of the query (letter case ignored; a word
        matches inside longer words too).

    Returns
    -------
    DataFrame
        ``transcript`` (title), ``partnership`` (short name or ""), ``start``, ``end``
        (code points in the transcript's canonical text; None for a whole transcript),
        ``text``, ``code``, ``path``, ``coder`` ("" when unknown), ``coding_id``.
    """
    codes = store.codes()
    paths = _paths(codes)
    by_id = {c.id: c for c in codes}
    wanted: set[int] | None = None
    if code is not None:
        wanted = {store.code(code).id}
        if subcodes:
            grew = True
            while grew:
                more = {c.id for c in codes if c.parent_id in wanted} - wanted
                wanted |= more
                grew = bool(more)
    rows_in = store.codings(coder=coder) if coder is not None else store.codings()
    if wanted is not None:
        rows_in = [k for k in rows_in if k.code_id in wanted]
    transcripts = {t.id: t for t in store.transcripts()}
    shorts = {p.id: p.short for p in store.partnerships()}
    names = _coder_names(store)
    words = [w.casefold() for w in (query or "").split()]
    rows = []
    for k in rows_in:
        tr = transcripts.get(k.transcript_id)
        if tr is None:
            continue
        text = tr.text if k.start is None else tr.text[k.start : k.end]
        folded = text.casefold()
        if words and not all(w in folded for w in words):
            continue
        rows.append(
            {
                "transcript": tr.title,
                "partnership": shorts.get(tr.partnership_id, ""),
                "start": k.start,
                "end": k.end,
                "text": text,
                "code": by_id[k.code_id].name,
                "path": paths[k.code_id],
                "coder": names.get(k.user_id, ""),
                "coding_id": k.id,
            }
        )
    return pd.DataFrame(rows, columns=EXCERPT_COLUMNS)
