"""Text normalisation and removal of page furniture (comment forms, share widgets, banners).

Two plain functions:

- `normalize_text` makes text comparable and searchable: NFKC (ligatures, full-width forms,
  non-breaking spaces), curly quotes folded to ASCII, control and invisible characters dropped,
  runs of spaces collapsed, line endings normalised, paragraph breaks kept.
- `clean_blocks` drops blocks (or single lines of blocks) that are page furniture rather than
  content, using the anchored rules in `FURNITURE_RULES` (web navigation, share, comment and
  sign-up widgets, cookie banners, copyright rows).

Rules match a *whole* line (anchored, case-insensitive), usually with a length cap, so prose
that merely mentions cookies, newsletters or sign-ups survives. Repetition alone never makes
text furniture: a list of duties repeated under every section, or a "Related Provisions" line
176 times in a handbook, is body text and is kept every time it occurs. (Running headers and
footers of PDF pages are recognised by their position on the page, in the PDF parser.)
"""

from __future__ import annotations

import re
import unicodedata

from ..models import Block

# --------------------------------------------------------------------------- normalize_text

# Curly quotes and primes become ASCII: "isn’t" and "isn't" must index and match alike.
_QUOTES = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark / apostrophe
        "\u201a": "'",  # single low-9 quotation mark
        "\u201b": "'",  # single high-reversed-9 quotation mark
        "\u2032": "'",  # prime
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',  # double low-9 quotation mark
        "\u201f": '"',  # double high-reversed-9 quotation mark
        "\u2033": '"',  # double prime
        "\u00ab": '"',  # «
        "\u00bb": '"',  # »
    }
)

