"""The native core of logsorter (Rust). Import from ``logsorter`` instead."""

from collections.abc import Sequence
from os import PathLike
from typing import Any, ClassVar, Final, Self, final, overload

import pyarrow as pa

__all__ = [
    "DEFAULT_CONTEXT_DEPTH",
    "LOCATED_RULE",
    "CorruptInputError",
    "InputTooLargeError",
    "LogSurvey",
    "Match",
    "ParsedUpload",
    "RejectedLines",
    "RuleSet",
    "RuleSetError",
    "UploadParser",
    "__version__",
    "decode_log",
    "lint_rules",
    "naive_classify",
    "normalize_line",
    "required_literals",
    "survey",
    "text_lines",
]

__version__: str

#: How many ``+`` lines (shell trace) a verdict carries as context when
#: ``context_depth`` is not given.
DEFAULT_CONTEXT_DEPTH: Final = 12

#: The ``rule`` of a verdict the locator reached rather than a rule.
LOCATED_RULE: Final = "located failure"

class CorruptInputError(ValueError):
    """Input that cannot be read: gzip that does not decompress, or an upload
    that is malformed as a whole (no header, an invalid header). A retry with
    the same bytes cannot succeed."""

class InputTooLargeError(ValueError):
    """Input longer than the ``max_bytes`` ceiling the caller set, counted
    after gzip decompression (plain input: its own length). Decompression
    stops as soon as the output passes the ceiling, so a small gzip that
    expands to gigabytes fails fast and within memory. The message names the
    limit, in MB (2**20 bytes) when it is a whole number of them. Without a
    ceiling, input too large for memory raises ``MemoryError`` instead."""

class RuleSetError(ValueError):
    """A ruleset that does not load: invalid TOML or an unexpected shape, no
    rule at all, a rule with an empty name, a pattern that does not parse or
    that matches every line (named by rule index and name, or ignore key),
    or rules too large to compile. The message is one line."""

@final
class Match:
    """A rule's verdict on a log, or the locator's (see ``RuleSet.classify``)."""

    @property
    def rule(self) -> str:
        """Name of the rule that matched; ``"located failure"`` for a line the
        locator found."""
    @property
    def line(self) -> str:
        """The matched line, without timestamp and ANSI escapes."""
    @property
    def line_num(self) -> int:
        """1-based line number of the matched line in the original log."""
    @property
    def captures(self) -> list[str]:
        """The pattern's capture groups that took part, in order; the whole
        match when the pattern has no group. For a located line, one item:
        the line without its paths, numbers and hashes, so that verdicts
        group."""
    @property
    def context(self) -> list[str]:
        """Kept lines starting with ``+`` (shell trace), walking back from the
        matched line (itself included), nearest first."""
    @property
    def score(self) -> float:
        """How sure the verdict is, 0 to 1: 1.0 for a rule's verdict, the
        located line's evidence for the locator's."""
    def to_dict(self) -> dict[str, Any]:
        """The verdict as a dict with exactly the keys ``rule``, ``line``,
        ``line_num``, ``captures``, ``context`` and ``score``."""
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class LogSurvey:
    """What ``survey`` found in one log with one ruleset."""

    @property
    def verdict(self) -> Match | None:
        """The verdict, as ``RuleSet.classify`` gives it."""
    @property
    def matched(self) -> list[int]:
        """Indexes (into ``RuleSet.rules``) of every rule that matches a kept
        line of the log, in priority order."""
    @property
    def window(self) -> list[tuple[int, str]]:
        """``(line_num, line)`` of the lines around the verdict's (itself
        included), normalized; empty without a verdict."""
    @property
    def bytes(self) -> int:
        """Length of the log's text, decompressed."""
    @property
    def seconds(self) -> float:
        """Time the log took, decompression included."""
    @property
    def rule_seconds(self) -> list[float] | None:
        """With ``profile``: seconds each rule's regex ran, in priority order."""
    @property
    def error(self) -> str | None:
        """Why the log could not be read; the other fields are then empty."""

