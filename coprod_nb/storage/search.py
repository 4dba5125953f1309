"""Study-wide full-text search over turns: SQLite FTS5, or PostgreSQL full-text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from coprod_nb.errors import InvalidInput

# Private-use characters mark hits inside snippets: they cannot come from a transcript
# export, and callers turn them into **bold** text or escaped <mark> HTML.
HIT_START, HIT_END = "\ue000", "\ue001"
_TOKEN = re.compile(r'"[^"]*"|[^\s"]+')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchHit:
    """A turn that matches a query, with a snippet whose hits are marked."""

    transcript_id: int
    transcript: str
    partnership: str | None
    turn_id: int
    seq: int
    speaker: str
    start_ms: int | None
    snippet: str


def fts5_query(query: str) -> str:
    """Turn what a researcher types into a safe FTS5 query.

    Words must all occur (any order); ``"quoted words"`` must occur as a phrase;
    ``word*`` matches a prefix. Operators and punctuation are treated as text, so no
    input can raise an FTS5 syntax error.
    """
    parts: list[str] = []
    for token in _TOKEN.findall(query):
        if token.startswith('"'):
            words = _WORD.findall(token)
            if words:
                parts.append('"' + " ".join(words) + '"')
            continue
        prefix = token.endswith("*")
        for i, word in enumerate(words := _WORD.findall(token)):
            star = "*" if prefix and i == len(words) - 1 else ""
            parts.append(f'"{word}"{star}')
    if not parts:
        raise InvalidInput(f"nothing to search for in {query!r}")
    return " ".join(parts)


def search_turns(session: Session, query: str, limit: int = 50) -> list[SearchHit]:
    """Turns matching ``query``, best first, with a highlighted snippet."""
    if session.bind.dialect.name == "sqlite":
        sql = text(
            f"""
            SELECT tr.id, tr.title, p.short, t.id, t.seq, t.speaker, t.start_ms,
                   snippet(turn_fts, 0, '{HIT_START}', '{HIT_END}', '…', 24)
            FROM turn_fts
            JOIN turn t ON t.id = turn_fts.rowid
            JOIN transcript tr ON tr.id = t.transcript_id
            LEFT JOIN partnership p ON p.id = tr.partnership_id
            WHERE turn_fts MATCH :q
            ORDER BY bm25(turn_fts), tr.id, t.seq
            LIMIT :limit
            """
        )
        params = {"q": fts5_query(query), "limit": limit}
    else:
        if not _WORD.search(query):
            raise InvalidInput(f"nothing to search for in {query!r}")
        sql = text(
            f"""
            SELECT tr.id, tr.title, p.short, t.id, t.seq, t.speaker, t.start_ms,
                   ts_headline('simple', t.text, q,
                               'StartSel={HIT_START}, StopSel={HIT_END}, MaxWords=30, '
                               'MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')
            FROM turn t
            JOIN transcript tr ON tr.id = t.transcript_id
            LEFT JOIN partnership p ON p.id = tr.partnership_id,
                 websearch_to_tsquery('simple', :q) q
            WHERE to_tsvector('simple', t.text) @@ q
            ORDER BY ts_rank(to_tsvector('simple', t.text), q) DESC, tr.id, t.seq
            LIMIT :limit
            """
        )
        params = {"q": query, "limit": limit}
    return [SearchHit(*row) for row in session.execute(sql, params)]
