"""Study-wide full-text search: ``Store.search`` over every turn of the large study.

Median over ~30 varied queries (common and rare words, several words, phrases,
prefixes, no match) of the median of 5 calls each, after a warm-up. Floor: what a
notebook would do without the index, a pandas ``str.contains`` scan of the same turns
(the DataFrame is built once, not timed) with the same meaning: every word must occur,
a quoted phrase as a phrase, ``word*`` as a prefix.
"""

from __future__ import annotations

import re
import sqlite3
import statistics

from benchmarks._util import Context, Figure, median_time, profile_to_file

TARGET_MS = 20.0
TARGET_RATIO = 0.1

QUERIES = [
    "the",
    "partnership",
    "power",
    "contributors",
    "funding budget",
    "lived experience",
    '"lived experience"',
    '"the partnership"',
    "Quillmere",
    "Zennor-Hythe",
    "honorarium",
    "fishbowl photovoice",
    "co*",
    "fund*",
    "recruit*",
    "payment trust university",
    "ladder rung",
    '"steering group"',
    "PLAIN language",
    "jargon",
    "trustees volunteers",
    "kitchen",
    "we think",
    "evaluation impact report",
    "ethics",
    "sensemaking",
    "Brackenford Hollowmere",
    "capacity strategy",
    "xylophone",
    "listening*",
]

_TOKEN = re.compile(r'"[^"]*"|[^\s"]+')
_WORD = re.compile(r"\w+")


def pandas_patterns(query: str) -> list[str]:
    """Regexes with the meaning of the FTS query (all must match, case-insensitive)."""
    out = []
    for token in _TOKEN.findall(query):
        words = _WORD.findall(token)
        if not words:
            continue
        if token.startswith('"'):
            out.append(r"\b" + r"\W+".join(map(re.escape, words)) + r"\b")
            continue
        prefix = token.endswith("*")
        for i, word in enumerate(words):
            last = prefix and i == len(words) - 1
            out.append(r"\b" + re.escape(word) + ("" if last else r"\b"))
    return out


def scan(df, query: str, limit: int = 50):
    """The floor: a full pandas scan of the turns."""
    mask = None
    for pattern in pandas_patterns(query):
        hit = df["text"].str.contains(pattern, case=False, regex=True)
        mask = hit if mask is None else mask & hit
    return df[mask].head(limit), int(mask.sum())


def run(ctx: Context) -> list[Figure]:
    import pandas as pd

    from coprod_nb.storage import Store

    store = Store(ctx.study_dir, actor="bench")
    with sqlite3.connect(ctx.study_dir / "study.db") as con:
        df = pd.read_sql_query(
            "SELECT id, transcript_id, seq, speaker, text FROM turn ORDER BY id", con
        )
    per_query = {}
    for query in QUERIES:
        ours = median_time(lambda q=query: store.search(q), repeat=5, warmup=1)
        floor = median_time(lambda q=query: scan(df, q), repeat=3, warmup=1)
        per_query[query] = {
            "search_ms": ours * 1000,
            "pandas_ms": floor * 1000,
            "hits_search": len(store.search(query)),
            "matches_pandas": scan(df, query)[1],
        }
    profile_to_file(ctx, "search", lambda: [store.search(q) for q in QUERIES * 3])
    store.close()
    ours = statistics.median(v["search_ms"] for v in per_query.values())
    floor = statistics.median(v["pandas_ms"] for v in per_query.values())
    worst = max(per_query, key=lambda q: per_query[q]["search_ms"])
    turns = len(df)
    figures = [
        Figure(
            "search",
            f"store.search, median of {len(QUERIES)} queries ({turns} turns)",
            ours,
            "ms",
            floor,
            "pandas str.contains scan",
            "value",
            TARGET_MS,
            detail={"queries": per_query},
        ),
        Figure(
            "search",
            "store.search / pandas scan",
            ours,
            "ms",
            floor,
            "pandas str.contains scan",
            "ratio",
            TARGET_RATIO,
        ),
        Figure(
            "search",
            f"  slowest query {worst!r} (info)",
            per_query[worst]["search_ms"],
            "ms",
            per_query[worst]["pandas_ms"],
            "pandas scan of the same query",
        ),
    ]
    ctx.add(*figures)
    return figures
