"""Widgets for setting up a study: import transcripts, map speakers, set pseudonyms."""

from __future__ import annotations

import shutil

import ipywidgets as w

from coprod_nb.domain.wording import plural
from coprod_nb.errors import CoprodError
from coprod_nb.ingest import ImportReport, import_transcripts
from coprod_nb.ingest.readers import SUPPORTED_SUFFIXES
from coprod_nb.storage import Store
from coprod_nb.widgets._common import (
    choose,
    message,
    save_uploads,
    study_relative,
    uploaded_files,
)
from coprod_nb.widgets._layout import fit

#: Controls side by side, wrapping onto a new line when the view is narrow.
_ROW = {"flex_flow": "row wrap", "align_items": "center"}


class ImportView(w.VBox):
    """Import transcript files into the study: upload them, or give paths on the server.

    Uploaded files (``.vtt``, ``.srt``, ``.docx``, ``.txt``; ``upload``) are written to a
    new folder ``uploads/<time>-<random>/`` inside the study folder under a safe name
    (no folder part, no ``..``) and imported at once through the same
    :func:`~coprod_nb.ingest.import_transcripts` as typed paths, with the partnership
    and "skip bad" choices above. Errors (bad files, duplicates) are shown as messages;
    nothing is added then, and the files of a refused upload are deleted. The files
    kept hold real names (they are the originals): the study folder is private.
    A REFI-QDA project (``.qdpx``) is uploaded on its own and read by
    :func:`~coprod_nb.exchange.refi_qda.import_qdpx`, as ``coprod-nb import`` does.
    CSS class ``cp-import-view``; the upload button ``cp-import-upload``.
    """

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.paths = w.Textarea(
            description="Files",
            placeholder="one file or folder per line",
            layout=w.Layout(width="100%"),
        )
        self.partnership = w.Dropdown(description="Partnership")
        self.skip_bad = w.Checkbox(description="import the good files, skip bad ones")
        self.button = w.Button(description="Import", button_style="primary", icon="upload")
        self.upload = w.FileUpload(
            description="Upload files",
            accept=",".join((*SUPPORTED_SUFFIXES, ".qdpx")),
            multiple=True,
            layout=w.Layout(width="auto"),
        )
        self.upload.add_class("cp-import-upload")
        self.status = w.HTML()
        self.progress = w.VBox()
        self.last_report = None
        self.refresh()
        self.button.on_click(self._on_import_click)
        self.upload.observe(self._on_upload_change, names="value")
        super().__init__(
            [
                w.HBox([self.partnership, self.skip_bad], layout=_ROW),
                w.HBox(
                    [self.upload, w.HTML("<i>or give files or folders on the server:</i>")],
                    layout=_ROW,
                ),
                self.paths,
                self.button,
                self.progress,
                self.status,
            ],
            **kwargs,
        )
        self.add_class("cp-import-view")
        fit(self)

    def refresh(self) -> None:
        """Reload the partnership choices (the one chosen stays chosen)."""
        before = self.partnership.value
        self.partnership.options = [("(infer from speakers)", None)] + [
            (f"{p.short}: {p.name}", p.short) for p in self.store.partnerships()
        ]
        known = before in [v for _, v in self.partnership.options]
        choose(self.partnership, before if known else None)

    def _progress_bar(self, iterable, **kwargs):
        # tqdm's notebook bar, drawn inside this view rather than in the cell output.
        # (Imported here: importing tqdm takes a tenth of a second, for its version.)
        from tqdm.notebook import tqdm as tqdm_notebook

        bar = tqdm_notebook(iterable, display=False, **kwargs)
        self.progress.children = (bar.container,)
        return bar

    def _import(self, paths: list) -> ImportReport:
        """Import ``paths`` with this view's choices (partnership, skip bad files, bar)."""
        try:
            return import_transcripts(
                self.store,
                paths,
                partnership=self.partnership.value,
                skip_bad=self.skip_bad.value,
                progress=self._progress_bar,
            )
        except CoprodError:
            # A half-filled bar above the error would say the import is still going.
            self.progress.children = ()
            raise

    def _on_upload_change(self, change) -> None:
        files = uploaded_files(change["new"])
        if not files:
            return
        try:
            self._import_uploads(files)
        finally:
            self.upload.value = ()  # so that the same file can be uploaded again

    def _import_uploads(self, files: list[tuple[str, bytes]]) -> None:
        try:
            batch, paths = save_uploads(self.store.study_dir, files)
        except (CoprodError, OSError) as exc:
            message(self.status, f"the upload could not be saved: {exc}", kind="error")
            return
        projects = [p for p in paths if p.suffix.lower() == ".qdpx"]
        if projects:
            self._import_projects(batch, paths, projects)
            return
        try:
            report = self._import(paths)
        except CoprodError as exc:
            shutil.rmtree(batch, ignore_errors=True)
            message(self.status, str(exc), kind="error")
            return
        kept = {str(f.path) for f in report.imported}
        for path in paths:
            if str(path) not in kept:
                path.unlink(missing_ok=True)  # a refused file is not kept
        if not report.imported:
            shutil.rmtree(batch, ignore_errors=True)
        self.last_report = report
        text = str(report)
        if report.imported:
            where = study_relative(batch, self.store.study_dir)
            text += f"\nthe uploaded files are kept in the study folder: {where}/"
        message(self.status, text, kind="error" if report.errors else "ok")

    def _import_projects(self, batch, paths, projects) -> None:
        """Uploaded ``.qdpx`` projects, each all or nothing (as ``coprod-nb import``)."""
        if len(projects) != len(paths):
            shutil.rmtree(batch, ignore_errors=True)
            message(
                self.status,
                "upload a .qdpx project on its own, not with transcripts; nothing was added",
                kind="error",
            )
            return
        # Imported on use: the REFI-QDA reader (lxml, the schema) is only needed here.
        from coprod_nb.exchange.refi_qda import import_qdpx

        lines, failed = [], False
        for path in projects:
            try:
                lines.append(f"{path.name}: {import_qdpx(self.store, path)}")
            except CoprodError as exc:
                path.unlink(missing_ok=True)
                lines.append(f"{path.name}: not imported: {exc}")
                failed = True
        if not any(batch.iterdir()):
            shutil.rmtree(batch, ignore_errors=True)
        message(self.status, "\n".join(lines), kind="error" if failed else "ok")

    def _on_import_click(self, _button=None) -> None:
        paths = [line.strip() for line in self.paths.value.splitlines() if line.strip()]
        if not paths:
            message(self.status, "Give at least one file or folder.", kind="error")
            return
        try:
            report = self._import(paths)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        self.last_report = report
        message(self.status, str(report), kind="error" if report.errors else "ok")


