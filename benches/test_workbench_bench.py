"""``logsorter rules stats`` and ``rules diff`` over a corpus of about 1 GB
of gzip logs (250 files of about 4 MB of text), beside a plain loop that
calls ``RuleSet.classify`` on each file, with the default ruleset.

Targets: ``rules stats`` at least 500 MB/s of text on this 2-core machine;
``rules diff`` at most 2.2x ``rules stats``. The corpus is built at bench
time from the shared bench logs.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import INPUT_BYTES, TIMINGS, Timing, read_bench_log
from logsorter import DEFAULT_RULESET_PATH, RuleSet
from logsorter.cli import main

FILES = 250
FILE_BYTES = 4 * 1000 * 1000
#: Distinct logs the corpus is made of, each compressed once (one gzip
#: member, as logs are stored) and written under several names.
VARIANTS = 25
GROUP = "rules stats, 250 gzip logs of 4 MB"
ROUNDS = 3


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The corpus folder and its bytes of text: failing and successful jobs,
    each repeated to at least 4 MB and made distinct by its first line."""
    failing = gzip.decompress(read_bench_log("ci-log-pytest-failure.txt.gz"))
    passing = gzip.decompress(read_bench_log("ci-log-success.txt.gz"))
    folder = tmp_path_factory.mktemp("corpus")
    variants = []
    for variant in range(VARIANTS):
        base = failing if variant % 2 else passing
        text = f"corpus variant {variant}\n".encode() + base * -(-FILE_BYTES // len(base))
        variants.append((len(text), gzip.compress(text, compresslevel=6)))
    text_bytes = 0
    for n in range(FILES):
        size, compressed = variants[n % VARIANTS]
        (folder / f"{n:03}.log.gz").write_bytes(compressed)
        text_bytes += size
    return folder, text_bytes


def record(benchmark: Any, implementation: str, text_bytes: int) -> None:
    if benchmark.stats is not None:
        stats = benchmark.stats.stats
        benchmark.extra_info["MB/s"] = round(text_bytes / 1e6 / stats.median, 1)
        TIMINGS[GROUP][implementation] = Timing(stats.median, stats.min)
        INPUT_BYTES[GROUP] = text_bytes


def quiet_main(args: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(args) == 0
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.benchmark(group=GROUP)
def test_rules_stats(benchmark: Any, corpus: tuple[Path, int]) -> None:
    folder, text_bytes = corpus
    out = benchmark.pedantic(
        quiet_main, args=(["rules", "stats", "--format", "json", str(folder)],), rounds=ROUNDS
    )
    assert json.loads(out)["summary"]["logs"] == FILES
    record(benchmark, "rules stats", text_bytes)


@pytest.mark.slow
@pytest.mark.benchmark(group=GROUP)
def test_classify_loop(benchmark: Any, corpus: tuple[Path, int]) -> None:
    folder, text_bytes = corpus
    ruleset = RuleSet.default()

    def loop() -> int:
        return sum(ruleset.classify(p.read_bytes()) is not None for p in sorted(folder.iterdir()))

    failing = sum(n % VARIANTS % 2 for n in range(FILES))
    assert benchmark.pedantic(loop, rounds=ROUNDS) == failing
    record(benchmark, "classify loop", text_bytes)


@pytest.mark.slow
@pytest.mark.benchmark(group=GROUP)
def test_rules_diff(benchmark: Any, corpus: tuple[Path, int]) -> None:
    folder, text_bytes = corpus
    args = ["rules", "diff", "--format", "json", "--base", DEFAULT_RULESET_PATH, str(folder)]
    out = benchmark.pedantic(quiet_main, args=(args,), rounds=ROUNDS)
    assert json.loads(out)["changed"] == 0
    record(benchmark, "rules diff", text_bytes)
    timings = TIMINGS[GROUP]
    if {"rules stats", "classify loop"} <= timings.keys():
        stats, loop = timings["rules stats"].median, timings["classify loop"].median
        print(
            f"\nrules stats is {loop / stats:.2f}x the classify loop; diff is "
            f"{timings['rules diff'].median / stats:.2f}x stats"
        )


@pytest.mark.slow
def test_rules_stats_peak_rss(corpus: tuple[Path, int]) -> None:
    """Peak resident memory of ``rules stats`` in a process of its own."""
    folder, _ = corpus
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "logsorter"),
            "rules",
            "stats",
            "--format",
            "json",
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(done.stdout)["summary"]
    print(
        f"\nrules stats alone: {summary['mb_per_s']} MB/s, peak RSS "
        f"{summary['peak_rss_bytes'] >> 20} MiB"
    )
    assert summary["error"]["logs"] == 0
