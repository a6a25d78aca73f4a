"""The `rpp review` terminal screen: one passage at a time, single keys, fits 80x24.

Keys: a accept (finish the passage: keep what is marked ●, reject the rest), r reject a
dimension marked ●, d add a dimension, s skip, n note, u undo, v view the whole passage,
q quit, ? help. Every decision is saved when the key is pressed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from ..review import ReviewItem, ReviewSession

EVIDENCE_STYLE = "bold underline yellow"
KEYS_LINE = "a accept  r reject  d add  s skip  n note  u undo  v view all  q quit  ? help"
ORDER_NAMES = {"uncertain": "most uncertain first", "document": "document order", "random": "random order",
               "active": "active learning"}

HELP = """\
rpp review — decide which dimensions each passage speaks to

The passage is shown with the model's evidence sentences underlined. Below it, every
dimension of the codebook with the model's score (0.5 is the threshold):
  ●  applies (suggested by the model, or added by you)    ○  does not
  'you ✓' / 'you ✗' mark decisions you have already saved on this passage.

  a   accept: keep every ● dimension, reject the others, go to the next passage
  r   reject one ● dimension (you are asked which, by number, if several)
  d   add a dimension (pick its number from the codebook)
  s   skip: leave the passage undecided and go on
  n   type a note; it is saved with your next decision on this passage
  u   undo your last decision (it may be on an earlier passage)
  v   view the whole passage when it is cut short
  q   quit; everything is already saved, and the same command resumes here

