"""Every figure: full labels, whole-number colour bars, readable numbers, sharp downloads."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import pytest
from lxml import etree
from matplotlib.text import Text

from coprod_nb.analysis.figures import contrast_ratio, wrap_label
from coprod_nb.analysis.interpretation import (
    compare_counts,
    evidence_matrix,
    plot_compare,
    plot_evidence,
)
from coprod_nb.analysis.recall import plot_progress, progress_table
from coprod_nb.analysis.sensemaking import (
    circle_results,
    lineage_table,
    plot_lineage,
    poles,
    poll_results,
    spectra,
)
from coprod_nb.analysis.workshop import plot_circles, plot_poll, plot_ring_counts, plot_spectra
from coprod_nb.widgets._common import FigureBox, png_size

matplotlib.use("Agg")

LONG = "the long name of a tension that no figure may cut short, however narrow it is drawn"

COUNT_HEATMAPS = {"progress", "compare", "evidence"}


def figures(store):
    """name -> (plot callable, the full labels it must show) for every figure the store has."""
    out = {
        "progress": (lambda: plot_progress(progress_table(store)), []),
        "compare": (lambda: plot_compare(compare_counts(store)), []),
        "evidence": (lambda: plot_evidence(evidence_matrix(store)), []),
    }
    circles = circle_results(store)
    if len(circles):
        out["circles"] = (lambda: plot_circles(circles), list(circles.option))
        out["rings"] = (lambda: plot_ring_counts(circles), list(circles.option))
    poll = poll_results(store)
    if len(poll):
        out["poll"] = (lambda: plot_poll(poll), list(poll.option))
    framework = store.framework()
    table = spectra(store)
    if framework is not None and len(table):
        named = poles(framework)
        drawn = set(table.tension)
        labels = [pole for code, pair in named.items() if code in drawn for pole in pair]
        out["spectra"] = (lambda: plot_spectra(table, poles=named), labels)
    lineage = lineage_table(store)
    if len(lineage):
        long = lineage.assign(source_name=LONG + " " + lineage.source_name)
        out["lineage"] = (lambda: plot_lineage(long), [LONG])
    return out


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(params=["demo", "second"])
def store(request, demo, second_study):
    return demo if request.param == "demo" else second_study("workshop", "rowan")


def test_wrap_label_keeps_every_word():
    wrapped = wrap_label(LONG, 20)
    assert "\n" in wrapped and words(wrapped) == LONG
    assert all(len(line) <= 20 for line in wrapped.splitlines())
    assert wrap_label("short") == "short"


def test_contrast_ratio_follows_wcag():
    assert contrast_ratio("black", "white") == pytest.approx(21)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1)


def test_every_figure_shows_full_labels_and_readable_numbers(store):
    drawn = figures(store)
    assert {"progress", "compare", "evidence", "circles", "poll"} <= set(drawn)
    for name, (plot, labels) in drawn.items():
        ax = plot()
        ax.figure.canvas.draw()
        texts = [t for t in ax.figure.findobj(Text) if t.get_text()]
        shown = " ".join(words(t.get_text()) for t in texts)
        for t in texts:
            assert not t.get_text().rstrip().endswith(("...", "…")), (name, t.get_text())
        for label in labels:
            assert words(str(label)) in shown, (name, label)
        if name in ("poll", "rings"):
            ticks = [t for t in ax.get_xticks() if 0 <= t <= ax.get_xlim()[1]]
            assert all(float(t).is_integer() for t in ticks), (name, ticks)
        if name in COUNT_HEATMAPS:
            image = ax.images[0]
            ticks = image.colorbar.get_ticks()
            assert len(ticks) and all(float(t).is_integer() for t in ticks), (name, ticks)
            values = image.get_array()
            for t in ax.texts:
                j, i = (round(v) for v in t.get_position())
                cell = image.cmap(image.norm(values[i, j]))
                assert contrast_ratio(t.get_color(), cell) >= 4.5, (name, t.get_text())
        plt.close(ax.figure)


def test_circle_cards_do_not_straddle_ring_borders(store):
    ax = plot_circles(circle_results(store))
    ax.figure.canvas.draw()
    to_data = ax.transData.inverted()
    for card in (t for t in ax.texts if "\n" in t.get_text()):
        (x0, y0), (x1, y1) = to_data.transform(card.get_bbox_patch().get_window_extent())
        near = math.hypot(
            max(0.0, min(abs(x0), abs(x1)) if x0 * x1 > 0 else 0.0),
            max(0.0, min(abs(y0), abs(y1)) if y0 * y1 > 0 else 0.0),
        )
        far = math.hypot(max(abs(x0), abs(x1)), max(abs(y0), abs(y1)))
        for border in (1.0, 2.0):
            assert not near < border < far, (card.get_text(), near, far)
    plt.close(ax.figure)


def test_figure_box_is_sharp_and_saves_three_formats(store):
    box = FigureBox()
    plot, _ = figures(store)["circles"]
    assert box.draw(plot, figures(store)["progress"][0]) is None
    assert len(box.children) == 2
    image, row = box.children[0].children
    natural = png_size(image.value)[0]
    shown = int(image.layout.width.removesuffix("px"))
    assert natural >= 2 * shown and image.layout.max_width == "100%"
    assert image.layout.height == "auto"
    assert box.export(0, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert box.export(0, "pdf")[:5] == b"%PDF-"
    svg = etree.fromstring(box.export(0, "svg"))
    assert svg.tag.endswith("svg")
    menu, link = row.children
    assert "data:image/png;base64," in link.value
    menu.value = "SVG"
    assert "data:image/svg+xml;base64," in link.value and ".svg" in link.value
    menu.value = "PDF"
    assert "data:application/pdf;base64," in link.value
    assert not plt.get_fignums()


def _large_grid(kind: str):
    """A grid past MAX_LABELLED_CELLS in the shape of ``kind``'s table, and its wide counts."""
    import pandas as pd

    if kind == "progress":
        table = pd.DataFrame(
            [
                {
                    "researcher": f"R{r:02}",
                    "transcript": f"T{t:03}",
                    "notes": r * t % 37,
                    "read": (r + t) % 3 == 0,
                }
                for r in range(30)
                for t in range(40)
            ]
        )
        wide = table.pivot(index="researcher", columns="transcript", values="notes")
        return plot_progress(table), wide
    table = pd.DataFrame(
        [
            {
                "tension": f"T{t:02}",
                "partnership": f"P{p:02}",
                "notes": t,
                "quotes": p,
                "total": t + p,
            }
            for t in range(40)
            for p in range(20)
        ]
    )
    wide = table.pivot(index="tension", columns="partnership", values="total")
    return plot_evidence(table), wide


