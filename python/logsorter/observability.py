"""Logs and metrics, the same for every function: Powertools' structured JSON
logger and CloudWatch embedded-metric-format metrics under one namespace, with
the invocation's request id on every line and one flush per invocation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

METRICS_NAMESPACE = "logsorter"


@dataclass(frozen=True)
class Observability:
    logger: Logger
    metrics: Metrics

    @classmethod
    def for_service(cls, service: str) -> Observability:
        return cls(Logger(service=service), Metrics(namespace=METRICS_NAMESPACE, service=service))

    @contextmanager
    def invocation(self, context: Any, **keys: Any) -> Iterator[None]:
        """One Lambda invocation: its request id (and ``keys``) on every log
        line, and its metrics published when it ends, however it ends."""
        self.logger.append_keys(request_id=getattr(context, "aws_request_id", None), **keys)
        # Always at least one metric, so an invocation that did nothing still
        # publishes (and Powertools does not warn about an empty set).
        self.count("Invocations")
        try:
            yield
        finally:
            self.metrics.flush_metrics()

    def count(self, name: str, value: float = 1) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def bytes(self, name: str, value: float) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Bytes, value=value)

    def milliseconds(self, name: str, value: float) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)
