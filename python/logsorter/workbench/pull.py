"""``logsorter corpus pull``: logs from the log bucket into a local corpus,
under their own keys, in parallel. Each file is written whole (a temporary
file renamed into place), so a file that is there is complete and a second
pull skips it: an interrupted pull resumes.

Which logs: every key under a prefix, or the jobs the jobs table records
with a conclusion and a completion time (the scan the backfill uses), whose
key, name and conclusion go into ``jobs.jsonl`` beside the logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from logsorter.classifier.classify import log_key
from logsorter.classifier.errors import BadRequest
from logsorter.classifier.events import request_from_fields
from logsorter.classifier.jobs_table import JobItem, scan_in_segments, scan_jobs
from logsorter.workbench.corpus import JOBS_FILE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from logsorter.storage import LocalStore, S3Store

#: Parallel segments of the jobs table scan.
SCAN_SEGMENTS = 4
_AGE = re.compile(r"(\d+)([dhm])")
_AGE_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


@dataclass(frozen=True)
class Wanted:
    """A log to pull, and the job it belongs to when the table named it."""

    key: str
    job: JobItem | None = None


@dataclass
class Pulled:
    downloaded: int = 0
    skipped: int = 0
    bytes: int = 0
    #: Keys with no object in the bucket.
    missing: list[str] = field(default_factory=list)
    #: ``key: reason`` of each download that failed.
    failed: list[str] = field(default_factory=list)


def since_timestamp(since: str, now: datetime | None = None) -> str:
    """``7d``, ``12h``, ``30m`` (before ``now``) or an ISO-8601 date or time,
    as the ISO-8601 UTC text the jobs table's times compare with."""
    now = now or datetime.now(UTC)
    age = _AGE.fullmatch(since)
    if age:
        moment = now - timedelta(**{_AGE_UNITS[age[2]]: int(age[1])})
    else:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            raise ValueError(
                f"--since {since!r}: expected an age (7d, 12h, 30m) or an ISO-8601 date"
            ) from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wanted_from_table(
    dynamodb: DynamoDBClient,
    table: str,
    *,
    conclusion: str | None,
    since: str | None,
    limit: int | None,
) -> list[Wanted]:
    """The most recent jobs (newest ``completed_at`` first) with
    ``conclusion`` finished since ``since``, at most ``limit``; items whose
    key names no job are left out."""

    def scan(segment: int) -> list[JobItem]:
        return list(
            scan_jobs(
                dynamodb,
                table,
                segment,
                SCAN_SEGMENTS,
                conclusion=conclusion,
                finished_since=since,
            )
        )

    jobs = sorted(scan_in_segments(scan, SCAN_SEGMENTS), key=lambda j: j.finished_at, reverse=True)
    wanted: list[Wanted] = []
    for job in jobs:
        repo, _, job_id = job.key.rpartition("/")
        try:
            request = request_from_fields({"repo": repo, "job_id": job_id})
        except BadRequest:
            continue
        wanted.append(Wanted(log_key(request.repo, request.job_id), job))
    return wanted[:limit]


def wanted_under_prefix(source: S3Store, prefix: str, limit: int | None) -> list[Wanted]:
    """The keys under ``prefix``, in key order, at most ``limit``."""
    wanted: list[Wanted] = []
    for key in source.list_keys(prefix):
        if len(wanted) == limit:
            break
        if not key.endswith("/"):
            wanted.append(Wanted(key))
    return wanted


def pull(
    source: S3Store,
    out: LocalStore,
    wanted: Iterable[Wanted],
    *,
    workers: int,
    progress: Callable[[], None] = lambda: None,
) -> Pulled:
    """Download each wanted log not already in ``out``; a failure is
    reported per log and stops none of the others. Writes ``jobs.jsonl``
    (merged with the one there) for the jobs whose log is in the corpus."""
    outcome = Pulled()
    wanted = list(wanted)

    def fetch(item: Wanted) -> int | str | None:
        """Bytes written, ``None`` for a log not in the bucket, or why the
        download failed; ``-1`` for a log already in the corpus."""
        try:
            if out.head(item.key) is not None:
                return -1
            blob = source.get(item.key)
            if blob is None:
                return None
            out.put(item.key, blob.data)
            return len(blob.data)
        except Exception as err:  # reported per log; one log never stops the rest
            return f"{type(err).__name__}: {err}"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for item, result in zip(wanted, pool.map(fetch, wanted), strict=True):
            if result is None:
                outcome.missing.append(item.key)
            elif isinstance(result, str):
                outcome.failed.append(f"{item.key}: {result}")
            elif result < 0:
                outcome.skipped += 1
            else:
                outcome.downloaded += 1
                outcome.bytes += result
            progress()
    missing = set(outcome.missing) | {f.partition(": ")[0] for f in outcome.failed}
    jobs = [item for item in wanted if item.job is not None and item.key not in missing]
    if jobs:
        _write_jobs(out, jobs)
    outcome.missing.sort()
    outcome.failed.sort()
    return outcome


def _write_jobs(out: LocalStore, jobs: list[Wanted]) -> None:
    existing: dict[str, dict[str, Any]] = {}
    blob = out.get(JOBS_FILE)
    for line in blob.data.decode("utf-8").splitlines() if blob else []:
        if line.strip():
            job = json.loads(line)
            existing[job["key"]] = job
    for item in jobs:
        assert item.job is not None
        existing[item.key] = {
            "key": item.key,
            "job": item.job.key,
            "name": item.job.name,
            "conclusion": item.job.conclusion,
            "finished_at": item.job.finished_at,
        }
    text = "".join(
        json.dumps(job, ensure_ascii=False) + "\n" for _, job in sorted(existing.items())
    )
    out.put(JOBS_FILE, text.encode("utf-8"))
