"""Which side of a practice shift (before -> after) an evidence sentence is on: cue phrases.

Each shift in the codebook lists lower-case cue phrases for its before and after sides. A cue
matches at the start of a word ("communicat" matches "communicated"). A before cue that comes
shortly after a contrast marker ("rather than compliance", "moved away from one-off
workshops", "no longer monitoring") describes the practice being left behind, so it counts for
the after side. A sentence is placed `after` or `before` when only that side's cues match,
`mixed` when both do, and is left unplaced when none does.

Limits, said plainly: this is keyword matching, not understanding. It misses sentences that
describe a side in other words, it cannot tell a plan from a practice ("the district intends
to ..."), negations other than the listed contrast markers fool it, and a sentence that names
both sides without a marker is `mixed`. The counts are a pointer for a reader, who should read
the sentences; they are not a measurement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from ..taxonomy import PracticeShift

__all__ = ["CONTRAST_MARKERS", "place_sentence", "summarise_shift"]

CONTRAST_MARKERS = (
    "rather than", "instead of", "away from", "no longer", "moved from", "moving from", "shifted from",
    "shift from", "shifting from", "replaced", "replacing", "not just", "not only", "less time on",
    "beyond", "in place of", "turned from", "instead of just",
)
#: How far after a contrast marker (in characters) a before cue counts as contrasted.
CONTRAST_WINDOW = 60


@lru_cache(maxsize=256)
def _pattern(cues: tuple[str, ...]) -> re.Pattern[str] | None:
    if not cues:
        return None
    alternatives = "|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})", re.IGNORECASE)


_CONTRAST = re.compile(r"\b(?:" + "|".join(re.escape(m) for m in CONTRAST_MARKERS) + r")\b", re.IGNORECASE)


def place_sentence(sentence: str, shift: PracticeShift) -> tuple[str | None, list[str]]:
    """(`before` | `after` | `mixed` | None, the cues that matched) for one sentence."""
    before_p, after_p = _pattern(shift.before_cues), _pattern(shift.after_cues)
    contrast_ends = [m.end() for m in _CONTRAST.finditer(sentence)]
    before, after = [], []
    for m in before_p.finditer(sentence) if before_p else ():
        if any(0 <= m.start() - end <= CONTRAST_WINDOW for end in contrast_ends):
            after.append(f"(not) {m.group(0).lower()}")
        else:
            before.append(m.group(0).lower())
    for m in after_p.finditer(sentence) if after_p else ():
        after.append(m.group(0).lower())
    if before and after:
        return "mixed", before + after
    if after:
        return "after", after
    if before:
        return "before", before
    return None, []


def summarise_shift(shift: PracticeShift, sentences: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts of evidence sentences on each side of `shift`, and a one-word verdict.

    `sentences` are dicts with `text` (and anything else, passed through in `examples`).
    Verdict: `after` / `before` when at least two thirds of the placed sentences are on that
    side, `both` when the placed ones are split, `unclear` when none could be placed.
    """
    counts = {"before": 0, "after": 0, "mixed": 0, "unplaced": 0}
    examples: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for s in sentences:
        side, cues = place_sentence(s["text"], shift)
        counts[side or "unplaced"] += 1
        if side in examples and len(examples[side]) < 2:
            examples[side].append({**s, "cues": cues})
    placed = counts["before"] + counts["after"]
    if placed == 0:
        verdict = "unclear"
    elif counts["after"] >= 2 * placed / 3:
        verdict = "after"
    elif counts["before"] >= 2 * placed / 3:
        verdict = "before"
    else:
        verdict = "both"
    return {
        "id": shift.id,
        "before": shift.before,
        "after": shift.after,
        "counts": counts,
        "verdict": verdict,
        "examples": examples,
    }
