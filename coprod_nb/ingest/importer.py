"""Importing transcript files into a study: all-or-nothing, with a clear report."""

from __future__ import annotations

import gc
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from coprod_nb.domain.wording import plural
from coprod_nb.errors import DuplicateSource, InvalidInput
from coprod_nb.ingest._decode import MAX_FILE_BYTES
from coprod_nb.ingest.limits import read_capped
from coprod_nb.ingest.readers import SUPPORTED_SUFFIXES, read_transcript
from coprod_nb.storage import Store
from coprod_nb.storage.ingest import NewTranscript, refresh_statistics, write_transcripts

_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class ImportFailed(InvalidInput):
    """Some files could not be imported; nothing was added. ``errors`` lists each one."""

    def __init__(self, errors: list[InvalidInput]):
        self.errors = errors
        lines = "\n".join(f"  {e}" for e in errors)
        n = len(errors)
        super().__init__(
            f"{n} file{'s' if n != 1 else ''} could not be imported; nothing was added:\n{lines}"
        )


@dataclass(frozen=True)
class ImportedFile:
    """One transcript added by an import."""

    path: str
    transcript_id: int
    title: str
    turns: int
    words: int
    warnings: tuple[str, ...] = ()


@dataclass
class ImportReport:
    """What an import did: files added, files refused, speakers left to map."""

    imported: list[ImportedFile] = field(default_factory=list)
    errors: list[InvalidInput] = field(default_factory=list)
    unmatched_speakers: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"imported {plural(len(self.imported), 'transcript')}"]
        lines += [f"  {f.title}: {f.turns} turns, {f.words} words" for f in self.imported]
        for f in self.imported:
            lines += [f"  warning: {f.path}: {w}" for w in f.warnings]
        if self.errors:
            lines.append(f"skipped {plural(len(self.errors), 'file')}:")
            lines += [f"  {e}" for e in self.errors]
        if self.unmatched_speakers:
            lines.append("speakers not matched to a participant or researcher (map them):")
            lines += [f"  {k} ({', '.join(v)})" for k, v in self.unmatched_speakers.items()]
        return "\n".join(lines)


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files to import: each file given, and the supported files inside each folder."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out += sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in SUPPORTED_SUFFIXES
                and not f.name.startswith((".", "~$"))
            )
        elif p.exists():  # a file, or a FIFO or device: read with a cap
            out.append(p)
        else:
            raise InvalidInput("no such file or folder", file=str(p))
    return out


def _date_from_name(name: str) -> date | None:
    m = _DATE_IN_NAME.search(name)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the block, as it was after it.

    An import makes hundreds of thousands of objects (turns, their texts and rows) that
    all live until it ends and hold no reference cycle; the collector would walk the
    whole heap for them once or twice, for nothing (0.1 s of a 200-file import in a
    bare process, more in a kernel holding data frames). What cycles the block leaves
    are collected at the next collection after it.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


@_collector_paused()
def import_transcripts(
    store: Store,
    paths: Iterable[str | os.PathLike],
    *,
    partnership: int | str | None = None,
    date: date | None = None,
    participants: list[str] = (),
    interviewers: list[str] = (),
    title: str | None = None,
    speaker_pattern: str | None = None,
    encoding: str | None = None,
    skip_bad: bool = False,
    progress: bool | Callable = True,
) -> ImportReport:
    """Import transcript files (or folders of them) into a study.

    Every file is read and checked before anything is written, and all good files
    are written in one transaction. By default one bad file stops the whole import
    (:class:`ImportFailed` lists every problem, nothing is added); with
    ``skip_bad=True`` the good files are imported and the bad ones reported.

    Parameters
    ----------
    store : Store
    paths : files or folders (.vtt, .srt, .txt, .docx)
    partnership, date, participants, interviewers : optional
        Apply to every file; otherwise inferred (date from a ``YYYY-MM-DD`` in the file
        name, people from matched speakers, partnership from the participants).
    title : str, optional
        Title of a single imported file (default: the file name without suffix).
    speaker_pattern : str, optional
        Regex with ``speaker`` and ``text`` groups for plain-text and Word turns;
        defaults to the study's setting.
    encoding : str, optional
        Codec of text files that are neither UTF-8 nor marked by a byte order mark
        (``"cp1252"``); without it such a file is refused with the line of its first
        byte that is not UTF-8.
    progress : bool or callable
        Show a ``tqdm.auto`` progress bar; or a tqdm-like factory to use instead
        (a widget passes one that draws inside itself).
    """
    files = expand_paths(paths)
    if not files:
        raise InvalidInput("no transcript files found (.vtt, .srt, .txt, .docx)")
    pattern = speaker_pattern or (store.study().settings or {}).get("speaker_pattern")
    known = {tr.content_hash: tr.source_name for tr in store.transcripts(text=False)}
    report = ImportReport()
    parsed = []
    seen: dict[str, str] = {}
    if callable(progress):
        bar = progress
    else:
        # Imported here: importing tqdm takes a tenth of a second (for its version), which
        # a notebook that opens a study without importing anything need not wait for.
        from tqdm.auto import tqdm as bar
    for path in bar(files, desc="Reading transcripts", unit="file", disable=not progress):
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:  # refuse before reading: memory stays bounded
                raise InvalidInput(
                    f"the file is too large ({size // 2**20} MB; at most "
                    f"{MAX_FILE_BYTES // 2**20} MB per transcript)",
                    file=path.name,
                )
            raw = read_capped(path, MAX_FILE_BYTES, what="transcript")
            digest = hashlib.sha256(raw).hexdigest()
            if digest in known:
                raise DuplicateSource(
                    f"already in the study (imported as {known[digest]!r})", file=path.name
                )
            if digest in seen:
                raise DuplicateSource(f"same content as {seen[digest]!r}", file=path.name)
            seen[digest] = path.name
            result = read_transcript(path, speaker_pattern=pattern, encoding=encoding)
        except InvalidInput as exc:
            report.errors.append(exc)
            continue
        except OSError as exc:
            report.errors.append(InvalidInput(f"cannot read: {exc.strerror}", file=path.name))
            continue
        parsed.append((path, digest, result))
    if report.errors and not skip_bad:
        raise ImportFailed(report.errors)
    if title is not None and len(parsed) > 1:
        raise InvalidInput("a title can only be given when importing one file")
    items = [
        NewTranscript(
            result.turns,
            title=title or path.stem,
            source_name=path.name,
            source_format=result.format,
            content_hash=digest,
            partnership=partnership,
            date=date or _date_from_name(path.name),
            participants=list(participants),
            interviewers=list(interviewers),
        )
        for path, digest, result in parsed
    ]
    # Every file in one transaction, written together (rows by SQLAlchemy Core).
    with store.session() as s:
        written = write_transcripts(store, s, items)
    if written:
        refresh_statistics(store.engine)
    for (path, _, result), tr in zip(parsed, written, strict=True):
        report.imported.append(
            ImportedFile(
                str(path), tr.id, tr.title, tr.turns, tr.word_count, tuple(result.warnings)
            )
        )
    titles = {tr.title for tr in written}
    report.unmatched_speakers = {
        label: where
        for label, where in store.unmatched_speakers().items()
        if titles.intersection(where)
    }
    return report
