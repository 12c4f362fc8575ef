"""The locator's cost, with the default ruleset (which has a ``[fallback]``
table), on one thread: nothing on a successful log, which has no failure
evidence (target: the 100 MB one stays at 400 MB/s or more), and what a
failing 4 MB log pays when no rule names its failure (target: under 20 ms).
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from conftest import BenchLog, read_bench_log, record_timing
from logsorter import RuleSet

FAILING_LOG_BYTES = 4 * 1000 * 1000
#: A failing step that no rule of the default ruleset names.
UNNAMED_FAILURE = (
    "2026-01-05T11:00:00.0000000Z ##[group]Run ./scripts/deploy.sh\n"
    "2026-01-05T11:00:01.0000000Z Uploading bundle\n"
    "2026-01-05T11:00:02.0000000Z Error: the release channel 'nightly' does not exist\n"
    "2026-01-05T11:00:03.0000000Z ##[error]Process completed with exit code 3.\n"
    "2026-01-05T11:00:04.0000000Z Post job cleanup.\n"
)


@pytest.fixture(scope="session")
def default_ruleset() -> RuleSet:
    return RuleSet.default()


@pytest.fixture(scope="session")
def failing_log_for_the_locator() -> BenchLog:
    """A successful job's log repeated to ~4 MB, then a failing step."""
    text = gzip.decompress(read_bench_log("ci-log-success.txt.gz"))
    data = text * -(-FAILING_LOG_BYTES // len(text)) + UNNAMED_FAILURE.encode()
    return BenchLog(data, len(data))


@pytest.mark.benchmark(group="locator: failing 4 MB log, no rule names it")
def test_failing_log_that_needs_the_locator(
    benchmark: Any, default_ruleset: RuleSet, failing_log_for_the_locator: BenchLog
) -> None:
    log = failing_log_for_the_locator
    match = benchmark(default_ruleset.classify, log.data, threads=1)
    assert match is not None
    # Only the catch-all names the line, so the locator runs; it lands on
    # the same line, and the catch-all's verdict stays.
    assert (match.rule, match.line) == (
        "error line",
        "Error: the release channel 'nightly' does not exist",
    )
    record_timing(
        benchmark, "locator: failing 4 MB log, no rule names it", "engine", log.text_bytes
    )


@pytest.mark.slow
@pytest.mark.benchmark(group="locator: 100 MB no-match log, plain")
def test_successful_log_pays_nothing(
    benchmark: Any, default_ruleset: RuleSet, big_plain_log: BenchLog
) -> None:
    match = benchmark.pedantic(
        default_ruleset.classify, args=(big_plain_log.data,), kwargs={"threads": 1}, rounds=5
    )
    assert match is None
    record_timing(
        benchmark,
        "locator: 100 MB no-match log, plain (default ruleset)",
        "engine",
        big_plain_log.text_bytes,
    )
