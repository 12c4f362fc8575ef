"""The classification semantics written out in plain Python with :mod:`re`.

This module is the yardstick of the engine twice over: the benchmarks time it
beside the Rust engine, and the differential tests use it as the oracle the
engine must agree with. It is therefore written for obviousness, not speed:
every line is normalized on its own, and every rule is tried against the kept
lines one by one, last line first (first line first for a rule with
``occurrence = 'first'``).

What it implements (the engine's contract):

1. ``bytes`` starting with the gzip magic are decompressed (every member);
   invalid UTF-8 is replaced with U+FFFD. Python's ``errors="replace"`` and
   Rust's ``String::from_utf8_lossy`` both replace maximal invalid subparts,
   so they agree on truncated sequences, encoded surrogates and overlong forms.
2. Lines split on ``\\n``, one trailing ``\\r`` dropped, no empty line after a
   final ``\\n``; line numbers are 1-based positions in the original log.
3. Per line, the GitHub Actions timestamp prefix, then every ANSI escape
   sequence (C1 controls as code points) is removed.
4. Ignore-line patterns drop single lines; ignore regions drop a line
   matching ``start`` through the next line matching ``end``. A line dropped
   by an ignore-line pattern neither opens nor closes a region.
5. The verdict is the highest-priority rule matching any kept line, at the
   last line it matches (the first, for a rule with ``occurrence =
   'first'``), with the participating capture groups (the whole
   match when the pattern has no group) and the kept ``+`` lines walking back
   from the matched line, nearest first.

Limits: patterns are handed to :mod:`re` untranslated, so the baseline agrees
with the engine only on patterns both dialects read the same way. That holds
for the upstream benchmark ruleset and the generated test rules, but not in
general: Rust's ``\\s`` excludes U+001C..U+001F which Python's includes, the
``\\w`` tables differ on some combining marks, ``(?<name>...)``, ``\\z``,
``\\pL``-style classes, nested sets and inline flag groups are spelled or
supported differently, and Python accepts look-around and backreferences that
Rust rejects. Compile errors are reported with Python's wording.
"""

from __future__ import annotations

import gzip
import re
import tomllib
import zlib
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from logsorter.rulesets import DEFAULT_CONTEXT_DEPTH

GZIP_MAGIC = b"\x1f\x8b"

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z ")
ANSI_ESCAPE = re.compile(r"\x1B[@-Z\\-_]|[\x80-\x9A\x9C-\x9F]|(?:\x1B\[|\x9B)[0-?]*[ -/]*[@-~]")

DEFAULT_IGNORE_LINES = (
    r"^##\[error\]Process completed with exit code \d+\.?$",
    r"\[OSDC\] Step script exited",
    r"^##\[error\]Executing the custom container implementation failed",
    r"^##\[error\]TypeError: Cannot read properties of null \(reading 'jobPod'\)",
    r"\[OSDC\] Step cancelled by GitHub Actions",
)
DEFAULT_IGNORE_REGIONS = (
    (
        r"=================== sccache compilation log ===================",
        r"=========== If your build fails, please take a look at the log above"
        r" for possible reasons ===========",
    ),
)


@dataclass(frozen=True)
class BaselineMatch:
    rule: str
    line: str
    line_num: int
    captures: list[str]
    context: list[str]
    #: Rules only, as in the engine without a ``[fallback]`` table: always 1.
    score: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BaselineRule:
    name: str
    regex: re.Pattern[str]
    #: The rule's ``occurrence = 'first'``: its first matching line, not its last.
    takes_first: bool = False


def decode_log(data: bytes | str) -> str:
    """The log as text: gunzipped when it carries the magic, invalid UTF-8 replaced."""
    if isinstance(data, str):
        return data
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except EOFError as err:
            raise ValueError("corrupt gzip input: the stream is truncated") from err
        except (OSError, zlib.error) as err:
            raise ValueError(f"corrupt gzip input: {err}") from err
    return data.decode("utf-8", errors="replace")


