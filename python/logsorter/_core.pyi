"""The native core of logsorter (Rust). Import from ``logsorter`` instead."""

from os import PathLike
from typing import Any, ClassVar, Final, final

__all__ = [
    "DEFAULT_CONTEXT_DEPTH",
    "CorruptInputError",
    "Match",
    "ParsedUpload",
    "RuleSet",
    "RuleSetError",
    "__version__",
    "lint_rules",
    "naive_classify",
    "parse_upload",
    "required_literals",
]

__version__: str

#: How many ``+`` lines (shell trace) a verdict carries as context when
#: ``context_depth`` is not given.
DEFAULT_CONTEXT_DEPTH: Final = 12

class CorruptInputError(ValueError):
    """Input that cannot be read: gzip that does not decompress, or an upload
    that is malformed as a whole (no header, an invalid header). A retry with
    the same bytes cannot succeed."""

class RuleSetError(ValueError):
    """A ruleset that does not load: invalid TOML or an unexpected shape, a
    pattern that does not parse (named by rule index and name, or ignore
    key), or rules too large to compile. The message is one line."""

@final
class Match:
    """A rule's verdict on a log."""

    @property
    def rule(self) -> str:
        """Name of the rule that matched."""
    @property
    def line(self) -> str:
        """The matched line, without timestamp and ANSI escapes."""
    @property
    def line_num(self) -> int:
        """1-based line number of the matched line in the original log."""
    @property
    def captures(self) -> list[str]:
        """The pattern's capture groups that took part, in order; the whole
        match when the pattern has no group."""
    @property
    def context(self) -> list[str]:
        """Kept lines starting with ``+`` (shell trace), walking back from the
        matched line (itself included), nearest first."""
    def to_dict(self) -> dict[str, Any]:
        """The verdict as a dict with exactly the keys ``rule``, ``line``,
        ``line_num``, ``captures`` and ``context``."""
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class RuleSet:
    """A compiled, priority-ordered ruleset.

    Loading fails with ``RuleSetError`` naming the rule (index and name) when a
    pattern does not compile; nothing is classified with a half-loaded ruleset.
    """

    @staticmethod
    def from_toml(text: str) -> RuleSet:
        """Compile a ruleset from TOML text (``[[rule]]`` tables with ``name``
        and ``pattern``, highest priority first, and an optional ``[ignore]``
        table)."""
    @staticmethod
    def from_file(path: str | PathLike[str]) -> RuleSet:
        """Compile a ruleset from a TOML file."""
    @staticmethod
    def default() -> RuleSet:
        """The ruleset packaged with logsorter."""
    def classify(self, data: bytes | str, context_depth: int = ...) -> Match | None:
        """Classify a log: the highest-priority rule that matches any kept line,
        at the last line it matches, or ``None``. The match carries at most
        ``context_depth`` (default ``DEFAULT_CONTEXT_DEPTH``) lines of context.

        ``bytes`` starting with the gzip magic are decompressed; invalid UTF-8
        is replaced. Raises ``CorruptInputError`` for corrupt gzip. Releases
        the GIL.
        """
    def classify_all(self, data: bytes | str, context_depth: int = ...) -> list[Match]:
        """Every rule's last match, in priority order."""
    @property
    def digest(self) -> str:
        """A stable hash of the rules and ignore patterns (not of comments or
        formatting), to record which ruleset produced a verdict."""
    @property
    def rules(self) -> list[tuple[str, str]]:
        """``(name, pattern)`` of each rule, in priority order."""
    def __len__(self) -> int: ...

def naive_classify(ruleset: RuleSet, data: bytes | str, context_depth: int = ...) -> Match | None:
    """The same verdict as ``ruleset.classify`` by the naive method (every rule
    walks every line, last first). A baseline for benchmarks and an oracle for
    tests; not for production use."""

@final
class ParsedUpload:
    """A phone-log upload reduced to what Arrow reads with a fixed schema."""

    @property
    def log_type(self) -> str:
        """The header's ``log_type`` (1-64 of ``[a-z0-9_]``)."""
    @property
    def schema_version(self) -> int:
        """The header's ``schema_version``, 1 when absent."""
    @property
    def collected_at(self) -> int | None:
        """The header's ``collected_at`` in epoch milliseconds, if given."""
    @property
    def app_version(self) -> str | None:
        """The header's ``app_version``, if given."""
    @property
    def ndjson(self) -> bytes:
        """One JSON object per accepted record: the known fields (normalised),
        ``extra`` (canonical JSON of the other fields, or null),
        ``record_key``, ``content_hash`` and ``line_num``."""
    @property
    def records(self) -> int:
        """Number of records in ``ndjson``."""
    @property
    def duplicates(self) -> int:
        """Records dropped because an earlier line had the same identity."""
    @property
    def rejected(self) -> list[tuple[int, str]]:
        """``(line_num, reason)`` of each record that was not accepted."""
    @property
    def longest_line(self) -> int:
        """Length in bytes of the longest line of ``ndjson``."""

def parse_upload(
    data: bytes, specs: dict[str, tuple[list[tuple[str, str]], list[str]]]
) -> ParsedUpload:
    """Parse an upload (plain or gzip NDJSON: a header line, then records).

    ``specs`` maps known log types to ``(fields, identity)``: ``fields`` is a
    list of ``(name, kind)`` with kind ``int``, ``float``, ``str``, ``bool`` or
    ``str_list``; ``identity`` names the fields that identify a record (empty:
    one record per device). Other log types keep every field in ``extra`` and
    are identified by the whole record. Raises ``CorruptInputError`` when the
    upload as a whole cannot be read (corrupt gzip, missing or invalid header).
    Releases the GIL.
    """

def lint_rules(rules: list[tuple[str, str]]) -> list[tuple[int, str, str, str]]:
    """Static checks of ``(name, pattern)`` rules in priority order, as
    ``(rule index, severity, code, message)`` tuples in rule order. Severity is
    ``"error"`` (invalid pattern, duplicate pattern, rule shadowed by an earlier
    one) or ``"warning"`` (duplicate name, no literal text, a class that
    includes a line break)."""

def required_literals(pattern: str) -> list[bytes] | None:
    """The literals the engine searches for to find the lines ``pattern`` may
    match (one of them is in every match); ``None`` when it has none, so it is
    tried on every line, which ``lint_rules`` reports as ``no-literal``.
    Raises ``RuleSetError`` when the pattern does not parse."""
