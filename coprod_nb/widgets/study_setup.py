"""StudySetupEditor: set up a whole study in one widget (what a study manifest holds).

One tab per part of the set-up: the study, its partnerships, participants, researchers,
and the note categories and prompts of step 1. Each tab lists what exists (an escaped
table) above a small form. The rules (what may change, what must stay) live in the store
(:meth:`~coprod_nb.storage.Store.update_partnership` and the like); this view calls it and
shows its message when it refuses. "Save as manifest" offers the set-up as a TOML file to
download (:func:`~coprod_nb.seed.manifest.manifest_toml`), which holds real names.
"""

from __future__ import annotations

import re

import ipywidgets as w
import pandas as pd

from coprod_nb.domain.wording import plural
from coprod_nb.errors import CoprodError
from coprod_nb.storage import Store
from coprod_nb.widgets._common import choose, download_link, message, table_html
from coprod_nb.widgets._layout import fit

__all__ = ["StudySetupEditor"]

_WIDE = w.Layout(width="100%")
# A fixed width at most: narrower when the notebook is (min_width 0 lets it shrink).
_FIELD = w.Layout(width="420px", max_width="100%", min_width="0")
_STYLE = {"description_width": "150px"}
#: Buttons and ticks side by side, wrapping onto a new line when the view is narrow.
_ROW = {"flex_flow": "row wrap", "align_items": "center"}
NEW = "(new)"
_CHOOSE = "Choose the {} to change (or Add a new one)."


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _table(rows: list[dict], columns: list[str], empty: str) -> str:
    if not rows:
        return f"<i>{empty}</i>"
    return table_html(pd.DataFrame(rows, columns=columns))


class _Section(w.VBox):
    """A tab: a table of what exists, a form below it, a status line."""

    def __init__(self, store: Store, changed, children: list, css: str):
        self.store = store
        self._changed = changed  # the editor's refresh, called after every change
        self.table = w.HTML()
        self.table.add_class("cp-setup-table")
        self.status = w.HTML()
        super().__init__([self.table, *children, self.status])
        self.add_class(css)

    def _run(self, action, done) -> bool:
        """Call ``action()``; refresh and show ``done`` (a text, or a function of the result)
        or the store's refusal."""
        try:
            result = action()
        except CoprodError as exc:
            message(self.status, str(exc), kind="error")
            return False
        self._changed()
        message(self.status, done(result) if callable(done) else done, kind="ok")
        return True


class _StudyForm(_Section):
    """The study's name and description."""

    def __init__(self, store: Store, changed):
        self.name = w.Text(description="Name", layout=_WIDE, style=_STYLE)
        self.description = w.Textarea(
            description="Description", layout=w.Layout(width="100%", height="6em"), style=_STYLE
        )
        self.save_button = w.Button(description="Save", button_style="primary", icon="save")
        self.save_button.on_click(self._on_save_click)
        super().__init__(
            store, changed, [self.name, self.description, self.save_button], "cp-setup-study"
        )

    def refresh(self) -> None:
        study = self.store.study()
        self.name.value, self.description.value = study.name, study.description or ""
        self.table.value = ""

    def _on_save_click(self, _button=None) -> None:
        self._run(
            lambda: self.store.update_study(
                name=self.name.value, description=self.description.value
            ),
            "study saved",
        )


