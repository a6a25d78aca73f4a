"""How much of each real document's text rppsearch keeps, against independent references.

Usage: python benchmarks/bench_fidelity.py [--shared DIR] [--extractors] [--no-ocr]

Every file goes through the product's own path (`read_document`: parse, clean, segment, exactly
what `rpp ingest` stores). References, none of them rppsearch code:
- PDF: poppler's `pdftotext` (Debian poppler-utils); word recall, and run-together words
  (stored tokens of more than 25 letters that are not a pdftotext token).
- DOCX: every `w:t` run of the main document part, runs of one paragraph joined; word recall.
- HTML: the annotated gold text beside the page; word F1.
- seeds (plain text): the file itself; word recall.
- OCR: for a page image, `tesseract` run directly on the page rendered by `pdftoppm -r 300`;
  the share of its words the stored text has. Scans are the realfiles scans plus pages of
  realfiles text PDFs rendered to image-only PDFs here (temporary files).
`--extractors` also compares PDF text extractors (pypdf, pdfminer.six if installed, pypdfium2
plain text, rppsearch's pdfium layout reader) on the realfiles PDFs: recall, run-together words, time.

Tokens: case-folded runs of letters, digits and combining marks after NFKC on both sides (the
product stores NFKC text, so "ﻣ" in a reference, an Arabic presentation form, is the letter "م"
it shows, as "ﬁ" is "fi"; a vowel mark such as the Arabic fatha belongs to its word); CJK
characters count one a token. A right-to-left word (Arabic, Hebrew) counts in either letter
order: pdftotext, like pdfium, reverses a glyph that a font maps to several letters, so for
arabic-rtl-weasyprint.pdf it gives "يبيبَح" for the "حَبيبي" (habibi) on the page, and the
letter order of such a word cannot be judged against it.

PDF references leave out provable furniture, the same way for every file: page numbers. A
line is one when it is the first or last line of a pdftotext page (pages end at form feeds),
holds only a number ("7", "- 7 -", "Page 7", "7 of 9"), and that number is the page's place in
the file plus the offset most such lines share (0 for a file with one numbered page; an offset
only counts when two or more pages agree on it). The issue allows removing page numbers;
counting them as lost would fault a file for doing what is asked (acroform-pdflatex.pdf: its
three words and the "1" at the foot of its one page). A chart's axis labels are not in
sequence and stay. Running headers and footers still count: the recall is a lower bound.
Writes benchmarks/results/fidelity.json (and pdf_extractors.json with --extractors) and prints
markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_MARKS = "".join(re.escape(chr(c)) for c in range(0x300, 0x20000) if unicodedata.category(chr(c)).startswith("M"))
_TOKEN = re.compile(
    rf"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|(?:[^\W_\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|[{_MARKS}])+"
)
_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_PAGE_NUMBER_LINE = re.compile(
    r"(?:page\s*)?[-–—]?\s*(\d{1,4})\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?", re.IGNORECASE
)
LONG = 25


def tokens(text: str) -> list[str]:
    found = [t.casefold() for t in _TOKEN.findall(unicodedata.normalize("NFKC", text))]
    return [min(t, t[::-1]) if _RTL.search(t) else t for t in found]


def without_page_numbers(text: str) -> tuple[str, int]:
    """pdftotext output without the page numbers at the top or bottom of its pages, and how
    many tokens they had."""
    pages = [[line for line in page.split("\n") if line.strip()] for page in text.split("\f")]
    candidates = []  # (page index, line index, number's offset from the page's place)
    for index, lines in enumerate(pages):
        for end in sorted({0, len(lines) - 1}) if lines else ():
            match = _PAGE_NUMBER_LINE.fullmatch(lines[end].strip())
            if match:
                candidates.append((index, end, int(match.group(1)) - (index + 1)))
    offsets = Counter(offset for _, offset in {(index, offset) for index, _, offset in candidates})  # pages
    agreed = {offset for offset, count in offsets.items() if count >= 2 or offset == 0}
    best = max(agreed, key=lambda offset: offsets[offset], default=None)
    drop = {(index, end) for index, end, offset in candidates if offset == best}
    dropped = sum(len(tokens(pages[index][end])) for index, end in drop)
    kept = [
        "\n".join(line for i, line in enumerate(lines) if (index, i) not in drop) for index, lines in enumerate(pages)
    ]
    return "\f".join(kept), dropped


def overlap(ref: list[str], got: list[str]) -> int:
    have = Counter(got)
    return sum(min(c, have[w]) for w, c in Counter(ref).items())


def recall(ref: list[str], got: list[str]) -> float | None:
    return round(overlap(ref, got) / len(ref), 3) if ref else None


def f1(ref: list[str], got: list[str]) -> float | None:
    if not ref or not got:
        return None
    common = overlap(ref, got)
    p, r = common / len(got), common / len(ref)
    return round(2 * p * r / (p + r), 3) if common else 0.0


def run_together(ref: list[str], got: list[str]) -> list[str]:
    separate = set(ref)
    return sorted({t for t in got if sum(ch.isalpha() for ch in t) > LONG and t not in separate})


def pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(
        ["pdftotext", "-q", "-enc", "UTF-8", *args, str(path), "-"], capture_output=True, text=True, timeout=300
    ).stdout


def docx_runs(path: Path) -> str:
    """Every w:t of the main part, runs of one paragraph joined, one paragraph a line."""
    from lxml import etree  # noqa: PLC0415

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        main = "word/document.xml"
        if main not in names:
            rels = archive.read("_rels/.rels").decode("utf-8", "replace")
            found = re.search(r'Target="/?([^"]+)"[^>]*Type="[^"]*officeDocument"|Type="[^"]*officeDocument"[^>]*Target="/?([^"]+)"', rels)
            main = next((g for g in (found.groups() if found else ()) if g), main)
        root = etree.fromstring(archive.read(main))
    paragraphs: dict[Any, list[str]] = {}
    for node in root.iter():
        if not isinstance(node.tag, str) or etree.QName(node).localname != "t":
            continue
        parent = next((a for a in node.iterancestors() if etree.QName(a).localname == "p"), None)
        paragraphs.setdefault(parent, []).append(node.text or "")
    return "\n".join("".join(parts) for parts in paragraphs.values())


def product(path: Path) -> dict[str, Any]:
    from rppsearch.errors import RppError  # noqa: PLC0415
    from rppsearch.ingest.pipeline import read_document  # noqa: PLC0415

    start = time.perf_counter()
    try:
        doc = read_document(path)
    except RppError as exc:
        return {"text": "", "error": getattr(exc, "reason", None) or str(exc), "seconds": time.perf_counter() - start}
    extra = doc.metadata.extra
    return {
        "text": doc.text, "title": doc.metadata.title, "seconds": time.perf_counter() - start,
        "warnings": extra.get("warnings", []), "ocr": bool(extra.get("ocr")),
        "ocr_confidence": extra.get("ocr_confidence"),
    }


def measure(kind: str, path: Path, reference: str, *, use_f1: bool = False) -> dict[str, Any]:
    got = product(path)
    ref_t, got_t = tokens(reference), tokens(got["text"])
    row = {
        "file": f"{kind}/{path.name}", "kind": kind, "ref_words": len(ref_t), "stored_words": len(got_t),
        "recall": recall(ref_t, got_t), "run_together": run_together(ref_t, got_t) if kind == "pdf" else [],
        "title": got.get("title"), "error": got.get("error"), "seconds": round(got["seconds"], 2),
        "warnings": got.get("warnings", []), "ocr": got.get("ocr", False),
    }
    if use_f1:
        row["f1"] = f1(ref_t, got_t)
    return row


def tesseract_reference(pdf: Path, work: Path) -> str:
    """`tesseract` run directly on each page rendered by pdftoppm at 300 dpi."""
    prefix = work / pdf.stem
    subprocess.run(["pdftoppm", "-r", "300", "-gray", "-png", str(pdf), str(prefix)], check=True, timeout=600)
    texts = []
    for image in sorted(work.glob(f"{pdf.stem}-*.png")):
        texts.append(subprocess.run(["tesseract", str(image), "-", "quiet"], capture_output=True, text=True,
                                    timeout=600).stdout)
        image.unlink()
    return "\n".join(texts)


def make_scan(source: Path, pages: int, out: Path) -> Path:
    """Pages of a text PDF rendered at 200 dpi and saved as an image-only PDF (Pillow)."""
    import pypdfium2 as pdfium  # noqa: PLC0415

    document = pdfium.PdfDocument(str(source))
    images = [document[i].render(scale=200 / 72, grayscale=True).to_pil().convert("L") for i in range(pages)]
    images[0].save(out, save_all=True, append_images=images[1:], resolution=200)
    document.close()
    return out


def ocr_rows(realfiles: Path) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scans = [realfiles / "pdf" / "image-only-jbig2.pdf"]
        for name, pages in (("dmca-gov-report.pdf", 2), ("naacl06-two-column-paper.pdf", 1)):
            if (realfiles / "pdf" / name).exists():
                scans.append(make_scan(realfiles / "pdf" / name, pages, work / f"scan-of-{name}"))
        for scan in scans:
            if not scan.exists():
                continue
            reference = tesseract_reference(scan, work)
            row = measure("scan", scan, reference)
            row["file"] = f"scan/{scan.name}"
            rows.append(row)
    return rows


def extractor_rows(pdfs: list[Path]) -> list[dict[str, Any]]:
    import logging  # noqa: PLC0415
    import warnings  # noqa: PLC0415

    import pypdfium2 as pdfium  # noqa: PLC0415
    from pypdf import PdfReader  # noqa: PLC0415

    from rppsearch.ingest.formats.pdf_layout import read_page  # noqa: PLC0415

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")

    def with_pypdf(p: Path) -> str:
        reader = PdfReader(p, strict=False)
        if reader.is_encrypted:
            reader.decrypt("")
        return "\n".join(page.extract_text(extraction_mode="plain") or "" for page in reader.pages)

    def with_pdfium(p: Path) -> str:
        doc = pdfium.PdfDocument(str(p))
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))

    def with_layout(p: Path) -> str:
        doc = pdfium.PdfDocument(str(p))
        return "\n".join(read_page(doc[i])[0] for i in range(len(doc)))

    extractors = {"pypdf": with_pypdf, "pypdfium2": with_pdfium, "rppsearch layout (pdfium)": with_layout}
    try:
        from pdfminer.high_level import extract_text  # noqa: PLC0415

        extractors["pdfminer.six"] = lambda p: extract_text(str(p))
    except ImportError:
        pass
    rows = []
    for pdf in pdfs:
        ref = tokens(without_page_numbers(pdftotext(pdf))[0])
        if len(ref) < 20:
            continue
        row: dict[str, Any] = {"file": pdf.name, "ref_words": len(ref)}
        for name, extract in extractors.items():
            start = time.perf_counter()
            try:
                got = tokens(extract(pdf))
            except Exception:  # noqa: BLE001 - an extractor that fails on a file scores nothing
                got = []
            row[name] = {"recall": recall(ref, got), "run_together": len(run_together(ref, got)),
                         "seconds": round(time.perf_counter() - start, 2)}
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--extractors", action="store_true", help="also compare PDF text extractors")
    parser.add_argument("--no-ocr", action="store_true", help="skip the OCR rows")
    args = parser.parse_args()
    realfiles, seeds = args.shared / "realfiles", args.shared / "seeds"
    if not realfiles.is_dir():
        raise SystemExit(f"no {realfiles}: pass --shared DIR")
    if shutil.which("pdftotext") is None:
        raise SystemExit("pdftotext not found: apt-get install poppler-utils")
    rows: list[dict[str, Any]] = []
    pdfs = sorted((realfiles / "pdf").glob("*.pdf"))
    for pdf in pdfs:
        reference, furniture = without_page_numbers(pdftotext(pdf))
        rows.append(measure("pdf", pdf, reference) | {"ref_page_number_words": furniture})
    for docx in sorted((realfiles / "docx").glob("*.docx")):
        rows.append(measure("docx", docx, docx_runs(docx)))
    for html in sorted((realfiles / "html").glob("*.html")):
        gold = html.with_name(html.stem + ".gold.txt")
        if gold.exists():
            rows.append(measure("html", html, gold.read_text(encoding="utf-8"), use_f1=True))
    for seed in sorted(seeds.glob("*.txt")) if seeds.is_dir() else []:
        rows.append(measure("seed", seed, seed.read_text(encoding="utf-8")))
    tesseract = shutil.which("tesseract") is not None
    ocr = ocr_rows(realfiles) if tesseract and not args.no_ocr else []
    extractors = extractor_rows(pdfs) if args.extractors else []
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "pdftotext": subprocess.run(["pdftotext", "-v"], capture_output=True, text=True).stderr.splitlines()[0],
        "files": rows, "ocr": ocr, "extractors": extractors,
    }
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "fidelity.json").write_text(
        json.dumps({k: v for k, v in out.items() if k != "extractors"}, indent=2, ensure_ascii=False) + "\n"
    )
    if extractors:
        kept = {k: out[k] for k in ("machine", "load_average", "pdftotext")}
        (results / "pdf_extractors.json").write_text(
            json.dumps({**kept, "extractors": extractors}, indent=2, ensure_ascii=False) + "\n"
        )
    print_tables(out)
    return 0


def print_tables(out: dict[str, Any]) -> None:
    print("| file | ref words | stored | recall | F1 | run-together | title | note |\n|---|---|---|---|---|---|---|---|")
    for r in out["files"] + out["ocr"]:
        note = r["error"] or "; ".join(r["warnings"])
        if r.get("ref_page_number_words"):
            note = f"{note}; " if note else ""
            note += f"reference without {r['ref_page_number_words']} page-number words"
        print(f"| {r['file']} | {r['ref_words']} | {r['stored_words']} | {r['recall']} | {r.get('f1', '')} "
              f"| {len(r['run_together'])} | {(r['title'] or '')[:50]} | {note[:70]} |")
    if out["extractors"]:
        names = [k for k in out["extractors"][0] if k not in ("file", "ref_words")]
        print("\n| file | ref words | " + " | ".join(names) + " |\n|---|---|" + "---|" * len(names))
        for r in out["extractors"]:
            cells = [f"{r[n]['recall']} / {r[n]['run_together']} / {r[n]['seconds']}s" for n in names]
            print(f"| {r['file']} | {r['ref_words']} | " + " | ".join(cells) + " |")
        print("(cells: recall vs pdftotext / run-together words / seconds)")


if __name__ == "__main__":
    sys.exit(main())
