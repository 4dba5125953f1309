"""Small pieces shared by the widgets: safe HTML and user-facing messages."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager

import ipywidgets as w
import pandas as pd


def escape(text: object) -> str:
    """HTML-escape any value (transcript text, names, notes are untrusted)."""
    return html.escape(str(text), quote=True)


def table_html(df: pd.DataFrame, *, css_class: str = "cp-table") -> str:
    """A DataFrame as an HTML table with every cell escaped."""
    return df.to_html(escape=True, index=False, classes=css_class, border=0, na_rep="")


def message(widget: w.HTML, text: str, *, kind: str = "info") -> None:
    """Show a one-line status (``kind``: info, ok, error) in an HTML widget, escaped."""
    colours = {"info": "#333", "ok": "#1a7f37", "error": "#b42318"}
    widget.value = (
        f'<div class="cp-message cp-{kind}" style="color:{colours[kind]};white-space:pre-wrap">'
        f"{escape(text)}</div>"
    )


def short(text: str | None, n: int) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def researcher_source(researcher: str | w.ValueWidget) -> tuple[str | None, w.ValueWidget | None]:
    """A fixed researcher name, or a widget (such as ResearcherPicker) to follow."""
    if isinstance(researcher, w.ValueWidget):
        return None, researcher
    return researcher, None


class FigureBox(w.VBox):
    """Matplotlib figures shown as PNG images inside a widget.

    Images rather than an ``Output`` with ``display``: a figure then belongs to the
    widget alone, so it never spills into the cell's output (where notebook checks
    and exports would see it) and re-drawing replaces it cleanly.
    """

    def draw(self, *plots) -> str | None:
        """Draw each ``plot()`` (a callable returning an Axes); figures are closed after.

        Returns the message of a plot that could not be drawn (bad data), else None.
        """
        import io

        import matplotlib.pyplot as plt

        from coprod_nb.errors import CoprodError

        images, problem = [], None
        for plot in plots:
            before = set(plt.get_fignums())
            try:
                figure = plot().figure
                buffer = io.BytesIO()
                figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
                images.append(
                    w.Image(
                        value=buffer.getvalue(), format="png", layout=w.Layout(max_width="100%")
                    )
                )
            except (ValueError, CoprodError) as exc:
                problem = str(exc)
            finally:
                for num in set(plt.get_fignums()) - before:
                    plt.close(num)
        self.children = images
        return problem

    def clear(self) -> None:
        """Remove the figures."""
        self.children = ()


class Quiet:
    """A flag that silences observers while a view fills its own controls."""

    _quiet = False

    @contextmanager
    def _filling(self) -> Iterator[None]:
        self._quiet, before = True, self._quiet
        try:
            yield
        finally:
            self._quiet = before
