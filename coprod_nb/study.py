"""Opening the study a notebook works on."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from coprod_nb.storage import Store, default_actor


def open_study(
    study_dir: str | os.PathLike | None = None,
    *,
    url: str | None = None,
    actor: str | None = None,
    stage: str = "workshop",
) -> Store:
    """Open the study a notebook should work on.

    ``study_dir`` if given, else ``$COPROD_STUDY`` (a demo study is built there if the
    folder holds none). When neither is set, a fresh demo study is built in a temporary
    folder, up to ``stage`` (see :data:`coprod_nb.demo.STAGES`), so that a notebook runs
    on its own and never writes into the repository.
    """
    from coprod_nb.demo import build_demo

    target = study_dir or os.environ.get("COPROD_STUDY")
    if target:
        target = Path(target)
        if not (target / "study.db").exists() and url is None and not os.environ.get("COPROD_DB"):
            build_demo(target).close()
        return Store(target, url, actor=actor)
    store = build_demo(tempfile.mkdtemp(prefix="coprod-demo-"), url=url, stage=stage)
    store.actor = actor or default_actor()  # the demo was built by "demo"; now it is you
    return store
