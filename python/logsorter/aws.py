"""The one place AWS clients are made, so both functions retry the same way.

Every call the functions make is idempotent or conditional (a verdict
``UpdateItem``, a ``PutObject`` by key, a compare-and-swap), so throttling and
dropped connections are retried. Clients honour the standard
``AWS_ENDPOINT_URL*`` and region variables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

#: Attempts per call, the first included (botocore's "standard" retry mode).
MAX_ATTEMPTS = 5
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 60


def client_config() -> Config:
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        max_pool_connections=32,
    )


def s3_client() -> S3Client:
    import boto3

    return boto3.session.Session().client("s3", config=client_config())


def dynamodb_client() -> DynamoDBClient:
    import boto3

    return boto3.session.Session().client("dynamodb", config=client_config())


def sqs_client() -> SQSClient:
    import boto3

    return boto3.session.Session().client("sqs", config=client_config())
