"""Small pieces shared by the widgets: safe HTML, user-facing messages, downloads, uploads."""

from __future__ import annotations

import base64
import html
import mimetypes
import os
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ipywidgets as w
import pandas as pd


def escape(text: object) -> str:
    """HTML-escape any value (transcript text, names, notes are untrusted)."""
    return html.escape(str(text), quote=True)


def table_html(df: pd.DataFrame, *, css_class: str = "cp-table") -> str:
    """A DataFrame as an HTML table with every cell escaped; headings in words.

    Line breaks inside a cell become ``<br>`` (pandas would print them as ``\\n``), and
    true/false columns read "yes"/"no" (never Python's True/False).
    """
    from coprod_nb.domain.wording import column_heading

    shown = df.rename(columns=column_heading)
    flags = shown.select_dtypes(include=["bool", "boolean"]).columns
    if len(flags):
        shown = shown.copy()
        for c in flags:
            shown[c] = shown[c].map({True: "yes", False: "no"}).astype(object)
    text_columns = shown.select_dtypes(include=["object", "string"]).columns
    if len(text_columns):
        shown = shown.copy()
        for c in text_columns:
            shown[c] = shown[c].map(lambda v: v.replace("\n", _BREAK) if isinstance(v, str) else v)
    out = shown.to_html(escape=True, index=False, classes=css_class, border=0, na_rep="")
    return out.replace(_BREAK, "<br>")


# Stands for a line break through pandas' escaping (a private-use character, never typed).
_BREAK = "\ue010"


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


def choose(menu: w.Dropdown, value) -> None:
    """Select the option of ``menu`` whose value is ``value``, a ``None`` option included.

    ipywidgets takes a change of ``value`` to None as "no choice" and empties the menu
    (index None), even when an option such as "(none)" has that value: the index is set
    once the value is. A value not among the options leaves nothing chosen.
    """
    values = [o[1] if isinstance(o, tuple) else o for o in menu.options]
    if value not in values:
        menu.index = None
        return
    menu.value = value
    menu.index = values.index(value)


def researcher_source(researcher: str | w.ValueWidget) -> tuple[str | None, w.ValueWidget | None]:
    """A fixed researcher name, or a widget (such as ResearcherPicker) to follow."""
    if isinstance(researcher, w.ValueWidget):
        return None, researcher
    return researcher, None


# What a FigureBox was last given, when it was given no data.
_NOTHING = object()


def _same(a: object, b: object) -> bool:
    """Whether two plots' data are equal (DataFrames and their ``attrs`` included)."""
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, pd.DataFrame | pd.Series) or isinstance(b, pd.DataFrame | pd.Series):
        return (
            type(a) is type(b)
            and a.equals(b)
            and list(getattr(a, "columns", [])) == list(getattr(b, "columns", []))
            # repr: NaN in attrs (an undefined statistic) equals itself
            and repr(a.attrs) == repr(b.attrs)
        )
    if a is _NOTHING or b is _NOTHING:
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def folded(box: FigureBox, title: str) -> w.Accordion:
    """``box`` in a closed section called ``title``, its figures drawn when first opened."""
    section = w.Accordion(children=[box], titles=(title,), selected_index=None)
    section.add_class("cp-figures")
    box.follow(section, 0)
    return section