def normalize_line(line: str) -> str:
    line = line.removesuffix("\r")
    timestamp = TIMESTAMP.match(line)
    if timestamp:
        line = line[timestamp.end() :]
    return ANSI_ESCAPE.sub("", line)


def split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [normalize_line(line) for line in lines]


class BaselineRuleSet:
    def __init__(
        self,
        rules: list[BaselineRule],
        ignore_lines: list[re.Pattern[str]],
        ignore_regions: list[tuple[re.Pattern[str], re.Pattern[str]]],
    ) -> None:
        self.rules = rules
        self.ignore_lines = ignore_lines
        self.ignore_regions = ignore_regions

    @classmethod
    def from_toml(cls, text: str) -> BaselineRuleSet:
        table = tomllib.loads(text)
        ignore = table.get("ignore", {})
        line_patterns = ignore.get("lines", DEFAULT_IGNORE_LINES)
        region_patterns = [
            (region["start"], region["end"])
            for region in ignore.get(
                "regions", [{"start": s, "end": e} for s, e in DEFAULT_IGNORE_REGIONS]
            )
        ]
        rules = []
        for index, entry in enumerate(table.get("rule", [])):
            try:
                regex = re.compile(entry["pattern"])
            except re.error as err:
                raise ValueError(
                    f"invalid ruleset: rule {index} ({entry['name']!r}): {err}"
                ) from err
            rules.append(
                BaselineRule(entry["name"], regex, entry.get("occurrence", "last") == "first")
            )
        return cls(
            rules,
            [re.compile(p) for p in line_patterns],
            [(re.compile(s), re.compile(e)) for s, e in region_patterns],
        )

    @classmethod
    def from_file(cls, path: str | Path) -> BaselineRuleSet:
        return cls.from_toml(Path(path).read_text(encoding="utf-8"))

    def kept_line_indices(self, lines: list[str]) -> list[int]:
        kept = []
        open_region_end: re.Pattern[str] | None = None
        for index, line in enumerate(lines):
            if any(pattern.search(line) for pattern in self.ignore_lines):
                continue
            if open_region_end is not None:
                if open_region_end.search(line):
                    open_region_end = None
                continue
            open_region_end = next(
                (end for start, end in self.ignore_regions if start.search(line)), None
            )
            if open_region_end is None:
                kept.append(index)
        return kept

    def classify(
        self, data: bytes | str, context_depth: int = DEFAULT_CONTEXT_DEPTH
    ) -> BaselineMatch | None:
        lines = split_lines(decode_log(data))
        kept = self.kept_line_indices(lines)
        for rule in self.rules:
            line = matching_line(rule, lines, kept)
            if line is not None:
                return verdict(rule, lines, kept, line, context_depth)
        return None

    def classify_all(
        self, data: bytes | str, context_depth: int = DEFAULT_CONTEXT_DEPTH
    ) -> list[BaselineMatch]:
        lines = split_lines(decode_log(data))
        kept = self.kept_line_indices(lines)
        matches = []
        for rule in self.rules:
            line = matching_line(rule, lines, kept)
            if line is not None:
                matches.append(verdict(rule, lines, kept, line, context_depth))
        return matches


def matching_line(rule: BaselineRule, lines: list[str], kept: list[int]) -> int | None:
    """The rule's last matching kept line, or its first for a rule that takes it."""
    order = kept if rule.takes_first else reversed(kept)
    return next((i for i in order if rule.regex.search(lines[i])), None)


def verdict(
    rule: BaselineRule, lines: list[str], kept: list[int], line: int, context_depth: int
) -> BaselineMatch:
    found = rule.regex.search(lines[line])
    assert found is not None, "verdict is only asked for a matching line"
    if rule.regex.groups == 0:
        captures = [found.group(0)]
    else:
        captures = [group for group in found.groups() if group is not None]
    walk_back = (lines[i] for i in reversed(kept) if i <= line and lines[i].startswith("+"))
    return BaselineMatch(
        rule=rule.name,
        line=lines[line],
        line_num=line + 1,
        captures=captures,
        context=list(islice(walk_back, context_depth)),
    )
