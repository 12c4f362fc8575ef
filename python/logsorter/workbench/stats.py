"""What a ruleset does on a corpus (``logsorter rules stats``): per rule,
the logs where it is the verdict and where it matches at all, how often it
matches successful jobs, and the time its regex took; overall, the share of
logs with a specific verdict, a wrapper's or catch-all's, the locator's, and
none, and where labels are known, how often the verdict is on a labeled line.

Accuracy is upstream's definition: 1 - the share of verdicts that are a
wrapper's or a catch-all's (which name no cause). A verdict on the wrong
line counts as covered there; the labeled-line accuracy is what shows it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from logsorter import RuleSet
from logsorter._core import LOCATED_RULE
from logsorter.workbench.corpus import SUCCESS
from logsorter.workbench.run import LogResult, Run

Kind = Literal["specific", "fallback", "located", "none", "error"]
KINDS: tuple[Kind, ...] = ("specific", "fallback", "located", "none", "error")


@dataclass(frozen=True)
class Roles:
    """Which rule names are wrappers or catch-alls (the ``[fallback]``
    table), and the rules' names by index, deduplicated in priority order."""

    wrappers: frozenset[str]
    catch_alls: frozenset[str]
    names: tuple[str, ...]
    #: The name of each rule index.
    name_of: tuple[str, ...]

    @classmethod
    def of(cls, ruleset: RuleSet) -> Roles:
        wrappers, catch_alls, _ = ruleset.fallback or ([], [], 0.0)
        name_of = tuple(name for name, _ in ruleset.rules)
        return cls(
            frozenset(wrappers), frozenset(catch_alls), tuple(dict.fromkeys(name_of)), name_of
        )

    def role(self, name: str) -> str:
        if name in self.wrappers:
            return "wrapper"
        if name in self.catch_alls:
            return "catch-all"
        return "specific"

    def kind(self, result: LogResult) -> Kind:
        if result.error is not None:
            return "error"
        if result.verdict is None:
            return "none"
        if result.verdict.rule == LOCATED_RULE:
            return "located"
        return "specific" if self.role(result.verdict.rule) == "specific" else "fallback"


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def verdict_dict(result: LogResult) -> dict[str, Any] | None:
    """The parts of a verdict that say where it landed."""
    v = result.verdict
    if v is None:
        return None
    return {
        "rule": v.rule,
        "line_num": v.line_num,
        "line": v.line,
        "captures": v.captures,
        "score": v.score,
    }


def compute_stats(ruleset: RuleSet, run: Run, results: Sequence[LogResult]) -> dict[str, Any]:
    """The JSON object ``rules stats --format json`` prints."""
    roles = Roles.of(ruleset)
    kinds = Counter(roles.kind(r) for r in results)
    readable = [r for r in results if r.error is None]
    classified = len(readable) - kinds["none"]
    verdicts = Counter(r.verdict.rule for r in readable if r.verdict is not None)
    matches: Counter[str] = Counter()
    on_success: Counter[str] = Counter()
    for result in readable:
        for name in {roles.name_of[i] for i in result.matched}:
            matches[name] += 1
            on_success[name] += result.conclusion == SUCCESS
    conclusions = Counter(r.conclusion for r in readable if r.conclusion is not None)
    seconds = _rule_seconds(roles, results, run)
    total_bytes = sum(r.bytes for r in results)
    summary: dict[str, Any] = {
        "logs": len(results),
        "bytes": total_bytes,
        "seconds": round(run.seconds, 3),
        "mb_per_s": round(total_bytes / run.seconds / 1e6, 1) if run.seconds else None,
        "peak_rss_bytes": run.peak_rss_bytes,
        "ruleset_digest": ruleset.digest,
        **{
            kind: {"logs": kinds[kind], "share": share(kinds[kind], len(results))} for kind in KINDS
        },
        "accuracy": share(classified - kinds["fallback"], classified),
        "conclusions": dict(sorted(conclusions.items())) or None,
        "labeled": _labeled(results),
        "errors": [{"log": r.name, "error": r.error} for r in results if r.error is not None],
        "rule_time_sampled_bytes": run.profiled_bytes,
    }
    rules = [
        {
            "name": name,
            "priority": roles.name_of.index(name),
            "patterns": roles.name_of.count(name),
            "role": roles.role(name),
            "verdicts": verdicts[name],
            "matches": matches[name],
            "share": share(verdicts[name], len(readable)),
            "match_share": share(matches[name], len(readable)),
            "on_success": on_success[name] if conclusions.get(SUCCESS) else None,
            "seconds": seconds.get(name),
        }
        for name in roles.names
    ]
    return {"summary": summary, "rules": rules}


def _labeled(results: Sequence[LogResult]) -> dict[str, Any] | None:
    labeled = [r for r in results if r.label is not None and r.error is None]
    if not labeled:
        return None
    wrong = [r for r in labeled if r.label is not None and not r.label.right(_line(r))]
    return {
        "logs": len(labeled),
        "right": len(labeled) - len(wrong),
        "accuracy": share(len(labeled) - len(wrong), len(labeled)),
        "wrong": [
            {
                "log": r.name,
                "verdict": verdict_dict(r),
                "labels": list(r.label.lines) if r.label else [],
            }
            for r in wrong
        ],
    }


def _line(result: LogResult) -> int | None:
    return result.verdict.line_num if result.verdict else None


def _rule_seconds(roles: Roles, results: Sequence[LogResult], run: Run) -> dict[str, float]:
    """Each rule name's regex time on the profiled logs, scaled to the
    whole corpus by text bytes."""
    profiled = [r.rule_seconds for r in results if r.rule_seconds is not None]
    if not profiled or not run.profiled_bytes:
        return {}
    scale = sum(r.bytes for r in results) / run.profiled_bytes
    spent: dict[str, float] = dict.fromkeys(roles.names, 0.0)
    for times in profiled:
        for index, seconds in enumerate(times):
            spent[roles.name_of[index]] += seconds
    return {name: round(spent[name] * scale, 6) for name in roles.names}
