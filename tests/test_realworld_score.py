"""How often the default ruleset finds the real failure in whole CI logs of
other projects, and in the compatibility corpus; the figures are printed in
pytest's terminal summary and held above floors just below what they are, so
a rule change that loses a verdict fails here.

The logs are third-party data beside the checkout (``shared/``); without it
these tests skip.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from logsorter import RuleSet
from logsorter.classifier import fixtures as fx
from support.paths import SHARED
from test_compat import COMPAT, CORPUS

REALWORLD = SHARED / "realworld"
pytestmark = pytest.mark.skipif(not REALWORLD.is_dir(), reason="shared realworld logs not present")

#: Floors, just below the figures of the README: a regression fails.
REALWORLD_FLOOR = 0.95
COMPAT_FLOOR = 0.90


@dataclass(frozen=True)
class Verdict:
    """One realworld log: where the default ruleset landed and whether that is
    one of the lines a person named as the cause."""

    file: str
    ci: str
    labels: tuple[int, ...]
    line_num: int | None
    rule: str | None

    @property
    def right(self) -> bool:
        if not self.labels:
            return self.line_num is None
        return self.line_num in self.labels

    def describe(self) -> str:
        got = "no verdict" if self.line_num is None else f"line {self.line_num} ({self.rule})"
        want = ",".join(map(str, self.labels)) or "no verdict"
        return f"{self.file}: got {got}, labeled {want}"


@dataclass
class Scores:
    verdicts: list[Verdict] = field(default_factory=list)
    compat_landed: int = 0
    compat_total: int = 0
    compat_missed: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.labels]

    @property
    def successes(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.labels]

    def by_ci(self) -> dict[str, tuple[int, int]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for v in self.failures:
            counts[v.ci][0] += v.right
            counts[v.ci][1] += 1
        return {ci: (right, total) for ci, (right, total) in sorted(counts.items())}

    def lines(self) -> list[str]:
        right = sum(v.right for v in self.failures)
        total = len(self.failures)
        out = [
            f"realworld: {right}/{total} failures on a labeled line ({right / total:.0%})",
            "  by CI: " + ", ".join(f"{ci} {r}/{t}" for ci, (r, t) in self.by_ci().items()),
            "  successful runs unclassified: "
            f"{sum(v.right for v in self.successes)}/{len(self.successes)}",
        ]
        out += [f"  miss: {v.describe()}" for v in self.verdicts if not v.right]
        out.append(
            f"compat (default ruleset): {self.compat_landed}/{self.compat_total} on the marked "
            f"line ({self.compat_landed / max(self.compat_total, 1):.0%})"
        )
        out += [f"  miss: {m}" for m in self.compat_missed]
        return out


def realworld_verdicts(rules: RuleSet) -> list[Verdict]:
    with (REALWORLD / "labels.tsv").open(encoding="utf-8", newline="") as table:
        rows = list(csv.DictReader(table, delimiter="\t"))
    verdicts = []
    for row in rows:
        match = rules.classify((REALWORLD / "logs" / row["file"]).read_bytes())
        labels = tuple(int(n) for n in row["label_lines"].split(",") if n.strip())
        verdicts.append(
            Verdict(
                row["file"],
                row["ci"],
                labels,
                None if match is None else match.line_num,
                None if match is None else match.rule,
            )
        )
    return verdicts


class _Summary:
    """A plugin that prints the scores at the end of the run."""

    def __init__(self, scores: Scores) -> None:
        self.scores = scores

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.section("default ruleset on real logs")
        for line in self.scores.lines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def scores(request: pytest.FixtureRequest) -> Scores:
    default = RuleSet.default()
    result = Scores(verdicts=realworld_verdicts(default))
    if COMPAT.is_dir():
        for path in CORPUS:
            outcome = fx.parse(path).check(default)
            result.compat_total += 1
            if outcome.got.line_num == outcome.expected.line_num:
                result.compat_landed += 1
            else:
                result.compat_missed.append(outcome.describe())
    manager = request.config.pluginmanager
    if not manager.has_plugin("realworld-score"):
        manager.register(_Summary(result), "realworld-score")
    return result


def test_failures_land_on_a_labeled_line_often_enough(scores: Scores) -> None:
    failures = scores.failures
    assert failures, "no labeled failures in labels.tsv"
    right = sum(v.right for v in failures)
    missed = "\n".join(v.describe() for v in failures if not v.right)
    assert right >= REALWORLD_FLOOR * len(failures), f"{right}/{len(failures)}:\n{missed}"


def test_every_ci_system_gets_verdicts(scores: Scores) -> None:
    assert all(right > 0 for right, _ in scores.by_ci().values()), scores.by_ci()


def test_successful_runs_stay_unclassified(scores: Scores) -> None:
    assert scores.successes, "labels.tsv has no successful run"
    wrong = [v.describe() for v in scores.successes if not v.right]
    assert not wrong, "\n".join(wrong)


@pytest.mark.skipif(not COMPAT.is_dir(), reason="shared compat corpus not present")
def test_default_ruleset_lands_on_the_compat_marked_line(scores: Scores) -> None:
    assert scores.compat_landed >= COMPAT_FLOOR * scores.compat_total, "\n".join(
        scores.compat_missed
    )


def test_passing_baselines_get_few_verdicts() -> None:
    """The last green run before each failure: a verdict there is a false
    alarm. One of them compiles with errors on purpose (Maven with
    `--fail-never`), which no line-by-line rule can tell from a real error."""
    default = RuleSet.default()
    baselines = sorted((REALWORLD / "baselines").glob("*.log"))
    flagged = [p.name for p in baselines if default.classify(p.read_bytes()) is not None]
    assert len(flagged) <= 1, flagged
