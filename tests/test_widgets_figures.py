"""Figures in the views are drawn when they are shown, once per change of their data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets as w  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from lxml import etree  # noqa: E402

from coprod_nb.analysis.sensemaking import circle_results, lineage_table, poll_results  # noqa: E402
from coprod_nb.analysis.workshop import plot_circles, plot_poll  # noqa: E402
from coprod_nb.widgets._common import FigureBox, folded, png_size  # noqa: E402
from coprod_nb.widgets.workshop import CircleSortView, DecisionLog, PollView  # noqa: E402
from tests.acting import as_lead  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _no_open_figures():
    yield
    assert plt.get_fignums() == [], "a figure was left open"


@pytest.fixture(params=["demo", "second"])
def study(request, demo, second_study):
    """The full demo and the second study at its workshop stage (polls, circles, lineage)."""
    return demo if request.param == "demo" else second_study("workshop")


def images(box: FigureBox) -> list[w.Image]:
    return [panel.children[0] for panel in box.children if isinstance(panel, w.VBox)]


def assert_downloads(box: FigureBox, index: int = 0) -> None:
    """PNG, SVG and PDF bytes of the figure, and the link following the format menu."""
    assert box.export(index, "png")[:8] == PNG
    assert box.export(index, "pdf")[:5] == b"%PDF-"
    assert etree.fromstring(box.export(index, "svg")).tag.endswith("svg")
    menu, link = box.children[index].children[1].children
    for shown, mime in [("SVG", "image/svg+xml"), ("PDF", "application/pdf")]:
        menu.value = shown
        assert f"data:{mime};base64," in link.value


def test_a_figure_in_a_hidden_tab_is_drawn_when_the_tab_is_selected(study):
    table = circle_results(study)
    box = FigureBox()
    tabs = w.Tab(children=[w.HTML("first"), box], titles=("First", "Figure"))
    box.follow(tabs, 1)
    assert box.draw(lambda: plot_circles(table), data=table) is None
    assert (box.draws, box.drawn, box.children) == (0, False, ())
    tabs.selected_index = 1
    assert box.draws == 1 and box.drawn
    [image] = images(box)
    assert image.value[:8] == PNG and png_size(image.value)[0] > 0
    # Shown again, or given equal data: not drawn again.
    tabs.selected_index = 0
    tabs.selected_index = 1
    box.draw(lambda: plot_circles(table), data=table.copy())
    assert box.draws == 1
    # New data while hidden wait for the tab; then they are drawn, once.
    tabs.selected_index = 0
    changed = table.assign(mean_score=table.mean_score + 0.5)
    box.draw(lambda: plot_circles(changed), data=changed)
    assert box.draws == 1 and not box.drawn
    tabs.selected_index = 1
    assert box.draws == 2 and box.drawn
    assert_downloads(box)


def test_a_figure_in_the_selected_tab_is_drawn_at_once(study):
    table = poll_results(study)
    box = FigureBox()
    tabs = w.Tab(children=[box, w.HTML("other")], titles=("Figure", "Other"))
    box.follow(tabs, 0)
    box.draw(lambda: plot_poll(table), data=table)
    assert box.draws == 1 and len(images(box)) == 1
    assert_downloads(box)


def test_a_figure_that_cannot_be_drawn_says_why_in_its_place(study):
    def broken():
        raise ValueError("no placements to draw")

    box = FigureBox()
    section = folded(box, "Figure")
    box.draw(broken, lambda: plot_poll(poll_results(study)))
    assert box.children == ()
    section.selected_index = 0
    note, panel = box.children
    assert "cp-error" in note.value and "no placements to draw" in note.value
    assert panel.children[0].value[:8] == PNG
    assert_downloads(box, 1)  # the second figure keeps its own index


@pytest.mark.parametrize(
    "view_class, figures, table_of",
    [
        (PollView, 1, poll_results),
        (CircleSortView, 2, circle_results),
        (DecisionLog, 1, lineage_table),
    ],
)
def test_workshop_views_draw_their_figures_when_opened(study, view_class, figures, table_of):
    assert len(table_of(study)), "the study has something to draw"
    view = view_class(as_lead(study))
    [section] = [c for c in _walk(view) if isinstance(c, w.Accordion)]
    box = section.children[0]
    assert isinstance(box, FigureBox) and section.selected_index is None
    assert (box.draws, box.children) == (0, ())
    view.refresh()  # nothing changed, still closed: nothing drawn
    assert box.draws == 0
    section.selected_index = 0
    assert box.draws == 1 and len(images(box)) == figures
    for image in images(box):
        assert png_size(image.value)[0] >= 2 * int(image.layout.width.removesuffix("px"))
    view.refresh()  # the same data: the figures already drawn stay
    section.selected_index = None
    section.selected_index = 0
    assert box.draws == 1
    assert_downloads(box, figures - 1)


def test_figures_are_the_pixels_tight_saving_gives(study):
    """The saved area is what ``bbox_inches="tight"`` saves, without its extra draw."""
    import io

    import numpy as np
    from PIL import Image

    table = circle_results(study)
    ax = plot_circles(table)
    buffer = io.BytesIO()
    dpi = FigureBox.DPI * FigureBox.PIXEL_RATIO
    ax.figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(ax.figure)
    ours = FigureBox()._render(lambda: plot_circles(table), "png")[0]
    a = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    b = np.asarray(Image.open(io.BytesIO(ours)).convert("RGB"))
    assert a.shape == b.shape and (a == b).all()


def _pixels(raw: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGBA"))


def test_every_figure_is_an_opaque_png_of_the_pixels_savefig_gives(study):
    """Written without the alpha channel (smaller, faster), the pixels are savefig's own."""
    import io

    from PIL import Image

    from coprod_nb.widgets._common import render_figure
    from tests.test_figures import figures

    dpi = FigureBox.DPI * FigureBox.PIXEL_RATIO
    drawn = figures(study)
    assert {"progress", "compare", "evidence", "circles", "poll", "lineage"} <= set(drawn)
    for name, (plot, _) in drawn.items():
        ax = plot()
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(ax.figure)
        ours = render_figure(plot)[0]
        assert Image.open(io.BytesIO(ours)).mode == "RGB", name
        a, b = _pixels(buffer.getvalue()), _pixels(ours)
        assert a.shape == b.shape and (a == b).all(), name
        assert len(ours) < len(buffer.getvalue()), name


def test_a_transparent_figure_keeps_its_alpha_channel():
    import io

    from PIL import Image

    from coprod_nb.widgets._common import render_figure

    def clear():
        fig, ax = plt.subplots(figsize=(3, 2))
        fig.patch.set_alpha(0)
        ax.patch.set_alpha(0)
        ax.plot([0, 1], [0, 1])
        return ax

    raw = render_figure(clear)[0]
    image = Image.open(io.BytesIO(raw))
    assert image.mode == "RGBA" and image.getextrema()[3][0] == 0  # transparent pixels


def test_same_data_is_told_apart_from_changed_data():
    from coprod_nb.widgets._common import _same

    df = pd.DataFrame({"a": [1, 2]})
    df.attrs["w"] = float("nan")
    assert _same(df, df.copy()) and _same((df, "t"), (df.copy(), "t"))
    assert not _same(df, df.assign(a=[1, 3]))
    assert not _same((df, "t"), (df, "u"))
    other = df.copy()
    other.attrs["w"] = 0.5
    assert not _same(df, other)


def _walk(root: w.Widget):
    stack = [root]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(getattr(x, "children", ()) or ())
