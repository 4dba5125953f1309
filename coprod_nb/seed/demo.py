"""The fictional demo study shipped in ``seed/data/demo``."""

from __future__ import annotations

import os
import tomllib
from contextlib import nullcontext
from datetime import date, datetime, time, timedelta
from pathlib import Path

from coprod_nb.errors import InvalidInput
from coprod_nb.seed.manifest import (
    load_joint_meeting,
    load_manifest,
    load_notes,
    load_workshop,
)
from coprod_nb.storage import Store
from coprod_nb.storage.access import as_lead
from coprod_nb.storage.events import fictional_clock

#: How far the demo study goes: transcripts only; step-1 notes (step 1 open); the joint
#: meeting with six tensions frozen as v1 (step 1 closed); the workshop (step 3 done).
STAGES: tuple[str, ...] = ("transcripts", "recall", "joint", "workshop")

#: Who works on a temporary demo when the person working is none of its researchers: the
#: login of one of its (fictional) researchers, not the lead.
DEMO_ACTOR = "cedar"


def demo_data_dir() -> Path:
    """Folder of the demo study's manifest and transcripts (``$COPROD_DEMO_DATA`` overrides)."""
    env = os.environ.get("COPROD_DEMO_DATA")
    return Path(env) if env else Path(__file__).resolve().parent / "data" / "demo"


def build_demo(
    study_dir: str | os.PathLike,
    *,
    url: str | None = None,
    progress: bool = False,
    stage: str = STAGES[-1],
) -> Store:
    """Build the demo study in ``study_dir`` (which must not hold a study yet).

    Parameters
    ----------
    stage : str
        One of :data:`STAGES`; later stages include the earlier ones. Notebooks of a
        step build the demo as it stands when that step starts.

    Returns
    -------
    Store
        The open study.
    """
    if stage not in STAGES:
        raise InvalidInput(f"stage must be one of {', '.join(STAGES)} (got {stage!r})")
    study_dir = Path(study_dir)
    if (study_dir / "study.db").exists() and url is None:
        raise InvalidInput("a study already exists here", file=str(study_dir))
    data = demo_data_dir()
    # The demo tells of 2021: every timestamp falls on the day its act happens in the
    # story (the manifest's dates), never on the day the demo was built.
    when = _story_dates(data)
    with _clock(when, "imported"):
        store = Store(study_dir, url, actor="demo")
        if store.transcripts():
            store.close()
            raise InvalidInput("the database already holds a study", file=str(study_dir))
        load_manifest(store, data / "study.toml", progress=progress)
    reached = STAGES.index(stage)
    if reached >= STAGES.index("recall"):
        with _clock(when, "notes"):
            note_ids = load_notes(store, data / "notes.toml")
    if reached >= STAGES.index("joint"):
        # Closing step 1 and freezing a framework are the lead's acts: the builder
        # declares the lead (alder) for them (the demo is a SQLite study).
        with as_lead(store), _clock(when, "recall closed"):
            store.close_recall()
        with _clock(when, "joint meeting"):
            load_joint_meeting(store, data / "joint_meeting.toml", note_ids)
            with as_lead(store):
                store.freeze_framework("v1: agreed at the joint interpretation meeting")
    if reached >= STAGES.index("workshop"):
        with _clock(when, "workshop"):
            load_workshop(store, data / "workshop.toml")
    return store


def _clock(when: dict[str, datetime], stage: str):
    return fictional_clock(when[stage]) if stage in when else nullcontext()


def _story_dates(data: Path) -> dict[str, datetime]:
    """When each stage of the demo happens in its story, from its manifest's dates.

    Empty when the data (``$COPROD_DEMO_DATA``) lacks a date: the real clock is used.
    """
    try:
        return _read_story_dates(data)
    except (OSError, KeyError, ValueError, tomllib.TOMLDecodeError):
        return {}


def _read_story_dates(data: Path) -> dict[str, datetime]:
    def read(name: str, table: str):
        with (data / name).open("rb") as f:
            return tomllib.load(f)[table]

    interviews = [date.fromisoformat(str(t["date"])) for t in read("study.toml", "transcripts")]
    meeting = date.fromisoformat(str(read("joint_meeting.toml", "meeting")["date"]))
    workshop = date.fromisoformat(str(read("workshop.toml", "workshop")["date"]))

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour))

    return {
        "imported": at(max(interviews) + timedelta(days=1), 9),
        "notes": at(meeting - timedelta(days=14), 10),
        "recall closed": at(meeting - timedelta(days=1), 17),
        "joint meeting": at(meeting, 10),
        "workshop": at(workshop, 10),
    }


def start_live_workshop(store: Store, *, when: date = date(2022, 11, 9), max_choices: int = 2):
    """Record a follow-up workshop on the newest frozen framework and open its poll.

    The demo's own workshop is finished (its polls are closed and its result frozen as
    v2); a follow-up a year on, where the same leaders revisit the final framework, is
    what the live participant app serves in the demo and its tests.

    Returns
    -------
    Poll
        The open poll ``"opening"`` of the new workshop (approval, at most
        ``max_choices`` nominations).
    """
    earlier = store.workshops()
    people = list(earlier[-1].participants) if earlier else [p.name for p in store.participants()]
    facilitators = list(earlier[-1].facilitators) if earlier else []
    with fictional_clock(datetime.combine(when, time(10))):
        with as_lead(store):
            ws = store.add_workshop(when, facilitators=facilitators, participants=people)
        codes = store.framework(ws.base_version).codes
        return store.open_poll(ws.id, "opening", codes, max_choices=max_choices)
