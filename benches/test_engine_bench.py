"""The one-pass engine beside the naive Rust scan and the plain-``re`` baseline,
on the same real CI logs with the upstream ruleset.

Each group is one input; within it the three implementations are timed in the
same run, so the table compares them directly. Every timed call's verdict is
also checked against the engine's, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import deflate
import pytest
from conftest import GUNZIP_PREFIX, BenchLog, record_timing
from isal import igzip
from zlib_ng import gzip_ng

#: "engine" runs on one thread; see ENGINE_THREADS in conftest.py.
IMPLEMENTATIONS = ("engine", "naive", "baseline")
BIG_LOG_IMPLEMENTATIONS = ("engine", "engine-all-cores", "naive", "baseline")
#: Rounds for the 100 MB inputs; the baseline takes over a minute per round.
BIG_ROUNDS = {"engine": 5, "engine-all-cores": 5, "naive": 3, "baseline": 1}

Measure = Callable[..., None]


@pytest.mark.benchmark(group="pytest-failure log")
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_pytest_failure_log(measure: Measure, implementation: str) -> None:
    measure("pytest-failure log", implementation, "failing_job_log")


@pytest.mark.benchmark(group="success log")
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_success_log(measure: Measure, implementation: str) -> None:
    measure("success log", implementation, "passing_job_log")


#: Group (one per input) -> the fixture of a ~100 MB plain-text log.
BIG_PLAIN_LOGS = {
    "100 MB no-match log, plain": "big_plain_log",
    "100 MB failing-job log, plain": "big_failing_log",
}


@pytest.mark.slow
@pytest.mark.parametrize("implementation", BIG_LOG_IMPLEMENTATIONS)
@pytest.mark.parametrize("group", list(BIG_PLAIN_LOGS))
def test_big_plain_log(measure: Measure, group: str, implementation: str) -> None:
    measure(group, implementation, BIG_PLAIN_LOGS[group], rounds=BIG_ROUNDS[implementation])


@pytest.mark.slow
@pytest.mark.benchmark(group="100 MB no-match log, gzip")
@pytest.mark.parametrize("implementation", ["engine", "engine-all-cores", "naive"])
def test_big_gzip_log(measure: Measure, implementation: str) -> None:
    group = "100 MB no-match log, gzip"
    measure(group, implementation, "big_gzip_log", rounds=BIG_ROUNDS[implementation])


#: Decompression alone, the floor for gzip input, by each library on the same
#: bytes: libdeflate (what the engine decompresses with), ISA-L, zlib-ng and
#: zlib. The last three also decompress as a stream, which an engine
#: overlapping decompression with its search would need.
DECODERS = {
    "libdeflate": deflate.gzip_decompress,
    "ISA-L": igzip.decompress,
    "zlib-ng": gzip_ng.decompress,
    "zlib": gzip.decompress,
}


@pytest.mark.slow
@pytest.mark.benchmark(group="100 MB no-match log, gzip")
@pytest.mark.parametrize("decoder", list(DECODERS))
def test_big_gzip_decompression_alone(benchmark: Any, big_gzip_log: BenchLog, decoder: str) -> None:
    text = benchmark.pedantic(DECODERS[decoder], args=(big_gzip_log.data,), rounds=5, iterations=1)
    assert len(text) == big_gzip_log.text_bytes
    record_timing(
        benchmark, "100 MB no-match log, gzip", GUNZIP_PREFIX + decoder, big_gzip_log.text_bytes
    )
