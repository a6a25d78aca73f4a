"""Old entry-point name, kept for installs whose metadata still names it.

The plugin lives in `rppsearch.web` (entry point `rppsearch.web.hooks`); an editable
install made before the move names this module until `pip install -e .` is run again.
"""

from .web.hooks import *  # noqa: F403
