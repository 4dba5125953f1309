"""Recordings: a transcript's audio or video file, kept inside the study folder.

A recording is copied into ``STUDY/media/`` and its path is stored relative to the study
folder (``transcript.media_path``). Every read resolves the path again and refuses one
that leads outside the folder (``..``, an absolute path, a symlink pointing elsewhere),
so a tampered database cannot make the widgets read another file. Recordings are
identifying data: nothing here copies them anywhere but into the study folder, and no
export includes them.
"""

from __future__ import annotations

import mimetypes
import os
import shutil
from pathlib import Path, PurePosixPath

from sqlalchemy import select

from coprod_nb.errors import InvalidInput, NotFound
from coprod_nb.storage import events
from coprod_nb.storage.models import Transcript

__all__ = [
    "MAX_MEDIA_BYTES",
    "MEDIA_DIR",
    "MEDIA_TYPES",
    "attach_media",
    "detach_media",
    "media_file",
    "media_type",
]

#: Folder of the study that holds the recordings.
MEDIA_DIR = "media"
#: Largest recording the transcript widget sends to the browser (bytes).
MAX_MEDIA_BYTES = 200 * 1024 * 1024
#: Formats a browser's <audio>/<video> element plays, by suffix. mimetypes alone does
#: not know .m4a or .opus on every system, so the common ones are named here.
MEDIA_TYPES = {
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".ogv": "video/ogg",
}


def media_type(path: str | os.PathLike) -> str:
    """The MIME type of a recording, from its suffix (InvalidInput when not playable)."""
    suffix = Path(path).suffix.lower()
    kind = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(f"x{suffix}")[0] or ""
    if not kind.startswith(("audio/", "video/")):
        known = ", ".join(sorted(MEDIA_TYPES))
        raise InvalidInput(
            f"not an audio or video file a browser can play (use one of {known})",
            file=Path(path).name,
        )
    return kind


def _inside(study_dir: Path, relative: str) -> Path:
    """``relative`` resolved under the study folder; InvalidInput if it leads outside."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise InvalidInput("the recording's path must stay inside the study folder", file=relative)
    root = study_dir.resolve()
    path = (root / Path(*pure.parts)).resolve()  # follows symlinks: their target counts
    if not path.is_relative_to(root):
        raise InvalidInput(
            "the recording is a link to a file outside the study folder", file=relative
        )
    return path


def _transcript(s, ref: int | str) -> Transcript:
    from coprod_nb.storage.store import Store

    return Store._find(s, Transcript, ref, ("title", "source_name"), "transcript")


def attach_media(store, transcript: int | str, file: str | os.PathLike) -> str:
    """Give a transcript its recording; returns the stored path (relative to the study).

    A file outside ``STUDY/media/`` is copied there (a name already taken by another
    file gets ``-2``, ``-3``, ...); one already under it is used where it is. Logged as an
    event. Refused with InvalidInput (naming the file and the problem, nothing changed):
    a missing file, a folder, a format a browser cannot play.
    """
    src = Path(file).expanduser()
    kind = media_type(src)  # first: a wrong suffix needs no file access
    if not src.is_file():
        raise InvalidInput("no such recording (or it is not a file)", file=str(file))
    root = store.study_dir.resolve()
    folder = root / MEDIA_DIR
    real = src.resolve()
    if real.is_relative_to(folder.resolve()):
        target = real  # already in media/ (an upload saved there): used where it is
    else:
        try:
            folder.mkdir(exist_ok=True)
            target = folder / src.name
            n = 1
            while target.exists() and not _same_file(target, real):
                n += 1
                target = folder / f"{src.stem}-{n}{src.suffix}"
            if not target.exists():
                part = target.with_name(target.name + ".part")
                shutil.copyfile(real, part)
                os.replace(part, target)
        except OSError as exc:
            raise InvalidInput(
                f"cannot copy the recording into {folder}: {exc.strerror or exc}",
                file=str(file),
            ) from exc
    relative = target.relative_to(root).as_posix()
    _inside(root, relative)
    with store.session() as s:
        tr = _transcript(s, transcript)
        before = tr.media_path
        tr.media_path = relative
        events.log(
            s,
            store.actor,
            "update",
            "transcript",
            tr.id,
            before={"media_path": before},
            after={"media_path": relative},
            detail=f"recording ({kind})",
        )
    return relative


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
        with a.open("rb") as fa, b.open("rb") as fb:
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def detach_media(store, transcript: int | str) -> None:
    """Forget a transcript's recording (the file stays in ``STUDY/media/``). Logged."""
    with store.session() as s:
        tr = _transcript(s, transcript)
        if tr.media_path is None:
            return
        events.log(
            s,
            store.actor,
            "update",
            "transcript",
            tr.id,
            before={"media_path": tr.media_path},
            after={"media_path": None},
        )
        tr.media_path = None


def media_file(store, transcript_id: int) -> Path | None:
    """The recording of a transcript as a checked path inside the study, or None.

    Raises InvalidInput when the stored path leads outside the study folder, NotFound
    when the file is gone.
    """
    with store.session(write=False) as s:
        relative = s.scalar(select(Transcript.media_path).where(Transcript.id == transcript_id))
    if not relative:
        return None
    path = _inside(store.study_dir, relative)
    if not path.is_file():
        raise NotFound(f"{relative}: the recording is missing from the study folder")
    return path
