"""Thin ipywidgets views over the study store and the analysis functions.

Each widget has a stable CSS class (``cp-...``) so browser tests and stylesheets find it.
"""

from coprod_nb.widgets.closure import RecallClosureView
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

__all__ = [
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
