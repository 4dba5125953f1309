"""Controls that fit their content: no button or label cut with an ellipsis.

ipywidgets gives a button a fixed width (148 px) and a description a fixed 80 px, and
cuts longer text with an ellipsis. :func:`fit` walks a view's controls once built and
lets those grow with their text instead (``width: auto``, ``description_width:
initial``), and a width of 100% leaves room for the widget's margins; rows that must
wrap say so with their own ``flex-flow``.
"""

from __future__ import annotations

import ipywidgets as w

__all__ = ["fit"]

#: Descriptions up to this many characters fit in ipywidgets' 80 px.
_SHORT = 9


def fit(root: w.Widget) -> w.Widget:
    """Let every button, toggle and description under ``root`` take the room its text
    needs; returns ``root``."""
    stack = [(root, None)]
    while stack:
        x, parent = stack.pop()
        layout = getattr(x, "layout", None)
        if layout is not None and layout.width == "100%":
            # 100% plus ipywidgets' 2 px margins would run 4 px past the parent's edge
            layout.width = "calc(100% - 4px)"
        if isinstance(x, w.Button | w.ToggleButton | w.Checkbox) and not x.layout.width:
            x.layout.width = "auto"
            x.layout.max_width = "100%"
            if isinstance(parent, w.VBox):
                # a column stretches an auto-width child across the view: keep it its size
                x.layout.align_self = "flex-start"
        description = getattr(x, "description", "")
        style = getattr(x, "style", None)
        if (
            # a view may name a child control "description" (not a text): not a label
            isinstance(description, str)
            and len(description) > _SHORT
            and hasattr(style, "description_width")
            # a width the view chose (a column of aligned labels) is kept
            and not style.description_width
            and not isinstance(x, w.Button | w.ToggleButton)
        ):
            style.description_width = "initial"
        stack.extend((child, x) for child in getattr(x, "children", ()) or ())
    return root