class SpeakerMapEditor(w.VBox):
    """Link speaker labels that matched nobody to a participant or researcher."""

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.speaker = w.Dropdown(description="Speaker")
        self.person = w.Dropdown(description="is")
        self.button = w.Button(description="Link", icon="link")
        self.status = w.HTML()
        self.button.on_click(self._on_link_click)
        super().__init__(
            [w.HBox([self.speaker, self.person, self.button], layout=_ROW), self.status], **kwargs
        )
        self.add_class("cp-speaker-map")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Reload the unmatched speakers and the people they can be linked to."""
        unmatched = self.store.unmatched_speakers()
        self.speaker.options = list(unmatched)
        people = [p.name for p in self.store.participants()]
        people += [r.name for r in self.store.researchers()]
        self.person.options = people
        if not unmatched:
            message(self.status, "Every speaker is linked to a participant or researcher.")

    def _on_link_click(self, _button=None) -> None:
        if not self.speaker.value or not self.person.value:
            message(self.status, "Choose a speaker and a person.", kind="error")
            return
        try:
            n = self.store.map_speaker(self.speaker.value, self.person.value)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        label = self.speaker.value
        self.refresh()
        message(
            self.status, f"{plural(n, 'turn')} of {label} linked to {self.person.value}.", kind="ok"
        )


class PseudonymEditor(w.VBox):
    """Replace a real name by a pseudonym in every transcript (the key is never shown)."""

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.real_name = w.Text(description="Real name")
        self.pseudonym = w.Text(description="Pseudonym")
        self.button = w.Button(description="Set pseudonym", icon="user-secret")
        self.status = w.HTML()
        self.button.on_click(self._on_set_click)
        super().__init__(
            [w.HBox([self.real_name, self.pseudonym, self.button], layout=_ROW), self.status],
            **kwargs,
        )
        self.add_class("cp-pseudonym-editor")
        fit(self)

    def _on_set_click(self, _button=None) -> None:
        try:
            n = self.store.set_pseudonym(self.real_name.value, self.pseudonym.value)
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return
        shown = self.pseudonym.value.strip()
        self.real_name.value = ""  # do not leave the real name on screen
        message(self.status, f"Pseudonym {shown} set; {plural(n, 'turn')} changed.", kind="ok")