class _PartnershipsForm(_Section):
    """Add a partnership, edit one (name, attributes; short name while unused), remove one."""

    def __init__(self, store: Store, changed):
        self.pick = w.Dropdown(description="Partnership", layout=_FIELD, style=_STYLE)
        self.short = w.Text(description="Short name", layout=_FIELD, style=_STYLE)
        self.name = w.Text(description="Name", layout=_WIDE, style=_STYLE)
        self.attributes = w.Textarea(
            description="Attributes",
            placeholder='one per line: region = "north", members = 12',
            layout=w.Layout(width="100%", height="6em"),
            style=_STYLE,
        )
        self.add_button = w.Button(description="Add", button_style="primary", icon="plus")
        self.save_button = w.Button(description="Save changes", icon="save")
        self.remove_button = w.Button(description="Remove", icon="trash")
        self.pick.observe(self._on_pick_change, names="value")
        self.add_button.on_click(self._on_add_click)
        self.save_button.on_click(self._on_save_click)
        self.remove_button.on_click(self._on_remove_click)
        super().__init__(
            store,
            changed,
            [
                self.pick,
                self.short,
                self.name,
                self.attributes,
                w.HBox([self.add_button, self.save_button, self.remove_button], layout=_ROW),
            ],
            "cp-setup-partnerships",
        )

    def refresh(self) -> None:
        from coprod_nb.seed.manifest import attributes_text

        rows = self.store.partnerships()
        self.table.value = _table(
            [
                {"short": p.short, "name": p.name, "attributes": attributes_text(p.attributes)}
                for p in rows
            ],
            ["short", "name", "attributes"],
            "no partnership yet",
        )
        before = self.pick.value
        self.pick.options = [NEW] + [p.short for p in rows]
        self.pick.value = before if before in self.pick.options else NEW
        self._on_pick_change()

    def _on_pick_change(self, _change=None) -> None:
        from coprod_nb.seed.manifest import attributes_text

        if self.pick.value in (None, NEW):
            self.short.value = self.name.value = self.attributes.value = ""
            return
        p = self.store.partnership(self.pick.value)
        self.short.value, self.name.value = p.short, p.name
        self.attributes.value = attributes_text(p.attributes)

    def _attributes(self) -> dict:
        from coprod_nb.seed.manifest import attributes_from_text

        return attributes_from_text(self.attributes.value)

    def _on_add_click(self, _button=None) -> None:
        short = self.short.value.strip()
        if self._run(
            lambda: self.store.add_partnership(short, self.name.value, self._attributes()),
            f"partnership {short} added",
        ):
            self.pick.value = short

    def _on_save_click(self, _button=None) -> None:
        if self.pick.value in (None, NEW):
            message(self.status, _CHOOSE.format("partnership"), kind="error")
            return
        short = self.short.value.strip()
        old = self.pick.value

        def save():
            self.store.update_partnership(
                old, short=short, name=self.name.value, attributes=self._attributes()
            )

        if self._run(save, f"partnership {short} saved"):
            self.pick.value = short

    def _on_remove_click(self, _button=None) -> None:
        if self.pick.value in (None, NEW):
            message(self.status, "Choose the partnership to remove.", kind="error")
            return
        short = self.pick.value
        self._run(lambda: self.store.remove_partnership(short), f"partnership {short} removed")


class _PersonForm(_Section):
    """What participants and researchers share: a picker, a study name, a real name."""

    kind = "person"

    def _person_fields(self) -> None:
        self.pick = w.Dropdown(description=self.kind.capitalize(), layout=_FIELD, style=_STYLE)
        self.name = w.Text(
            description="Study name", placeholder="the pseudonym", layout=_FIELD, style=_STYLE
        )
        self.real_name = w.Text(
            description="Real name",
            placeholder="into the name key; never shown",
            layout=_FIELD,
            style=_STYLE,
        )
        self.add_button = w.Button(description="Add", button_style="primary", icon="plus")
        self.save_button = w.Button(description="Save changes", icon="save")
        self.pick.observe(self._on_pick_change, names="value")
        self.add_button.on_click(self._on_add_click)
        self.save_button.on_click(self._on_save_click)

    def _keyed(self) -> set[str] | None:
        """Study names that have a real name in the key (None: the key may not be read)."""
        try:
            return set(self.store.pseudonym_key().mapping.values())
        except CoprodError:
            return None

    def _picked(self) -> str | None:
        return None if self.pick.value in (None, NEW) else self.pick.value

    def _after_save(self, shown: str) -> None:
        self.real_name.value = ""  # do not leave a real name on screen
        self.pick.value = shown


