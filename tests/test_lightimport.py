"""What the product does without heavy or optional libraries: spaCy sentence boundaries without
torch or spaCy's command line (both still importable), DOCX without python-docx (a test extra)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "docs"


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


def test_docx_is_read_without_python_docx_installed() -> None:
    # python-docx is only in the test extra: the product must read Word files with it absent
    path = CORPUS / "b-13-pine-ridge-board-resolution.docx"
    code = (
        "import json, sys\n"
        "sys.modules['docx'] = None  # import docx now raises ImportError, as when it is not installed\n"
        "from rppsearch.ingest.formats import parse_file\n"
        f"doc = parse_file({str(path)!r})\n"
        "print(json.dumps({'title': doc.metadata.title, 'blocks': len(doc.blocks),"
        " 'headings': sum(1 for b in doc.blocks if b.heading_level)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["title"] and result["blocks"] >= 5 and result["headings"] >= 1