class FigureBox(w.VBox):
    """Matplotlib figures shown as sharp images inside a widget, each one downloadable.

    Images rather than an ``Output`` with ``display``: a figure then belongs to the
    widget alone, so it never spills into the cell's output (where notebook checks
    and exports would see it) and re-drawing replaces it cleanly. Each image is drawn
    at twice the size it is shown (crisp on high-density screens) and is never
    stretched beyond its own width; below it a format menu (PNG, SVG, PDF) and a
    download link carry the figure to the researcher's computer (nothing is written
    on the server).

    Drawing text is most of a view's time on a large study, so a box inside a closed
    panel (see :meth:`follow` and :func:`folded`) draws its figures when the panel is
    first opened, and the same data given again are not drawn again.
    """

    #: CSS pixels per inch of figure (matplotlib's inches), and how many image pixels
    #: go into one CSS pixel.
    DPI, PIXEL_RATIO = 90, 2
    FORMATS = {"PNG": "png", "SVG": "svg", "PDF": "pdf"}
    _MIMES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._plots: list = []
        self._data: object = _NOTHING
        self._stale = False  # figures given but not drawn yet
        self._shown = True
        #: How many times a figure was drawn for the screen (downloads not counted).
        self.draws = 0

    @property
    def drawn(self) -> bool:
        """Whether the figures given last are drawn (False while they wait to be shown)."""
        return not self._stale

    def draw(self, *plots, data: object = _NOTHING) -> str | None:
        """Show each ``plot()`` (a callable returning an Axes); figures are closed after.

        Drawn now if the box is shown, else when it is first shown. ``data`` (what the
        plots are drawn from, such as their DataFrame) lets a call with data equal to
        the last call's keep the figures already drawn.

        Returns the message of a plot that could not be drawn (bad data), else None;
        the message is also shown in the box in place of its figure.
        """
        if data is not _NOTHING and _same(data, self._data) and len(plots) == len(self._plots):
            return None
        self._plots, self._data, self._stale = list(plots), data, True
        return self._draw_now() if self._shown else None

    def follow(self, panels: w.Tab | w.Accordion, index: int) -> None:
        """Draw only once panel ``index`` of ``panels`` is selected (at once if it is)."""

        def selected(_change=None) -> None:
            self._shown = panels.selected_index == index
            if self._shown and self._stale:
                self._draw_now()

        panels.observe(selected, names="selected_index")
        selected()

    def export(self, index: int, fmt: str) -> bytes:
        """The ``index``-th figure drawn again as ``fmt`` ("png", "svg" or "pdf") bytes."""
        return self._render(self._plots[index], fmt)[0]

    def clear(self) -> None:
        """Remove the figures."""
        self._plots, self._data, self._stale = [], _NOTHING, False
        self.children = ()

    def _draw_now(self) -> str | None:
        from coprod_nb.errors import CoprodError

        shown, problem = [], None
        for index, plot in enumerate(self._plots):
            try:
                raw, name = self._render(plot, "png")
            except (ValueError, CoprodError) as exc:
                problem = str(exc)
                note = w.HTML()
                message(note, problem, kind="error")
                shown.append(note)
                continue
            shown.append(self._panel(index, raw, name))
        self.draws += 1
        self._stale = False
        self.children = shown
        return problem

    def _render(self, plot, fmt: str) -> tuple[bytes, str]:
        return render_figure(plot, fmt, dpi=self.DPI * self.PIXEL_RATIO)

    def _panel(self, index: int, png: bytes, title: str) -> w.VBox:
        width = png_size(png)[0] // self.PIXEL_RATIO
        image = w.Image(
            value=png,
            format="png",
            width=str(width),
            # Its own width at most: CSS may shrink it to fit, never stretch it.
            layout=w.Layout(width=f"{width}px", max_width="100%", height="auto"),
        )
        image.add_class("cp-figure")
        fmt = w.Dropdown(
            options=list(self.FORMATS),
            value="PNG",
            description="Save as",
            layout=w.Layout(width="auto"),
            style={"description_width": "initial"},
        )
        link = w.HTML(self._link(png, title, "png"))

        def change(event):
            ext = self.FORMATS[event["new"]]
            link.value = self._link(self.export(index, ext), title, ext)

        fmt.observe(change, "value")
        row = w.HBox([fmt, link], layout=w.Layout(align_items="center", flex_flow="row wrap"))
        return w.VBox([image, row], layout=w.Layout(align_items="flex-start"))

    def _link(self, raw: bytes, title: str, ext: str) -> str:
        stem = re.sub(r"[^\w]+", "-", title.lower()).strip("-")[:60] or "figure"
        return download_link(raw, f"{stem}.{ext}", self._MIMES[ext], label=f"{ext.upper()}")