@final
class RuleSet:
    """A compiled, priority-ordered ruleset.

    Loading fails with ``RuleSetError`` naming the rule (index and name) when a
    pattern does not compile; nothing is classified with a half-loaded ruleset.
    """

    @staticmethod
    def from_toml(text: str) -> RuleSet:
        """Compile a ruleset from TOML text (``[[rule]]`` tables with ``name``
        and ``pattern``, highest priority first, an optional ``[ignore]``
        table and an optional ``[fallback]`` table: ``enabled``, ``wrappers``
        and ``catch_alls`` (rule names), ``min_score``)."""
    @staticmethod
    def from_file(path: str | PathLike[str]) -> RuleSet:
        """Compile a ruleset from a TOML file."""
    @staticmethod
    def default() -> RuleSet:
        """The ruleset packaged with logsorter."""
    def classify(
        self,
        data: bytes | str,
        context_depth: int = ...,
        baseline: bytes | str | None = None,
        *,
        threads: int | None = None,
        max_bytes: int | None = None,
    ) -> Match | None:
        """Classify a log: the highest-priority rule that matches any kept line,
        at the last line it matches (the first, for a rule with ``occurrence =
        'first'``), or ``None``. The match carries at most
        ``context_depth`` (default ``DEFAULT_CONTEXT_DEPTH``) lines of context.

        With a ``[fallback]`` table, when no rule matches or the winner is one
        it lists as a wrapper or catch-all, the locator scores the kept lines
        by evidence (error terms and where they sit, compiler locations,
        nearness to the failing step's end; less for warnings, retries,
        repeats and wrapper lines) and its best line is the verdict if it
        scores at least ``min_score``. A log without failure evidence (no
        ``##[error]``, non-zero exit, ``BUILD FAILURE`` and the like) gets no
        located line. ``baseline`` is a passing run of the same job (``bytes``,
        maybe gzip, or ``str``): with a ``[fallback]`` table, its lines (once
        timestamps, numbers, hashes and paths are cut out) are never located,
        and a wrapper's or catch-all's line it prints does not win.

        ``bytes`` starting with the gzip magic are decompressed; invalid UTF-8
        is replaced. Raises ``CorruptInputError`` for corrupt gzip, and
        ``InputTooLargeError`` when the log is longer than ``max_bytes``
        (decompressed; ``None``: no ceiling). Releases the GIL. A large log
        is searched on up to ``threads`` threads (unset:
        ``LOGSORTER_THREADS``, read once per process, else the cores).
        """
    def verdict_at(
        self,
        data: bytes | str,
        line_num: int,
        rule: str,
        score: float,
        context_depth: int = ...,
        *,
        max_bytes: int | None = None,
    ) -> Match | None:
        """The verdict named ``rule`` at 1-based ``line_num``, a line another
        judge (a language model) named: the line as ``classify`` reads it,
        its stable part (numbers, paths and hashes cut out) as the one
        capture, its shell-trace context, and ``score`` (0 to 1). ``None``
        when the log has no such line, the line is blank, or an ``[ignore]``
        pattern drops it: only a kept line can be a verdict. Raises as
        ``classify`` does, and ``ValueError`` for a score outside 0 to 1."""
    def classify_all(
        self,
        data: bytes | str,
        context_depth: int = ...,
        *,
        threads: int | None = None,
        max_bytes: int | None = None,
    ) -> list[Match]:
        """Every rule's match (its last, or its first for a rule with
        ``occurrence = 'first'``), in priority order (rules only: the locator
        and a baseline play no part)."""
    @property
    def digest(self) -> str:
        """A stable hash of the rules, ignore patterns and fallback (not of
        comments or formatting), to record which ruleset produced a verdict."""
    @property
    def fallback(self) -> tuple[list[str], list[str], float] | None:
        """The ``[fallback]`` table as ``(wrappers, catch_alls, min_score)``:
        the rule names whose verdict gives way to the locator; ``None``
        without the table (or with it disabled)."""
    @property
    def rules(self) -> list[tuple[str, str]]:
        """``(name, pattern)`` of each rule, in priority order."""
    def __len__(self) -> int: ...

def naive_classify(
    ruleset: RuleSet, data: bytes | str, context_depth: int = ..., *, max_bytes: int | None = None
) -> Match | None:
    """The same verdict as ``ruleset.classify`` by the naive method (every rule
    walks every line, last first). A baseline for benchmarks and an oracle for
    tests; not for production use."""

@final
class ParsedUpload:
    """A phone-log upload's records as a pyarrow table, and what was left out."""

    @property
    def log_type(self) -> str:
        """The header's ``log_type`` (1-64 of ``[a-z0-9_]``)."""
    @property
    def collected_at(self) -> int | None:
        """The header's ``collected_at`` in epoch milliseconds, if given."""
    @property
    def schema_version(self) -> int | None:
        """The header's ``schema_version`` (1 or more), if given; the records
        were read as that version sends them (1 when absent)."""
    @property
    def app_version(self) -> str | None:
        """The header's ``app_version``, if given."""
    @property
    def table(self) -> pa.Table:
        """One row per accepted record, first occurrence of each identity, in
        line order, with the schema ``UploadParser.schema(log_type)``: the
        known fields (normalised), then ``extra`` (canonical JSON of the other
        fields, or null), ``record_key``, ``content_hash`` and ``line_num``.
        The columns are the core's own buffers, not copies."""
    @property
    def records(self) -> int:
        """Number of rows of ``table``."""
    @property
    def duplicates(self) -> int:
        """Records dropped because an earlier line had the same identity."""
    @property
    def rejected(self) -> RejectedLines:
        """``(line_num, reason)`` of each record that was not accepted."""

@final
class RejectedLines(Sequence[tuple[int, str]]):
    """``(line_num, reason)`` of each rejected record, in line order: a
    read-only ``collections.abc.Sequence`` (slices are lists) over the core's
    compact list, which stores each reason once, so that an upload
    of millions of bad lines does not become millions of Python objects."""

    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, index: int, /) -> tuple[int, str]: ...
    @overload
    def __getitem__(self, index: slice, /) -> list[tuple[int, str]]: ...
    def count(self, value: object) -> int: ...
    def index(self, value: object, start: int = 0, stop: int | None = None) -> int: ...

