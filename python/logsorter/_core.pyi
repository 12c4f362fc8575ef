"""The native core of logsorter (Rust). Import from ``logsorter`` instead."""

from os import PathLike
from typing import Any, ClassVar, final

__all__ = [
    "Match",
    "ParsedUpload",
    "RuleSet",
    "__version__",
    "lint_rules",
    "naive_classify",
    "normalize_line",
    "parse_upload",
]

__version__: str

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

    Loading fails with ``ValueError`` naming the rule (index and name) when a
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
    def classify(self, data: bytes | str, context_depth: int = 12) -> Match | None:
        """Classify a log: the highest-priority rule that matches any kept line,
        at the last line it matches, or ``None``.

        ``bytes`` starting with the gzip magic are decompressed; invalid UTF-8
        is replaced. Raises ``ValueError`` for corrupt gzip. Releases the GIL.
        """
    def classify_all(self, data: bytes | str, context_depth: int = 12) -> list[Match]:
        """Every rule's last match, in priority order."""
    @property
    def digest(self) -> str:
        """A stable hash of the rules and ignore patterns (not of comments or
        formatting), to record which ruleset produced a verdict."""
    @property
    def rules(self) -> list[tuple[str, str]]:
        """``(name, pattern)`` of each rule, in priority order."""
    def __len__(self) -> int: ...

def naive_classify(ruleset: RuleSet, data: bytes | str, context_depth: int = 12) -> Match | None:
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
    are identified by the whole record. Raises ``ValueError`` when the upload
    as a whole cannot be read (corrupt gzip, missing or invalid header).
    Releases the GIL.
    """

def normalize_line(line: str) -> str:
    """The first line of ``line`` as the engine reads it: without the GitHub
    Actions timestamp at its start, ANSI escape sequences, and a carriage
    return at its end."""

def lint_rules(rules: list[tuple[str, str]]) -> list[tuple[int, str, str, str]]:
    """Static checks of ``(name, pattern)`` rules in priority order, as
    ``(rule index, severity, code, message)`` tuples in rule order. Severity is
    ``"error"`` (invalid pattern, duplicate pattern, rule shadowed by an earlier
    one) or ``"warning"`` (duplicate name, no literal text, a class that
    includes a line break)."""
