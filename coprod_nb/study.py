"""Opening the study a notebook works on."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from coprod_nb.storage import Store


def open_study(
    study_dir: str | os.PathLike | None = None, *, url: str | None = None, actor: str | None = None
) -> Store:
    """Open the study a notebook should work on.

    ``study_dir`` if given, else ``$COPROD_STUDY``; when neither is set, a fresh demo
    study is built in a temporary folder, so that a notebook runs on its own and never
    writes into the repository.
    """
    target = study_dir or os.environ.get("COPROD_STUDY")
    if target:
        target = Path(target)
        if not (target / "study.db").exists() and url is None and not os.environ.get("COPROD_DB"):
            from coprod_nb.demo import build_demo

            build_demo(target).close()
        return Store(target, url, actor=actor)
    from coprod_nb.demo import build_demo

    store = build_demo(tempfile.mkdtemp(prefix="coprod-demo-"), url=url)
    if actor:
        store.actor = actor
    return store
