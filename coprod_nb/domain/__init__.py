"""Domain objects of the method: plain dataclasses and pure functions.

No I/O, no widgets, no SQL: this layer imports only the standard library.
"""

from coprod_nb.domain.framework import (
    LINK_KINDS,
    TENSION_STATUSES,
    Framework,
    Pole,
    Tension,
    compare_frameworks,
)
from coprod_nb.domain.pseudonyms import PseudonymTable
from coprod_nb.domain.transcript import (
    ParsedTranscript,
    RawTurn,
    TurnSpan,
    canonical_text,
    format_time,
    merge_consecutive,
    paragraph_spans,
    speaker_prefix,
    word_count,
)

__all__ = [
    "LINK_KINDS",
    "TENSION_STATUSES",
    "Framework",
    "Pole",
    "Tension",
    "compare_frameworks",
    "ParsedTranscript",
    "PseudonymTable",
    "RawTurn",
    "TurnSpan",
    "canonical_text",
    "format_time",
    "merge_consecutive",
    "paragraph_spans",
    "speaker_prefix",
    "word_count",
]