def render_figure(plot, fmt: str = "png", *, dpi: float | None = None) -> tuple[bytes, str]:
    """``plot()`` (a callable returning an Axes) saved as ``fmt`` bytes, as the views show it.

    The one path from a plot function to the bytes a :class:`FigureBox` shows or offers
    for download (benchmarks time this, not a copy of it). The saved area is the one
    ``bbox_inches="tight"`` gives, measured without its extra draw. Every figure the
    plot opened is closed after.

    Returns
    -------
    tuple of (bytes, str)
        The file's bytes and the figure's title ("figure" when it has none).
    """
    import io

    import matplotlib
    import matplotlib.pyplot as plt

    if dpi is None:
        dpi = FigureBox.DPI * FigureBox.PIXEL_RATIO
    before = set(plt.get_fignums())
    try:
        ax = plot()
        figure = ax.figure
        buffer = io.BytesIO()
        # No "Software"/"Creator" entries: the files should not advertise matplotlib.
        metadata = {"png": {"Software": None}, "svg": {"Creator": None}}.get(fmt, {})
        # The area "tight" would save, measured without drawing: bbox_inches="tight"
        # draws the whole figure once (all its text laid out) only to measure it.
        # Measured at the resolution it is saved at: text extents vary with it.
        figure.set_dpi(dpi)
        pad = matplotlib.rcParams["savefig.pad_inches"]
        area = figure.get_tightbbox().padded(pad)
        title = ax.get_title() or "figure"
        if fmt == "png":
            raw = _png(figure, area, dpi)
            if raw is not None:
                return raw, title
        figure.savefig(buffer, format=fmt, dpi=dpi, bbox_inches=area, metadata=metadata)
        return buffer.getvalue(), title
    finally:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)


def _png(figure, area, dpi: float) -> bytes | None:
    """The PNG of ``area`` of ``figure``, without an alpha channel when it is opaque.

    Matplotlib writes every PNG as RGBA; compressing it was a fifth of each figure's
    time on a large study. An opaque figure (the views' are) loses nothing without its
    alpha channel, and three channels compress faster and smaller (docs/performance.md).
    The pixels are those ``savefig`` writes. None when the rendered buffer does not
    have the expected size (then ``savefig`` writes the PNG).
    """
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="rgba", dpi=dpi, bbox_inches=area)
    # The size Agg gives a canvas of ``area`` (it truncates to whole pixels).
    width, height = int(area.width * dpi), int(area.height * dpi)
    pixels = np.frombuffer(buffer.getbuffer(), dtype=np.uint8)
    if pixels.size != width * height * 4:
        return None
    pixels = pixels.reshape(height, width, 4)
    opaque = bool((pixels[..., 3] == 255).all())
    image = Image.fromarray(pixels[..., :3] if opaque else pixels, "RGB" if opaque else "RGBA")
    out = io.BytesIO()
    image.save(out, format="png", dpi=(dpi, dpi))
    return out.getvalue()


def png_size(raw: bytes) -> tuple[int, int]:
    """Width and height in pixels of PNG bytes (read from the IHDR header)."""
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


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


# -- downloads ---------------------------------------------------------------------------

_MIME = {
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".toml": "application/toml",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html",
    ".zip": "application/zip",
}


def download_link(
    data: bytes | str | os.PathLike,
    filename: str | None = None,
    mime: str | None = None,
    *,
    label: str | None = None,
    detail: str = "",
) -> str:
    """An HTML link that downloads ``data`` as ``filename`` (JupyterLab and Voilà alike).

    The file travels inside the link (a ``data:`` URL, base64), so the browser saves it
    without the server serving the study folder. Everything shown is escaped.

    Parameters
    ----------
    data : bytes or path
        The file's bytes, or the file to read them from.
    filename : str, optional
        The name the browser saves it under (default: the path's name); only its base
        name is used.
    mime : str, optional
        Guessed from the file name when not given.
    label : str, optional
        The link's text (default: "Download FILENAME").
    detail : str, optional
        A secondary line shown after the link (e.g. where the file is in the study).

    Returns
    -------
    str
        ``<div class="cp-download"><a download=... href="data:...">...</a>...</div>``
    """
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if filename is None:
            raise ValueError("download_link needs a filename for bytes")
    else:
        path = Path(data)
        raw = path.read_bytes()
        filename = filename or path.name
    filename = safe_file_name(filename, default="download")
    suffix = Path(filename).suffix.lower()
    mime = mime or _MIME.get(suffix) or mimetypes.guess_type(filename)[0]
    mime = mime or "application/octet-stream"
    href = f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"
    text = label or f"Download {filename}"
    size = f"{len(raw) / 1024:.0f} KB" if len(raw) >= 1024 else f"{len(raw)} bytes"
    extra = f' <span class="cp-download-detail">{escape(detail)}</span>' if detail else ""
    return (
        f'<div class="cp-download"><a download="{escape(filename)}" href="{escape(href)}" '
        f'target="_blank" rel="noopener">⬇ {escape(text)}</a> ({size}){extra}</div>'
    )


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip archive of ``{name in the archive: bytes}``, built in memory."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, raw in files.items():
            archive.writestr(name, raw)
    return buffer.getvalue()


