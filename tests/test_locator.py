"""The locator behind a ruleset's ``[fallback]`` table, and classifying against
a passing run (``baseline``)."""

from __future__ import annotations

import csv
import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logsorter import RuleSet
from support.paths import SHARED

RULES = """
[[rule]]
name = "compile error"
pattern = '^(\\S+):(\\d+):\\d+: error: (.*)$'

[[rule]]
name = "make target failed"
pattern = '^make: \\*\\*\\* \\[(\\S+)\\] Error \\d+'

[[rule]]
name = "GHA error"
pattern = '^##\\[error\\](.*)'
"""

FALLBACK = """
[fallback]
enabled = true
wrappers = ["make target failed"]
catch_alls = ["GHA error"]
min_score = 0.5
"""

STEP_FAILED = "##[error]Process completed with exit code 2.\n"

#: A failure only the locator names: a linker message no rule knows, then make.
LINKER_LOG = (
    "##[group]Run make\n"
    "+ make all\n"
    "cc -o app main.o\n"
    "ld: cannot find -lfoo\n"
    "make: *** [all] Error 1\n" + STEP_FAILED + "Post job cleanup.\n"
)


@pytest.fixture(scope="module")
def fallback() -> RuleSet:
    return RuleSet.from_toml(RULES + FALLBACK)


def test_a_wrapper_gives_way_to_the_located_line(fallback: RuleSet) -> None:
    match = fallback.classify(LINKER_LOG)
    assert match is not None
    assert (match.rule, match.line_num, match.line) == (
        "located failure",
        4,
        "ld: cannot find -lfoo",
    )
    assert match.captures == ["ld: cannot find -lfoo"]
    assert match.context == ["+ make all"]
    assert 0.5 <= match.score <= 1.0
    assert list(match.to_dict()) == ["rule", "line", "line_num", "captures", "context", "score"]


def test_without_fallback_the_rules_decide_as_before() -> None:
    plain = RuleSet.from_toml(RULES)
    disabled = RuleSet.from_toml(RULES + FALLBACK.replace("enabled = true", "enabled = false"))
    for ruleset in (plain, disabled):
        match = ruleset.classify(LINKER_LOG)
        assert match is not None
        assert (match.rule, match.score) == ("make target failed", 1.0)
    assert plain.digest == disabled.digest != RuleSet.from_toml(RULES + FALLBACK).digest


def test_a_specific_rule_is_not_overridden(fallback: RuleSet) -> None:
    log = LINKER_LOG.replace("cc -o app main.o", "src/a.c:3:1: error: expected ';'")
    match = fallback.classify(log)
    assert match is not None
    assert (match.rule, match.line_num) == ("compile error", 3)


def test_a_weak_located_line_leaves_the_rule_verdict(fallback: RuleSet) -> None:
    strict = RuleSet.from_toml(RULES + FALLBACK.replace("min_score = 0.5", "min_score = 1.0"))
    log = LINKER_LOG.replace("ld: cannot find -lfoo", "the library went missing")
    match = strict.classify(log)
    assert match is not None
    assert match.rule == "make target failed"


def test_no_failure_evidence_no_located_verdict(fallback: RuleSet) -> None:
    green = "Run tests\nerror: printed by a passing test\nFAILED? no: retried\nall done\n"
    assert fallback.classify(green) is None


def test_the_baseline_takes_its_lines_out(fallback: RuleSet) -> None:
    noisy = LINKER_LOG.replace("cc -o app main.o", "error: known flaky noise 17")
    green = "2023-01-01T00:00:00.0000000Z error: known flaky noise 42\nld: ok\n"
    match = fallback.classify(noisy, baseline=green)
    assert match is not None
    assert match.line_num == 4
    without = fallback.classify(noisy.replace("ld: cannot find -lfoo", "linking"))
    assert without is not None
    assert without.line_num == 3


def test_a_catch_all_line_the_green_run_prints_does_not_win(fallback: RuleSet) -> None:
    log = "##[error]Node.js 16 actions are deprecated\nnpm error: missing script: lint\n" + (
        STEP_FAILED
    )
    green = gzip.compress(b"##[error]Node.js 16 actions are deprecated\n")
    match = fallback.classify(log, baseline=green)
    assert match is not None
    assert (match.rule, match.line_num) == ("located failure", 2)
    plain = RuleSet.from_toml(RULES).classify(log, baseline=green)
    assert plain is not None
    assert plain.rule == "GHA error"


