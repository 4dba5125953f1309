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
    folder, up to ``stage`` (see :data:`coprod_nb.seed.demo.STAGES`), so that a notebook runs
    on its own and never writes into the repository.
    """
    from coprod_nb.seed.demo import build_demo
    from coprod_nb.seed.demo_cache import copy_demo

    # A demo study in a SQLite file is copied from the cache of built demos (see
    # coprod_nb.seed.demo_cache); a database server gets it built.
    in_file = url is None and not os.environ.get("COPROD_DB")
    target = study_dir or os.environ.get("COPROD_STUDY")
    if target:
        target = Path(target)
        if not (target / "study.db").exists() and in_file and not copy_demo(target):
            build_demo(target).close()
        return Store(target, url, actor=actor)
    folder = tempfile.mkdtemp(prefix="coprod-demo-")
    if in_file and copy_demo(folder, stage):
        return Store(folder, actor=actor)
    store = build_demo(folder, url=url, stage=stage)
    store.actor = actor or default_actor()  # the demo was built by "demo"; now it is you
    return store
