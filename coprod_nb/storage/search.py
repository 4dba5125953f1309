"""Study-wide full-text search over turns: SQLite FTS5, or PostgreSQL full-text."""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, text

from coprod_nb.domain.wording import plural
from coprod_nb.errors import InvalidInput, NotFound

if TYPE_CHECKING:  # the command line's search runs without the ORM (search_study)
    import os

    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

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
# underscores included. PostgreSQL indexes turn_search.search_vector (migrations 0011 and
# 0018, a narrow table beside turn): the text with all but letters and digits made
# spaces, so its parser splits words where FTS5 does (no hyphenated compounds, e-mail or
# URL tokens whose extra positions break phrases).
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


#: Most matching turns ranked for one query (see :func:`search_turns`).
RANK_WINDOW = 2000

#: Plans turned off (for its window statement only) when a PostgreSQL query holds a
#: phrase, leaving the GIN index's: it finds the turns holding the phrase's words, and
#: only their stored vectors are read to check positions. The planner guesses a phrase's
#: matches from its (often common) words and read the primary key in order instead,
#: every turn's vector, until the window filled or the table ended: "the partnership"
#: (1,040 matches) 208-220 ms at 800 transcripts against 90-103 ms (docs/performance.md).
PHRASE_PLAN = ("enable_seqscan", "enable_indexscan")


class SearchHits(list):
    """The hits of one search (a list of :class:`SearchHit`, best first) and how many
    matching turns were ranked to choose them.

    Attributes
    ----------
    ranked : int
        The matching turns ranked: all of them, or the first :data:`RANK_WINDOW` in
        study order when ``more`` is true.
    more : bool
        More turns match than were ranked (the ranking was bounded).
    """

    def __init__(self, hits=(), *, ranked: int = 0, more: bool = False):
        super().__init__(hits)
        self.ranked = ranked
        self.more = more

    def summary(self) -> str:
        """What the hits are, in a line for the search box or the command line."""
        if self.more:
            return (
                f"best {len(self):,} of the first {self.ranked:,} matching turns in study order; "
                f"more than {self.ranked:,} turns match: add a word to narrow the search"
            )
        if self.ranked > len(self):
            return f"best {len(self):,} of {self.ranked:,} matching turns"
        return plural(len(self), "matching turn")


def _is_sqlite(session: Session | Connection) -> bool:
    # A Session (the store) or a Connection (search_study): each knows its dialect.
    bind = session.get_bind() if hasattr(session, "get_bind") else session
    return bind.dialect.name == "sqlite"


def rank_window(
    session: Session | Connection, query: str, window: int = RANK_WINDOW
) -> list[tuple[float, int]]:
    """Step (1) of :func:`search_turns`: the first ``window + 1`` matching turns in
    study order, as ``(score, turn id)`` (lower is better on both databases).

    Its own function so that the benchmark can time it apart from the snippets
    (``benchmarks/bench_search.py``): at 800 transcripts it is most of a search.
    """
    if _is_sqlite(session):
        # FTS5 yields matches in rowid (turn id) order, so the window is its first rows;
        # a prefix is merged once (ranking and reading the window are one pass).
        sql = text(
            "SELECT rowid, bm25(turn_fts) FROM turn_fts WHERE turn_fts MATCH :q "
            "ORDER BY rowid LIMIT :n"
        )
        rows = session.execute(sql, {"q": fts5_query(query), "n": window + 1})
        return [(score, turn_id) for turn_id, score in rows]
    # The GIN index finds the matches; the score is read from the stored vector, in
    # turn_search (0018): apart from the texts, a search reads half the pages.
    sql = text(
        "SELECT t.id, -ts_rank(t.search_vector, q) FROM turn_search t, "
        "to_tsquery('simple', :q) q WHERE t.search_vector @@ q ORDER BY t.id LIMIT :n"
    )
    # A plan per query, never the generic one prepared statements move to after a
    # few calls: it cannot tell "the" (read the primary key in order, stop at the
    # window) from a rare word (ask the GIN index), and scanned every turn for the
    # rare ones (100 ms at 200 transcripts, for no hit).
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    phrase = any(len(words) > 1 for words, _ in parse_query(query))
    if phrase:
        for setting in PHRASE_PLAN:
            session.execute(text(f"SET LOCAL {setting} = off"))
    scored = [
        (score, turn_id)
        for turn_id, score in session.execute(sql, {"q": tsquery(query), "n": window + 1})
    ]
    if phrase:
        for setting in PHRASE_PLAN:
            session.execute(text(f"SET LOCAL {setting} TO DEFAULT"))
    return scored


