"""The one place AWS clients are made, so both functions retry the same way.

Every call the functions make is idempotent or conditional (a verdict
``UpdateItem``, a ``PutObject`` by key, a compare-and-swap), so throttling and
dropped connections are retried. Clients honour the standard
``AWS_ENDPOINT_URL*`` and region variables.

How long a call may take is bounded by its ``ClientLimits``: at most
``max_attempts`` times (connect plus read timeout) plus the backoff between
attempts. A function picks limits whose worst case fits its Lambda timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class ClientLimits:
    #: Attempts per call, the first included (botocore's "standard" retry mode).
    max_attempts: int = 5
    connect_timeout_seconds: float = 5
    #: The longest wait for the next bytes of a response, not for all of it.
    read_timeout_seconds: float = 60


#: The collator's and the command line's: long reads of large uploads.
DEFAULT_LIMITS = ClientLimits()


def client_config(limits: ClientLimits = DEFAULT_LIMITS) -> Config:
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": limits.max_attempts},
        connect_timeout=limits.connect_timeout_seconds,
        read_timeout=limits.read_timeout_seconds,
        max_pool_connections=32,
    )


def s3_client(limits: ClientLimits = DEFAULT_LIMITS) -> S3Client:
    import boto3

    return boto3.session.Session().client("s3", config=client_config(limits))


def dynamodb_client(limits: ClientLimits = DEFAULT_LIMITS) -> DynamoDBClient:
    import boto3

    return boto3.session.Session().client("dynamodb", config=client_config(limits))


def bedrock_runtime_client(limits: ClientLimits = DEFAULT_LIMITS) -> BedrockRuntimeClient:
    import boto3

    return boto3.session.Session().client("bedrock-runtime", config=client_config(limits))


def sqs_client(limits: ClientLimits = DEFAULT_LIMITS) -> SQSClient:
    import boto3

    return boto3.session.Session().client("sqs", config=client_config(limits))
