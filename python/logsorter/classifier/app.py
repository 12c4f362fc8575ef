"""The classifier as a Lambda function: event dispatch, HTTP-shaped
responses, and a log line and metrics for every job, around
``JobClassifier.classify``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from logsorter.classifier.classify import JobClassifier, JobVerdict
from logsorter.classifier.config import ClassifierConfig
from logsorter.classifier.errors import ClassifyError
from logsorter.classifier.events import (
    ClassifyRequest,
    event_kind,
    request_from_api,
    request_from_fields,
    request_from_s3_record,
    requests_from_sqs_body,
)
from logsorter.observability import Observability

SERVICE = "classifier"
NO_MATCH_BODY = "No match found"

Response = dict[str, Any]


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
        with self.observability.invocation(context, ruleset_digest=self.config.ruleset.digest):
            return self._dispatch(event)

    def _dispatch(self, event: Any) -> Response:
        try:
            kind = event_kind(event)
        except ClassifyError as err:
            return http_response(err.status, str(err))
        if kind == "sqs":
            return self.handle_sqs(event)
        if kind == "s3":
            return self.handle_s3(event)
        try:
            request = request_from_api(event) if kind == "api" else request_from_fields(event)
        except ClassifyError as err:
            self.logger.warning("bad request", extra={"error": str(err)})
            return http_response(err.status, str(err))
        return self.handle_request(request)

    def handle_request(self, request: ClassifyRequest) -> Response:
        """One request to an HTTP-shaped response; never raises."""
        try:
            verdict = self.classify(request)
        except ClassifyError as err:
            return http_response(err.status, str(err))
        except Exception:
            # A bug: the traceback goes to the log, never into the response.
            self.logger.exception("classification crashed", extra={"job": request.dynamo_key})
            return http_response(500, "internal error; see the function's log")
        if verdict.match is None:
            return http_response(200, NO_MATCH_BODY)
        return http_response(200, json.dumps(verdict.match, ensure_ascii=False), "application/json")

    def handle_s3(self, event: Mapping[str, Any]) -> Response:
        """Classify each notified log. Raises when one failed for a reason that
        may pass, so that Lambda's asynchronous retry tries the event again."""
        statuses: dict[str, int] = {}
        for record in event["Records"]:
            key = str(record.get("s3", {}).get("object", {}).get("key"))
            try:
                self.classify(request_from_s3_record(record, self.config))
                statuses[key] = 200
            except ClassifyError as err:
                statuses[key] = err.status
                if err.retryable:
                    raise
        return {"statuses": statuses}

    def handle_sqs(self, event: Mapping[str, Any]) -> Response:
        """Classify each message's requests; messages with any failure are
        reported back so that only they return to the queue."""
        failures = []
        for message in event["Records"]:
            try:
                for request in requests_from_sqs_body(message.get("body", ""), self.config):
                    self.classify(request)
            except ClassifyError:
                failures.append({"itemIdentifier": message.get("messageId")})
            except Exception:
                self.logger.exception(
                    "message crashed", extra={"message": message.get("messageId")}
                )
                failures.append({"itemIdentifier": message.get("messageId")})
        return {"batchItemFailures": failures}

    def classify(self, request: ClassifyRequest) -> JobVerdict:
        """``JobClassifier.classify`` with a log line and metrics for every
        outcome."""
        job = {"job": request.dynamo_key, "temp_log": request.temp_log}
        try:
            verdict = self.jobs.classify(request)
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
            },
        )
        self.observability.count("Classified")
        self.observability.count("Matched" if verdict.match else "Unmatched")
        self.observability.bytes("LogBytes", verdict.log_bytes)
        self.observability.milliseconds("DownloadTime", timings["download_ms"])
        self.observability.milliseconds("ClassifyTime", timings["classify_ms"])
        if verdict.written:
            self.observability.milliseconds("WriteTime", timings["write_ms"])


def http_response(
    status: int, body: str, content_type: str = "text/plain; charset=utf-8"
) -> Response:
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}