class _ParticipantsForm(_PersonForm):
    """Add a participant or edit one: partnership, role, consent to record and to quote."""

    kind = "participant"

    def __init__(self, store: Store, changed):
        self._person_fields()
        self.partnership = w.Dropdown(description="Partnership", layout=_FIELD, style=_STYLE)
        self.role = w.Text(description="Role", layout=_WIDE, style=_STYLE)
        self.consent_record = w.Checkbox(description="consents to recording")
        self.consent_quote = w.Checkbox(description="consents to being quoted")
        super().__init__(
            store,
            changed,
            [
                self.pick,
                self.name,
                self.real_name,
                self.partnership,
                self.role,
                w.HBox([self.consent_record, self.consent_quote], layout=_ROW),
                w.HBox([self.add_button, self.save_button], layout=_ROW),
            ],
            "cp-setup-participants",
        )

    def refresh(self) -> None:
        shorts = {p.id: p.short for p in self.store.partnerships()}
        people = self.store.participants()
        keyed = self._keyed()
        self.table.value = _table(
            [
                {
                    "name": p.name,
                    "partnership": shorts.get(p.partnership_id, ""),
                    "role": p.role,
                    "consent to record": "yes" if p.consent_record else "no",
                    "consent to quote": "yes" if p.consent_quote else "no",
                    "real name in the key": "?"
                    if keyed is None
                    else "yes"
                    if p.name in keyed
                    else "no",
                }
                for p in people
            ],
            [
                "name",
                "partnership",
                "role",
                "consent to record",
                "consent to quote",
                "real name in the key",
            ],
            "no participant yet",
        )
        self.partnership.options = [("(none)", None)] + [(s, s) for s in sorted(shorts.values())]
        before = self.pick.value
        self.pick.options = [NEW] + [p.name for p in people]
        self.pick.value = before if before in self.pick.options else NEW
        self._on_pick_change()

    def _on_pick_change(self, _change=None) -> None:
        self.real_name.value = ""
        name = self._picked()
        if name is None:
            self.name.value = self.role.value = ""
            choose(self.partnership, None)
            self.consent_record.value = self.consent_quote.value = False
            return
        p = self.store.participant(name)
        shorts = {x.id: x.short for x in self.store.partnerships()}
        self.name.value, self.role.value = p.name, p.role
        choose(self.partnership, shorts.get(p.partnership_id))
        self.consent_record.value, self.consent_quote.value = p.consent_record, p.consent_quote

    def _on_add_click(self, _button=None) -> None:
        shown = self.name.value.strip()

        def add():
            self.store.add_participant(
                shown,
                self.partnership.value,
                self.role.value,
                self.consent_record.value,
                self.consent_quote.value,
                real_name=self.real_name.value.strip() or None,
            )

        if self._run(add, f"participant {shown} added"):
            self._after_save(shown)

    def _on_save_click(self, _button=None) -> None:
        old = self._picked()
        if old is None:
            message(self.status, _CHOOSE.format("participant"), kind="error")
            return
        shown = self.name.value.strip()

        def save():
            self.store.update_participant(
                old,
                name=shown,
                partnership=self.partnership.value,
                role=self.role.value,
                consent_record=self.consent_record.value,
                consent_quote=self.consent_quote.value,
                real_name=self.real_name.value.strip() or None,
            )

        if self._run(save, f"participant {shown} saved"):
            self._after_save(shown)