def study_relative(path: Path, study_dir: Path) -> str:
    """``path`` relative to the study folder, as shown to a researcher."""
    try:
        return Path(path).resolve().relative_to(Path(study_dir).resolve()).as_posix()
    except ValueError:
        return str(path)


# -- uploads ------------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r"[^\w .()+-]")


def safe_file_name(name: str, *, default: str = "upload") -> str:
    """A browser-given file name made safe to create inside a folder.

    Only the base name is kept (no folder part, ``/`` or ``\\``); characters other
    than letters, digits, space and ``._-()+`` become ``_``; leading dots and spaces go
    (so neither ``..`` nor a hidden file); at most 120 characters, keeping the suffix.
    Letters of any alphabet stay: the pseudonym key still finds a name in a file name.
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", str(name)))[-1]
    base = _UNSAFE_NAME.sub("_", base).lstrip(". ").rstrip(". ")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = suffix[:12]
    stem = stem[: 120 - len(suffix) - 1].rstrip(". ") or default
    return f"{stem}.{suffix}" if suffix else stem


def uploaded_files(value) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of each file of an ipywidgets 8 ``FileUpload.value``.

    ipywidgets 8 gives a tuple of dicts with ``name``, ``type``, ``size``,
    ``last_modified`` and ``content`` (a memoryview).
    """
    return [(str(item.get("name", "")), bytes(item.get("content", b""))) for item in value or ()]


UPLOAD_FOLDER = "uploads"


def save_uploads(
    study_dir: str | os.PathLike, files: list[tuple[str, bytes]], *, folder: str = UPLOAD_FOLDER
) -> tuple[Path, list[Path]]:
    """Write uploaded files into a new folder ``STUDY/uploads/<time>-<random>/``.

    Each upload of a batch gets a folder of its own, so that a file keeps its (safe)
    name, which becomes the transcript's title, and nothing is overwritten. Names are
    made safe with :func:`safe_file_name`; two of a batch with the same name get
    ``-2``, ``-3``. Nothing can land outside the study folder: a ``uploads`` that
    leads elsewhere (a link) is refused.

    Returns
    -------
    (Path, list of Path)
        The batch folder and the files written, in the order given.
    """
    import tempfile
    import time

    from coprod_nb.errors import InvalidInput

    root = Path(study_dir).resolve()
    base = root / folder
    base.mkdir(exist_ok=True)
    if not base.resolve().is_relative_to(root):
        raise InvalidInput(f"{folder}/ must be a folder inside the study folder")
    batch = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=base))
    written: list[Path] = []
    taken: set[str] = set()
    for name, raw in files:
        safe = safe_file_name(name)
        stem, suffix = Path(safe).stem, Path(safe).suffix
        n = 1
        while safe.casefold() in taken:
            n += 1
            safe = f"{stem}-{n}{suffix}"
        taken.add(safe.casefold())
        target = batch / safe
        if not target.resolve().is_relative_to(batch.resolve()):  # cannot happen; be sure
            raise InvalidInput(f"refused file name {name!r}")
        with open(target, "xb") as fh:
            fh.write(raw)
        written.append(target)
    return batch, written
