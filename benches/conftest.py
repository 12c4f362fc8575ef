"""Inputs for the engine benchmarks, and a summary of speedups and throughput.

The inputs are the real CI logs of the shared corpus; the large one is the
successful job repeated to about 100 MB, built once per session, because a
log where nothing matches is the case where every line must be looked at.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from baseline_re import BaselineRuleSet
from logsorter import RuleSet, _core

Classifier = Callable[[bytes], Any]

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
BENCH_LOGS = SHARED / "bench"
UPSTREAM_RULESET = SHARED / "compat" / "upstream-ruleset.toml"
BIG_LOG_BYTES = 100 * 1000 * 1000

#: Median and best seconds per (group, implementation), filled in by the benchmarks.
TIMINGS: dict[str, dict[str, Timing]] = defaultdict(dict)
#: Uncompressed size of each group's input, for MB/s.
INPUT_BYTES: dict[str, int] = {}


@dataclass(frozen=True)
class Timing:
    median: float
    best: float


@dataclass(frozen=True)
class BenchLog:
    """A log as it is handed to the classifier, with its uncompressed size."""

    data: bytes
    text_bytes: int


@pytest.fixture(scope="session")
def upstream_rulesets() -> tuple[RuleSet, BaselineRuleSet]:
    if not UPSTREAM_RULESET.is_file():
        pytest.skip(f"{UPSTREAM_RULESET} is absent")
    return RuleSet.from_file(UPSTREAM_RULESET), BaselineRuleSet.from_file(UPSTREAM_RULESET)


def read_bench_log(name: str) -> bytes:
    path = BENCH_LOGS / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path.read_bytes()


@pytest.fixture(scope="session")
def failing_job_log() -> BenchLog:
    data = read_bench_log("ci-log-pytest-failure.txt.gz")
    return BenchLog(data, len(gzip.decompress(data)))


@pytest.fixture(scope="session")
def passing_job_log() -> BenchLog:
    data = read_bench_log("ci-log-success.txt.gz")
    return BenchLog(data, len(gzip.decompress(data)))


@pytest.fixture(scope="session")
def big_plain_log() -> BenchLog:
    text = gzip.decompress(read_bench_log("ci-log-success.txt.gz"))
    data = text * -(-BIG_LOG_BYTES // len(text))
    return BenchLog(data, len(data))


@pytest.fixture(scope="session")
def big_failing_log() -> BenchLog:
    """The failing job repeated to ~100 MB: a verdict exists, and the naive scan
    can stop early, as it finds a high-priority rule near the end."""
    text = gzip.decompress(read_bench_log("ci-log-pytest-failure.txt.gz"))
    data = text * -(-BIG_LOG_BYTES // len(text))
    return BenchLog(data, len(data))


@pytest.fixture(scope="session")
def big_gzip_log(big_plain_log: BenchLog) -> BenchLog:
    return BenchLog(gzip.compress(big_plain_log.data, compresslevel=6), big_plain_log.text_bytes)


#: The engine splits the search of a large log over threads; the targets are
#: per thread, so "engine" is pinned to one and "engine-all-cores" is not.
ENGINE_THREADS = {"engine": 1, "engine-all-cores": None}


def classifier(implementation: str, rulesets: tuple[RuleSet, BaselineRuleSet]) -> Classifier:
    engine, baseline = rulesets
    if implementation in ENGINE_THREADS:
        return partial(engine.classify, threads=ENGINE_THREADS[implementation])
    if implementation == "naive":
        return partial(_core.naive_classify, engine)
    return baseline.classify


@pytest.fixture
def measure(
    benchmark: Any,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    upstream_rulesets: tuple[RuleSet, BaselineRuleSet],
) -> Callable[..., None]:
    """Times one implementation on the log fixture named ``log``, checks its
    verdict against the engine's, and records the median for the summary.
    ``rounds`` fixes the number of rounds for inputs too slow to calibrate on."""

    def run(group: str, implementation: str, log: str, rounds: int | None = None) -> None:
        bench_log: BenchLog = request.getfixturevalue(log)
        benchmark.group = group
        classify = classifier(implementation, upstream_rulesets)
        if rounds is None:
            verdict = benchmark(classify, bench_log.data)
        else:
            verdict = benchmark.pedantic(
                classify, args=(bench_log.data,), rounds=rounds, iterations=1
            )
        expected = upstream_rulesets[0].classify(bench_log.data)
        assert (verdict and verdict.to_dict()) == (expected and expected.to_dict())
        record_timing(benchmark, group, implementation, bench_log.text_bytes)

    return run


def record_timing(benchmark: Any, group: str, implementation: str, text_bytes: int) -> None:
    """Keeps a finished benchmark's median and best for the summary."""
    if benchmark.stats is not None:
        stats = benchmark.stats.stats
        benchmark.extra_info["MB/s"] = round(text_bytes / 1e6 / stats.median, 1)
        TIMINGS[group][implementation] = Timing(stats.median, stats.min)
        INPUT_BYTES[group] = text_bytes


#: Prefix of the implementations that only decompress (the floor of gzip input).
GUNZIP_PREFIX = "gunzip "


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TIMINGS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("engine speedups and throughput (median, best)")
    for group, timings in TIMINGS.items():
        megabytes = INPUT_BYTES[group] / 1e6
        write(f"{group} ({megabytes:.1f} MB of text):")
        for name, timing in timings.items():
            write(
                f"  {name:16} {timing.median * 1e3:9.1f} ms {megabytes / timing.median:6.0f} MB/s"
                f"   best {timing.best * 1e3:9.1f} ms {megabytes / timing.best:6.0f} MB/s"
            )
        for fast, slow in (
            ("engine", "naive"),
            ("engine", "baseline"),
            ("engine-all-cores", "engine"),
        ):
            if fast in timings and slow in timings:
                write(
                    f"  {fast} is {timings[slow].median / timings[fast].median:.1f}x {slow}"
                    f" (best: {timings[slow].best / timings[fast].best:.1f}x)"
                )
        floors = {name: t for name, t in timings.items() if name.startswith(GUNZIP_PREFIX)}
        if floors and "engine-all-cores" in timings:
            fastest = min(floors, key=lambda name: floors[name].median)
            ratio = timings["engine-all-cores"].median / floors[fastest].median
            write(f"  engine-all-cores takes {ratio:.2f}x the fastest decompression ({fastest})")