Order: most uncertain first (scores closest to 0.5) unless --order says otherwise. With
--order active the model is retrained on the decisions every few passages and each
dimension shows "about k left": the relevant passages it expects among those not reviewed
(the sum of its probabilities), and how many decisions in a row said it does not apply.
Press any key to go back."""


class TerminalKeys:
    """Single keys from the terminal, without losing keys typed ahead.

    The terminal stays in cbreak mode (no echo, no line buffering, Ctrl-C still interrupts)
    for the whole session and is switched without flushing pending input, so a fast
    reviewer's keys queue up instead of being dropped between screens. Lines (notes) are
    read with the terminal's normal editing.
    """

    def __init__(self, fd: int | None = None) -> None:
        self.fd = sys.stdin.fileno() if fd is None else fd
        self.buffer = ""
        self.saved: list | None = None

    @contextmanager
    def session(self) -> Iterator["TerminalKeys"]:
        import termios  # noqa: PLC0415
        import tty  # noqa: PLC0415

        self.saved = termios.tcgetattr(self.fd)
        try:
            tty.setcbreak(self.fd, termios.TCSANOW)
            yield self
        finally:
            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)

    def getchar(self) -> str:
        """The next key; EOFError on end of input, escape sequences (arrows) are ignored."""
        while True:
            if not self.buffer:
                data = os.read(self.fd, 64)
                if not data:
                    raise EOFError
                self.buffer += data.decode("utf-8", errors="replace")
            key, self.buffer = self.buffer[0], self.buffer[1:]
            if key == "\x04":
                raise EOFError
            if key == "\x1b":
                # drop an escape sequence: ESC [ params final-letter (or ESC O letter)
                if self.buffer[:1] in ("[", "O"):
                    rest = self.buffer[1:]
                    end = next((i for i, ch in enumerate(rest) if ch.isalpha() or ch == "~"), len(rest) - 1)
                    self.buffer = rest[end + 1 :]
                continue
            return key

    def read_line(self, console: Console, prompt: str) -> str:
        """A line typed with normal echo and editing (keys already typed ahead start it)."""
        import termios  # noqa: PLC0415
        import tty  # noqa: PLC0415

        if self.saved is None:
            return console.input(prompt)
        pending, self.buffer = self.buffer, ""
        termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
        try:
            if pending:
                console.print(prompt + pending, end="")
                if "\n" in pending or "\r" in pending:
                    head = pending.replace("\r", "\n").split("\n", 1)
                    self.buffer = head[1]
                    console.print()
                    return head[0]
                return pending + input()
            return console.input(prompt)
        finally:
            tty.setcbreak(self.fd, termios.TCSANOW)


@dataclass
class Tally:
    """What this session did: actions saved (less those undone) and passages finished."""

    actions: int = 0
    finished: int = 0


class ReviewScreen:
    """Draws the session with rich and reads single keys (`getchar`)."""

    def __init__(
        self,
        session: ReviewSession,
        console: Console,
        getchar: Callable[[], str],
        read_line: Callable[[Console, str], str] | None = None,
    ) -> None:
        self.session = session
        self.console = console
        self.getchar = getchar
        self.read_line = read_line or (lambda console, prompt: console.input(prompt))
        self.message = ""
        self.tally = Tally()

    # -- drawing ---------------------------------------------------------------------
    def _size(self) -> tuple[int, int]:
        width, height = self.console.size
        return max(40, min(width, 120)), max(16, height)

    def _line(self, text: str | Text, style: str = "") -> None:
        line = text if isinstance(text, Text) else Text(text, style=style)
        width, _ = self._size()
        line.truncate(width, overflow="ellipsis")
        self.console.print(line, no_wrap=True, overflow="ellipsis", soft_wrap=False)

    def _passage_text(self, item: ReviewItem) -> Text:
        text = Text(item.text)
        for start, end in item.evidence_spans():
            text.stylize(EVIDENCE_STYLE, start, end)
        return text

    def _fit(self, item: ReviewItem, max_lines: int) -> tuple[list[Text], bool]:
        """The passage wrapped to the screen; when too long, a window from the first evidence."""
        width, _ = self._size()
        lines = list(self._passage_text(item).wrap(self.console, width))
        if len(lines) <= max_lines:
            return lines, False
        spans = item.evidence_spans()
        first = 0
        if spans:
            # the wrapped line holding the first evidence sentence
            offset, pos = spans[0][0], 0
            for i, line in enumerate(lines):
                found = item.text.find(line.plain.strip()[:20], pos) if line.plain.strip() else pos
                if found > offset:
                    break
                first, pos = i, max(pos, found)
            first = max(0, min(first, len(lines) - max_lines))
        shown = lines[first : first + max_lines]
        if first > 0:
            shown[0] = Text("… ") + shown[0]
        if first + max_lines < len(lines):
            last = shown[-1]
            last.truncate(width - 2)
            shown[-1] = last + Text(" …")
        return shown, True

    def _dimension_row(self, item: ReviewItem, number: int) -> Text:
        line = item.dimension(number)
        mark = "●" if line.on else "○"
        score = "  –  " if line.score is None else f"{line.score:.2f}"
        status = ""
        if line.mine == "accept":
            status = "you ✓" + ("" if line.suggested else " (added)")
        elif line.mine == "reject":
            status = "you ✗"
        elif line.suggested:
            status = "suggested"
        width = min(26, max(len(d.id) for d in item.dimensions) + 1)
        row = Text(f" {number} {mark} ")
        row.append(f"{line.id:<{width}}", style="bold" if line.on else "")
        row.append(f" {score}  ")
        row.append(f"{status:<14}", style="green" if line.mine == "accept" else "red" if line.mine == "reject" else "cyan")
        est = self.session.estimates().get(line.id)
        if est is not None:
            left = "no estimate yet" if est.left is None else f"about {round(est.left)} left"
            row.append(left + (f", {est.streak} no in a row" if est.streak else ""), style="dim")
        return row

    def draw(self, item: ReviewItem) -> None:
        session = self.session
        width, height = self._size()
        self.console.clear()
        left = session.remaining()
        header = (
            f"rpp review · {session.reviewer} · {left} of {session.total} left · "
            f"{ORDER_NAMES.get(session.order, session.order)}"
        )
        if session.learner is not None:
            header += f" · retrained {session.learner.fits}×"
        self._line(header, "reverse")
        self._line(Text(item.title, style="bold"))
        where = f"{item.id} · passage {item.seq + 1} of {item.passage_count}"
        if item.uncertainty is not None:
            where += f" · uncertainty {item.uncertainty:.2f}"
        if item.heading:
            where += f" · § {item.heading}"
        self._line(where, "dim")
        fixed = 3 + 1 + len(item.dimensions) + 2 + (1 if item.note else 0) + 1
        lines, cut = self._fit(item, max(3, height - fixed))
        for line in lines:
            self.console.print(line, no_wrap=True, overflow="ellipsis", soft_wrap=False)
        legend = "── dimensions (score; 0.5 = threshold; evidence underlined)"
        if cut:
            legend += " · cut short: v shows all"
        self._line(legend, "dim")
        for line in item.dimensions:
            self._line(self._dimension_row(item, line.number))
        if item.note:
            self._line(f"Note (saved with your next decision): {item.note}", "italic")
        self._line(self.message or " ", "bold")
        self._line(KEYS_LINE, "dim")

    # -- prompts ---------------------------------------------------------------------
    def _pick(self, prompt: str, numbers: list[int]) -> int | None:
        """A dimension number typed as one key (or a line when the codebook has ten or more)."""
        self._line(prompt, "bold")
        if max(numbers) < 10:
            key = self.getchar()
            return int(key) if key.isdigit() and int(key) in numbers else None
        answer = self.read_line(self.console, "> ").strip()
        return int(answer) if answer.isdigit() and int(answer) in numbers else None

    def _wait(self, prompt: str = "Press any key to go back.") -> None:
        self._line(prompt, "dim")
        self.getchar()

    # -- the loop --------------------------------------------------------------------
    def run(self) -> Tally:
        """Review until the queue is empty or the reviewer quits."""
        session = self.session
        while True:
            item = session.current()
            if item is None:
                self.tally.finished = session.finished_here()
                self.console.clear()
                self.console.print(
                    f"Nothing left to review for {session.reviewer} "
                    f"({session.total} passages in this queue; {self.tally.actions} decisions saved this session)."
                )
                return self.tally
            self.draw(item)
            try:
                key = self.getchar()
            except EOFError:
                key = "q"
            key = (key or "").lower()
            if key == "q":
                self.tally.finished = session.finished_here()
                self.console.print(
                    f"Saved. {self.tally.actions} decisions this session, {self.tally.finished} passages finished; "
                    "run the same command to carry on."
                )
                return self.tally
            self.message = self._handle(key, item)

    def _handle(self, key: str, item: ReviewItem) -> str:
        session = self.session
        if key == "a":
            accepted, rejected = session.accept(item)
            self.tally.actions += 1
            kept = ", ".join(d.id for d in item.on) or "no dimension"
            return f"{item.id}: saved — {kept}" + (f" ({len(rejected)} others rejected)" if rejected else "")
        if key == "r":
            candidates = item.on
            if not candidates:
                return "Nothing to reject: no dimension applies (a finishes, d adds one)."
            if len(candidates) == 1:
                choice = candidates[0].number
            else:
                options = "  ".join(f"{d.number} {d.id}" for d in candidates)
                picked = self._pick(f"Reject which? {options}", [d.number for d in candidates])
                if picked is None:
                    return "Reject cancelled."
                choice = picked
            line = item.dimension(choice)
            session.reject(item, line.id)
            self.tally.actions += 1
            return f"Rejected {line.id}."
        if key == "d":
            self.console.print()
            for line in item.dimensions:
                self._line(f" {line.number} {line.id} — {line.name}")
            picked = self._pick("Add which dimension? (number; any other key cancels)", [d.number for d in item.dimensions])
            if picked is None:
                return "Add cancelled."
            line = item.dimension(picked)
            if line.mine == "accept":
                return f"{line.id} is already accepted."
            session.add(item, line.id)
            self.tally.actions += 1
            return f"Added {line.id}."
        if key == "s":
            session.skip(item)
            self.tally.actions += 1
            return f"Skipped {item.id}."
        if key == "n":
            note = self.read_line(self.console, "Note: ")
            session.set_note(item, note)
            return "Note kept; it is saved with your next decision here." if note.strip() else "Note cleared."
        if key == "u":
            undone = session.undo()
            if not undone:
                return "Nothing to undo."
            self.tally.actions = max(0, self.tally.actions - 1)
            what = ", ".join(f"{l.decision} {l.dimension_id or ''}".strip() for l in undone)
            return f"Undid {what} on {undone[0].target_id}."
        if key == "v":
            self.console.clear()
            self.console.print(Text(item.title, style="bold"))
            self.console.print(self._passage_text(item))
            self._wait()
            return ""
        if key == "?":
            self.console.clear()
            self.console.print(HELP, highlight=False, markup=False)
            self.getchar()
            return ""
        if key in ("\r", "\n", " ", ""):
            return ""
        return f"Unknown key {key!r}: press ? for help."
