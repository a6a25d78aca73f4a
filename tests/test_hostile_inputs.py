"""Hostile inputs through the real ingest: each bad file gets one clear reason and leaves no row,
while the rest of the batch is ingested; odd but valid files are ingested without losing text.

Also property-based tests over the text cleaner and the whole clean -> split path.
Decision on duplicates: the same content under two names is two documents (never lose a
document; each file keeps its own path, id and metadata, and they share a content hash),
while two paths to the same file (a symlink) are one document.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _reliability import document_text, store_violations
from rppsearch.ingest import ocr
from rppsearch.ingest.clean import clean_blocks, furniture_reason, normalize_text
from rppsearch.ingest.pipeline import ingest_paths
from rppsearch.ingest.segment import split_passages
from rppsearch.models import Block
from rppsearch.store import Store

REPO = Path(__file__).resolve().parents[1]
GOOD = document_text(7)


# -- builders for hostile files ------------------------------------------------------------------
def rand_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def reportlab_pdf(path: Path, *, image_only: bool = False, pages: int = 2) -> None:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=letter)
    for page in range(pages):
        if image_only:  # vector drawing only: nothing a text layer could hold
            c.setFillColorRGB(0.2, 0.4, 0.6)
            c.rect(100, 100, 300, 400, fill=1)
            for i in range(40):
                c.line(50 + i * 5, 50, 300, 700 - i * 7)
        else:
            y = 740
            for line in range(40):
                c.drawString(72, y, f"Principal supervisors coach principals, page {page} line {line}.")
                y -= 16
        c.showPage()
    c.save()


def truncated_pdf(path: Path) -> None:
    reportlab_pdf(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])


def encrypted_pdf(path: Path) -> None:
    import pypdf

    plain = path.with_name("plain-source.bin")
    reportlab_pdf(plain)
    writer = pypdf.PdfWriter(clone_from=str(plain))
    writer.encrypt(user_password="secret", owner_password="owner")
    writer.write(str(path))
    plain.unlink()


def zip_bomb_docx(path: Path, megabytes: int = 300) -> None:
    """A .docx-looking zip whose document part inflates to `megabytes` of zeros (~1000:1)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        )
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(megabytes):
                member.write(chunk)


def small_ratio_bomb_docx(path: Path) -> None:
    """Under the size limit but compressing ~1000:1: refused from the zip directory."""
    zip_bomb_docx(path, megabytes=20)


def plain_zip_docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not an office document")


