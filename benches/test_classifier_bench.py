"""Classifier Lambda speed: warm overhead of the handler beyond the S3 GET and
the engine, and the cold start of the handler module with its ruleset next to
boto3's own (import plus two clients)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from logsorter import RuleSet
from moto.server import ThreadedMotoServer
from support.events import api_event

JOB_ID = 777
#: A passing job's log of about 4 MB ending in one failure, as CI writes them.
LOG = (
    "".join(
        f"2026-01-05T10:{i % 60:02d}:00.0000000Z test_big.py::TestBig::test_{i} PASSED\n"
        for i in range(60_000)
    )
    + "2026-01-05T11:00:00.0000000Z FAILED test_big.py::TestBig::test_x - AssertionError\n"
).encode()
COLD_HANDLER = (
    "from logsorter import handlers; from logsorter.classifier.app import ClassifierApp; "
    "ClassifierApp.from_env()"
)
COLD_BOTO3 = "import boto3; boto3.client('s3'); boto3.client('dynamodb')"


@pytest.fixture(scope="module")
def moto(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch_module.setenv(name, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="ossci-raw-job-status")
    s3.put_object(Bucket="ossci-raw-job-status", Key=f"log/{JOB_ID}", Body=gzip.compress(LOG))
    yield endpoint
    server.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_warm_handler_on_a_4mb_log(benchmark: Any, moto: str) -> None:
    from logsorter import handlers

    event = api_event(job_id=JOB_ID, write="false")
    handlers.classify(event, None)  # the container's first call builds its state
    response = benchmark(handlers.classify, event, None)
    assert response["statusCode"] == 200


def test_s3_get_alone(benchmark: Any, moto: str) -> None:
    s3 = boto3.client("s3")

    def get() -> bytes:
        return s3.get_object(Bucket="ossci-raw-job-status", Key=f"log/{JOB_ID}")["Body"].read()

    assert gzip.decompress(benchmark(get)) == LOG


def test_engine_alone_on_the_same_bytes(benchmark: Any) -> None:
    ruleset = RuleSet.default()
    data = gzip.compress(LOG)
    match = benchmark(ruleset.classify, data)
    assert match is not None


@pytest.mark.parametrize(("label", "code"), [("handler", COLD_HANDLER), ("boto3", COLD_BOTO3)])
def test_cold_start(benchmark: Any, label: str, code: str) -> None:
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    benchmark.pedantic(
        subprocess.run,
        args=([sys.executable, "-c", code],),
        kwargs={"check": True, "env": env},
        rounds=8,
        warmup_rounds=1,
    )
