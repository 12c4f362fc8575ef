"""The packaged default ruleset: it loads, every rule is exercised by a
fixture, its captures group well, and it reads whole real logs sensibly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from logsorter import DEFAULT_RULESET_PATH, RuleSet
from logsorter.classifier import fixtures as fx
from support.paths import ROOT, SHARED

PROJECT_FIXTURES = ROOT / "tests" / "fixtures" / "logs"
BENCH = SHARED / "bench"

#: What must never sit inside a capture: it differs between runs of the same
#: failure and would split one group into many.
UNGROUPABLE = {
    "timestamp": re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"),
    "duration": re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds)\b"),
    "hash": re.compile(r"\b[0-9a-f]{12,64}\b"),
    "hex address": re.compile(r"\b0x[0-9a-f]{6,}\b"),
}


@pytest.fixture(scope="module")
def default() -> RuleSet:
    return RuleSet.default()


@pytest.fixture(scope="module")
def outcomes(default: RuleSet) -> list[fx.Outcome]:
    return list(fx.check_all(PROJECT_FIXTURES, default))


def test_embedded_ruleset_is_the_packaged_file(default: RuleSet) -> None:
    assert default.digest == RuleSet.from_file(DEFAULT_RULESET_PATH).digest
    assert (ROOT / "ruleset.toml").resolve() == Path(DEFAULT_RULESET_PATH).resolve()


def test_rule_names_are_unique(default: RuleSet) -> None:
    names = [name for name, _ in default.rules]
    assert len(names) == len(set(names))


def test_every_rule_has_a_fixture_that_lands_on_it(
    default: RuleSet, outcomes: list[fx.Outcome]
) -> None:
    covered = {o.match.rule for o in outcomes if o.match is not None}
    missing = [name for name, _ in default.rules if name not in covered]
    assert not missing, f"rules without a fixture in {PROJECT_FIXTURES}: {missing}"


def test_project_fixtures_hold(outcomes: list[fx.Outcome]) -> None:
    moved = [o.describe() for o in outcomes if o.moved]
    assert not moved, "\n".join(moved)
    assert any(o.expected.line_num is None for o in outcomes), "keep a fixture that matches nothing"


def test_captures_carry_nothing_that_varies_between_runs(outcomes: list[fx.Outcome]) -> None:
    offenders = [
        f"{o.fixture.path.name}: {what} in {capture!r}"
        for o in outcomes
        for capture in o.got.captures
        for what, pattern in UNGROUPABLE.items()
        if pattern.search(capture)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_ungroupable_patterns_do_catch_what_they_name() -> None:
    samples = {
        "timestamp": "2025-03-14T09:12:33",
        "duration": "took 310.02s",
        "hash": "f2c14040ce9aa74d",
        "hex address": "at 0x7fea0d9b9480",
    }
    for what, sample in samples.items():
        assert UNGROUPABLE[what].search(sample), what


@pytest.mark.parametrize(
    ("log", "rule", "captures"),
    [
        # A named test beats the wrapper's exception and the retry's time limit.
        (
            "FAILED tests/a.py::test_x - RuntimeError: boom\nRuntimeError: suite 1/1 failed!\n"
            "Command took longer than 30 minutes, killing it\n",
            "pytest failure",
            ["tests/a.py::test_x"],
        ),
        # The compiler's error beats ninja's and CMake's reports of it.
        (
            "FAILED: obj/a.o \nsrc/a.cpp:3:1: error: expected ';'\n"
            "ninja: build stopped: subcommand failed.\nCMake Error: build failed\n",
            "C/C++ compiler error",
            ["src/a.cpp", "expected ';'"],
        ),
        # The specific exception beats the generic RuntimeError that wraps it.
        (
            "AssertionError: shapes differ\nRuntimeError: test_ops 1/1 failed!\n",
            "Python assertion failure",
            ["AssertionError"],
        ),
        # The job being cut off beats the failures printed before it.
        (
            "FAILED tests/a.py::test_x\n##[error]The operation was canceled.\n",
            "GHA job cancelled",
            ["##[error]The operation was canceled."],
        ),
        # The step's own exit-code line is dropped, so the catch-all finds the cause.
        (
            "##[error]Some action failed: bad input\n"
            "##[error]Process completed with exit code 1.\n",
            "GHA error",
            ["Some action failed: bad input"],
        ),
    ],
)
def test_priorities(default: RuleSet, log: str, rule: str, captures: list[str]) -> None:
    match = default.classify(log)
    assert match is not None
    assert (match.rule, match.captures) == (rule, captures)


def test_harmless_lines_of_successful_jobs_match_nothing(default: RuleSet) -> None:
    log = (
        "Failed distributed compilations       0\n"
        "Cache errors                          0\n"
        "src/a.c:40:16: warning: unused variable 'x' [-Wunused-variable]\n"
        "Exception ignored in atexit callback: <function _exit_function at 0x7fea0d9b9480>\n"
        "  if-no-files-found: error\n"
        "test_config.py::test_defaults PASSED\n"
    )
    assert default.classify(log) is None


def test_the_demo_sample_log(default: RuleSet) -> None:
    match = default.classify((ROOT / "fixtures" / "sample-ci-log.txt").read_bytes())
    assert match is not None
    assert (match.rule, match.captures) == (
        "pytest failure",
        ["tests/test_queue.py::test_drain_in_order"],
    )


@pytest.mark.skipif(not BENCH.is_dir(), reason="shared bench logs not present")
def test_whole_failing_log_lands_on_the_failed_test(default: RuleSet) -> None:
    match = default.classify((BENCH / "ci-log-pytest-failure.txt.gz").read_bytes())
    assert match is not None
    assert match.rule == "pytest failure"
    assert match.captures == ["test_ops.py::TestCommonCPU::test_out_warning__refs_cat_cpu"]


@pytest.mark.skipif(not BENCH.is_dir(), reason="shared bench logs not present")
def test_whole_successful_log_matches_nothing(default: RuleSet) -> None:
    assert default.classify((BENCH / "ci-log-success.txt.gz").read_bytes()) is None