# Properties. The ruleset's one rule never matches, so every verdict is the
# locator's; min_score 0 lets any located line through.
LOCATOR_ONLY = """
[[rule]]
name = "never"
pattern = '^never matches this$'

[ignore]
lines = ['^SKIP']
regions = [{ start = '^BEGIN$', end = '^END$' }]

[fallback]
enabled = true
min_score = 0.0
"""

#: Lines that say nothing about the job's outcome, error-looking ones included.
QUIET_LINES = [
    "error: printed by a passing test",
    "Error: retrying",
    "FAILED? no",
    "fatal: not a failure here",
    "Traceback (most recent call last):",
    "warning: deprecated",
    "+ make test",
    "##[group]Run tests",
    "##[endgroup]",
    "Process completed with exit code 0.",
    "ok",
    "",
    "src/a.c:1:2: error: only in a test's output",
]
DROPPED_LINES = ["SKIP error: dropped", "SKIP ##[error]dropped too"]
EVIDENCE_LINES = [STEP_FAILED.rstrip("\n"), "make: *** [all] Error 2", "BUILD FAILURE"]


def kept_line_numbers(lines: list[str]) -> set[int]:
    """1-based numbers of the lines the ignore table of LOCATOR_ONLY keeps."""
    kept, in_region = set(), False
    for number, line in enumerate(lines, 1):
        if line.startswith("SKIP"):
            continue
        if in_region:
            in_region = line != "END"
        elif line == "BEGIN":
            in_region = True
        else:
            kept.add(number)
    return kept


PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def locator_only() -> RuleSet:
    return RuleSet.from_toml(LOCATOR_ONLY)


@PROPERTY_SETTINGS
@given(lines=st.lists(st.sampled_from(QUIET_LINES), max_size=40))
def test_never_a_verdict_without_failure_evidence(locator_only: RuleSet, lines: list[str]) -> None:
    assert locator_only.classify("\n".join(lines) + "\n") is None


@PROPERTY_SETTINGS
@given(
    lines=st.lists(
        st.sampled_from(QUIET_LINES + DROPPED_LINES + EVIDENCE_LINES + ["BEGIN", "END"]),
        max_size=40,
    )
)
def test_never_a_dropped_line(locator_only: RuleSet, lines: list[str]) -> None:
    match = locator_only.classify("\n".join(lines) + "\n")
    if match is not None:
        assert match.line_num in kept_line_numbers(lines)
        assert 0.0 <= match.score <= 1.0


REALWORLD = SHARED / "realworld"


@pytest.mark.skipif(not REALWORLD.is_dir(), reason="shared realworld logs not present")
def test_realworld_logs_with_and_without_their_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints how often the default ruleset lands on a labelled line of the
    logs that come with a passing run, with and without it (figures for the
    README); the successful log must stay unclassified either way."""
    ruleset = RuleSet.default()
    with (REALWORLD / "labels.tsv").open(encoding="utf-8") as labels:
        rows = list(csv.DictReader(labels, delimiter="\t"))
    landed = {"without baseline": 0, "with baseline": 0}
    paired = 0
    for row in rows:
        log = (REALWORLD / "logs" / row["file"]).read_bytes()
        expected = {int(n) for n in row["label_lines"].split(",") if n}
        if not expected:
            assert ruleset.classify(log) is None
        green_path = REALWORLD / "baselines" / row["file"]
        if not green_path.is_file():
            continue
        paired += 1
        green = green_path.read_bytes()
        for key, match in (
            ("without baseline", ruleset.classify(log)),
            ("with baseline", ruleset.classify(log, baseline=green)),
        ):
            landed[key] += match is not None and match.line_num in expected
    with capsys.disabled():
        print(f"\nrealworld logs with a passing run ({paired}): {landed}")
    assert paired == 7


SUCCESSFUL_LOG = SHARED / "bench" / "ci-log-success.txt.gz"


@pytest.mark.skipif(not SUCCESSFUL_LOG.is_file(), reason="shared bench logs not present")
def test_a_real_successful_log_stays_unclassified() -> None:
    """Its error-looking lines (tests printing errors) are no failure evidence."""
    assert RuleSet.default().classify(SUCCESSFUL_LOG.read_bytes()) is None
