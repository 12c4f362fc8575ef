"""Regression fixtures: CI log excerpts with the expected verdict written in-band.

A fixture is a log file plus markers that are not part of the log:

- a line starting with ``#=SOURCE=#`` is a comment (where the excerpt came from);
- the line the verdict must land on starts with ``#=MATCH=# ``, and each captured
  span inside it is wrapped in single angle quotes (U+2039, U+203A);
- a fixture without a ``#=MATCH=#`` line expects no match.

Line numbers count log lines only. The marked line is the raw log line (GitHub
Actions timestamp and ANSI escapes still in it) while the engine captures from
the normalized line, so comparisons strip escapes from the marked spans, and
blessing maps normalized capture offsets back onto the raw line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from logsorter import Match, RuleSet
from logsorter._core import LOCATED_RULE, normalize_line

SOURCE_PREFIX = "#=SOURCE=#"
MATCH_PREFIX = "#=MATCH=# "
OPEN = "\u2039"
CLOSE = "\u203a"

#: A character that is no part of any escape sequence, timestamp or line end:
#: put before (and after) a text, it keeps the engine's line normalization to
#: what it does inside a line, removing escape sequences only.
_INERT = "\u2400"


class FixtureError(ValueError):
    """A fixture file that cannot be read, parsed or blessed; one-line message."""


@dataclass(frozen=True)
class Verdict:
    """Where a classification landed: a 1-based log line and its captures, or
    nowhere (``line_num is None``)."""

    line_num: int | None
    captures: tuple[str, ...] = ()

    @classmethod
    def of(cls, match: Match | None) -> Verdict:
        return cls(None) if match is None else cls(match.line_num, marked_captures(match))

    def describe(self) -> str:
        if self.line_num is None:
            return "no match"
        captures = ", ".join(repr(c) for c in self.captures)
        return f"line {self.line_num} [{captures}]"


@dataclass
class Fixture:
    """A parsed fixture file. ``lines`` holds every file line without its
    ``\\n``; log lines are the ones that are not source comments, with the
    marker prefix and capture markers removed from the marked one."""

    path: Path
    lines: list[str]
    #: Index into ``lines`` of each log line, in order.
    log_line_indexes: list[int]
    expected: Verdict
    ends_with_newline: bool

    @property
    def log(self) -> str:
        text = "\n".join(self.lines[i] for i in self.log_line_indexes)
        return text + "\n" if self.ends_with_newline and text else text

    def check(self, ruleset: RuleSet) -> Outcome:
        match = ruleset.classify(self.log, context_depth=0)
        return Outcome(self, self.expected, Verdict.of(match), match)

    def text_with_lines(self, lines: list[str]) -> str:
        """The file text with ``lines`` in place of its lines."""
        text = "\n".join(lines)
        return text + "\n" if self.ends_with_newline else text


@dataclass(frozen=True)
class Outcome:
    """The expected verdict of a fixture next to the one the ruleset gave."""

    fixture: Fixture
    expected: Verdict
    got: Verdict
    match: Match | None

    @property
    def moved(self) -> bool:
        return self.expected != self.got

    def describe(self) -> str:
        rule = f" (rule {self.match.rule!r})" if self.match else ""
        return (
            f"{self.fixture.path}: expected {self.expected.describe()}, "
            f"got {self.got.describe()}{rule}"
        )


def strip_escapes(text: str) -> str:
    return normalize_line(_INERT + text + _INERT)[1:-1]


def parse(path: Path) -> Fixture:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise FixtureError(f"{path}: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise FixtureError(f"{path}: not UTF-8 (byte {err.start})") from err
    ends_with_newline = text.endswith("\n")
    lines = text.split("\n")
    if ends_with_newline:
        lines.pop()
    log_line_indexes: list[int] = []
    expected = Verdict(None)
    for index, line in enumerate(lines):
        if line.startswith(SOURCE_PREFIX):
            continue
        log_line_indexes.append(index)
        if not line.startswith(MATCH_PREFIX):
            continue
        if expected.line_num is not None:
            raise FixtureError(
                f"{path}:{index + 1}: second {MATCH_PREFIX.strip()} line "
                f"(the first is log line {expected.line_num})"
            )
        raw, spans = _split_markers(line[len(MATCH_PREFIX) :], f"{path}:{index + 1}")
        lines[index] = raw
        expected = Verdict(len(log_line_indexes), tuple(strip_escapes(s) for s in spans))
    return Fixture(path, lines, log_line_indexes, expected, ends_with_newline)


def _split_markers(marked: str, where: str) -> tuple[str, list[str]]:
    """The line without capture markers, and the marked spans in the order
    their opening markers appear (the order of the pattern's groups)."""
    raw: list[str] = []
    open_at: list[tuple[int, int]] = []  # (span number, offset in the raw line)
    spans: dict[int, str] = {}
    for char in marked:
        if char == OPEN:
            open_at.append((len(open_at) + len(spans), len(raw)))
        elif char == CLOSE:
            if not open_at:
                raise FixtureError(f"{where}: {CLOSE} without a matching {OPEN}")
            number, start = open_at.pop()
            spans[number] = "".join(raw[start:])
        else:
            raw.append(char)
    if open_at:
        raise FixtureError(f"{where}: {OPEN} without a matching {CLOSE}")
    return "".join(raw), [spans[n] for n in sorted(spans)]


def excerpt(text: str, line_num: int, before: int, after: int, source: str) -> tuple[str, int]:
    """A fixture's text cut from a whole log: lines ``line_num - before``
    through ``line_num + after`` (1-based; the lines above the verdict keep
    the confusers a rule must pass over) after a ``#=SOURCE=#`` comment
    naming ``source``, unmarked; and the log line number of its first line.
    Raises ``FixtureError`` when ``line_num`` is not in the log, or a line of
    the excerpt would read as a marker."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if not 1 <= line_num <= len(lines):
        raise FixtureError(f"line {line_num} is not in the log ({len(lines)} lines)")
    first = max(1, line_num - before)
    cut = lines[first - 1 : line_num + after]
    for number, line in enumerate(cut, first):
        if line.startswith((SOURCE_PREFIX, MATCH_PREFIX)) or OPEN in line or CLOSE in line:
            raise FixtureError(f"log line {number} reads as a fixture marker; it cannot be kept")
    comment = f"{SOURCE_PREFIX} {source}, lines {first}-{first + len(cut) - 1}"
    return "\n".join([comment, *cut]) + "\n", first


def discover(directory: Path) -> list[Path]:
    """The fixture files under ``directory`` (``*.txt``, recursively), sorted."""
    if not directory.is_dir():
        raise FixtureError(f"{directory}: not a directory")
    return sorted(p for p in directory.rglob("*.txt") if p.is_file())


def check_all(directory: Path, ruleset: RuleSet) -> Iterator[Outcome]:
    for path in discover(directory):
        yield parse(path).check(ruleset)


def bless(outcome: Outcome) -> str:
    """The fixture's file text with the marker moved to the verdict the
    ruleset gave."""
    fixture, match = outcome.fixture, outcome.match
    if match is None:
        return fixture.text_with_lines(fixture.lines)
    index = fixture.log_line_indexes[match.line_num - 1]
    raw = fixture.lines[index]
    if OPEN in raw or CLOSE in raw:
        raise FixtureError(
            f"{fixture.path}: log line {match.line_num} itself contains {OPEN} or {CLOSE}; "
            "it cannot carry capture markers"
        )
    marked = mark_captures(raw, match)
    where = f"{fixture.path}: log line {match.line_num}"
    unmarked, spans = _split_markers(marked, where)
    if unmarked != raw or tuple(strip_escapes(s) for s in spans) != marked_captures(match):
        raise FixtureError(f"{where}: captures {match.captures!r} cannot be expressed by markers")
    lines = list(fixture.lines)
    lines[index] = MATCH_PREFIX + marked
    return fixture.text_with_lines(lines)


def marked_captures(match: Match) -> tuple[str, ...]:
    """The captures a fixture marks: none for a located verdict, whose one
    capture is its line's stable part (not a span of it), so the line alone
    pins it."""
    return () if match.rule == LOCATED_RULE else tuple(match.captures)


def mark_captures(raw: str, match: Match) -> str:
    """``raw`` with each of the match's captures wrapped in markers.

    The captures are located in the normalized line left to right (each at or
    after the start of the previous one, since groups that take part open in
    order), then their offsets are mapped back onto the raw line.
    """
    normalized, raw_offsets = normalized_with_offsets(raw)
    if normalized != match.line:
        raise FixtureError(
            f"log line {match.line_num}: normalizes to {normalized!r}, "
            f"but the engine read {match.line!r}"
        )
    spans: list[tuple[int, int]] = []
    search_from = 0
    for capture in marked_captures(match):
        start = normalized.find(capture, search_from)
        if start < 0:
            raise FixtureError(f"log line {match.line_num}: capture {capture!r} not in the line")
        spans.append((start, start + len(capture)))
        search_from = start
    # Insert markers at raw offsets: an opening marker right before the first
    # kept character, a closing one right after the last (escape sequences
    # around a span stay outside it).
    opening_at: dict[int, list[int]] = {}
    closing_at: dict[int, list[int]] = {}
    for number, (start, end) in enumerate(spans):
        raw_start = raw_offsets[start] if start < len(normalized) else len(raw)
        raw_end = raw_offsets[end - 1] + 1 if end > start else raw_start
        opening_at.setdefault(raw_start, []).append(number)
        closing_at.setdefault(raw_end, []).append(number)
    out: list[str] = []
    for offset in range(len(raw) + 1):
        out.extend(_markers_at(opening_at.get(offset, []), closing_at.get(offset, [])))
        if offset < len(raw):
            out.append(raw[offset])
    return "".join(out)


def _markers_at(opening: list[int], closing: list[int]) -> Iterator[str]:
    """Markers at one offset, given the spans (in group order) that open and
    close there: spans that end here close first (innermost, that is latest
    opened, first); then spans that start here open in group order, an empty
    span closing right after it opens."""
    empty = set(closing) & set(opening)
    for number in reversed(closing):
        if number not in empty:
            yield CLOSE
    for number in opening:
        yield OPEN
        if number in empty:
            yield CLOSE


def normalized_with_offsets(raw: str) -> tuple[str, list[int]]:
    """The line as the engine reads it, and for each of its characters the
    offset of that character in ``raw``.

    Normalization only deletes (the timestamp, escape sequences, the final
    ``\\r``), so the kept characters are found by how many characters the
    engine keeps from each offset on: a kept character is the only one lost
    by starting one further; an escape sequence starting at an offset is
    skipped whole, to where as many are kept again (its own tail, read alone,
    is plain text and kept).
    """
    normalized = normalize_line(raw)
    kept_from = [len(normalize_line(_INERT + raw[at:])) - 1 for at in range(len(raw) + 1)]
    # Past the timestamp, if any: the first offset from which all is kept.
    at = kept_from.index(len(normalized))
    offsets: list[int] = []
    while len(offsets) < len(normalized):
        left = kept_from[at]
        if kept_from[at + 1] == left - 1:
            offsets.append(at)
            at += 1
        else:
            at = kept_from.index(left, at + 1)
    return normalized, offsets