class _ResearchersForm(_PersonForm):
    """Add a researcher or edit one (login, lead); remove one who has written nothing."""

    kind = "researcher"

    def __init__(self, store: Store, changed):
        self._person_fields()
        self.real_name.placeholder = "optional: when the study shows a pseudonym"
        self.login = w.Text(description="Login", layout=_FIELD, style=_STYLE)
        self.lead = w.Checkbox(description="leads the study")
        self.remove_button = w.Button(description="Remove", icon="trash")
        self.remove_button.on_click(self._on_remove_click)
        super().__init__(
            store,
            changed,
            [
                self.pick,
                self.name,
                self.real_name,
                self.login,
                self.lead,
                w.HBox([self.add_button, self.save_button, self.remove_button], layout=_ROW),
            ],
            "cp-setup-researchers",
        )

    def refresh(self) -> None:
        team = self.store.researchers()
        keyed = self._keyed()
        self.table.value = _table(
            [
                {
                    "name": r.name,
                    "login": r.login or "",
                    "lead": "yes" if r.lead else "",
                    "real name in the key": "?"
                    if keyed is None
                    else "yes"
                    if r.name in keyed
                    else "no (the study name is the real name)",
                }
                for r in team
            ],
            ["name", "login", "lead", "real name in the key"],
            "no researcher yet",
        )
        before = self.pick.value
        self.pick.options = [NEW] + [r.name for r in team]
        self.pick.value = before if before in self.pick.options else NEW
        self._on_pick_change()

    def _on_pick_change(self, _change=None) -> None:
        self.real_name.value = ""
        name = self._picked()
        if name is None:
            self.name.value = self.login.value = ""
            self.lead.value = False
            return
        r = self.store.researcher(name)
        self.name.value, self.login.value, self.lead.value = r.name, r.login or "", r.lead

    def _on_add_click(self, _button=None) -> None:
        shown = self.name.value.strip()

        def add():
            self.store.add_researcher(
                shown,
                self.login.value,
                self.lead.value,
                real_name=self.real_name.value.strip() or None,
            )

        if self._run(add, f"researcher {shown} added"):
            self._after_save(shown)

    def _on_save_click(self, _button=None) -> None:
        old = self._picked()
        if old is None:
            message(self.status, _CHOOSE.format("researcher"), kind="error")
            return
        shown = self.name.value.strip()

        def save():
            self.store.update_researcher(
                old,
                name=shown,
                login=self.login.value,
                lead=self.lead.value,
                real_name=self.real_name.value.strip() or None,
            )

        if self._run(save, f"researcher {shown} saved"):
            self._after_save(shown)

    def _on_remove_click(self, _button=None) -> None:
        name = self._picked()
        if name is None:
            message(self.status, "Choose the researcher to remove.", kind="error")
            return
        self._run(lambda: self.store.remove_researcher(name), f"researcher {name} removed")


class _TranscriptsForm(_Section):
    """Set an imported transcript's partnership and date (its text never changes here)."""

    def __init__(self, store: Store, changed):
        self.pick = w.Dropdown(description="Transcript", layout=_FIELD, style=_STYLE)
        self.partnership = w.Dropdown(description="Partnership", layout=_FIELD, style=_STYLE)
        self.date = w.DatePicker(description="Date", style=_STYLE)
        self.save_button = w.Button(description="Save changes", icon="save")
        # The recording is kept in STUDY/media/ (storage/media.py); the reader plays it.
        self.recording = w.FileUpload(
            description="Recording", accept="audio/*,video/*", multiple=False
        )
        self.recording.add_class("cp-setup-recording")
        self.attach_button = w.Button(description="Attach recording", icon="file-audio-o")
        self.pick.observe(self._on_pick_change, names="value")
        self.save_button.on_click(self._on_save_click)
        self.attach_button.on_click(self._on_attach_click)
        super().__init__(
            store,
            changed,
            [
                self.pick,
                self.partnership,
                self.date,
                self.save_button,
                w.HBox([self.recording, self.attach_button], layout=_ROW),
            ],
            "cp-setup-transcripts",
        )

    def refresh(self) -> None:
        shorts = {p.id: p.short for p in self.store.partnerships()}
        found = self.store.transcripts(text=False)
        self.table.value = _table(
            [
                {
                    "title": t.title,
                    "partnership": shorts.get(t.partnership_id, ""),
                    "date": f"{t.date:%Y-%m-%d}" if t.date else "",
                    "file": t.source_name,
                    "recording": t.media_path or "",
                }
                for t in found
            ],
            ["title", "partnership", "date", "file", "recording"],
            "no transcript yet: import them below (Import transcripts)",
        )
        self.partnership.options = [("(none)", None)] + [(x, x) for x in sorted(shorts.values())]
        before = self.pick.value
        self.pick.options = [(t.title, t.id) for t in found]
        ids = [t.id for t in found]
        self.pick.value = before if before in ids else (ids[0] if ids else None)
        self._on_pick_change()

    def _on_pick_change(self, _change=None) -> None:
        if self.pick.value is None:
            choose(self.partnership, None)
            self.date.value = None
            return
        tr = self.store.transcript(self.pick.value)
        shorts = {p.id: p.short for p in self.store.partnerships()}
        choose(self.partnership, shorts.get(tr.partnership_id))
        self.date.value = tr.date

    def _on_save_click(self, _button=None) -> None:
        if self.pick.value is None:
            message(self.status, "No transcript to change yet.", kind="error")
            return
        ref = self.pick.value
        self._run(
            lambda: self.store.update_transcript(
                ref, partnership=self.partnership.value, date=self.date.value
            ),
            lambda tr: f"transcript {tr.title} saved",
        )

    def _on_attach_click(self, _button=None) -> None:
        from coprod_nb.storage.media import MEDIA_DIR, attach_media, media_type
        from coprod_nb.widgets._common import save_uploads, uploaded_files

        files = uploaded_files(self.recording.value)
        if self.pick.value is None or not files:
            message(self.status, "Choose a transcript and a recording first.", kind="error")
            return
        ref, (name, raw) = self.pick.value, files[0]

        def attach():
            media_type(name)  # refused before anything is written
            _batch, [path] = save_uploads(self.store.study_dir, [(name, raw)], folder=MEDIA_DIR)
            return attach_media(self.store, ref, path)

        if self._run(attach, lambda where: f"recording saved as {where}"):
            self.recording.value = ()


