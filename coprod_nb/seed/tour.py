"""Opening the study of the tour: the scripted walk-through in ``notebooks/tour/``.

The tour's cells name the demo's partnerships and people, type notes, vote and record
decisions: they write. So the tour runs only on the fictional demo, or on a class study
built from it (course mode), never on a team's own study.
"""

from __future__ import annotations

import os
import tomllib

from coprod_nb.errors import InvalidInput
from coprod_nb.seed.demo import DEMO_ACTOR, STAGES, demo_data_dir
from coprod_nb.storage import Store

BANNER = (
    "Tour: a scripted walk-through on the fictional demo study. Its cells type notes, vote "
    "and record decisions in that study; for your own study use the notebooks one folder up."
)


def _demo_partnerships() -> set[str]:
    manifest = tomllib.loads((demo_data_dir() / "study.toml").read_text(encoding="utf-8"))
    return {p["short"] for p in manifest["partnerships"]}


def is_demo_study(store: Store) -> bool:
    """Whether ``store`` holds the demo (or a class study made from it): its partnerships."""
    return _demo_partnerships() <= {p.short for p in store.partnerships()}


def open_tour(stage: str = STAGES[-1], *, quiet: bool = False) -> Store:
    """Open the study a tour notebook works on, and say what it is.

    The study named by ``$COPROD_STUDY`` (or ``$COPROD_DB``) when it is the demo or a class
    study (acting as the person working); else a temporary demo built up to ``stage``,
    acting as the demo researcher
    :data:`coprod_nb.seed.demo.DEMO_ACTOR`, whom the tour's cells name.

    Raises
    ------
    InvalidInput
        When the named study is not the demo: the tour would write into a real study.
    """
    from coprod_nb.study import open_study

    named = os.environ.get("COPROD_STUDY") or os.environ.get("COPROD_DB")
    if named:
        store = open_study()
        if not is_demo_study(store):
            where = os.environ.get("COPROD_STUDY") or "$COPROD_DB"
            store.close()
            raise InvalidInput(
                "the tour runs only on the fictional demo or a class study built from it; "
                "this study is your own, so use the working notebooks (one folder up) instead",
                file=where,
            )
    else:
        store = open_study(stage=stage, actor=DEMO_ACTOR, demo=True)
    if not quiet:
        print(BANNER)
    return store