def writer(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


# (file name, builder, what the one-line reason must say)
BAD_FILES: list[tuple[str, Callable[[Path], None], str]] = [
    ("empty.txt", writer(b""), r"^empty file$"),
    ("empty.md", writer(b""), r"^empty file$"),
    ("empty.html", writer(b""), r"^empty file$"),
    ("empty.pdf", writer(b""), r"^empty file$"),
    ("empty.docx", writer(b""), r"^empty file$"),
    ("blank.txt", writer(b" \n\t\r\n  \n"), r"no text"),
    ("random.txt", writer(rand_bytes(40_000, 1)), r"binary data"),
    ("random.md", writer(rand_bytes(40_000, 2)), r"binary data"),
    ("random.html", writer(rand_bytes(40_000, 3)), r"binary data|cannot parse HTML|no main text"),
    ("random.pdf", writer(rand_bytes(40_000, 4)), r"corrupt PDF"),
    ("random.docx", writer(rand_bytes(40_000, 5)), r"not a valid DOCX"),
    ("elf-binary.pdf", writer(b"\x7fELF\x02\x01\x01" + rand_bytes(20_000, 6)), r"corrupt PDF"),
    ("png-image.docx", writer(b"\x89PNG\r\n\x1a\n" + rand_bytes(20_000, 7)), r"not a valid DOCX"),
    ("zip-archive.txt", plain_zip_docx, r"binary data, not text \(a ZIP archive\)"),
    ("truncated.pdf", truncated_pdf, r"corrupt PDF"),
    ("encrypted.pdf", encrypted_pdf, r"encrypted PDF \(password required\)"),
    ("drawing-only.pdf", lambda p: reportlab_pdf(p, image_only=True), r"no text layer \(scanned or image-only PDF\)"),
    ("zip-bomb.docx", small_ratio_bomb_docx, r"zip bomb"),
    ("plain-zip.docx", plain_zip_docx, r"not a valid DOCX"),
    ("nested-deep.html", writer((b"<div>" * 200_000) + b"hello" + (b"</div>" * 200_000)), r"HTML"),
]


def docx_bytes(path: Path) -> None:
    """A real DOCX (a zip: binary), named .txt."""
    import docx

    document = docx.Document()
    document.add_paragraph(GOOD)
    document.save(str(path))


def ingest_one_bad(tmp_path: Path, name: str, build: Callable[[Path], None]) -> tuple[Path, object, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    bad = corpus / name
    build(bad)
    db = tmp_path / "rpp.db"
    with Store.open(db) as store:
        report = ingest_paths(store, [corpus])
    return bad, report, db


def assert_only_bad_failed(report, bad: Path, db: Path, pattern: str) -> None:  # noqa: ANN001
    assert report.added == ["corpus-good"], report.failed
    assert [path for path, _ in report.failed] == [str(bad)]
    reason = report.failed[0][1]
    assert "\n" not in reason and len(reason) < 300
    assert re.search(pattern, reason), reason
    with Store.open(db) as store:
        assert store.conn.execute("SELECT count(*) FROM documents WHERE path = ?", (str(bad.resolve()),)).fetchone()[0] == 0
        assert store.conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 1
    assert store_violations(db) == []


@pytest.mark.parametrize(("name", "build", "pattern"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_fails_alone_with_a_clear_reason(tmp_path: Path, name: str, build, pattern: str) -> None:  # noqa: ANN001
    bad, report, db = ingest_one_bad(tmp_path, name, build)
    assert_only_bad_failed(report, bad, db, pattern)


@pytest.mark.parametrize(("name", "build", "fmt"), [("mislabelled-pdf.txt", reportlab_pdf, "pdf"), ("mislabelled-docx.md", docx_bytes, "docx")])
def test_a_pdf_or_word_file_named_as_text_is_read_as_what_it_is(tmp_path: Path, name: str, build, fmt: str) -> None:  # noqa: ANN001
    """A mislabelled download must not be stored as PDF syntax or zip bytes read as text."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    build(corpus / name)
    with Store.open(tmp_path / "rpp.db") as store:
        report = ingest_paths(store, [corpus])
        assert report.failed == [] and len(report.added) == 1
        stored_fmt, = store.conn.execute("SELECT format FROM documents").fetchone()
        text = " ".join(r[0] for r in store.conn.execute("SELECT text FROM passages"))
    assert stored_fmt == fmt
    assert "principal" in text.lower()
    assert not re.search(r"endobj|/Type|word/document|PK\x03", text)


REALFILES_BAD = {
    "pdf/encrypted-aes256-userpw-baz.pdf": r"encrypted PDF \(password required\)",
    "pdf/encrypted-libreoffice-openpassword.pdf": r"encrypted PDF \(password required\)",
    "pdf/truncated-naacl06-first100000bytes.pdf": r"corrupt PDF",
    "pdf/evil-recursive-xobjects.pdf": r"corrupt PDF",
    "pdf/image-only-imagemagick-6pages.pdf": r"no text layer",
    "pdf/image-only-ccittfax.pdf": r"no text layer",
}
if not ocr.available():  # a real scan: read through Tesseract where it is installed
    REALFILES_BAD["pdf/image-only-jbig2.pdf"] = r"scanned PDF \(no text layer\); install tesseract-ocr"


@pytest.mark.parametrize("rel", sorted(REALFILES_BAD))
def test_real_world_bad_files_fail_alone(tmp_path: Path, shared_dir: Path, rel: str) -> None:
    source = shared_dir / "realfiles" / rel
    bad, report, db = ingest_one_bad(tmp_path, source.name, lambda p: shutil.copyfile(source, p))
    assert_only_bad_failed(report, bad, db, REALFILES_BAD[rel])


# -- huge files and bombs: refused with bounded memory (measured in a child process) ---------------
MEMORY_PROBE = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from rppsearch.ingest.pipeline import ingest_paths
    from rppsearch.store import Store
    warm, corpus, db = (Path(a) for a in sys.argv[1:4])
    with Store.open(db) as store:
        ingest_paths(store, [warm])  # imports, spaCy and SQLite warmed up: the baseline
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report = ingest_paths(store, [corpus])
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"added": report.added, "failed": report.failed, "before_kb": before, "after_kb": after}))
    """
)


def run_memory_probe(tmp_path: Path, corpus: Path) -> dict:
    warm = tmp_path / "warm"
    warm.mkdir()
    (warm / "warm.txt").write_text(document_text(99), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(warm), str(corpus), str(tmp_path / "rpp.db")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "RPP_MODEL": "fake"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_gigabyte_files_and_a_zip_bomb_are_refused_with_bounded_memory(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    with open(corpus / "zeros-1g.txt", "wb") as handle:
        handle.truncate(1 << 30)  # sparse: 1 GB of zeros without using the disk
    with open(corpus / "zeros-300m.pdf", "wb") as handle:
        handle.truncate(300 << 20)
    zip_bomb_docx(corpus / "bomb-300mb.docx")
    out = run_memory_probe(tmp_path, corpus)
    assert out["added"] == ["corpus-good"]
    reasons = {Path(p).name: r for p, r in out["failed"]}
    assert set(reasons) == {"zeros-1g.txt", "zeros-300m.pdf", "bomb-300mb.docx"}
    assert reasons["zeros-1g.txt"].startswith("file too large (1024 MB"), reasons
    assert reasons["zeros-300m.pdf"].startswith("file too large (300 MB"), reasons
    assert "zip bomb" in reasons["bomb-300mb.docx"]
    grown_mb = (out["after_kb"] - out["before_kb"]) / 1024
    assert grown_mb < 100, f"peak memory grew by {grown_mb:.0f} MB for files that were refused"


def test_a_refused_huge_file_is_not_read_again_on_the_next_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Incremental runs hash files to skip unchanged ones; a file refused for its size must not be hashed."""
    from rppsearch.ingest import pipeline

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    with open(corpus / "zeros-1g.txt", "wb") as handle:
        handle.truncate(1 << 30)
    hashed: list[str] = []
    real_hash = pipeline._file_hash
    monkeypatch.setattr(pipeline, "_file_hash", lambda path, extra: hashed.append(Path(path).name) or real_hash(path, extra))
    with Store.open(tmp_path / "rpp.db") as store:
        for _ in range(2):
            report = ingest_paths(store, [corpus])
            assert [Path(p).name for p, _ in report.failed] == ["zeros-1g.txt"]
    assert hashed == ["good.txt", "good.txt"]


def test_ten_megabytes_of_nested_tags_fail_cleanly_with_bounded_memory(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    body = ("<div>" * 1_000_000) + "<p>" + ("District leaders meet principals weekly. " * 50) + "</p>" + ("</div>" * 1_000_000)
    (corpus / "nested-10mb.html").write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    assert (corpus / "nested-10mb.html").stat().st_size > 10_000_000
    out = run_memory_probe(tmp_path, corpus)
    assert "corpus-good" in out["added"]
    # Either refused with one clear line or ingested: never a crash, never unbounded memory.
    for path, reason in out["failed"]:
        assert Path(path).name == "nested-10mb.html" and "HTML" in reason and "\n" not in reason
    grown_mb = (out["after_kb"] - out["before_kb"]) / 1024
    assert grown_mb < 1500, f"peak memory grew by {grown_mb:.0f} MB on 10 MB of nested tags"


# -- pathological text: long runs that once made regexes or spaCy quadratic -------------------------
PATHOLOGICAL = {
    "letters-no-space.txt": "a" * 200_000,
    "cjk-no-punctuation.txt": "日本語の文章です" * 25_000,
    "toc-leader.txt": "Contents" + "." * 200_000 + " 5",
    "hash-rule.txt": "#" * 200_000,
    "brackets.md": "Intro text.\n\n" + "[" * 200_000,
    "link-starts.md": "[a](" * 50_000,
    "lt-run.html": "<html><body><p>" + "<" * 200_000 + "</p></body></html>",
    "one-6mb-paragraph.txt": ("word " * 200 + "and ") * 6_000,
}


def test_pathological_texts_finish(tmp_path: Path) -> None:
    """Each once hung ingest for minutes (quadratic regexes, spaCy on 200k-character tokens).
    A liveness check, not a speed target: the child gets a generous time limit."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    for name, text in PATHOLOGICAL.items():
        (corpus / name).write_text(text, encoding="utf-8")
    code = (
        "import json,sys; from pathlib import Path; from rppsearch.store import Store; "
        "from rppsearch.ingest.pipeline import ingest_paths; "
        "s=Store.open(sys.argv[2]); r=ingest_paths(s,[Path(sys.argv[1])]); print(json.dumps([r.added, r.failed]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(corpus), str(tmp_path / "rpp.db")],
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    added, failed = json.loads(result.stdout.strip().splitlines()[-1])
    assert "corpus-good" in added
    assert len(added) + len(failed) == len(PATHOLOGICAL) + 1
    assert all("\n" not in reason for _, reason in failed)
    assert "corpus-one-6mb-paragraph" in added  # over spaCy's max_length (5M), fed in pieces
    assert store_violations(tmp_path / "rpp.db") == []


# -- HTML that tries to run code or reach the network ----------------------------------------------
HOSTILE_HTML = """<!DOCTYPE html>
<html><head><title>Central office partnerships</title>
<meta http-equiv="refresh" content="0; url=http://evil.example/redirect">
<link rel="stylesheet" href="http://evil.example/style.css">
<script>document.write('INJECTED-BY-SCRIPT'); fetch('http://evil.example/beacon');</script>
<script src="http://evil.example/tracker.js"></script>
<style>body {{ background: url(http://evil.example/bg.png) }}</style>
</head><body>
<iframe src="http://evil.example/frame.html">IFRAME-FALLBACK-TEXT</iframe>
<article>
<h1>How the central office partners with principals</h1>
<p>{p1}</p>
<img src="http://evil.example/pixel.png" onerror="alert('ONERROR-HANDLER')">
<p>{p2} <a href="javascript:alert('JS-LINK')">More on the study</a>.</p>
<object data="http://evil.example/movie.swf">OBJECT-FALLBACK</object>
<svg><script>alert('SVG-SCRIPT')</script></svg>
<p>{p3}</p>
</article>
<noscript>NOSCRIPT-BEACON <img src="http://evil.example/noscript.png"></noscript>
<form action="http://evil.example/post"><input name="q" value="FORM-VALUE"></form>
</body></html>
"""


def test_html_with_scripts_and_iframes_runs_nothing_and_touches_no_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access during ingest")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)

    paragraphs = [p.strip() for p in GOOD.split("\n\n")[1:4]]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    page = corpus / "hostile.html"
    page.write_text(HOSTILE_HTML.format(p1=paragraphs[0], p2=paragraphs[1], p3=paragraphs[2]), encoding="utf-8")
    with Store.open(tmp_path / "rpp.db") as store:
        report = ingest_paths(store, [corpus])
        assert report.added == ["corpus-hostile"], report.failed
        text = store.conn.execute("SELECT text FROM documents").fetchone()[0]
        passages = " ".join(r[0] for r in store.conn.execute("SELECT text FROM passages"))
    assert attempts == []
    assert paragraphs[0][:60] in text and paragraphs[2][:60] in text
    for marker in ("INJECTED-BY-SCRIPT", "document.write", "fetch(", "alert(", "ONERROR", "JS-LINK",
                   "SVG-SCRIPT", "evil.example", "javascript:", "NOSCRIPT-BEACON", "background:"):
        assert marker not in text and marker not in passages, marker


# -- encodings, scripts and directions --------------------------------------------------------------
LATIN = "Café au lait, naïve résumé, façade and São Paulo: the district's Señor Núñez agreed. "


def test_mixed_encodings_are_decoded(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = GOOD.split("\n\n", 1)[1]
    (corpus / "latin1.txt").write_bytes((LATIN * 3 + "\n\n" + body).encode("latin-1"))
    cp1252 = "The superintendent said \u201cwe\u2019re here to help\u201d \u2014 a \u20ac5 budget line. " * 3
    (corpus / "cp1252.txt").write_bytes((cp1252 + "\n\n" + body).encode("cp1252"))
    (corpus / "utf16.txt").write_bytes((LATIN * 2 + "\n\n" + body).encode("utf-16"))  # with BOM
    (corpus / "utf8-bom.md").write_bytes(b"\xef\xbb\xbf" + f"# Notes\n\n{LATIN}\n\n{body}".encode())
    (corpus / "latin1.md").write_bytes(f"# Notas\n\n{LATIN}\n\n{body}".encode("latin-1"))
    html = f'<html><head><meta charset="windows-1252"><title>T</title></head><body><article><p>{cp1252}</p><p>{body}</p></article></body></html>'
    (corpus / "cp1252.html").write_bytes(html.encode("cp1252"))
    with Store.open(tmp_path / "rpp.db") as store:
        report = ingest_paths(store, [corpus])
        assert not report.failed, report.failed
        texts = {Path(p).name: t for p, t in store.conn.execute("SELECT path, text FROM documents")}
    assert len(texts) == 6
    for doc in ("latin1.txt", "utf16.txt", "utf8-bom.md", "latin1.md"):
        assert "Café au lait, naïve résumé, façade and São Paulo: the district's Señor Núñez" in texts[doc], doc
        assert "\ufeff" not in texts[doc]
    for doc in ("cp1252.txt", "cp1252.html"):
        # curly quotes are folded to ASCII on purpose (normalize_text), the rest survives
        assert "The superintendent said \"we're here to help\" \u2014 a \u20ac5 budget line." in texts[doc], doc


ARABIC = (
    "يعمل مشرفو المديرين مع مديري المدارس كل أسبوع. يزور المشرفون الفصول الدراسية ويناقشون ما يرونه. "
    "نقل المكتب المركزي الأعمال الورقية إلى موظفين آخرين حتى يتمكن المشرفون من التدريب. "
)
JAPANESE = (
    "校長の指導主事は毎週学校を訪問する。授業を一緒に観察し、次の手順を話し合う。"
    "中央事務局は書類仕事を他の職員に移し、指導の時間を守った。"
)
HEBREW = "מפקחי המנהלים מבקרים בבתי הספר בכל שבוע ומשוחחים עם המנהלים על ההוראה. "


def assert_no_text_lost(store: Store, doc_id: str) -> None:
    """Every non-space character of the document lies in a passage or a heading; offsets hold."""
    text = store.conn.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()[0]
    rows = store.conn.execute(
        'SELECT text, start, "end", heading FROM passages WHERE document_id = ? ORDER BY seq', (doc_id,)
    ).fetchall()
    assert rows, doc_id
    covered = [False] * len(text)
    headings: set[str] = set()
    for ptext, start, end, heading in rows:
        assert text[start:end] == ptext
        covered[start:end] = [True] * (end - start)
        headings.update(h.strip() for h in heading.split(" > ") if h.strip())
    leftover = "".join(c if not k else "\n" for c, k in zip(text, covered))
    for piece in leftover.split("\n"):
        assert not piece.strip() or piece.strip() in headings, f"{doc_id}: lost {piece.strip()[:80]!r}"


def test_right_to_left_and_non_latin_text_survives_and_is_searchable(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "arabic.txt").write_text((ARABIC * 4 + "\n\n") * 3, encoding="utf-8")
    (corpus / "japanese.txt").write_text("".join(f"第{i}段落。{JAPANESE * 3}\n\n" for i in range(3)), encoding="utf-8")
    (corpus / "hebrew.md").write_text(f"# דוח\n\n{HEBREW * 5}\n\n{HEBREW * 4}\n", encoding="utf-8")
    mixed = f"\u200fThe Arabic term \u202b{ARABIC.split('.')[0]}\u202c appears in the report. " * 4
    (corpus / "bidi-marks.txt").write_text(mixed + "\n\n" + GOOD, encoding="utf-8")
    with Store.open(tmp_path / "rpp.db") as store:
        report = ingest_paths(store, [corpus])
        assert not report.failed, report.failed
        texts = dict(store.conn.execute("SELECT id, text FROM documents").fetchall())
        assert "يعمل مشرفو المديرين مع مديري المدارس" in texts["corpus-arabic"]
        assert "授業を一緒に観察し" in texts["corpus-japanese"]
        assert "מפקחי המנהלים" in texts["corpus-hebrew"]
        assert "\u200f" not in texts["corpus-bidi-marks"] and "يعمل مشرفو" in texts["corpus-bidi-marks"]
        for word, doc in (("المشرفون", "corpus-arabic"), ("המנהלים", "corpus-hebrew")):
            hits = store.conn.execute(
                "SELECT DISTINCT p.document_id FROM passages_fts f JOIN passages p ON p.pk = f.rowid "
                "WHERE passages_fts MATCH ?", (f'"{word}"',)
            ).fetchall()
            assert [h[0] for h in hits] == [doc]
        for doc in texts:
            assert_no_text_lost(store, doc)
    assert store_violations(tmp_path / "rpp.db") == []


def test_real_arabic_pdf_and_a_japanese_docx_keep_their_script(tmp_path: Path, shared_dir: Path) -> None:
    import docx

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(shared_dir / "realfiles" / "pdf" / "arabic-rtl-weasyprint.pdf", corpus / "arabic.pdf")
    document = docx.Document()
    document.add_heading("学校訪問の記録", level=1)
    for i in range(3):
        document.add_paragraph(f"第{i + 1}回。" + JAPANESE * 2)
    document.save(str(corpus / "japanese.docx"))
    with Store.open(tmp_path / "rpp.db") as store:
        report = ingest_paths(store, [corpus])
        assert sorted(report.added) == ["corpus-arabic", "corpus-japanese"], report.failed
        texts = dict(store.conn.execute("SELECT id, text FROM documents").fetchall())
        assert re.search(r"[\u0600-\u06ff]{3}", texts["corpus-arabic"]), texts["corpus-arabic"]
        assert "授業を一緒に観察し" in texts["corpus-japanese"] and "学校訪問の記録" in texts["corpus-japanese"]
        for doc in texts:
            assert_no_text_lost(store, doc)


# -- names, links and permissions -----------------------------------------------------------------
def test_same_content_under_two_names_is_two_documents_and_a_symlink_is_one(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "report.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "report copy.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "alias.txt").symlink_to(corpus / "report.txt")
    db = tmp_path / "rpp.db"
    with Store.open(db) as store:
        report = ingest_paths(store, [corpus])
        assert len(report.added) == 2 and "corpus-report-copy" in report.added, report.added
        rows = store.conn.execute("SELECT id, path, text, content_hash FROM documents ORDER BY id").fetchall()
        # the symlink and its target are one file: one document, stored under the real path
        assert sorted(r["path"] for r in rows) == sorted(str(corpus.resolve() / n) for n in ("report copy.txt", "report.txt"))
        assert rows[0]["text"] == rows[1]["text"] and rows[0]["content_hash"] == rows[1]["content_hash"]
        (corpus / "report copy.txt").unlink()
        pruned = ingest_paths(store, [corpus], prune=True)
        assert pruned.pruned == ["corpus-report-copy"]
        assert store.conn.execute("SELECT path FROM documents").fetchall()[0][0] == str(corpus.resolve() / "report.txt")


def test_symlink_loops_terminate_with_one_line_each(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "sub" / "loop").symlink_to(corpus, target_is_directory=True)  # folder loop
    (corpus / "ping.txt").symlink_to(corpus / "pong.txt")  # file loop
    (corpus / "pong.txt").symlink_to(corpus / "ping.txt")
    (corpus / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    with Store.open(tmp_path / "rpp.db") as store:
        report = ingest_paths(store, [corpus, corpus / "ping.txt"])
    assert report.added == ["corpus-good"]
    failed = dict(report.failed)
    assert set(failed) == {str(corpus / n) for n in ("ping.txt", "pong.txt", "dangling.md")}
    assert set(failed.values()) == {"broken or looping symlink"}


def test_a_fifo_named_like_a_document_does_not_block_ingest(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    os.mkfifo(corpus / "pipe.txt")
    code = (
        "import json,sys; from pathlib import Path; from rppsearch.store import Store; "
        "from rppsearch.ingest.pipeline import ingest_paths; "
        "s=Store.open(sys.argv[2]); r=ingest_paths(s,[Path(sys.argv[1])]); print(json.dumps([r.added, r.failed]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(corpus), str(tmp_path / "rpp.db")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    added, failed = json.loads(result.stdout)
    assert added == ["corpus-good"] and failed == [[str(corpus / "pipe.txt"), "not a regular file"]]


def test_unreadable_file_fails_alone(tmp_path: Path) -> None:
    """As root (CI containers) chmod 000 does not deny reads: the child then runs without the
    capabilities that bypass file permissions (util-linux `setpriv`), still as root."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    secret = corpus / "secret.txt"
    secret.write_text(document_text(8), encoding="utf-8")
    secret.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root, where chmod 000 does not deny reads, and setpriv is not installed")
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
        denied = subprocess.run([*prefix, sys.executable, "-c", f"open({str(secret)!r}).read()"], capture_output=True)
        if denied.returncode == 0:
            pytest.skip("running as root and could not drop the capability to read any file")
    code = (
        "import json,sys; from pathlib import Path; from rppsearch.store import Store; "
        "from rppsearch.ingest.pipeline import ingest_paths; "
        "s=Store.open(sys.argv[2]); r=ingest_paths(s,[Path(sys.argv[1])]); print(json.dumps([r.added, r.failed]))"
    )
    result = subprocess.run(
        [*prefix, sys.executable, "-c", code, str(corpus), str(tmp_path / "rpp.db")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    added, failed = json.loads(result.stdout.strip().splitlines()[-1])
    assert added == ["corpus-good"]
    assert len(failed) == 1 and failed[0][0] == str(secret), failed
    assert re.search(r"permission denied", failed[0][1], re.IGNORECASE), failed[0][1]
    assert "\n" not in failed[0][1]


def test_a_file_name_that_is_not_utf8_is_still_ingested(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    name = os.fsdecode(b"caf\xe9-notes.txt")  # a Latin-1 name from an old archive
    (corpus / name).write_text(GOOD, encoding="utf-8")
    with Store.open(tmp_path / "rpp.db") as store:
        report = ingest_paths(store, [corpus])
        assert len(report.added) == 1, report.failed
        assert len(ingest_paths(store, [corpus]).unchanged) == 1  # the stored path is stable


# -- the CLI edge: one line each, the batch goes on, exit 1 -----------------------------------------
@pytest.mark.slow  # `rpp ingest` also trains the tagger on a fresh store
def test_cli_prints_one_error_line_per_bad_file_and_ingests_the_rest(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "also good.md").write_text("# Second\n\n" + document_text(8), encoding="utf-8")
    bad_names = ["empty.txt", "random.pdf", "random.docx", "encrypted.pdf", "line\nbreak.txt"]
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "random.pdf").write_bytes(rand_bytes(5000, 11))
    (corpus / "random.docx").write_bytes(rand_bytes(5000, 12))
    encrypted_pdf(corpus / "encrypted.pdf")
    (corpus / "line\nbreak.txt").write_bytes(rand_bytes(5000, 13))
    result = subprocess.run(
        [sys.executable, "-c", "from rppsearch.cli.main import main; main()",
         "ingest", str(corpus), "--index-dir", str(tmp_path / "ix"), "--quiet"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "RPP_MODEL": "fake"},
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == len(bad_names), lines
    for name in bad_names:
        shown = str(corpus / name).replace("\n", "\\n")
        assert sum(line.startswith(f"Error: {shown}: ") for line in errors) == 1, (name, errors)
    with Store.open(tmp_path / "ix" / "rpp.db") as store:
        ids = sorted(r[0] for r in store.conn.execute("SELECT id FROM documents"))
    assert ids == ["corpus-also-good", "corpus-good"]
    assert store_violations(tmp_path / "ix" / "rpp.db") == []


# -- property-based: the cleaner and the clean -> split path ---------------------------------------
ASCII_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=10)
NOISE = st.sampled_from(
    # separators; invisible and control characters are dropped, so they come beside a space
    [" ", "  ", "\t", "\n", "\r\n", "\r", "\n\n\n\n", "\u00a0", "\u2003", "\u3000", " \u200b", "\ufeff ",
     "\u00ad ", " \u200e", "\u202b ", "\x0c", " \x07", "\u2028", "\u2029", " \u201c", "\u201d ", "\u2019 ", ", ", ". "]
)
NOISY_TEXT = st.lists(st.tuples(ASCII_WORD, NOISE), max_size=40).map(lambda pairs: "".join(w + n for w, n in pairs))
ANY_TEXT = st.text(max_size=300)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ANY_TEXT, NOISY_TEXT))
@example("a\r\n\r\n\r\nb")
@example("\ufb01le \u2163 \uff21")  # ligature, roman numeral, full-width: NFKC
def test_normalize_text_is_idempotent_and_clean(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert once == once.strip()
    assert "\r" not in once and "\n\n\n" not in once and "  " not in once and "\t" not in once
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u200b\u200e\u200f\ufeff\u00ad]", once)


@settings(max_examples=300, deadline=None)
@given(NOISY_TEXT)
def test_normalize_text_loses_no_word(text: str) -> None:
    words = re.findall(r"[A-Za-z0-9]+", text)
    assert re.findall(r"[A-Za-z0-9]+", normalize_text(text)) == words


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_normalize_text_keeps_every_letter_and_digit(text: str) -> None:
    """Apart from NFKC's own folding, no letter or digit appears or disappears."""
    expected = [c for c in unicodedata.normalize("NFKC", text) if c.isalnum()]
    got = [c for c in normalize_text(text) if c.isalnum()]
    # NFKC runs after invisible characters are removed; those are never alphanumeric
    assert got == expected


PROSE_WORDS = st.sampled_from(
    "principals supervisors district central office schools coach instruction teams data budget "
    "leaders network partnership evidence staff weekly reform learning practice student teachers".split()
)
PROSE = st.lists(PROSE_WORDS, min_size=8, max_size=40).map(lambda ws: " ".join(ws).capitalize() + ".")
FURNITURE = st.sampled_from(
    ["Leave a Reply", "Share this:", "Facebook Twitter Email", "Subscribe to our newsletter",
     "Like this:", "Privacy Policy | Terms of Use", "© 2024 Example District. All rights reserved.",
     "We use cookies to improve your experience on our website.", "Text here text here text here",
     "Read more", "Accept all cookies", "You are commenting using your WordPress.com account. ( Log Out / Change )"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(PROSE, min_size=1, max_size=10, unique=True),
    st.lists(st.tuples(st.integers(0, 10), FURNITURE), max_size=8),
    st.lists(st.tuples(st.integers(0, 10), st.integers(1, 3), PROSE_WORDS), max_size=3),
)
def test_clean_blocks_keeps_all_prose_drops_furniture_and_is_idempotent(prose, furniture, headings) -> None:  # noqa: ANN001
    blocks = [Block(p) for p in prose]
    for position, line in sorted(furniture, reverse=True):
        blocks.insert(min(position, len(blocks)), Block(line))
    for position, level, word in sorted(headings, reverse=True):
        blocks.insert(min(position, len(blocks)), Block(word.capitalize() + " findings", level))
    cleaned = clean_blocks(blocks)
    kept_prose = [b.text for b in cleaned if b.heading_level == 0]
    expected = [p for p in prose if furniture_reason(p) is None]
    assert kept_prose == expected
    assert not any(furniture_reason(b.text) for b in cleaned)
    assert clean_blocks(cleaned) == cleaned


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(NOISY_TEXT, ANY_TEXT, PROSE), min_size=1, max_size=8))
@example(['He said "The plan works."The board agreed. "A new start," she said.'])
def test_clean_then_split_loses_no_text_and_offsets_point_at_passages(raw_blocks: list[str]) -> None:
    blocks = clean_blocks([Block(normalize_text(t)) for t in raw_blocks if normalize_text(t)])
    text, passages = split_passages(blocks)
    for p in passages:
        assert text[p.start : p.end] == p.text
    body = "".join("".join(b.text.split()) for b in blocks if b.heading_level == 0)
    assert "".join("".join(p.text.split()) for p in passages) == body