class _VocabularyForm(_Section):
    """The note categories and the reflective prompts of step 1, one per line."""

    def __init__(self, store: Store, changed):
        self.categories = w.Textarea(
            description="Categories",
            placeholder="one per line; empty: the shipped categories",
            layout=w.Layout(width="100%", height="7em"),
            style=_STYLE,
        )
        self.save_categories = w.Button(description="Save categories", icon="save")
        self.prompts = w.Textarea(
            description="Prompts",
            placeholder="one per line; empty: the shipped prompts",
            layout=w.Layout(width="100%", height="12em"),
            style=_STYLE,
        )
        self.save_prompts = w.Button(description="Save prompts", icon="save")
        self.save_categories.on_click(self._on_save_categories_click)
        self.save_prompts.on_click(self._on_save_prompts_click)
        super().__init__(
            store,
            changed,
            [self.categories, self.save_categories, self.prompts, self.save_prompts],
            "cp-setup-vocabulary",
        )

    def refresh(self) -> None:
        self.categories.value = "\n".join(self.store.note_categories())
        self.prompts.value = "\n".join(self.store.prompts())
        # the tab's short title ("Vocabulary") said in full
        self.table.value = "<i>The note categories and the reflective prompts of step 1.</i>"

    def _on_save_categories_click(self, _button=None) -> None:
        wanted = _lines(self.categories.value) or None
        self._run(
            lambda: self.store.set_note_categories(wanted),
            (lambda kept: f"categories saved: {', '.join(kept)}")
            if wanted
            else "back to the shipped categories",
        )

    def _on_save_prompts_click(self, _button=None) -> None:
        wanted = _lines(self.prompts.value) or None
        self._run(
            lambda: len(self.store.set_prompts(wanted)),
            (lambda n: f"{plural(n, 'prompt')} saved") if wanted else "back to the shipped prompts",
        )


