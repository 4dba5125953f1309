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


def marked_to_text(snippet: str) -> str:
    """A search snippet with hits as ``**word**`` (plain text, for tables and the CLI)."""
    return snippet.replace(HIT_START, "**").replace(HIT_END, "**")


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


#: A search term: the words of one FTS5 string (a phrase when there are several) and
#: whether its last word is a prefix.
Term = tuple[tuple[str, ...], bool]

# FTS5's unicode61 tokenizer keeps letters and digits and splits on everything else,
# underscores included. PostgreSQL indexes turn.search_vector (migration 0011): the text
# with all but letters and digits made spaces, so its parser splits words where FTS5 does
# (no hyphenated compounds, e-mail or URL tokens whose extra positions break phrases).
_TOKEN_CHARS = re.compile(r"[^\W_]+", re.UNICODE)


def parse_query(query: str) -> list[Term]:
    """The terms of what a researcher types, one rule for both databases.

    Words must all occur (any order); ``"quoted words"`` must occur as a phrase;
    ``word*`` matches a prefix. Operators and punctuation are text: ``AND`` is a word,
    and a word such as ``co-op`` is two words that must both occur.

    Raises
    ------
    InvalidInput
        When nothing is left to search for.
    """
    terms: list[Term] = []
    for token in _TOKEN.findall(query):
        if token.startswith('"'):
            words = tuple(_TOKEN_CHARS.findall(token))
            if words:
                terms.append((words, False))
            continue
        prefix = token.endswith("*")
        found = [w for w in _WORD.findall(token) if _TOKEN_CHARS.search(w)]
        for i, word in enumerate(found):
            terms.append((tuple(_TOKEN_CHARS.findall(word)), prefix and i == len(found) - 1))
    if not terms:
        raise InvalidInput(f"nothing to search for in {query!r}")
    return terms


def fts5_query(query: str) -> str:
    """Turn what a researcher types into a safe FTS5 query (see :func:`parse_query`).

    No input can raise an FTS5 syntax error: every term is a quoted string.
    """
    terms = parse_query(query)
    return " ".join('"' + " ".join(words) + '"' + "*" * prefix for words, prefix in terms)


def tsquery(query: str) -> str:
    """The same query as :func:`fts5_query`, as PostgreSQL ``to_tsquery`` text.

    Built here rather than with ``websearch_to_tsquery``, which has no prefixes
    (``fund*`` found nothing on PostgreSQL): terms are joined with ``&``, the words of
    a phrase with ``<->``, a prefix takes ``:*``. Every lexeme is letters and digits
    only, quoted, so no input can raise a tsquery syntax error.
    """
    parts = []
    for words, prefix in parse_query(query):
        lexemes = [f"'{w}'" for w in words]
        if prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")" if len(lexemes) > 1 else lexemes[0])
    return " & ".join(parts)


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
        # Rank on the stored vector (its GIN index finds the rows); only the turns
        # kept are parsed again, for their snippets.
        sql = text(
            f"""
            SELECT tr.id, tr.title, p.short, t.id, t.seq, t.speaker, t.start_ms,
                   ts_headline('simple', t.text, hit.q,
                               'StartSel={HIT_START}, StopSel={HIT_END}, MaxWords=30, '
                               'MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')
            FROM (
                SELECT t.id, q, ts_rank(t.search_vector, q) AS rank
                FROM turn t, to_tsquery('simple', :q) q
                WHERE t.search_vector @@ q
                ORDER BY rank DESC, t.transcript_id, t.seq
                LIMIT :limit
            ) hit
            JOIN turn t ON t.id = hit.id
            JOIN transcript tr ON tr.id = t.transcript_id
            LEFT JOIN partnership p ON p.id = tr.partnership_id
            ORDER BY hit.rank DESC, tr.id, t.seq
            """
        )
        params = {"q": tsquery(query), "limit": limit}
    return [SearchHit(*row) for row in session.execute(sql, params)]