@pytest.mark.parametrize("kind", ["progress", "evidence"])
def test_a_large_heatmap_is_drawn_as_quads_with_the_same_counts(kind):
    """Past MAX_LABELLED_CELLS the cells are a mesh (no image resampled to the figure's
    pixels), with the image's colours, limits and colour bar."""
    ax, wide = _large_grid(kind)
    [image] = ax.images
    [mesh] = [c for c in ax.collections if c.get_array() is not None]
    assert not image.get_visible() and mesh.get_visible()
    assert (mesh.get_array().reshape(wide.shape) == wide.to_numpy()).all()
    assert mesh.norm is image.norm and mesh.get_cmap() is image.get_cmap()
    assert ax.get_xlim() == (-0.5, wide.shape[1] - 0.5)
    assert ax.get_ylim() == (len(wide) - 0.5, -0.5)  # first row on top, as the image
    assert image.colorbar.vmax == wide.to_numpy().max()
    plt.close(ax.figure)


def test_small_heatmaps_keep_their_image_and_numbers(store):
    """The demo's and the second study's grids draw as before: an image, a number a cell."""
    for name, (plot, _) in figures(store).items():
        if name not in COUNT_HEATMAPS:
            continue
        ax = plot()
        [image] = ax.images
        assert image.get_visible() and not ax.collections, name
        assert len(ax.texts) == image.get_array().size, name
        plt.close(ax.figure)
