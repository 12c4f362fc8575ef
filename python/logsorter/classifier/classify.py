"""Classify one job's log: read it from its store, classify it, write the
verdict onto the job's item in the jobs table. ``JobClassifier`` holds what
that needs, so the Lambda function, the backfill and the tests share this
code unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from logsorter import CorruptInputError, InputTooLargeError
from logsorter.aws import dynamodb_client, s3_client
from logsorter.classifier.config import CLIENT_LIMITS, DEFAULT_REPO, ClassifierConfig
from logsorter.classifier.errors import LogNotFound, LogTooLarge, UnreadableLog, UpstreamFailure
from logsorter.classifier.jobs_table import fit_verdict, write_verdict
from logsorter.classifier.llm import LlmJudge, needs_second_opinion
from logsorter.storage import S3Store, Store, UnsafeKey

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from logsorter import Match, RuleSet
    from logsorter.classifier.events import ClassifyRequest


@dataclass(frozen=True)
class JobVerdict:
    request: ClassifyRequest
    #: ``Match.to_dict()`` cut to the stored limits (``fit_verdict``), or
    #: ``None`` when no rule matched.
    match: dict[str, Any] | None
    log_bytes: int
    download_seconds: float
    classify_seconds: float
    #: ``0.0`` when nothing was written (no match, or a dry run).
    write_seconds: float
    written: bool
    #: What asking the language model gave (``"accepted"``, or why the
    #: engine's verdict stayed); None when it was not asked.
    llm: str | None = None


@dataclass(frozen=True)
class JobClassifier:
    """The configuration (with the compiled ruleset), a store for each log
    bucket and the DynamoDB client: built once per container or command."""

    config: ClassifierConfig
    logs: Store
    temp_logs: Store
    dynamodb: DynamoDBClient
    llm: LlmJudge | None = None

    @classmethod
    def from_config(cls, config: ClassifierConfig) -> JobClassifier:
        s3 = s3_client(CLIENT_LIMITS)
        return cls(
            config,
            logs=S3Store(s3, config.log_bucket),
            temp_logs=S3Store(s3, config.temp_log_bucket),
            dynamodb=dynamodb_client(CLIENT_LIMITS),
            llm=LlmJudge.from_config(config.llm) if config.llm else None,
        )

    def log_location(self, request: ClassifyRequest) -> tuple[Store, str]:
        """The store and key of the job's log."""
        if request.temp_log:
            return self.temp_logs, f"temp_logs/{request.job_id}"
        return self.logs, log_key(request.repo, request.job_id)

    def baseline_log(self, request: ClassifyRequest) -> bytes | None:
        """The log of the passing run the request names, read the same way
        as the job's own; None when it names none or that log is gone (the
        job is then classified on its own)."""
        if request.baseline_job_id is None:
            return None
        passing = replace(request, job_id=request.baseline_job_id, temp_log=False)
        store, key = self.log_location(passing)
        try:
            return read_log(store, key, f"{store.describe()}/{key}")
        except LogNotFound:
            return None

    def classify(self, request: ClassifyRequest) -> JobVerdict:
        """Classify the job's log and, if a rule matched and ``request.write``,
        record the verdict (cut to fit the item) and the ruleset digest in one
        ``UpdateItem``.

        Raises ``LogNotFound``, ``UnreadableLog``, ``JobNotInTable`` or
        ``UpstreamFailure``; nothing is written in any of those cases.
        """
        ruleset = self.config.ruleset
        store, key = self.log_location(request)
        where = f"{store.describe()}/{key}"
        started = time.perf_counter()
        data = read_log(store, key, where)
        baseline = self.baseline_log(request)
        downloaded = time.perf_counter()
        match = classify_log(
            ruleset,
            data,
            context_depth=request.context_depth,
            where=where,
            max_bytes=self.config.max_log_bytes,
            baseline=baseline,
        )
        asked = None
        if self.llm is not None and match is not None and needs_second_opinion(ruleset, match):
            opinion = self.llm.second_opinion(
                ruleset,
                data,
                match,
                context_depth=request.context_depth,
                max_bytes=self.config.max_log_bytes,
            )
            match, asked = opinion.match or match, opinion.outcome
        classified = time.perf_counter()
        verdict = fit_verdict(match.to_dict()) if match is not None else None
        written = False
        if verdict is not None and request.write:
            write_verdict(
                self.dynamodb,
                self.config.jobs_table,
                request,
                verdict,
                ruleset.digest,
                create_missing=self.config.create_missing_jobs,
            )
            written = True
        return JobVerdict(
            request=request,
            match=verdict,
            log_bytes=len(data),
            download_seconds=downloaded - started,
            classify_seconds=classified - downloaded,
            write_seconds=time.perf_counter() - classified if written else 0.0,
            written=written,
            llm=asked,
        )


def log_key(repo: str, job_id: int) -> str:
    """The key of a job's (final) log in the log bucket: ``log/{job_id}``
    for the default repo, ``log/{repo}/{job_id}`` for the others."""
    if repo == DEFAULT_REPO:
        return f"log/{job_id}"
    return f"log/{repo}/{job_id}"


def read_log(store: Store, key: str, where: str) -> bytes:
    """The log's bytes; a store's failures as the classifier reports them."""
    try:
        blob = store.get(key)
    except UnsafeKey as err:
        # A key the store refuses can hold no log.
        raise LogNotFound(f"no log at {where}") from err
    except (ClientError, BotoCoreError) as err:
        raise UpstreamFailure(f"S3 GetObject {where} failed: {err}") from err
    if blob is None:
        raise LogNotFound(f"no log at {where}")
    return blob.data


def classify_log(
    ruleset: RuleSet,
    data: bytes,
    *,
    context_depth: int,
    where: str,
    max_bytes: int | None,
    baseline: bytes | None,
) -> Match | None:
    """The ruleset's verdict; a log it cannot read (corrupt or truncated gzip)
    is an ``UnreadableLog``, one above ``max_bytes`` decompressed (or that
    does not fit in memory) a ``LogTooLarge``."""
    try:
        return ruleset.classify(data, context_depth, baseline, max_bytes=max_bytes)
    except CorruptInputError as err:
        raise UnreadableLog(f"{where} is not a readable log: {err}") from err
    except InputTooLargeError as err:
        raise LogTooLarge(f"{where}: {err}") from err
    except MemoryError as err:
        raise LogTooLarge(f"{where} does not fit in this function's memory: {err}") from err
