"""Text normalisation and removal of page furniture, on small cases and the five real seed pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rppsearch.ingest.clean import (
    FURNITURE_RULES,
    clean_blocks,
    furniture_reason,
    normalize_text,
)
from rppsearch.ingest.formats import parse_file
from rppsearch.models import Block

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not present beside the repo")


# ---------------------------------------------------------------- normalize_text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("eﬃcient ﬁnance", "efficient finance"),  # ligatures (NFKC)
        ("ＡＢＣ１２３", "ABC123"),  # full-width forms
        ("a\u00a0b\u2009c", "a b c"),  # no-break and thin spaces
        ("zero\u200bwidth\u2060joined\ufeff", "zerowidthjoined"),
        ("soft\u00adhyphen", "softhyphen"),
        ("bell\x07 and\x00 nul\x1b", "bell and nul"),
        ("“Quoted” and ‘single’ isn’t", "\"Quoted\" and 'single' isn't"),
        ("em — dash – en", "em — dash – en"),  # dashes stay
        ("tabs\t\tand   spaces", "tabs and spaces"),
        ("windows\r\nline\rends", "windows\nline\nends"),
        ("para one\n\n\n\n\npara two", "para one\n\npara two"),
        ("  trailing  \n  leading", "trailing\nleading"),
        ("line\u2028sep\u2029para", "line\nsep\n\npara"),
        ("", ""),
    ],
)
def test_normalize_text(raw, clean):
    assert normalize_text(raw) == clean


def test_normalize_text_keeps_scripts_and_joiners():
    assert normalize_text("Привет мир 中央办公室 مرحبا") == "Привет мир 中央办公室 مرحبا"
    assert normalize_text("می\u200cخواهم") == "می\u200cخواهم"  # ZWNJ is orthographic in Persian


@given(st.text())
def test_normalize_text_is_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert "\r" not in once and "\n\n\n" not in once and "  " not in once


# ---------------------------------------------------------------- furniture rules

FURNITURE = [
    # comment forms
    "Leave a Reply",
    "Leave a Reply to Jane Cancel reply",
    "Fill in your details below or click an icon to log in:",
    "You are commenting using your WordPress.com account. Log Out / Change )",
    "You are commenting using your Twitter account. ( Log Out / Change )",
    "Log Out / Change",
    "Connecting to %s",
    "Notify me of new comments via email.",
    "Notify me of new posts via email.",
    "Post Comment",
    "Your email address will not be published. Required fields are marked *",
    "WordPress.com Logo",
    "Google+ photo",
    "3 Responses to “Central Office Transformation”",
    # share and log-in widgets
    "Share on Facebook",
    "Share this:",
    "Tweet",
    "Facebook Twitter LinkedIn Email",
    "Like this:",
    "Like Loading...",
    "Log in",
    "Sign up",
    "Log in / Register",
    "Click to share on Twitter (Opens in new window)",
    "Follow Riverbend News on Instagram, Facebook, Twitter and YouTube.",
    "Follow us on social media",
    "Follow @districtlab on X",
    # newsletter sign-ups
    "Get the latest tools and publications sent straight to your inbox.",
    "Get our latest research delivered to your inbox",
    "Subscribe to our newsletter",
    "Subscribe to Python Insider",
    "Sign up for our newsletter",
    "Join our mailing list for updates",
    "Enter your email address to subscribe to this blog and receive notifications of new posts by email.",
    # placeholders
    "Title: text here text here text here text here",
    "text here text here text here",
    "Lorem ipsum lorem ipsum lorem ipsum",
    "Image",
    "Insert text here",
    # cookies and copyright
    "We use cookies to give you the best experience on our website.",
    "This website uses cookies to improve your browsing experience. By continuing you accept them.",
    "Accept all cookies",
    "Cookie settings",
    "By continuing to use this site, you agree to our use of cookies.",
    "© 2024 District Leadership Design Lab. All rights reserved.",
    "Copyright 2019 Education Resource Strategies",
    "Copyright © 2015–2021 The Wallace Foundation",
    "All rights reserved.",
    "Privacy Policy | Terms of Use",
    "Privacy Policy",
    "Contact Us | Accessibility | Sitemap",
    # WordPress footers and calls to action
    "This entry was posted in Changing the Discourse, Coaching and tagged , . Bookmark the permalink.",
    "Posted in Uncategorized | Bookmark the permalink.",
    "Proudly powered by WordPress",
    "Filed under: Principal supervision |",
    "Filed Under: Leadership, Central Office",
    "Click here to download the full report (PDF, 2 MB)",
    "Read more »",
    "Continue reading →",
]

PROSE = [
    "Follow the money on Facebook and you find the same three donors behind every campaign ad.",
    "Principals were asked to follow up on Twitter threads that parents had started.",
    "The motion was filed under seal in March, and the district never made it public.",
    "Many teachers use cookies as rewards in class, which the district discouraged.",
    "We use cookies and milk as a metaphor for how partnerships pair people.",
    "The district newsletter reported that principals met weekly with their supervisors.",
    "Principals could sign up for coaching cycles, and most did so within a month.",
    "Sign-up rates for the learning lab rose each year as word spread among leaders.",
    "Subscribers to the research digest asked for more case studies of central offices.",
    "Leaders share their theory of action with the school board every fall.",
    "Share this theory of action with every principal before the school year starts, the superintendent said.",
    "Staff log in to the data dashboard each morning to review attendance trends.",
    "The image of the central office as a compliance shop changed over the decade.",
    "Copyright law was not a concern for the teachers who adapted the curriculum.",
    (
        "All rights and responsibilities were reassigned from the central office to the schools in 2015, "
        "as the board had requested three years earlier."
    ),
    "The privacy of student records was protected throughout the study.",
    "Click on any district in the map to see its case study.",
    "Reply rates to the survey were high among principals.",
    "Learning-focused partnerships with schools",
    "Related research shows that principal supervisors matter for instruction.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
    "Accept the premise that schools, not the central office, are the unit of change.",
    "Terms of the partnership were renegotiated each year between the district and the university.",
]


@pytest.mark.parametrize("line", FURNITURE)
def test_furniture_is_recognised(line):
    assert furniture_reason(line) is not None
    assert clean_blocks([Block(line), Block("Real content stays in place here.")]) == [
        Block("Real content stays in place here.")
    ]


@pytest.mark.parametrize("line", PROSE)
def test_prose_that_mentions_furniture_words_survives(line):
    assert furniture_reason(line) is None
    assert clean_blocks([Block(line)]) == [Block(line)]


def test_every_rule_is_anchored_and_explained():
    for rule, why in FURNITURE_RULES:
        assert rule.flags & re.IGNORECASE
        assert why
        assert rule.fullmatch("x" * 2000) is None  # whole-line rules, length-capped


@pytest.mark.timeout(60)  # a rule that backtracks catastrophically would hang here, not just be slow
def test_long_adversarial_lines_finish_and_are_kept_as_text():
    lines = ["share " * 2000 + "!", "text here " * 3000 + "x", "facebook|" * 3000 + "?", "a" * 100_000]
    assert [furniture_reason(line) for line in lines] == [None] * 4  # too long for any whole-line rule


# ---------------------------------------------------------------- clean_blocks


def test_repeated_body_text_is_kept_every_time():
    duty = "Maintain records of attendance."
    long_quote = (
        "Central office transformation is not a policy or a program but a sustained effort "
        "to change how every unit of the central office works with schools."
    )
    blocks = [
        Block("Partnerships", 1),
        Block(duty),
        Block("Related Provisions"),
        Block(long_quote),
        Block("Overview", 2),
        Block(duty),
        Block("Related Provisions"),
        Block(long_quote),
        Block("Overview", 2),
        Block("Highline | 32"),
        Block("Highline | 32"),
    ]
    assert clean_blocks(blocks) == blocks


def test_navigation_links_are_furniture():
    for line in ["Skip to main content", "Skip to content", "Skip navigation", "Toggle navigation", "Back to top"]:
        assert furniture_reason(line) is not None, line
    for line in ["Back to school night is on Tuesday.", "Skip the middle step when the data are clean.",
                 "Navigation", "Menu"]:
        assert furniture_reason(line) is None, line


def test_multi_line_blocks_are_cleaned_line_by_line():
    block = Block("Districts moved staff into schools.\nShare on Facebook\nTweet\nThe work took years.")
    assert clean_blocks([block]) == [Block("Districts moved staff into schools.\nThe work took years.")]


def test_headings_can_be_furniture_too():
    assert clean_blocks([Block("Leave a Reply", 2), Block("Body text of the post stays.")]) == [
        Block("Body text of the post stays.")
    ]


def test_clean_blocks_does_not_mutate_its_input():
    blocks = [Block("Tweet"), Block("Kept.")]
    clean_blocks(blocks)
    assert blocks == [Block("Tweet"), Block("Kept.")]


# ---------------------------------------------------------------- the five real seed pages

SEED_FURNITURE = [
    "leave a reply",
    "fill in your details",
    "you are commenting using",
    "log out / change",
    "connecting to %s",
    "wordpress.com logo",
    "twitter picture",
    "straight to your inbox",
    "text here text here",
    "we would like to acknowledge our sponsor",
    "bookmark the permalink",
    "all rights reserved",
    "share on",
]


def _seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []


@needs_seeds
def test_there_are_five_seeds():
    assert len(_seed_files()) == 5


@needs_seeds
@pytest.mark.parametrize("seed", [p.name for p in _seed_files()])
def test_seed_pages_lose_furniture_and_keep_prose(seed):
    path = SEEDS / seed
    cleaned = clean_blocks(parse_file(path).blocks)
    text = "\n".join(b.text for b in cleaned)
    lowered = text.lower()
    for phrase in SEED_FURNITURE:
        assert phrase not in lowered, phrase
    assert all(b.text.strip().lower() not in ("image", "tweet", "log in", "sign up") for b in cleaned)

    # Every line of real prose in the capture (long, and not furniture) survives whole; the
    # lines are picked from the file at test time, not copied into the repo.
    raw_lines = [normalize_text(line) for line in path.read_text(encoding="utf-8").splitlines()]
    prose = [
        line for line in raw_lines
        if len(line.split()) >= 15 and not any(p in line.lower() for p in SEED_FURNITURE)
    ]
    assert len(prose) >= 2
    flat = " ".join(text.split())
    for line in prose:
        words = line.split()
        assert " ".join(words[2:8]) in flat
        assert " ".join(words) in flat


SEED_PHRASES = {
    "000": ["Central Office TEN", "theory of action"],
    "001": ["Learning-focused partnerships with schools", "Evidence use throughout"],
    "002": ["Districts at Work", "Tulsa Public Schools"],
    "003": ["21CSLA Equity Statement", "Leadership Coaching"],
    "004": ["learning lab", "research-practice partnership"],
}


@needs_seeds
def test_seed_pages_keep_known_phrases_and_headings():
    for path in _seed_files():
        doc = parse_file(path)
        text = " ".join(" ".join(b.text for b in clean_blocks(doc.blocks)).split())
        for phrase in SEED_PHRASES[path.name[:3]]:
            assert phrase in text, (path.name, phrase)
    blog = parse_file(next(p for p in _seed_files() if p.name.startswith("001")))
    assert blog.metadata.title == "Central Office Transformation"
    assert "The Five Dimensions of Central Office Transformation" in [
        b.text for b in blog.blocks if b.heading_level
    ]