# Invisible characters that only get in the way of search: zero-width space, word joiner,
# BOM / zero-width no-break space, soft hyphen, bidi marks and embeddings/isolates.
# ZWJ/ZWNJ (U+200D/U+200C) are kept: they are orthographic in Persian and Indic scripts.
_INVISIBLE = re.compile("[\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# C0/C1 control characters other than tab and newline (carriage returns are handled first).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_TRAILING_SPACE = re.compile(r" +\n|\n +")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """Normalise Unicode and whitespace; keep paragraph breaks (blank lines) and line breaks."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n").replace("\x0c", "\n\n")
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_QUOTES)
    text = text.replace("\t", " ")
    text = _SPACES.sub(" ", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _TRAILING_SPACE.sub("\n", text)  # a second pass catches " \n " overlaps
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()


# --------------------------------------------------------------------------- clean_blocks


def _rule(pattern: str) -> re.Pattern[str]:
    """A whole-line, case-insensitive rule (surrounding whitespace is stripped before matching)."""
    return re.compile(rf"(?:{pattern})", re.IGNORECASE)


# Words that make up share bars and footer link rows ("Facebook Twitter Email", "Privacy Policy | Terms").
_SHARE_WORDS = (
    r"share|shares|tweet|pin|pin it|email|e-mail|print|facebook|twitter|linkedin|pinterest|reddit"
    r"|whatsapp|tumblr|pocket|telegram|flipboard|messenger|copy link|save|more"
)
# Social networks a "follow us" widget links to.
_SOCIAL = (
    r"facebook|twitter|x|instagram|youtube|linkedin|tiktok|threads|mastodon|bluesky|pinterest|snapchat"
    r"|telegram|whatsapp"
)
_FOOTER_WORDS = (
    r"privacy(?: policy| notice| statement)?|terms(?: of (?:use|service))?|terms (?:and|&) conditions"
    r"|cookie(?:s)? (?:policy|settings|preferences)|accessibility(?: statement)?|sitemap|site map"
    r"|contact(?: us)?|about(?: us)?|disclaimer|legal(?: notice)?|imprint|careers|faqs?|help"
)
_FOOTER_SEP = r"\s*[|·•/,-]\s*|\s+"

#: (rule, why) pairs; a line or block that fully matches a rule is furniture.
FURNITURE_RULES: list[tuple[re.Pattern[str], str]] = [
    # --- navigation: skip links, menu toggles, breadcrumbs back
    (_rule(r"skip (?:to|navigation)(?: (?:the )?(?:main |primary )?(?:content|navigation|menu|footer|search|article))?"
           r"|jump to (?:(?:main )?content|navigation)"),
     "skip link"),
    (_rule(r"(?:toggle|open|close|main|mobile|primary) (?:navigation|menu)"), "menu toggle"),
    (_rule(r"back to (?:top|overview|home(?: ?page)?|main page|search results|all (?:posts|articles|news|resources))"
           r"\s*[↑^]?"),
     "back link"),
    # --- comment forms (WordPress and others)
    (_rule(r"leave a (?:reply|comment)(?: to .{1,80})?(?: cancel reply)?"), "comment form heading"),
    (_rule(r"cancel reply|post comment|submit comment|reply"), "comment form button"),
    (_rule(r"fill in your details below or click an icon to log in:?"), "comment form prompt"),
    (_rule(r"you are commenting using your .{1,40}? account\.?(?:\s*\(?\s*log out\s*/\s*change\s*\)?)?"),
     "comment form identity line"),
    (_rule(r"\(?\s*log out\s*/\s*change\s*\)?"), "comment form identity link"),
    (_rule(r"connecting to %s"), "comment form placeholder"),
    (_rule(r"notify me of (?:new|follow-up) (?:comments|posts|replies)\b.{0,80}"), "comment subscription box"),
    (_rule(r"your email address will not be published\.?.{0,80}"), "comment form notice"),
    (_rule(r"required fields are marked\s*\*?\.?"), "comment form notice"),
    (_rule(r"save my name, email, and website in this browser.{0,80}"), "comment form checkbox"),
    (_rule(r"(?:name|e-?mail|website|comment)\s*\*?\s*:?"), "comment form field label"),
    (_rule(r"(?:wordpress\.com logo|twitter picture|facebook photo|google\+? photo)"), "comment form avatar"),
    (_rule(r"\d+ (?:comments?|responses?|replies|thoughts) (?:to|on) .{1,150}"), "comment count heading"),
    # --- share and log-in widgets
    (_rule(rf"(?:(?:{_SHARE_WORDS})(?: this(?: (?:article|post|page|story))?)?:?[\s|,·•/]*)+"), "share bar"),
    (_rule(r"(?:click to )?share (?:this|on|via|to|with) .{0,40}"), "share button"),
    (_rule(r"like this:?|like loading\.*|related(?: (?:posts|articles|stories))?:?"), "WordPress like/related box"),
    (_rule(rf"follow (?:us|@?[\w.'-]+(?: [\w.'-]+){{0,3}}) on "
           rf"(?:social media|(?:{_SOCIAL})(?:(?:,| and| or| &|,? and|,? or) (?:{_SOCIAL}))*)[.!]?"),
     "social follow links"),
    (_rule(r"(?:log ?in|sign ?in|sign ?up|register|log ?out|my account)(?:\s*[/|]\s*(?:log ?in|sign ?in|sign ?up|register))*"),
     "account link"),
    # --- newsletter sign-ups
    (_rule(r"get (?:the|our) latest\b.{0,80}\b(?:straight|right|directly|delivered)?\s*(?:to|in)(?:to)? your inbox[.!]?"),
     "newsletter sign-up"),
    (_rule(r"subscribe(?: now| today| here)?(?: to .{1,60})?[.!]?"), "newsletter sign-up"),
    (_rule(r"sign up (?:for|to) .{1,80}"), "newsletter sign-up"),
    (_rule(r"(?:join|subscribe to) our (?:mailing list|newsletter|email list).{0,80}"), "newsletter sign-up"),
    (_rule(r"enter your e-?mail(?: address)?\b.{0,100}"), "newsletter sign-up"),
    (_rule(r"we (?:would like to |wish to )?(?:gratefully )?(?:acknowledge|thank) our (?:sponsors?|funders?|partners?):"),
     "sponsor logo widget label"),
    # --- placeholder text left in templates
    (_rule(r"(?:title:\s*)?(?:text here[\s.,]*){2,}"), "template placeholder"),
    (_rule(r"(?:lorem ipsum\W*){2,}"), "repeated lorem ipsum placeholder"),
    (_rule(r"(?:insert|add|your) (?:text|title|content|caption|heading) here\.?"), "template placeholder"),
    (_rule(r"image|photo|picture|placeholder|image placeholder"), "bare image label"),
    # --- cookie banners
    (_rule(r"(?:we|this (?:web)?site|our (?:web)?site) uses? cookies\b.{0,300}?\b(?:website|site|experience|brows\w*"
           r"|analytics|traffic|consent|privacy|cookie policy|personali[sz]\w*|advertising|ads|continu\w*)\b.{0,300}"),
     "cookie banner"),
    (_rule(r"(?:accept|allow|reject|decline|manage|customi[sz]e)(?: all)? cookies?(?: settings)?[.!]?"), "cookie button"),
    (_rule(r"cookie (?:settings|preferences|consent)|got it!?|i accept|i agree|accept"), "cookie button"),
    (_rule(r"by (?:continuing to (?:use|browse)|using) this (?:web)?site,? you (?:agree|consent|accept).{0,200}"),
     "cookie banner"),
    # --- copyright and footer link rows
    (_rule(r"©.{0,150}"), "copyright line"),
    (_rule(r"(?:\(c\)|copyright)\s*(?:©\s*)?(?:\d{4}(?:\s*[-–]\s*\d{4})?)\b.{0,150}"), "copyright line"),
    (_rule(r".{0,150}\ball rights reserved\.?"), "copyright line"),
    (_rule(r"privacy policy|terms of (?:use|service)|terms (?:and|&) conditions|cookie policy|sitemap"),
     "footer link"),
    (_rule(rf"(?:{_FOOTER_WORDS})(?:(?:{_FOOTER_SEP})(?:{_FOOTER_WORDS}))+\s*[|·•]?"), "footer link row"),
    # --- WordPress post footers
    (_rule(r"(?:this entry was )?posted in .{0,300}bookmark the permalink\.?"), "WordPress post footer"),
    (_rule(r"(?:proudly )?powered by wordpress.{0,80}"), "WordPress credit"),
    (_rule(r"filed under:.{1,150}"), "WordPress category links"),
    # --- calls to action
    (_rule(r"click here to (?:download|read|view|see|access|learn|register|subscribe|sign up)\b.{0,150}"),
     "click-here link"),
    (_rule(r"(?:read more|continue reading)\b.{0,80}|learn more\s*[>→»]*"), "read-more link"),
]


def furniture_reason(line: str) -> str | None:
    """Why `line` is page furniture, or None when it is content."""
    stripped = line.strip()
    if not stripped:
        return None
    for rule, why in FURNITURE_RULES:
        if rule.fullmatch(stripped):
            return why
    return None


def clean_blocks(blocks: list[Block]) -> list[Block]:
    """Blocks without page furniture; order, headings and repeated body text kept.

    Multi-line blocks are cleaned line by line; a block left empty is dropped. Only the
    rules decide: a block that repeats is kept every time it occurs.
    """
    kept: list[Block] = []
    for block in blocks:
        lines = [ln for ln in block.text.split("\n") if ln.strip() and furniture_reason(ln) is None]
        text = "\n".join(lines).strip()
        if text:
            kept.append(Block(text, block.heading_level))
    return kept