def search_turns(
    session: Session | Connection, query: str, limit: int = 50, *, window: int = RANK_WINDOW
) -> SearchHits:
    """Turns matching ``query``, best first, with a highlighted snippet.

    The ranking is bounded, one rule for both databases: when more than
    ``max(window, limit)`` turns match, only the first that many in study order
    (by turn id: the order turns were imported, transcript by transcript) are ranked,
    and the hits say so (``more``; :meth:`SearchHits.summary`). A word such as "the"
    matches most of a large study's turns, and ranking all of them cost 0.1-0.4 s a
    query at 800 transcripts; the window is read in the index's own order and ranked
    in milliseconds. Both databases rank the same window of turns (each with its own
    score, bm25 or ``ts_rank``; ties by turn id), so a ``limit`` as large as the
    window returns the same turns on both.

    Parameters
    ----------
    window : int
        Most matching turns ranked (at least ``limit``); :data:`RANK_WINDOW` unless a
        test asks for a small study to be bounded.
    """
    window = max(window, limit)
    sqlite = _is_sqlite(session)
    # One plan on both databases: (1) the window, read in turn id order with each
    # turn's score (lower is better on both); (2) the best ``limit`` of it, chosen
    # here; (3) their rows and snippets. Snippets (the costly part: the text is parsed
    # again) are made for the kept turns only.
    q = fts5_query(query) if sqlite else tsquery(query)
    if sqlite:
        # The rowid range is answered by FTS5 itself; the unary plus keeps it from
        # seeking each kept id on its own (slower for a word in many turns).
        rows_sql = text(
            f"""
            SELECT t.id, tr.id, tr.title, p.short, t.seq, t.speaker, t.start_ms,
                   snippet(turn_fts, 0, '{HIT_START}', '{HIT_END}', '…', 24)
            FROM turn_fts
            JOIN turn t ON t.id = turn_fts.rowid
            JOIN transcript tr ON tr.id = t.transcript_id
            LEFT JOIN partnership p ON p.id = tr.partnership_id
            WHERE turn_fts MATCH :q AND turn_fts.rowid BETWEEN :first AND :last
              AND +turn_fts.rowid IN :ids
            """
        ).bindparams(bindparam("ids", expanding=True))
    else:
        rows_sql = text(
            f"""
            SELECT t.id, tr.id, tr.title, p.short, t.seq, t.speaker, t.start_ms,
                   ts_headline('simple', t.text, to_tsquery('simple', :q),
                               'StartSel={HIT_START}, StopSel={HIT_END}, MaxWords=30, '
                               'MinWords=12, MaxFragments=2, FragmentDelimiter=" … "')
            FROM turn t
            JOIN transcript tr ON tr.id = t.transcript_id
            LEFT JOIN partnership p ON p.id = tr.partnership_id
            WHERE t.id = ANY(:ids) AND :first <= t.id AND t.id <= :last
            """
        )
    scored = rank_window(session, query, window)
    more = len(scored) > window
    del scored[window:]
    # Best score first; ties in study order (turn id), the same rule on both databases.
    kept = [turn_id for _, turn_id in heapq.nsmallest(limit, scored)]
    if not kept:
        return SearchHits(ranked=len(scored), more=more)
    params = {"q": q, "ids": kept, "first": min(kept), "last": max(kept)}
    found = {row[0]: row for row in session.execute(rows_sql, params)}
    hits = []
    for turn_id in kept:
        _, transcript_id, title, short, seq, speaker, start_ms, snippet = found[turn_id]
        hits.append(
            SearchHit(transcript_id, title, short, turn_id, seq, speaker, start_ms, snippet)
        )
    return SearchHits(hits, ranked=len(scored), more=more)


def search_study(
    study_dir: str | os.PathLike,
    query: str,
    limit: int = 50,
    *,
    url: str | None = None,
    actor: str | None = None,
) -> SearchHits:
    """:meth:`Store.search <coprod_nb.storage.store.Store.search>` without the store.

    For ``coprod-nb search``: the study is opened by the store's own rule
    (:func:`~coprod_nb.storage.opening.open_database`: the file check, the upgrade, who
    is acting and, on a database server, the connected role), then searched with
    SQLAlchemy core in a read-only transaction. Loading the ORM models and the store
    took longer than the query.

    Raises
    ------
    NotFound
        No study in ``study_dir`` (or at ``url``).
    InvalidInput
        Nothing to search for in ``query``.
    """
    from coprod_nb.storage.opening import open_database

    parse_query(query)  # a query with nothing in it fails before the study is opened
    opened = open_database(study_dir, url, actor=actor, create=False)
    try:
        engine = opened.engine.execution_options(coprod_read_only=True)
        with engine.connect() as conn:
            if not conn.execute(text("SELECT count(*) FROM study")).scalar():
                raise NotFound(f"no study in {opened.url}")
            return search_turns(conn, query, limit)
    finally:
        opened.engine.dispose()
