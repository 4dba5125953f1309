"""Importing the corpus: ``import_transcripts`` on a folder of N transcripts.

The study is fresh but holds the synthetic study's people (so speakers are matched as
in the real build). Floor: parsing the files plus the same turn rows (transcript id,
seq, speaker, text, start/end) inserted with raw ``sqlite3`` ``executemany`` into an
equivalent table in a fresh WAL file, its FTS5 index filled in one statement (target
1.5x). Reported for information: the plain insert floor, the floor with an FTS5
trigger per row (the schema before 0011), and parsing the files alone.

Also WebVTT voice tags: a file of cues full of voice tags, some never closed (which took
quadratic time: 150 KB in 42-102 s), read at two sizes; the figure is the larger file's
time against ten times the smaller's, so 1.0 is linear and a quadratic reader shows ~10.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import statistics
from pathlib import Path

from benchmarks._util import Context, Figure, median_time, profile_to_file, timed

#: Against the floor of parsing, FTS5 indexing and the inserts (issue 18).
TARGET_FULL = 1.5
VOICE_TARGET = 2.0  # the 10x file in at most twice ten times the small one's time

_TABLE = """
CREATE TABLE turn (
    id INTEGER PRIMARY KEY,
    transcript_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    speaker VARCHAR(200) NOT NULL,
    text TEXT NOT NULL,
    start_ms INTEGER,
    end_ms INTEGER,
    UNIQUE (transcript_id, seq)
)
"""
_FTS = [
    "CREATE VIRTUAL TABLE turn_fts USING fts5(text, content='turn', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3')",  # as the study's (0014)
    "CREATE TRIGGER turn_fts_ai AFTER INSERT ON turn BEGIN "
    "INSERT INTO turn_fts(rowid, text) VALUES (new.id, new.text); END",
]


def fresh_study(path: Path, ctx: Context, rng: random.Random):
    """A new study holding the synthetic study's partnerships and people."""
    from coprod_nb.seed.synth import add_people
    from coprod_nb.storage import Store

    store = Store(path, actor="bench")
    cast = add_people(
        store,
        rng,
        researchers=ctx.sizes["researchers"],
        participants=ctx.sizes["participants"],
        partnerships=ctx.sizes["partnerships"],
    )
    return store, cast


