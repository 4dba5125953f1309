"""The live participant app of the workshop, served with Voilà.

``coprod-nb serve-workshop DIR`` serves ``participant.ipynb``, whose one cell calls
:func:`page`. Each participant opens their personal link (``...?key=KEY``); the server
(:mod:`coprod_nb.participant_app.server`) checks the key before Voilà starts a kernel for
the page, and Voilà hands the kernel the link's query string as ``QUERY_STRING``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from urllib.parse import parse_qs

__all__ = ["key_from_query", "page"]

_NOT_READY = "The workshop app is not ready. Please tell the facilitator."


def key_from_query(query: str | None) -> str:
    """The ``key`` of a link's query string (``""`` when there is none)."""
    values = parse_qs((query or "").lstrip("?"), keep_blank_values=True).get("key", [])
    return values[0] if values else ""


def page(environ: Mapping[str, str] | None = None):
    """Show the participant app for the key in the page's link.

    Reads ``QUERY_STRING`` (set by Voilà), ``COPROD_STUDY``, ``COPROD_DB`` and
    ``COPROD_WORKSHOP`` (set by ``serve-workshop``). Problems of the set-up go to the
    server's console, never to the participant's page.

    Returns
    -------
    ParticipantApp or None
    """
    import ipywidgets as w
    from IPython.display import display

    from coprod_nb.errors import CoprodError, Forbidden
    from coprod_nb.storage import Store
    from coprod_nb.widgets._common import message
    from coprod_nb.widgets.participant import ParticipantApp

    env = os.environ if environ is None else environ
    key = key_from_query(env.get("QUERY_STRING"))
    study, url = env.get("COPROD_STUDY"), env.get("COPROD_DB") or None
    workshop = env.get("COPROD_WORKSHOP")
    try:
        if not study:
            raise CoprodError("COPROD_STUDY is not set: start the app with serve-workshop")
        store = Store(study, url, actor="participant app", create=False)
    except CoprodError as exc:
        print(f"coprod-nb participant app: {exc}", file=sys.stderr)
        box = w.HTML()
        message(box, _NOT_READY, kind="error")
        display(box)
        return None
    ref = int(workshop) if workshop and workshop.isdigit() else None
    try:
        # Events are recorded under the participant's study name, not the server's user.
        store.actor = store.participant_for_token(key, ref)[1].name
    except Forbidden:
        pass  # the app shows the refusal
    app = ParticipantApp(store, key, workshop=ref)
    display(app)
    return app
