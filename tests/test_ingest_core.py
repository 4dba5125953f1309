"""The import's Core write path (storage/ingest.py) writes what the ORM path wrote.

The oracle is the version it replaced, kept here: ``add_transcript`` building the
transcript and its event as ORM objects, called once per file in one session. Both
import the same files into two copies of the same study, under the same fictional
clock, and every row of the tables an import writes must be equal, the FTS5 index
token by token too. No timing is asserted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sqlite3
import uuid
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy import text as sql

from coprod_nb.domain import canonical_text, word_count
from coprod_nb.domain.wording import plural
from coprod_nb.errors import DuplicateSource, InvalidInput, NotFound
from coprod_nb.ingest import import_transcripts, read_transcript
from coprod_nb.ingest.importer import _date_from_name, expand_paths
from coprod_nb.seed.demo import demo_data_dir
from coprod_nb.storage import Store, events
from coprod_nb.storage.ingest import _fts_trigger
from coprod_nb.storage.models import (
    Participant,
    Partnership,
    Researcher,
    Transcript,
    TranscriptPerson,
    Turn,
)
from tests.second_study import HERE as SECOND_HERE
from tests.second_study import build_second_study

TABLES = ("transcript", "turn", "transcript_person", "event")
CLOCK = datetime(2031, 1, 2, 9)


class OrmStore(Store):
    """The store with the ORM ``add_transcript`` that the Core path replaced."""

    def add_transcript(
        self,
        turns,
        *,
        title,
        source_name,
        source_format,
        content_hash,
        partnership=None,
        date=None,
        participants=(),
        interviewers=(),
        session=None,
    ):
        if not turns:
            raise InvalidInput("a transcript needs at least one turn", file=source_name)
        key = self.pseudonym_key()
        fields = key.apply_many([f for t in turns for f in (t.speaker, t.text)])
        pseudo = list(zip(fields[::2], fields[1::2], strict=True))
        title, source_name = key.apply(title), key.apply(source_name)
        text, spans = canonical_text(pseudo)
        with self._maybe_session(session) as s:
            people = self._people(s)
            matches = {
                label: self._match(s, label, people)
                for label in dict.fromkeys(lb for lb, _ in pseudo)
            }
            part_ids = [
                self._find(s, Participant, p, ("name",), "participant").id for p in participants
            ] or [m.participant_id for m in matches.values() if m.participant_id is not None]
            res_ids = [
                self._find(s, Researcher, r, ("name", "login"), "researcher").id
                for r in interviewers
            ] or [m.researcher_id for m in matches.values() if m.researcher_id is not None]
            if partnership is not None:
                pship_id = self._find(
                    s, Partnership, partnership, ("short", "name"), "partnership"
                ).id
            else:
                pships = {s.get(Participant, pid).partnership_id for pid in part_ids} - {None}
                pship_id = pships.pop() if len(pships) == 1 else None
            tr_table = Transcript.__table__
            if (
                s.connection()
                .execute(select(tr_table.c.id).where(tr_table.c.content_hash == content_hash))
                .first()
            ):
                raise DuplicateSource("this file is already in the study", file=source_name)
            tr = Transcript(
                title=title,
                partnership_id=pship_id,
                date=date,
                source_name=source_name,
                source_format=source_format,
                content_hash=content_hash,
                imported_at=events.utcnow(),
                imported_by=self.actor,
                word_count=word_count("\n".join(t for _, t in pseudo)),
                text=text,
            )
            s.add(tr)
            s.flush()
            s.connection().execute(
                insert(Turn.__table__),
                [
                    {
                        "transcript_id": tr.id,
                        "seq": i,
                        "speaker": label,
                        "text": body,
                        "participant_id": matches[label].participant_id,
                        "researcher_id": matches[label].researcher_id,
                        "start_ms": raw.start_ms,
                        "end_ms": raw.end_ms,
                        "char_start": span.start,
                        "char_end": span.end,
                    }
                    for i, (raw, (label, body), span) in enumerate(
                        zip(turns, pseudo, spans, strict=True)
                    )
                ],
            )
            if s.bind.dialect.name == "sqlite" and not _fts_trigger(s):
                s.connection().execute(
                    sql(
                        "INSERT INTO turn_fts(rowid, text) "
                        "SELECT id, text FROM turn WHERE transcript_id = :tid"
                    ),
                    {"tid": tr.id},
                )
            people_rows = [
                {"transcript_id": tr.id, "participant_id": pid, "researcher_id": None}
                for pid in dict.fromkeys(part_ids)
            ] + [
                {"transcript_id": tr.id, "participant_id": None, "researcher_id": rid}
                for rid in dict.fromkeys(res_ids)
            ]
            if people_rows:
                s.connection().execute(insert(TranscriptPerson.__table__), people_rows)
            after = {
                c.key: getattr(tr, c.key)
                for c in inspect(Transcript).column_attrs
                if not c.deferred and c.key != "text"
            }
            after = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in after.items()}
            events.log(
                s,
                self.actor,
                "import",
                "transcript",
                tr.id,
                after=after,
                detail=f"{plural(len(turns), 'turn')} from {source_format}",
            )
            return tr


def orm_import(store: OrmStore, folder: Path, **given) -> None:
    """The files of ``folder`` through the ORM ``add_transcript``, in one transaction."""
    with store.session() as s:
        for path in expand_paths([folder]):
            raw = path.read_bytes()
            result = read_transcript(path)
            store.add_transcript(
                result.turns,
                title=path.stem,
                source_name=path.name,
                source_format=result.format,
                content_hash=hashlib.sha256(raw).hexdigest(),
                date=_date_from_name(path.name),
                session=s,
                **given,
            )


def new_versions(sources: Path, dest: Path) -> Path:
    """The study's own source files, each with two bytes more (same turns, new hash),
    so they import into the study that already holds them: real names to pseudonymise,
    speakers to match, every format of the study."""
    dest.mkdir()
    for f in sorted(sources.iterdir()):
        if f.is_file():
            (dest / f"again_{f.name}").write_bytes(f.read_bytes() + b"\n\n")
    return dest


def dump(db: Path) -> dict:
    """Every row of the tables an import writes, and the FTS5 index token by token."""
    with closing(sqlite3.connect(db)) as con:
        out = {t: con.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
        con.execute("CREATE VIRTUAL TABLE temp.tokens USING fts5vocab(main, turn_fts, instance)")
        out["fts"] = con.execute("SELECT * FROM temp.tokens ORDER BY 1, 2, 3, 4").fetchall()
        con.execute("INSERT INTO turn_fts(turn_fts) VALUES ('integrity-check')")  # raises if off
    return out


def both_ways(template: Path, tmp_path: Path, files: Path, actor: str, **given):
    """Import ``files`` into two copies of ``template``: the ORM way and the Core way."""
    shutil.copytree(template, tmp_path / "orm")
    shutil.copytree(template, tmp_path / "core")
    orm = OrmStore(tmp_path / "orm", actor=actor)
    core = Store(tmp_path / "core", actor=actor)
    with events.fictional_clock(CLOCK):
        orm_import(orm, files, **given)
    with events.fictional_clock(CLOCK):
        report = import_transcripts(core, [files], progress=False, **given)
    return orm, core, report


def check_same(orm: Store, core: Store, report) -> dict:
    orm.close()
    core.close()
    expected, got = dump(orm.study_dir / "study.db"), dump(core.study_dir / "study.db")
    for table in (*TABLES, "fts"):
        assert got[table] == expected[table], table
    return got


def check_offsets(store: Store, report) -> None:
    """Each new turn's offsets point at its text inside the transcript's text."""
    for f in report.imported:
        text = store.transcript(f.transcript_id).text
        turns = store.turns(f.transcript_id)
        assert len(turns) == f.turns > 0
        for t in turns:
            assert text[t.char_start : t.char_end] == t.text


@pytest.fixture(scope="module")
def demo_early(tmp_path_factory):
    from coprod_nb.seed.demo import build_demo

    d = tmp_path_factory.mktemp("ingest-demo-early") / "study"
    build_demo(d, stage="transcripts").close()
    return d


@pytest.mark.parametrize("stage", ["early", "late"])
def test_demo_import_writes_what_the_orm_path_wrote(stage, tmp_path, demo_early, demo_template):
    template = demo_early if stage == "early" else demo_template
    data = demo_data_dir()
    files = new_versions(data / "transcripts", tmp_path / "files")
    shutil.copy(data / "extra" / "ccph_followup_2021-07-20.srt", files)
    orm, core, report = both_ways(template, tmp_path, files, actor="alder")
    check_offsets(core, report)
    assert len(report.imported) == 6
    rows = check_same(orm, core, report)
    new = rows["event"][-6:]
    assert [e[3] for e in new] == ["import"] * 6 and {e[2] for e in new} == {"alder"}
    assert {r[8] for r in rows["transcript"][-6:]} == {"alder"}  # imported_by


@pytest.mark.parametrize("variant", ["transcripts", "workshop"])
def test_second_study_import_writes_what_the_orm_path_wrote(variant, tmp_path, second_templates):
    files = new_versions(SECOND_HERE / "transcripts", tmp_path / "files")
    orm, core, report = both_ways(second_templates(variant), tmp_path, files, actor="rowan")
    check_offsets(core, report)
    assert len(report.imported) == 3
    rows = check_same(orm, core, report)
    # the speakers were matched to the study's people, and linked to the transcripts
    new_ids = {f.transcript_id for f in report.imported}
    linked = [r for r in rows["transcript_person"] if r[1] in new_ids]
    assert linked and all(r[2] is not None or r[3] is not None for r in linked)


def test_given_people_and_partnership_are_written_alike(tmp_path, second_templates):
    files = new_versions(SECOND_HERE / "transcripts", tmp_path / "files")
    given = {"partnership": "PIER", "participants": ["Bea Kestle"], "interviewers": ["quill"]}
    orm, core, report = both_ways(
        second_templates("transcripts"), tmp_path, files, actor="rowan", **given
    )
    pier, bea = core.partnership("PIER").id, core.participant("Bea Kestle").id
    quill = core.researcher("quill").id
    rows = check_same(orm, core, report)
    new_ids = {f.transcript_id for f in report.imported}
    assert {r[2] for r in rows["transcript"] if r[0] in new_ids} == {pier}
    links = {(r[1], r[2], r[3]) for r in rows["transcript_person"] if r[1] in new_ids}
    assert links == {(t, bea, None) for t in new_ids} | {(t, None, quill) for t in new_ids}


def test_a_failing_file_in_a_batch_writes_nothing(tmp_path, second_templates):
    """A file already in the study (its exact bytes) stops the batch: nothing written."""
    shutil.copytree(second_templates("transcripts"), tmp_path / "s")
    store = Store(tmp_path / "s", actor="rowan")
    files = new_versions(SECOND_HERE / "transcripts", tmp_path / "files")
    before = dump(tmp_path / "s" / "study.db")
    with store.session() as s:
        people = store._people(s)
    from coprod_nb.storage.ingest import NewTranscript, write_transcripts

    items = []
    for path in sorted(files.iterdir()):
        result = read_transcript(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        items.append(NewTranscript(result.turns, path.stem, path.name, result.format, digest))
    items.append(items[0])  # the same content twice in one batch
    with pytest.raises(DuplicateSource, match="already in the study"):
        with store.session() as s:
            write_transcripts(store, s, items)
    bad = [*items[:1], NewTranscript([], "empty", "empty.txt", "txt", "0" * 64)]
    with pytest.raises(InvalidInput, match="needs at least one turn") as info:
        with store.session() as s:
            write_transcripts(store, s, bad)
    assert info.value.file == "empty.txt"
    unknown = [
        NewTranscript(items[0].turns, "x", "x.txt", "txt", "1" * 64, participants=["Nobody"])
    ]
    with pytest.raises(NotFound, match="no participant 'Nobody'"):
        with store.session() as s:
            write_transcripts(store, s, unknown)
    store.close()
    assert dump(tmp_path / "s" / "study.db") == before
    assert people


def _pg_database(pg_server: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    conninfo = pg_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{pg_server}/{name}"


def _pg_rows(store: Store, since: dict | None = None) -> dict:
    """The rows of the import's tables (those after ``since``'s ids), as dicts."""
    out = {}
    with store.engine.connect() as con:
        for t in TABLES:
            q = f"SELECT * FROM {t} WHERE id > :after ORDER BY id"
            rows = con.execute(sql(q), {"after": (since or {}).get(t, 0)}).mappings().all()
            # PostgreSQL's search vector (a generated column) is compared too
            out[t] = [dict(r) for r in rows]
    return out


def test_postgresql_import_writes_what_the_orm_path_wrote(tmp_path, pg_server):
    urls = [_pg_database(pg_server), _pg_database(pg_server)]
    for i, url in enumerate(urls):
        build_second_study(tmp_path / f"s{i}", "transcripts", url=url).close()
    files = new_versions(SECOND_HERE / "transcripts", tmp_path / "files")
    orm = OrmStore(tmp_path / "s0", urls[0], actor="rowan")
    core = Store(tmp_path / "s1", urls[1], actor="rowan")
    try:
        built = _pg_rows(orm)
        since = {t: max((r["id"] for r in rows), default=0) for t, rows in built.items()}
        assert since == {
            t: max((r["id"] for r in rows), default=0) for t, rows in _pg_rows(core).items()
        }
        with events.fictional_clock(CLOCK):
            orm_import(orm, files)
        with events.fictional_clock(CLOCK):
            report = import_transcripts(core, [files], progress=False)
        check_offsets(core, report)
        expected, got = _pg_rows(orm, since), _pg_rows(core, since)
        assert len(got["transcript"]) == len(report.imported) == 3
        assert len(got["event"]) == 3 and len(got["turn"]) > 3
        for table in TABLES:
            assert got[table] == expected[table], table
        hits = core.search("tea")
        assert hits and [(h.turn_id, h.snippet) for h in hits] == [
            (h.turn_id, h.snippet) for h in orm.search("tea")
        ]
    finally:
        orm.close()
        core.close()
