"""coprod_nb: notebooks and widgets for collaborative auto-ethnographic analysis.

The three steps of the method (individual recall, joint interpretation, workshop
sensemaking) over one auditable study. Heavy parts load on first use, so that
``import coprod_nb`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

from coprod_nb.errors import CoprodError, InvalidInput, NotFound

__version__ = "0.1.0"

_LAZY = {
    "Store": "coprod_nb.storage",
    "open_study": "coprod_nb.study",
    "build_demo": "coprod_nb.seed.demo",
    "import_transcripts": "coprod_nb.ingest",
}

__all__ = ["CoprodError", "InvalidInput", "NotFound", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'coprod_nb' has no attribute {name!r}")
