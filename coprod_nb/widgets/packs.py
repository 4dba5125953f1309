"""ResourcePackView: write the workshop resource pack from a frozen framework."""

from __future__ import annotations

import ipywidgets as w

from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store
from coprod_nb.widgets._common import download_link, message, study_relative
from coprod_nb.widgets._layout import fit
from coprod_nb.widgets._stage import NO_FRAMEWORK


class ResourcePackView(w.VBox):
    """Choose a frozen framework version and a format; write the pack and offer a download.

    The pack is written into the study folder's ``exports/`` (shown beside the link);
    ``download`` holds the link. CSS class ``cp-resource-pack``; the link ``cp-download``.
    """

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.version = w.Dropdown(description="Framework")
        self.format = w.Dropdown(description="Format", options=[("HTML", "html"), ("Word", "docx")])
        self.button = w.Button(description="Write resource pack", icon="file")
        self.status = w.HTML()
        self.download = w.HTML()
        self.last_path = None
        self.button.on_click(self._on_write_click)
        super().__init__(
            [
                w.HBox(
                    [self.version, self.format, self.button, self.status],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                self.download,
            ],
            **kwargs,
        )
        self.add_class("cp-resource-pack")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Reload the frozen versions (newest first)."""
        versions = self.store.framework_versions()
        self.version.options = [(v.label, v.version) for v in reversed(versions)]
        if versions:
            self.version.value = versions[-1].version
        self.button.disabled = not versions
        if not versions:
            message(self.status, NO_FRAMEWORK, kind="info")

    def _on_write_click(self, _button=None) -> None:
        if self.version.value is None:
            message(self.status, NO_FRAMEWORK, kind="error")
            return
        # Imported on use: python-docx takes a while, and importing the widgets need not.
        from coprod_nb.exchange.pack_builder import write_resource_pack

        self.download.value = ""
        try:
            self.last_path = write_resource_pack(
                self.store, self.format.value, version=self.version.value
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        where = study_relative(self.last_path, self.store.study_dir)
        self.download.value = download_link(self.last_path, detail=f"in the study folder: {where}")
        message(self.status, "resource pack written", kind="ok")
