"""What a view needs and does not find: one plain message per missing thing.

Each message names what is missing and where to get it (the notebook, and the button),
so a widget built on a study at an early stage says what to do next instead of failing.
The rules they report (who is working, which workshop is meant) live in the store.
"""

from __future__ import annotations

from coprod_nb.errors import NotFound

NO_TRANSCRIPTS = "No transcripts yet: import them in notebook 00 (Import transcripts)."
NO_RESEARCHERS = (
    "This study has no researchers yet: add the team under Researchers in notebook 00 "
    "(each with their login), then run this cell again."
)
NOT_A_RESEARCHER = (
    "You (login {actor}) are not a researcher of this study: add yourself under "
    "Researchers in notebook 00, or set COPROD_USER to your login."
)
NO_PARTNERSHIPS = "No partnerships yet: add them under Partnerships in notebook 00."
STEP1_OPEN = "Step 1 is still open: the lead closes it in notebook 01 (Close step 1)."
NO_FRAMEWORK = (
    "No framework frozen yet: the lead agrees framework v1 in notebook 02 (Agree framework)."
)
NO_WORKSHOP = "No workshop recorded yet: record one in notebook 03 (Workshop)."
WORKSHOP_FINISHED = (
    "This workshop is finished: its result is frozen as framework v{version}, so its "
    "decisions can no longer change. To change the framework again, record a new workshop "
    "in notebook 03 (Workshop)."
)


def identity_problem(store) -> str | None:
    """Why nobody of the team is working (no team yet, or the actor is not on it), else None."""
    if store.acting_researcher() is not None:
        return None
    if not store.researchers():
        return NO_RESEARCHERS
    return NOT_A_RESEARCHER.format(actor=store.actor)


def researcher_problem(store, name: str | None, what: str) -> str | None:
    """Why ``what`` (e.g. "write notes") is not possible for researcher ``name``, else None."""
    if name is not None:
        return None
    return f"{identity_problem(store) or NO_RESEARCHERS} Until then you cannot {what}."


def framework_problem(store) -> str | None:
    """:data:`NO_FRAMEWORK` while no framework is frozen, else None."""
    return None if store.framework_versions() else NO_FRAMEWORK


def chosen_workshop(store, workshop=None):
    """``(workshop, problem)``: the workshop a step-3 view shows, or None and the reason.

    ``workshop`` (an id) is the one chosen; without it the store's
    :meth:`~coprod_nb.storage.Store.default_workshop` rule applies (the open one, else the
    newest).
    """
    try:
        return store.workshop(workshop), None
    except NotFound as exc:
        return None, (NO_WORKSHOP if workshop is None else f"{exc}.")


def finished_note(store, ws) -> str | None:
    """:data:`WORKSHOP_FINISHED` for a workshop whose result is frozen, else None."""
    version = store.workshop_frozen_as(ws.id)
    return None if version is None else WORKSHOP_FINISHED.format(version=version)


def say_no_workshop(widget, store, workshop=None) -> None:
    """Show why there is no workshop to show: a plain note, or an error for a wrong id."""
    from coprod_nb.widgets._common import message

    problem = chosen_workshop(store, workshop)[1]
    message(widget, problem or "", kind="info" if workshop is None else "error")
