"""HTML main text: what trafilatura's precision mode and our own walk of its output must not lose
or run together. Pages are written here, shaped like the real pages that lost text."""

from __future__ import annotations

from pathlib import Path

from rppsearch.ingest.clean import clean_blocks
from rppsearch.ingest.formats import parse_file

PROSE = (
    "Leaders of the district met every week with their principals to look at the work of schools, "
    "and the central office changed how it answered their requests for help over the year."
)


def _page(body: str) -> str:
    return f"""<html><head><title>A post - Example blog</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a> <a href="/archive">Archive</a></nav>
{body}
<footer><p>© 2019 Example blog. All rights reserved.</p></footer></body></html>"""


def _read(tmp_path: Path, body: str) -> list:
    path = tmp_path / "page.html"
    path.write_text(_page(body), encoding="utf-8")
    return clean_blocks(parse_file(path).blocks)


def test_text_after_an_empty_anchor_and_a_quotation_are_kept(tmp_path):
    # WordPress puts an empty <span id="more-N"> at a post's "read more" break; precision mode
    # deleted it together with the sentence after it (the line that introduces a quotation).
    blocks = _read(tmp_path, f"""<article class="post"><h1>A letter to the staff of Lakemont ISD</h1>
<div class="entry-content">
<p>{PROSE}</p>
<blockquote><p>"Every school should be able to reach a person who can answer its question the same day."</p></blockquote>
<p>{PROSE.replace("week", "month")}</p>
<p><span id="more-5129"></span>In her letter to the staff, the superintendent wrote:</p>
<p>"Our offices exist to make the work of schools easier, not to add to it."</p>
<p><a name="later"></a>A second paragraph opens with an empty named anchor and must survive too.</p>
<p>{PROSE.replace("principals", "teachers")}</p>
</div></article>""")
    text = "\n".join(b.text for b in blocks)
    assert "In her letter to the staff, the superintendent wrote:" in text
    assert "reach a person who can answer its question the same day" in text  # the blockquote
    assert "Our offices exist to make the work of schools easier" in text
    assert "A second paragraph opens with an empty named anchor" in text
    assert "All rights reserved" not in text


def test_an_article_laid_out_in_a_table_keeps_its_headings_and_paragraphs_apart(tmp_path):
    paragraphs = "\n".join(f"<p>{PROSE} Paragraph {n} ends here.</p>" for n in range(1, 6))
    blocks = _read(tmp_path, f"""<table width="100%"><tr>
<td width="150"><a href="/">Home</a><br><a href="/archive">Archive</a></td>
<td><h1 class="headline">A bigger role for the district data team</h1>
<h3 class="byline">by Dana Reyes<br>Monday, November 18, 2019</h3>
{paragraphs}
<table><tr><td>Launches</td><td>Year</td></tr><tr><td>3</td><td>2024</td></tr></table>
</td></tr></table>""")
    texts = [b.text for b in blocks]
    assert "A bigger role for the district data team" in [b.text for b in blocks if b.heading_level]
    assert not any("teamby" in t or "here.Leaders" in t for t in texts)  # nothing run together
    for n in range(1, 6):
        assert sum(f"Paragraph {n} ends here." in t for t in texts) == 1  # each once, in its own block
    assert [t for t in texts if t.startswith("Leaders of the district")][0].endswith("Paragraph 1 ends here.")
    assert "Launches | Year" in texts and "3 | 2024" in texts  # a data table stays one row a line
    assert sum("Launches" in t for t in texts) == 1  # the nested table is read once


def test_a_data_table_is_read_row_by_row_once(tmp_path):
    blocks = _read(tmp_path, f"""<article><h1>Visits by district</h1><p>{PROSE}</p>
<table><tr><th>District</th><th>Visitors</th></tr><tr><td><p>Highline</p></td><td>40</td></tr>
<tr><td>Denver</td><td>25</td></tr></table><p>{PROSE.replace("week", "day")}</p></article>""")
    texts = [b.text for b in blocks]
    assert "District | Visitors" in texts and "Highline | 40" in texts and "Denver | 25" in texts
    assert sum("Highline" in t for t in texts) == 1


def test_text_after_an_empty_block_element_is_kept_as_separate_words(tmp_path):
    """An empty <div> or <p> between two runs of text (a spacer) shows a line break: removing
    it must not glue the last word before it to the first word after it ("termPrincipals")."""
    body = ('<article><h1>Coaching principals</h1><div class="entry-content"><p>Leaders of the district met '
            "every week with their principals to look at the work of schools, and the central office changed.</p>"
            "<div>Coaches observed classrooms with principals during the spring term<div></div>"
            "Principals then gave feedback to teachers about instruction in every school.</div>"
            "<p>The central office changed how it answered their requests for help over the year and the next.</p>"
            "</div></article>")
    text = "\n".join(b.text for b in _read(tmp_path, body))
    assert "Principals then gave feedback" in text
    assert "termPrincipals" not in text and "spring term" in text
