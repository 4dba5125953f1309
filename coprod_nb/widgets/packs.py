"""ResourcePackView: write the workshop resource pack from a frozen framework."""

from __future__ import annotations

import ipywidgets as w

from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store
from coprod_nb.widgets._common import message


class ResourcePackView(w.HBox):
    """Choose a frozen framework version and a format; the pack is written to ``exports/``."""

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.version = w.Dropdown(description="Framework")
        self.format = w.Dropdown(description="Format", options=[("HTML", "html"), ("Word", "docx")])
        self.button = w.Button(description="Write resource pack", icon="file")
        self.status = w.HTML()
        self.last_path = None
        self.button.on_click(self._on_write_click)
        super().__init__([self.version, self.format, self.button, self.status], **kwargs)
        self.add_class("cp-resource-pack")
        self.refresh()

    def refresh(self) -> None:
        """Reload the frozen versions (newest first)."""
        versions = self.store.framework_versions()
        self.version.options = [(v.label, v.version) for v in reversed(versions)]
        if versions:
            self.version.value = versions[-1].version

    def _on_write_click(self, _button=None) -> None:
        if self.version.value is None:
            message(self.status, "Freeze a framework first.", kind="error")
            return
        # Imported on use: python-docx takes a while, and importing the widgets need not.
        from coprod_nb.exchange.pack_builder import write_resource_pack

        try:
            self.last_path = write_resource_pack(
                self.store, self.format.value, version=self.version.value
            )
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        where = self.last_path.relative_to(self.store.study_dir)
        message(self.status, f"written to the study folder: {where}", kind="ok")
