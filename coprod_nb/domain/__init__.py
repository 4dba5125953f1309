"""Domain objects of the method: plain dataclasses and pure functions.

No I/O, no widgets, no SQL: this layer imports only the standard library.
"""

from coprod_nb.domain.pseudonyms import PseudonymTable
from coprod_nb.domain.transcript import (
    ParsedTranscript,
    RawTurn,
    TurnSpan,
    canonical_text,
    format_time,
    merge_consecutive,
    word_count,
)

__all__ = [
    "ParsedTranscript",
    "PseudonymTable",
    "RawTurn",
    "TurnSpan",
    "canonical_text",
    "format_time",
    "merge_consecutive",
    "word_count",
]
