"""Thin ipywidgets views over the study store and the analysis functions.

Each widget has a stable CSS class (``cp-...``) so browser tests and stylesheets find it.

The views load on first use (``from coprod_nb.widgets import CodingView`` imports the
coding view's module and what it needs, not every view's), so a notebook's import line
pays only for the views it names; the anywidget panes of the transcript reader and the
circle board load only when such a view is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coprod_nb._lazy import lazy_names

if TYPE_CHECKING:
    from coprod_nb.widgets.closure import RecallClosureView
    from coprod_nb.widgets.codebook import CodebookView
    from coprod_nb.widgets.coding import CodingView
    from coprod_nb.widgets.comparison import ComparisonView
    from coprod_nb.widgets.course import CourseSetup, InstructorDashboard
    from coprod_nb.widgets.interpretation import MeetingEditor, TensionBoard
    from coprod_nb.widgets.notes_export import MyNotesView
    from coprod_nb.widgets.packs import ResourcePackView
    from coprod_nb.widgets.participant import LiveResponses, ParticipantApp
    from coprod_nb.widgets.recall import NoteEditor, ResearcherPicker, TranscriptView
    from coprod_nb.widgets.report import AuditView, ReportView, WorksheetEditor
    from coprod_nb.widgets.search import SearchView
    from coprod_nb.widgets.setup import ImportView, PseudonymEditor, SpeakerMapEditor
    from coprod_nb.widgets.study_setup import StudySetupEditor
    from coprod_nb.widgets.workshop import (
        CircleSortView,
        DecisionLog,
        PollView,
        ResponsesView,
        SpectrumEditor,
        WorkshopEditor,
    )

#: public name -> the module that defines (or re-exports) it
_LAZY = {
    "AuditView": "coprod_nb.widgets.report",
    "RecallClosureView": "coprod_nb.widgets.closure",
    "ReportView": "coprod_nb.widgets.report",
    "WorksheetEditor": "coprod_nb.widgets.report",
    "CircleSortView": "coprod_nb.widgets.workshop",
    "CodebookView": "coprod_nb.widgets.codebook",
    "CodingView": "coprod_nb.widgets.coding",
    "ComparisonView": "coprod_nb.widgets.comparison",
    "CourseSetup": "coprod_nb.widgets.course",
    "InstructorDashboard": "coprod_nb.widgets.course",
    "DecisionLog": "coprod_nb.widgets.workshop",
    "PollView": "coprod_nb.widgets.workshop",
    "ResponsesView": "coprod_nb.widgets.workshop",
    "SpectrumEditor": "coprod_nb.widgets.workshop",
    "WorkshopEditor": "coprod_nb.widgets.workshop",
    "ImportView": "coprod_nb.widgets.setup",
    "LiveResponses": "coprod_nb.widgets.participant",
    "ParticipantApp": "coprod_nb.widgets.participant",
    "MeetingEditor": "coprod_nb.widgets.interpretation",
    "MyNotesView": "coprod_nb.widgets.notes_export",
    "NoteEditor": "coprod_nb.widgets.recall",
    "PseudonymEditor": "coprod_nb.widgets.setup",
    "ResearcherPicker": "coprod_nb.widgets.recall",
    "ResourcePackView": "coprod_nb.widgets.packs",
    "SearchView": "coprod_nb.widgets.search",
    "SpeakerMapEditor": "coprod_nb.widgets.setup",
    "StudySetupEditor": "coprod_nb.widgets.study_setup",
    "TensionBoard": "coprod_nb.widgets.interpretation",
    "TranscriptView": "coprod_nb.widgets.recall",
}

__all__ = [
    "CodebookView",
    "AuditView",
    "RecallClosureView",
    "ReportView",
    "WorksheetEditor",
    "CircleSortView",
    "CodingView",
    "ComparisonView",
    "CourseSetup",
    "InstructorDashboard",
    "DecisionLog",
    "PollView",
    "ResponsesView",
    "SpectrumEditor",
    "WorkshopEditor",
    "ImportView",
    "LiveResponses",
    "ParticipantApp",
    "MeetingEditor",
    "MyNotesView",
    "NoteEditor",
    "PseudonymEditor",
    "ResearcherPicker",
    "ResourcePackView",
    "SearchView",
    "SpeakerMapEditor",
    "StudySetupEditor",
    "TensionBoard",
    "TranscriptView",
]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
