"""Imports that keep what a process never uses out of it.

`import spacy` costs about 1.8 s here, mostly for things a blank rule-based pipeline
(`ingest/nlp.py`) never touches:

- thinc (spaCy's machine-learning layer) imports torch whenever it is installed, to offer its
  PyTorch wrappers (2.6 s on its own);
- `spacy/__init__.py` imports `spacy.cli.info` for `spacy.info`, and with it the whole command
  line (weasel, requests, the download and project commands): about half of the rest.

`import_spacy()` imports spaCy with torch hidden (thinc records it as absent) and with a stand-in
for `spacy.cli.info` whose `info()` imports the real one when called. Both are removed from
`sys.modules` right after, so torch and `spacy.cli` stay importable for code that needs them.
Should spaCy's own import change so that the stand-in breaks it, spaCy is imported plainly.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


def _info(*args: Any, **kwargs: Any) -> Any:
    """`spacy.info`, loading spaCy's command line on first use."""
    return importlib.import_module("spacy.cli.info").info(*args, **kwargs)


def _stand_ins() -> dict[str, ModuleType | None]:
    cli = ModuleType("spacy.cli")
    cli.__path__ = []  # a package, so `spacy.cli.info` can be found under it
    info = ModuleType("spacy.cli.info")
    info.info = _info  # type: ignore[attr-defined]
    cli.info = info  # type: ignore[attr-defined]
    return {"torch": None, "spacy.cli": cli, "spacy.cli.info": info}


def import_spacy() -> ModuleType:
    """spaCy, imported without torch and without its command line (unless already loaded)."""
    if "spacy" in sys.modules:
        import spacy  # noqa: PLC0415

        return spacy
    stand_ins = _stand_ins()
    if "torch" in sys.modules:
        del stand_ins["torch"]
    placed = {name: module for name, module in stand_ins.items() if name not in sys.modules}
    sys.modules.update(placed)
    try:
        import spacy  # noqa: PLC0415
    except Exception:  # noqa: BLE001 - a spaCy whose import the stand-ins break: import it plainly
        for name in [n for n in sys.modules if n == "spacy" or n.startswith("spacy.")]:
            del sys.modules[name]
        _remove(placed)
        import spacy  # noqa: PLC0415
    finally:
        _remove(placed)
    if getattr(spacy, "cli", None) is stand_ins.get("spacy.cli"):
        del spacy.cli  # `spacy.cli` imports the real package from now on
    return spacy


def _remove(placed: dict[str, ModuleType | None]) -> None:
    for name, module in placed.items():
        if sys.modules.get(name, 0) is module:
            del sys.modules[name]