def _floor(rows: list[tuple], path: Path, *, fts: bool | str) -> float:
    def insert():
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute(_TABLE)
        con.execute("CREATE INDEX ix_turn_transcript_id ON turn (transcript_id)")
        for sql in _FTS if fts is True else ():
            con.execute(sql)
        if fts == "bulk":
            con.execute(_FTS[0])
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO turn (transcript_id, seq, speaker, text, start_ms, end_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        if fts == "bulk":  # the index filled in one statement, as add_transcript does
            con.execute("INSERT INTO turn_fts(rowid, text) SELECT id, text FROM turn")
        con.execute("COMMIT")
        con.close()

    times = []
    for _ in range(3):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        times.append(timed(insert)[0])
    return statistics.median(times)


def _warm_up(ctx: Context) -> None:
    """One small import into a throwaway study: modules loaded, statements compiled."""
    from coprod_nb.ingest import import_transcripts
    from coprod_nb.seed.synth import write_transcript

    where = ctx.workdir / "ingest-warmup"
    store, cast = fresh_study(where / "study", ctx, random.Random(ctx.seed + 1))
    (where / "files").mkdir()
    write_transcript(
        where / "files" / "warmup.txt", words=500, interviewer=cast.team[0], leader=cast.leaders[0]
    )
    import_transcripts(store, [where / "files"], progress=False)
    store.close()
    shutil.rmtree(where, ignore_errors=True)


def ensure_corpus(ctx: Context) -> list[Path]:
    """The large study's transcripts as files in ``ctx.corpus`` (written on first use).

    Written with the same seed and in the same order as ``build_synthetic_study``, so
    the files are the very ones the large study was built from.
    """
    from coprod_nb.seed.synth import write_corpus

    if ctx.corpus is None:
        where = ctx.workdir / "corpus-cast"
        rng = ctx.rng()
        store, cast = fresh_study(where, ctx, rng)
        store.close()
        shutil.rmtree(where, ignore_errors=True)
        ctx.corpus = ctx.workdir / "corpus"
        ctx.corpus.mkdir()
        write_corpus(
            ctx.corpus,
            cast,
            rng,
            transcripts=ctx.sizes["transcripts"],
            words=ctx.sizes["words"],
        )
    return sorted(ctx.corpus.glob("*.txt"))


def _voice_tag_vtt(path: Path, kb: int) -> Path:
    """About ``kb`` KB: half cues of closed voice spans, half one line of unclosed tags."""
    cue = "".join(f"<v.loud Speaker {i % 3}>word {i} </v>" for i in range(8))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("WEBVTT\n\n")
        second = 0
        while fh.tell() < kb * 512:
            clock = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            fh.write(f"{clock}.000 --> {clock}.500\n{cue}\n\n")
            second += 1
        clock = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        fh.write(f"{clock}.000 --> {clock}.500\n" + "<v Speaker " * (kb * 512 // 11) + "\n")
    return path


def voice_tag_figures(ctx: Context) -> list[Figure]:
    """Reading voice-tagged WebVTT at 150 KB and 1.5 MB: linear, not quadratic."""
    from coprod_nb.ingest import read_transcript

    small = _voice_tag_vtt(ctx.workdir / "voices-150k.vtt", 150)
    large = _voice_tag_vtt(ctx.workdir / "voices-1500k.vtt", 1500)
    t_small = median_time(lambda: read_transcript(small), repeat=5)
    t_large = median_time(lambda: read_transcript(large), repeat=3)
    return [
        Figure(
            "ingest",
            "WebVTT voice tags, 1.5 MB file",
            t_large,
            "s",
            10 * t_small,
            "10 x the 150 KB file's time (linear)",
            "ratio",
            VOICE_TARGET,
            detail={"small_s": round(t_small, 4)},
        ),
    ]


def run(ctx: Context) -> list[Figure]:
    from coprod_nb.ingest import import_transcripts, read_transcript

    n = ctx.sizes["transcripts"]
    files = ensure_corpus(ctx)
    store, _ = fresh_study(ctx.workdir / "ingest-study", ctx, ctx.rng())
    _warm_up(ctx)

    seconds, report = timed(lambda: import_transcripts(store, [ctx.corpus], progress=False))
    turns = sum(f.turns for f in report.imported)
    words = sum(f.words for f in report.imported)
    db = store.study_dir / "study.db"
    store.close()
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT transcript_id, seq, speaker, text, start_ms, end_ms FROM turn ORDER BY id"
        ).fetchall()
    floor = _floor(rows, ctx.workdir / "floor.db", fts=False)
    floor_fts = _floor(rows, ctx.workdir / "floor-fts.db", fts=True)
    floor_bulk = _floor(rows, ctx.workdir / "floor-bulk.db", fts="bulk")
    parse = timed(lambda: [read_transcript(p) for p in files])[0]

    if ctx.profile:
        again = ctx.workdir / "ingest-profile"
        pstore, _ = fresh_study(again, ctx, ctx.rng())
        profile_to_file(
            ctx, "ingest", lambda: import_transcripts(pstore, [ctx.corpus], progress=False)
        )
        pstore.close()
        shutil.rmtree(again, ignore_errors=True)
    shutil.rmtree(ctx.workdir / "ingest-study", ignore_errors=True)

    size = {"transcripts": n, "turns": turns, "words": words}
    figures = [
        Figure(
            "ingest",
            f"import_transcripts ({n} files, {turns} turns)",
            seconds,
            "s",
            parse + floor_bulk,
            "parsing + sqlite3 executemany + FTS5 filled in bulk",
            "ratio",
            TARGET_FULL,
            detail=size,
        ),
        Figure(
            "ingest",
            "  same, against the plain floor (info)",
            seconds,
            "s",
            floor,
            "sqlite3 executemany, same rows, WAL",
        ),
        Figure(
            "ingest",
            "  same, against a floor with an FTS5 trigger per row (info)",
            seconds,
            "s",
            floor_fts,
            "sqlite3 executemany + FTS5 trigger",
        ),
        Figure(
            "ingest",
            "  parsing the files alone (info)",
            parse,
            "s",
            floor,
            "sqlite3 executemany, same rows, WAL",
        ),
    ]
    figures += voice_tag_figures(ctx)
    ctx.add(*figures)
    return figures
