"""Running rulesets over a corpus at engine speed: logs are read (or
downloaded) by a pool of threads ahead of classification, gathered into
batches, and each batch is surveyed by every ruleset in one call of the
engine, which classifies one log per core with the GIL released and
decompresses each log once for all the rulesets. Memory
stays bounded: at most ``PREFETCH_BYTES`` of stored logs wait beside the
batch being surveyed.
"""

from __future__ import annotations

import resource
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from logsorter import Match, RuleSet
from logsorter._core import survey
from logsorter.workbench.corpus import Label, LoadedLog, LogRef

#: Logs read or downloaded at once.
READERS = 8
#: A batch is surveyed once it holds this many stored bytes or logs.
BATCH_BYTES = 64 << 20
BATCH_LOGS = 64
#: Stored bytes read ahead of the batch being surveyed, at most (a log
#: larger than that is read alone).
PREFETCH_BYTES = 2 * BATCH_BYTES
#: Share of the text whose per-rule times are measured: the profile is a
#: second pass over the lines each rule is tried on, so it is sampled, one
#: batch now and then, and scaled to the whole corpus.
PROFILE_SHARE = 0.05
#: Lines shown before and after a verdict's line.
WINDOW_BEFORE = 5
WINDOW_AFTER = 2


@dataclass(frozen=True)
class LogResult:
    """One ruleset's verdict on one log of the corpus."""

    name: str
    verdict: Match | None
    #: Indexes of the rules that match the log at all.
    matched: tuple[int, ...]
    #: ``(line_num, line)`` around the verdict's line.
    window: tuple[tuple[int, str], ...]
    bytes: int
    seconds: float
    rule_seconds: tuple[float, ...] | None
    #: Why the log could not be read or classified.
    error: str | None
    label: Label | None
    conclusion: str | None


@dataclass(frozen=True)
class Run:
    """Each ruleset's results, one per log in corpus order, and what the
    run cost."""

    results: list[list[LogResult]]
    seconds: float
    #: The process's peak resident memory so far.
    peak_rss_bytes: int
    #: Text bytes whose per-rule times were measured.
    profiled_bytes: int


def run(
    rulesets: Sequence[RuleSet],
    logs: Sequence[LogRef],
    *,
    threads: int | None = None,
    max_bytes: int | None = None,
    progress: Callable[[int], None] = lambda _: None,
    window: tuple[int, int] | None = None,
) -> Run:
    """Every ruleset over every log; ``progress`` is told how many logs each
    batch finished. ``window``: lines kept before and after each verdict's."""
    before, after = window or (WINDOW_BEFORE, WINDOW_AFTER)
    started = time.perf_counter()
    results: list[list[LogResult]] = [[] for _ in rulesets]
    sampler = ProfileSampler()
    for batch in _batches(logs):
        readable = [(ref, loaded) for ref, loaded in batch if isinstance(loaded, LoadedLog)]
        data = [loaded.data for _, loaded in readable]
        profile = [sampler.take(ref.size) for ref, _ in readable]
        surveyed = survey(
            rulesets,
            data,
            threads=threads,
            max_bytes=max_bytes,
            profile=profile,
            before=before,
            after=after,
        )
        for per_log, found in zip(surveyed, results, strict=True):
            surveys = iter(per_log)
            for ref, loaded in batch:
                if isinstance(loaded, LoadedLog):
                    s = next(surveys)
                    found.append(
                        LogResult(
                            ref.name,
                            s.verdict,
                            tuple(s.matched),
                            tuple(s.window),
                            s.bytes,
                            s.seconds,
                            None if s.rule_seconds is None else tuple(s.rule_seconds),
                            s.error,
                            loaded.label,
                            ref.conclusion,
                        )
                    )
                else:
                    found.append(unreadable(ref, loaded))
        progress(len(batch))
    profiled = sum(r.bytes for r in results[0] if r.rule_seconds is not None)
    return Run(results, time.perf_counter() - started, peak_rss_bytes(), profiled)


class ProfileSampler:
    """Picks the logs whose per-rule times are measured: one whenever the
    ones picked so far hold less than ``PROFILE_SHARE`` of the stored bytes
    seen, the first always, so the sample spreads over the corpus."""

    def __init__(self) -> None:
        self.seen = self.taken = 0

    def take(self, size: int) -> bool:
        chosen = self.taken <= PROFILE_SHARE * self.seen
        self.seen += size
        self.taken += size if chosen else 0
        return chosen


def unreadable(ref: LogRef, reason: str) -> LogResult:
    return LogResult(ref.name, None, (), (), 0, 0.0, None, reason, None, ref.conclusion)


def peak_rss_bytes() -> int:
    """This process's peak resident memory. Linux's ``VmHWM`` first:
    ``ru_maxrss`` survives ``exec``, so a command started by a large process
    would report that process's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    # Linux reports kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _batches(logs: Sequence[LogRef]) -> Iterator[list[tuple[LogRef, LoadedLog | str]]]:
    """The logs read, in order, in batches; a log that cannot be read comes
    with the reason instead."""
    batch: list[tuple[LogRef, LoadedLog | str]] = []
    batch_bytes = 0
    for ref, loaded in _read_ahead(logs):
        batch.append((ref, loaded))
        batch_bytes += ref.size
        if batch_bytes >= BATCH_BYTES or len(batch) >= BATCH_LOGS:
            yield batch
            batch, batch_bytes = [], 0
    if batch:
        yield batch


def _read_ahead(logs: Sequence[LogRef]) -> Iterator[tuple[LogRef, LoadedLog | str]]:
    """Each log read by the pool, in order, with at most ``PREFETCH_BYTES``
    of stored logs read ahead of the one handed out."""
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        pending: deque[tuple[LogRef, Future[LoadedLog]]] = deque()
        ahead = 0
        upcoming = iter(logs)
        exhausted = False
        while True:
            while not exhausted and (not pending or ahead < PREFETCH_BYTES):
                ref = next(upcoming, None)
                if ref is None:
                    exhausted = True
                    break
                pending.append((ref, pool.submit(ref.read)))
                ahead += ref.size
            if not pending:
                return
            ref, future = pending.popleft()
            ahead -= ref.size
            loaded: LoadedLog | str
            try:
                loaded = future.result()
            except Exception as err:  # reported per log; one log never stops the rest
                loaded = f"{type(err).__name__}: {err}"
            yield ref, loaded
