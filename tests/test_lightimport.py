"""spaCy for sentence boundaries without torch or spaCy's command line, both still importable."""

from __future__ import annotations

import json
import subprocess
import sys


def test_spacy_without_torch_or_its_cli_and_both_still_importable() -> None:
    code = (
        "import json, sys\n"
        "from rppsearch.ingest.nlp import sentence_spans\n"
        "spans = sentence_spans('Principals lead. Supervisors coach them! Do offices help?')\n"
        "before = sorted(m for m in ('torch', 'spacy.cli', 'weasel', 'requests') if m in sys.modules)\n"
        "import spacy.cli, spacy.matcher\n"
        "from spacy.cli import download\n"
        "print(json.dumps({'spans': spans, 'before': before, 'cli': callable(download)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result == {"spans": [[0, 16], [17, 40], [41, 57]], "before": [], "cli": True}
