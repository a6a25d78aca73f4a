"""Imports that keep torch out of processes that never use it.

thinc (spaCy's machine-learning layer) imports torch whenever it is installed, to offer its
PyTorch wrappers: 2.6 s here, for a blank rule-based pipeline (`ingest/nlp.py`) that never
touches them. `import_spacy()` imports spaCy with torch hidden, so thinc records that torch
is absent; torch itself stays importable afterwards for the code that needs it (batch
encoding, the ONNX export).
"""

from __future__ import annotations

import sys
from types import ModuleType


def import_spacy() -> ModuleType:
    """spaCy, imported without importing torch (unless torch is loaded already)."""
    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy  # noqa: PLC0415

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError
    try:
        import spacy  # noqa: PLC0415
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    return spacy
