"""A corpus: logs in local folders and files or under an S3 prefix, each
with what is known about it: the lines a person named as its failure (a
fixture's marker, or a ``labels.tsv`` row) and its job's conclusion (from
the ``jobs.jsonl`` that ``logsorter corpus pull`` writes, or a label).

Logs are listed first and read later, each by its own ``read``, so that a
runner can read (or download) them ahead of classification, a few at a time.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from logsorter.classifier import fixtures

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: What ``corpus pull`` writes beside the logs: one job per line.
JOBS_FILE = "jobs.jsonl"
#: Labeled lines, as ``../shared/realworld/labels.tsv`` holds them.
LABELS_FILE = "labels.tsv"
#: The label category of a successful run: no verdict is right.
NO_FAILURE = "no-failure"
#: Files of a corpus folder that are not logs.
NOT_LOGS = frozenset({JOBS_FILE, LABELS_FILE})
SUCCESS = "success"
FAILURE = "failure"


class CorpusError(ValueError):
    """A corpus that cannot be listed; one-line message."""


@dataclass(frozen=True)
class Label:
    """The lines a person named as the failure (any of them counts as
    right); none: the right answer is no verdict."""

    lines: tuple[int, ...]

    def right(self, line_num: int | None) -> bool:
        return line_num is None if not self.lines else line_num in self.lines


@dataclass(frozen=True)
class LoadedLog:
    data: bytes
    label: Label | None


@dataclass(frozen=True)
class LogRef:
    """A log of the corpus, not read yet."""

    #: How reports name it: the path as given (a folder's logs relative to
    #: it, after its name), or ``s3://bucket/key``.
    name: str
    #: Stored bytes (compressed, for gzip).
    size: int
    read: Callable[[], LoadedLog]
    #: The job's conclusion (``success``, ``failure``, ...), when known.
    conclusion: str | None = None


def list_corpus(specs: Sequence[str], s3: Callable[[], S3Client]) -> list[LogRef]:
    """Every log that ``specs`` name, in order: folders (recursively, sorted;
    hidden files, ``jobs.jsonl``, ``labels.tsv`` and ``README*`` skipped),
    files, and ``s3://bucket/prefix`` (``s3`` makes the client, only when
    one is named). Raises ``CorpusError`` for a spec that names nothing."""
    found: list[LogRef] = []
    client: S3Client | None = None
    for spec in specs:
        if spec.startswith("s3://"):
            client = client or s3()
            found.extend(_s3_logs(client, spec))
        elif os.path.isdir(spec):
            found.extend(_folder_logs(Path(spec)))
        elif os.path.isfile(spec):
            found.append(_file_log(Path(spec), spec, Labels.beside(Path(spec).parent), None))
        else:
            raise CorpusError(f"{spec}: no such file or folder")
    return found


class Labels:
    """The labels of a ``labels.tsv``, by the resolved path of each log: a
    row's ``file`` is under ``logs/`` beside the table when there, else
    beside it."""

    def __init__(self, by_path: dict[Path, tuple[Label, str]]) -> None:
        self.by_path = by_path

    @classmethod
    def beside(cls, folder: Path) -> Labels:
        """The labels of the ``labels.tsv`` in ``folder`` or its parent
        (a corpus folder of logs beside its labels); none when neither has."""
        for candidate in (folder / LABELS_FILE, folder.parent / LABELS_FILE):
            if candidate.is_file():
                return cls.read(candidate)
        return cls({})

    @classmethod
    def read(cls, path: Path) -> Labels:
        by_path: dict[Path, tuple[Label, str]] = {}
        try:
            with path.open(newline="", encoding="utf-8") as table:
                for row in csv.DictReader(table, delimiter="\t"):
                    name = row.get("file") or ""
                    logs = path.parent / "logs" / name
                    log = logs if logs.is_file() else path.parent / name
                    lines = tuple(int(n) for n in (row.get("label_lines") or "").split(",") if n)
                    success = (row.get("category") or "") == NO_FAILURE
                    by_path[log.resolve()] = (Label(lines), SUCCESS if success else FAILURE)
        except (OSError, ValueError) as err:
            raise CorpusError(f"{path}: cannot read labels: {err}") from err
        return cls(by_path)

    def get(self, path: Path) -> tuple[Label, str] | None:
        return self.by_path.get(path.resolve())


def _folder_logs(folder: Path) -> Iterator[LogRef]:
    labels = Labels.beside(folder)
    conclusions = _conclusions(folder / JOBS_FILE)
    for directory, subdirectories, files in os.walk(folder):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for file in sorted(files):
            if file.startswith(".") or file in NOT_LOGS or file.startswith("README"):
                continue
            path = Path(directory, file)
            key = path.relative_to(folder).as_posix()
            yield _file_log(path, str(path), labels, conclusions.get(key))


def _file_log(path: Path, name: str, labels: Labels, conclusion: str | None) -> LogRef:
    labeled = labels.get(path)
    label = labeled[0] if labeled else None

    def read() -> LoadedLog:
        data = path.read_bytes()
        if path.suffix == ".txt" and _is_fixture(data):
            fixture = fixtures.parse(path)
            return LoadedLog(fixture.log.encode("utf-8"), Label(_lines(fixture.expected)))
        return LoadedLog(data, label)

    try:
        size = path.stat().st_size
    except OSError as err:
        raise CorpusError(f"{path}: {err.strerror or err}") from err
    return LogRef(name, size, read, conclusion or (labeled[1] if labeled else None))


def _lines(expected: fixtures.Verdict) -> tuple[int, ...]:
    return () if expected.line_num is None else (expected.line_num,)


def _is_fixture(data: bytes) -> bool:
    """Whether a text file carries fixture markers (then they are not log
    lines, and they say where the verdict belongs)."""
    prefixes = (fixtures.MATCH_PREFIX.encode(), fixtures.SOURCE_PREFIX.encode())
    return any(line.startswith(prefixes) for line in data.split(b"\n"))


def _conclusions(jobs: Path) -> dict[str, str]:
    """The conclusion of each log a ``jobs.jsonl`` names, by its key."""
    if not jobs.is_file():
        return {}
    found: dict[str, str] = {}
    try:
        with jobs.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                job = json.loads(line)
                if not isinstance(job, dict) or not isinstance(job.get("key"), str):
                    raise CorpusError(f"{jobs}:{number}: a job without a key")
                if isinstance(job.get("conclusion"), str):
                    found[job["key"]] = job["conclusion"]
    except (OSError, ValueError) as err:
        raise CorpusError(f"{jobs}: {err}") from err
    return found


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as ``(bucket, prefix)``."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise CorpusError(f"{url}: expected s3://BUCKET/PREFIX")
    return bucket, prefix


def _s3_logs(client: S3Client, url: str) -> list[LogRef]:
    from botocore.exceptions import BotoCoreError, ClientError

    from logsorter.storage import S3Store

    bucket, prefix = split_s3_url(url)
    store = S3Store(client, bucket)

    def reader(key: str) -> Callable[[], LoadedLog]:
        def read() -> LoadedLog:
            blob = store.get(key)
            if blob is None:
                raise FileNotFoundError(f"s3://{bucket}/{key} is gone")
            return LoadedLog(blob.data, None)

        return read

    try:
        listed = [
            LogRef(f"s3://{bucket}/{key}", info.size, reader(key))
            for key, info in store.list_objects(prefix)
            if not key.endswith("/") and key.rpartition("/")[2] not in NOT_LOGS
        ]
    except (ClientError, BotoCoreError) as err:
        raise CorpusError(f"{url}: cannot list: {err}") from err
    return listed