class StudySetupEditor(w.VBox):
    """Set up a whole study: everything a study manifest holds, tab by tab.

    Tabs (``tabs``) and their forms, each an attribute with its controls as attributes:

    - ``study``: ``name``, ``description``, ``save_button``;
    - ``partnerships``: ``pick`` ("(new)" or a short name), ``short``, ``name``,
      ``attributes`` (TOML lines such as ``region = "north"``), ``add_button``,
      ``save_button``, ``remove_button``;
    - ``participants``: ``pick``, ``name`` (the study name, a pseudonym), ``real_name``
      (goes into the name key, never shown), ``partnership``, ``role``,
      ``consent_record``, ``consent_quote``, ``add_button``, ``save_button``;
    - ``researchers``: ``pick``, ``name``, ``real_name`` (optional), ``login``, ``lead``,
      ``add_button``, ``save_button``, ``remove_button``;
    - ``transcripts``: ``pick`` (an imported transcript), ``partnership``, ``date``,
      ``save_button`` (for a transcript imported before its partnership existed);
    - ``vocabulary`` (tab "Vocabulary"): ``categories`` and ``prompts`` (one per line;
      empty for the shipped ones), ``save_categories``, ``save_prompts``.

    Each form has a ``table`` (what exists, escaped) and a ``status`` (the store's
    message when it refuses; nothing changes then). ``manifest_button`` ("Save as
    manifest") shows in ``download`` a link to the set-up as a TOML manifest (which
    holds real names; nothing is written on the server). CSS class ``cp-study-setup``;
    the tabs ``cp-setup-study``, ``cp-setup-partnerships``, ``cp-setup-participants``,
    ``cp-setup-researchers``, ``cp-setup-transcripts``, ``cp-setup-vocabulary``; the link
    ``cp-download``.

    Parameters
    ----------
    store : Store
    """

    def __init__(self, store: Store, **kwargs):
        self.store = store
        self.study = _StudyForm(store, self.refresh)
        self.partnerships = _PartnershipsForm(store, self.refresh)
        self.participants = _ParticipantsForm(store, self.refresh)
        self.researchers = _ResearchersForm(store, self.refresh)
        self.transcripts = _TranscriptsForm(store, self.refresh)
        self.vocabulary = _VocabularyForm(store, self.refresh)
        sections = [
            ("Study", self.study),
            ("Partnerships", self.partnerships),
            ("Participants", self.participants),
            ("Researchers", self.researchers),
            ("Transcripts", self.transcripts),
            # ipywidgets gives each tab 144 px: a title longer than about 15 characters is cut
            ("Vocabulary", self.vocabulary),
        ]
        self.tabs = w.Tab(children=[s for _, s in sections], titles=[t for t, _ in sections])
        self.manifest_button = w.Button(description="Save as manifest", icon="download")
        self.manifest_button.add_class("cp-save-manifest")
        self.manifest_button.on_click(self._on_manifest_click)
        self.manifest_status = w.HTML()
        self.download = w.HTML()
        self.manifest_text: str | None = None
        super().__init__(
            [self.tabs, self.manifest_button, self.manifest_status, self.download], **kwargs
        )
        self.add_class("cp-study-setup")
        fit(self)
        self.refresh()

    def refresh(self) -> None:
        """Reload every tab from the store (after any change: tabs depend on each other)."""
        for section in (
            self.study,
            self.partnerships,
            self.participants,
            self.researchers,
            self.transcripts,
            self.vocabulary,
        ):
            section.refresh()
        self.download.value = ""  # a link made before the change would be out of date

    def _on_manifest_click(self, _button=None) -> None:
        from coprod_nb.seed.manifest import manifest_toml

        try:
            text = manifest_toml(self.store)
        except CoprodError as exc:
            self.download.value = ""
            message(self.manifest_status, str(exc), kind="error")
            return
        self.manifest_text = text
        slug = re.sub(r"[^\w-]+", "_", self.store.study().name).strip("_")[:40] or "study"
        self.download.value = download_link(
            text.encode("utf-8"), f"{slug}_manifest_REAL_NAMES.toml", "application/toml"
        )
        message(
            self.manifest_status,
            "This manifest holds REAL NAMES (the pseudonym key). Keep the file private, "
            "with the study database: never beside the notebooks, never in a repository "
            "or a shared folder. `coprod-nb init DIR --manifest FILE` builds the set-up "
            "again (transcripts are not in it: import them again).",
            kind="info",
        )
