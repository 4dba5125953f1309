"""Reading transcript files and importing them into a study, pseudonymised."""

from coprod_nb.ingest.importer import (
    ImportedFile,
    ImportFailed,
    ImportReport,
    expand_paths,
    import_transcripts,
)
from coprod_nb.ingest.readers import SUPPORTED_SUFFIXES, read_transcript

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ImportFailed",
    "ImportReport",
    "ImportedFile",
    "expand_paths",
    "import_transcripts",
    "read_transcript",
]
