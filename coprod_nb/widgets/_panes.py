"""The custom front-end widgets (anywidgets) of the transcript reader and the circle board.

They live apart from their views so that importing the views does not import
``anywidget`` (and ``psygnal`` under it, most of its import time): this module is
imported when a :class:`~coprod_nb.widgets.transcript.TranscriptView` or a
:class:`~coprod_nb.widgets.circle_board.CircleBoard` is built, not when a notebook's
import line names them.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

__all__ = ["CirclePane", "TranscriptPane"]

_STATIC = Path(__file__).parent / "static"


class TranscriptPane(anywidget.AnyWidget):
    """The turns of one page, drawn in the browser (CSS class ``cp-transcript-pane``).

    Each turn's text is in an element of class ``cp-turn-text``; anchored passages are
    ``cp-hl`` spans, search hits ``cp-hit``, the coding stripes in ``cp-stripes``. The
    front end sends ``{"kind": ...}`` messages: ``select`` (``spans``: turn id, start,
    end in code points of the turn's text), ``anchor`` (the same, and make excerpts),
    ``open`` (an excerpt's highlight was clicked), ``page`` (``step`` +1/-1).
    """

    _esm = _STATIC / "transcript.js"
    _css = _STATIC / "transcript.css"

    turns = traitlets.List([]).tag(sync=True)
    codes = traitlets.Dict({}).tag(sync=True)
    current = traitlets.Int(-1).tag(sync=True)
    selection = traitlets.List([]).tag(sync=True)
    position = traitlets.Unicode("").tag(sync=True)
    can_prev = traitlets.Bool(False).tag(sync=True)
    can_next = traitlets.Bool(False).tag(sync=True)
    media = traitlets.Bytes(b"").tag(sync=True)
    media_type = traitlets.Unicode("").tag(sync=True)
    media_name = traitlets.Unicode("").tag(sync=True)
    #: bumped when the same recording is sent again, so the front end rebuilds its URL
    media_version = traitlets.Int(0).tag(sync=True)


class CirclePane(anywidget.AnyWidget):
    """The circles and cards, drawn in the browser (CSS class ``cp-circle-pane``).

    ``cards``: ``{"code", "label", "detail"}`` per card; ``placements``: code -> ring.
    The front end sends ``{"kind": "place", "code", "circle"}`` after a drag and
    ``{"kind": "key", "code", "key"}`` for a key pressed on a focused card.
    """

    _esm = _STATIC / "circle_board.js"
    _css = _STATIC / "circle_board.css"

    cards = traitlets.List([]).tag(sync=True)
    placements = traitlets.Dict({}).tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