@final
class UploadParser:
    """Parses phone-log uploads (plain or gzip NDJSON: a header line, then
    records), built once from the known log types' specs.

    ``specs`` maps known log types to ``(fields, identity)``: ``fields`` is a
    list of ``(name, kind)`` with kind one of ``FIELD_KINDS``; ``identity``
    names the fields that identify a record (empty: one record per device).
    Other log types keep every field in ``extra`` and are identified by the
    whole record.

    ``versions`` maps a known log type to its older schema versions: for
    each, per field of ``fields`` in order, the ``(name, kind)`` that version
    sent it as, or None when it had no such field. A record is read as its
    upload's header version says (1 when it names none; a version not
    listed is read with ``fields``) and converted to ``fields``: renamed,
    and retyped where no information is lost (an int, float or bool to a
    string, a bool to an int), so that its identity and content hashes are
    those of the same record in the newest version. Raises ``ValueError``
    for an unknown kind, a conversion that could lose information, or
    versions of a type ``specs`` does not name.
    """

    FIELD_KINDS: ClassVar[tuple[str, ...]]
    """The kinds a known field may have: ``int``, ``float``, ``str``,
    ``bool`` (also from 0/1) and ``str_list``."""
    RECORD_COLUMNS: ClassVar[tuple[str, ...]]
    """The columns every parsed upload has after its known fields."""

    def __new__(
        cls,
        specs: dict[str, tuple[list[tuple[str, str]], list[str]]],
        versions: dict[str, dict[int, list[tuple[str, str] | None]]] | None = None,
    ) -> Self: ...
    def schema(self, log_type: str) -> pa.Schema:
        """The pyarrow schema of a parsed upload of ``log_type``."""
    def parse(self, data: bytes, max_bytes: int | None = None) -> ParsedUpload:
        """Parse an upload. Raises ``CorruptInputError`` when it cannot be
        read as a whole (corrupt gzip, missing or invalid header, a header
        that names a field twice), and ``InputTooLargeError`` when it is
        longer than ``max_bytes`` decompressed (``None``: no ceiling);
        records that cannot be accepted (a field named twice at any depth
        among them) are listed in ``rejected`` instead. Releases the GIL
        while parsing."""

def normalize_line(line: str) -> str:
    """The first line of ``line`` as the engine reads it: without the GitHub
    Actions timestamp at its start, ANSI escape sequences, and a carriage
    return at its end."""

def lint_rules(rules: list[tuple[str, str]]) -> list[tuple[int, str, str, str]]:
    """Static checks of ``(name, pattern)`` rules in priority order, as
    ``(rule index, severity, code, message)`` tuples in rule order. Severity is
    ``"error"`` (invalid pattern, duplicate pattern, rule shadowed by an earlier
    one, a pattern that matches every line) or ``"warning"`` (duplicate name,
    a pattern that matches empty lines, no literal text, a class that includes
    a line break)."""

def required_literals(pattern: str) -> list[bytes] | None:
    """The literals the engine searches for to find the lines ``pattern`` may
    match (one of them is in every match); ``None`` when it has none, so it is
    tried on every line, which ``lint_rules`` reports as ``no-literal``.
    Raises ``RuleSetError`` when the pattern does not parse."""

def text_lines(columns: Sequence[pa.Array]) -> bytes:
    """The lines of text of records whose cells are ``columns``, in order:
    ``int64`` or ``string`` arrays of one length, read in place. Cells are
    joined by tabs and each line ends in a newline; a null is ``\\N``, and
    backslashes, tabs and line breaks inside strings are escaped (``\\\\``,
    ``\\t``, ``\\n``, ``\\r``). Releases the GIL while rendering; raises
    ``TypeError`` for an array of another type."""

def decode_log(data: bytes | str, *, max_bytes: int | None = None) -> str:
    """The log's text as the engine reads it: gzip decompressed (detected by
    its magic), invalid UTF-8 replaced. Raises ``CorruptInputError`` and
    ``InputTooLargeError`` as ``RuleSet.classify`` does."""

def survey(
    rulesets: Sequence[RuleSet],
    logs: Sequence[bytes | str],
    context_depth: int = ...,
    *,
    threads: int | None = None,
    max_bytes: int | None = None,
    profile: Sequence[bool] = ...,
    before: int = 5,
    after: int = 2,
) -> list[list[LogSurvey]]:
    """Classify many logs at once with each ruleset, one log per thread on
    up to ``threads`` threads (unset: ``LOGSORTER_THREADS``, else the
    cores), with the GIL released throughout; each log is decompressed once
    for all the rulesets. One list per ruleset, one ``LogSurvey`` per log, in
    order: the verdict ``classify`` gives (without a baseline), every rule
    that matches the log at all from the same scan, and the ``before`` and
    ``after`` lines around the verdict's. A log that cannot be read (corrupt
    gzip, over ``max_bytes``) has ``error`` set and stops nothing else. The
    logs whose ``profile`` entry (by position) is true also time each rule's
    own regex on the lines it is tried on (a second pass over those lines,
    so callers sample it)."""
