"""A jobs table and log buckets on the moto server, and a classifier handler
that builds its per-container state afresh for each test."""

from __future__ import annotations

import boto3
import pytest
from classifier_stack import LOG_BUCKET, TABLE, TEMP_LOG_BUCKET, Stack
from logsorter import handlers
from logsorter.classifier.jobs_table import KEY_ATTRIBUTE


@pytest.fixture
def stack(aws: str) -> Stack:
    s3 = boto3.client("s3")
    for bucket in (LOG_BUCKET, TEMP_LOG_BUCKET):
        s3.create_bucket(Bucket=bucket)
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
    )
    return Stack(s3=s3, dynamodb=dynamodb, sqs=boto3.client("sqs"))


@pytest.fixture(autouse=True)
def fresh_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold container: the handler builds clients and ruleset from the
    environment this test set, as Lambda does on a new instance."""
    monkeypatch.setattr(handlers, "_classifier", None)
