"""What every figure shares: full labels, integer colour bars for counts, readable numbers.

One place for the rules the plot functions follow, so a heatmap of counts in step 1 and
one in step 2 cannot drift apart.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.colors import BoundaryNorm, Normalize, to_rgb
from matplotlib.ticker import MaxNLocator

__all__ = ["wrap_label", "contrast_ratio", "text_colour", "count_image", "annotate_counts"]

# Counts up to this get one colour per value; above it the scale is continuous (still
# with whole-number ticks), since 200 bands are no easier to read than a gradient.
MAX_DISCRETE_COUNT = 20


def wrap_label(text: object, width: int = 28) -> str:
    """``text`` broken into lines of at most ``width`` characters, never shortened.

    Joining the lines with spaces gives the original text back (words longer than
    ``width`` stay whole rather than being cut).
    """
    text = str(text)
    if len(text) <= width:
        return text
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False))


def _luminance(colour) -> float:
    # WCAG 2 relative luminance of an sRGB colour.
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in to_rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground, background) -> float:
    """WCAG 2 contrast ratio of two colours (1 .. 21; 4.5 is the floor for text)."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_colour(background) -> str:
    """Black or white, whichever contrasts more with ``background`` (always ≥ 4.5:1)."""
    return (
        "black"
        if contrast_ratio("black", background) >= contrast_ratio("white", background)
        else "white"
    )


def count_image(ax, values, *, cmap: str, label: str, quads: bool = False):
    """A heatmap of whole counts with a colour bar that shows whole numbers only.

    Small counts get one colour band per value (no 0.5 steps, no half-way shades).
    ``quads`` draws the cells as a mesh of quadrilaterals instead, for large grids: an
    image is resampled to the figure's pixels first, which took a tenth of a second
    (and for a 16 x 12 inch grid once 160 MB) of every drawing on a large study
    (docs/performance.md); the mesh gives the same colours in the same cells in a
    hundredth. The image is then kept hidden: it carries the colour bar and the values.

    Returns
    -------
    matplotlib.image.AxesImage
        Its ``colorbar`` attribute is the colour bar.
    """
    values = np.asarray(values, dtype=float)
    top = int(np.nanmax(values)) if values.size and np.isfinite(np.nanmax(values)) else 0
    top = max(top, 1)
    if top <= MAX_DISCRETE_COUNT:
        norm = BoundaryNorm(np.arange(-0.5, top + 1.5), 256)
    else:
        norm = Normalize(vmin=0, vmax=top)
    image = ax.imshow(values, cmap=cmap, norm=norm, aspect="auto")
    if quads:
        rows, cols = values.shape
        ax.pcolormesh(
            np.arange(cols + 1) - 0.5,
            np.arange(rows + 1) - 0.5,
            values,
            cmap=image.get_cmap(),
            norm=image.norm,
        )
        image.set_visible(False)
        # The limits the image set (cells centred on whole numbers, first row on top).
        ax.set_xlim(-0.5, cols - 0.5)
        ax.set_ylim(rows - 0.5, -0.5)
    bar = ax.figure.colorbar(image, ax=ax, label=label)
    bar.locator = MaxNLocator(integer=True, min_n_ticks=1)
    if top <= MAX_DISCRETE_COUNT:
        ticks = [t for t in MaxNLocator(integer=True).tick_values(0, top) if 0 <= t <= top]
        bar.set_ticks(ticks)
    bar.minorticks_off()
    bar.update_ticks()
    return image


def annotate_counts(ax, image, texts, *, fontsize: float | None = None) -> None:
    """Write ``texts[i][j]`` in each cell, black or white by the cell's colour."""
    values = image.get_array()
    for i, row in enumerate(texts):
        for j, text in enumerate(row):
            colour = image.cmap(image.norm(values[i, j]))
            ax.text(
                j, i, text, ha="center", va="center", fontsize=fontsize, color=text_colour(colour)
            )
