"""The fictional demo study shipped in ``data/demo``."""

from __future__ import annotations

import os
from pathlib import Path

from coprod_nb.errors import InvalidInput
from coprod_nb.ingest.manifest import load_manifest, load_notes
from coprod_nb.storage import Store


def demo_data_dir() -> Path:
    """Folder of the demo study's manifest and transcripts (``$COPROD_DEMO_DATA`` overrides)."""
    env = os.environ.get("COPROD_DEMO_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "data" / "demo"


def build_demo(
    study_dir: str | os.PathLike, *, url: str | None = None, progress: bool = False
) -> Store:
    """Build the demo study in ``study_dir`` (which must not hold a study yet).

    Partnerships, people, pseudonyms and transcripts from ``study.toml``; the three
    researchers' step-1 notes from ``notes.toml`` (step 1 left open).

    Returns the open :class:`Store`.
    """
    study_dir = Path(study_dir)
    if (study_dir / "study.db").exists() and url is None:
        raise InvalidInput("a study already exists here", file=str(study_dir))
    store = Store(study_dir, url, actor="demo")
    if store.transcripts():
        store.close()
        raise InvalidInput("the database already holds a study", file=str(study_dir))
    load_manifest(store, demo_data_dir() / "study.toml", progress=progress)
    load_notes(store, demo_data_dir() / "notes.toml")
    return store
