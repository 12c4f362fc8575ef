"""The classifier as a Lambda function: event dispatch, HTTP-shaped
responses, a deadline per invocation, and a log line and metrics for every
job and every batch record, around ``JobClassifier.classify``.

A batch (an S3 notification, an SQS batch) handles each record on its own,
whatever it raises. A record that failed for a reason that may pass is tried
again (SQS: listed in ``batchItemFailures``; S3: the event raises once every
record is done); a permanent failure (bad request, missing log or job,
unreadable log) is logged and counted but never redelivered, since it would
fail the same way every time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from functools import partial
from typing import Any, TypeVar

from logsorter.classifier.classify import JobClassifier, JobVerdict
from logsorter.classifier.config import ClassifierConfig
from logsorter.classifier.errors import ClassifyError, DeadlineExceeded, RetryableRecords
from logsorter.classifier.events import (
    ClassifyRequest,
    EventKind,
    event_from_sqs_message,
    event_kind,
    request_from_api,
    request_from_fields,
    request_from_s3_record,
    s3_record_location,
)
from logsorter.observability import Observability

SERVICE = "classifier"
NO_MATCH_BODY = "No match found"
#: Kept back from the invocation's remaining time to answer, log and publish
#: metrics before Lambda stops the function.
ANSWER_MARGIN_SECONDS = 1.0

Response = dict[str, Any]
T = TypeVar("T")


class ClassifierApp:
    """Everything a container builds once: configuration, clients, compiled
    ruleset, logger and metrics."""

    def __init__(self, jobs: JobClassifier, observability: Observability) -> None:
        self.jobs = jobs
        self.config = jobs.config
        self.observability = observability
        self.logger = observability.logger

    @classmethod
    def from_env(cls) -> ClassifierApp:
        config = ClassifierConfig.from_env()
        return cls(JobClassifier.from_config(config), Observability.for_service(SERVICE))

    def handle_event(self, event: Any, context: Any) -> Response:
        deadline = invocation_deadline(context)
        with self.observability.invocation(context, ruleset_digest=self.config.ruleset.digest):
            return self._dispatch(event, deadline)

    def _dispatch(self, event: Any, deadline: float | None) -> Response:
        try:
            kind = event_kind(event)
        except ClassifyError as err:
            self.logger.warning("bad request", extra={"error": str(err)})
            return http_response(err.status, str(err))
        if kind == "sqs":
            return self.handle_sqs(event["Records"], deadline)
        if kind in ("s3", "object_created"):
            statuses = self.handle_s3(s3_records(event, kind), deadline)
            raise_if_retryable(statuses)
            return {"statuses": {key: status for key, (status, _) in statuses.items()}}
        return self.handle_request(event, kind, deadline)

    def handle_request(
        self, event: Mapping[str, Any], kind: EventKind, deadline: float | None
    ) -> Response:
        """An API or direct event to an HTTP-shaped response; never raises."""
        try:
            request = request_from_api(event) if kind == "api" else request_from_fields(event)
        except ClassifyError as err:
            self.logger.warning("bad request", extra={"error": str(err)})
            return http_response(err.status, str(err))
        try:
            verdict = self.classify(request, deadline)
        except ClassifyError as err:
            return http_response(err.status, str(err))
        except Exception:
            # A bug: the traceback goes to the log, never into the response.
            self.logger.exception("classification crashed", extra={"job": request.dynamo_key})
            return http_response(500, "internal error; see the function's log")
        if verdict.match is None:
            return http_response(200, NO_MATCH_BODY)
        return http_response(200, json.dumps(verdict.match, ensure_ascii=False), "application/json")

    def handle_s3(self, records: list[Any], deadline: float | None) -> dict[str, tuple[int, bool]]:
        """Classify each notified log (S3 records or EventBridge events): its
        status and whether to try it again, by key (by position for a record
        that names no object)."""
        statuses: dict[str, tuple[int, bool]] = {}
        for index, record in enumerate(records):
            try:
                name = s3_record_location(record)[1]
            except ClassifyError:
                name = f"Records[{index}]"
            attempt = partial(self._classify_s3_record, record, deadline)
            statuses[name] = self._settle(attempt, {"s3_key": name})
        return statuses

    def handle_sqs(self, messages: list[Any], deadline: float | None) -> Response:
        """Classify each message's requests; only the messages that may
        succeed later are reported back, so that only they return to the queue."""
        failures = []
        for message in messages:
            message_id = message.get("messageId") if isinstance(message, Mapping) else None
            attempt = partial(self._classify_sqs_message, message, deadline)
            _, retry = self._settle(attempt, {"message_id": message_id})
            if retry:
                failures.append({"itemIdentifier": message_id})
        return {"batchItemFailures": failures}

    def _classify_s3_record(self, record: object, deadline: float | None) -> None:
        self.classify(request_from_s3_record(record, self.config), deadline)

    def _classify_sqs_message(self, message: object, deadline: float | None) -> None:
        event = event_from_sqs_message(message)
        if event is None:
            return
        kind = event_kind(event)
        if kind == "direct":
            self.classify(request_from_fields(event), deadline)
            return
        raise_if_retryable(self.handle_s3(s3_records(event, kind), deadline))

    def _settle(self, attempt: Callable[[], None], where: dict[str, Any]) -> tuple[int, bool]:
        """One batch record's ``attempt``, whatever it raises: its status and
        whether it is to be tried again."""
        try:
            attempt()
        except ClassifyError as err:
            outcome = {**where, "status": err.status, "error": str(err)}
            if err.retryable:
                self.observability.count("RetriedRecords")
                self.logger.warning("record failed, to be tried again", extra=outcome)
            else:
                self.observability.count("DroppedRecords")
                self.logger.warning("record dropped, it would fail again", extra=outcome)
            return err.status, err.retryable
        except Exception:
            # A bug. Tried again, so that a record that keeps crashing ends on
            # the dead-letter queue instead of being lost.
            self.observability.count("CrashedRecords")
            self.logger.exception("record crashed", extra=where)
            return 500, True
        return 200, False

    def classify(self, request: ClassifyRequest, deadline: float | None) -> JobVerdict:
        """``JobClassifier.classify``, answered by ``deadline``, with a log line
        and metrics for every outcome."""
        job = {"job": request.dynamo_key, "temp_log": request.temp_log}
        try:
            verdict = call_before(deadline, partial(self.jobs.classify, request))
        except ClassifyError as err:
            self.observability.count(f"Failed{err.status}")
            self.logger.warning(
                "not classified", extra={**job, "status": err.status, "error": str(err)}
            )
            raise
        self.record(verdict)
        return verdict

    def record(self, verdict: JobVerdict) -> None:
        timings = {
            "download_ms": round(verdict.download_seconds * 1000, 3),
            "classify_ms": round(verdict.classify_seconds * 1000, 3),
            "write_ms": round(verdict.write_seconds * 1000, 3),
        }
        self.logger.info(
            "classified",
            extra={
                "job": verdict.request.dynamo_key,
                "temp_log": verdict.request.temp_log,
                "rule": verdict.match and verdict.match["rule"],
                "written": verdict.written,
                "log_bytes": verdict.log_bytes,
                **timings,
                **({"llm": verdict.llm} if verdict.llm is not None else {}),
            },
        )
        if verdict.llm is not None:
            # Answers taken, and fallbacks to the engine's verdict (the log
            # line says why).
            self.observability.count("LlmAnswers" if verdict.llm == "accepted" else "LlmFallbacks")
        self.observability.count("Classified")
        self.observability.count("Matched" if verdict.match else "Unmatched")
        self.observability.bytes("LogBytes", verdict.log_bytes)
        self.observability.milliseconds("DownloadTime", timings["download_ms"])
        self.observability.milliseconds("ClassifyTime", timings["classify_ms"])
        if verdict.written:
            self.observability.milliseconds("WriteTime", timings["write_ms"])


def invocation_deadline(context: Any) -> float | None:
    """When (on ``time.monotonic()``) the invocation's answer must be ready:
    Lambda's remaining time less the margin. ``None`` without a Lambda
    context (an in-process call), which has no time limit."""
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining_ms):
        return None
    remaining_seconds: float = remaining_ms() / 1000
    return time.monotonic() + remaining_seconds - ANSWER_MARGIN_SECONDS


def call_before(deadline: float | None, call: Callable[[], T]) -> T:
    """``call()``, or ``DeadlineExceeded`` if it has not returned by
    ``deadline``. A late call goes on in its own thread until the client
    time-outs end it, and its result is dropped: nothing in Python can stop a
    thread blocked on a socket, and every write it may still make is one the
    retry makes again."""
    if deadline is None:
        return call()
    if time.monotonic() >= deadline:
        raise DeadlineExceeded("timed out: no time left in this invocation")
    result: Future[T] = Future()

    def run() -> None:
        try:
            result.set_result(call())
        except BaseException as err:  # handed to the caller, whatever it is
            result.set_exception(err)

    threading.Thread(target=run, name="classify-before-deadline", daemon=True).start()
    wait_for([result], timeout=max(0.0, deadline - time.monotonic()))
    if not result.done():
        raise DeadlineExceeded("timed out before the function's deadline; try again")
    return result.result()


def s3_records(event: Mapping[str, Any], kind: EventKind) -> list[Any]:
    """The records of an S3 notification; an EventBridge event is its own one."""
    return [event] if kind == "object_created" else list(event["Records"])


def raise_if_retryable(statuses: Mapping[str, tuple[int, bool]]) -> None:
    """``RetryableRecords`` when any of the records is to be tried again."""
    retry = [f"{key} ({status})" for key, (status, again) in statuses.items() if again]
    if retry:
        raise RetryableRecords(
            f"{len(retry)} of {len(statuses)} to be tried again: {', '.join(retry)}"
        )


def http_response(
    status: int, body: str, content_type: str = "text/plain; charset=utf-8"
) -> Response:
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}
