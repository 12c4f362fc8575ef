"""Where the classifier reads logs and writes verdicts, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

    from logsorter import RuleSet

DEFAULT_REPO = "pytorch/pytorch"
DEFAULT_CONTEXT_DEPTH = 12

#: Verdict attributes on the job item; temp logs get their own so that a
#: verdict on a partial log never hides the final one.
VERDICT_ATTRIBUTE = "torchci_classification"
TEMP_VERDICT_ATTRIBUTE = "torchci_classification_temp"
#: Suffix of the attribute recording the ruleset digest beside a verdict.
DIGEST_SUFFIX = "_digest"


@dataclass(frozen=True)
class ClassifierConfig:
    log_bucket: str = "ossci-raw-job-status"
    temp_log_bucket: str = "gha-artifacts"
    jobs_table: str = "torchci-workflow-job"
    #: Ruleset TOML path; ``None`` selects the packaged ruleset.
    ruleset_path: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ClassifierConfig:
        defaults = cls()
        return cls(
            log_bucket=environ.get("LOGSORTER_LOG_BUCKET") or defaults.log_bucket,
            temp_log_bucket=environ.get("LOGSORTER_TEMP_LOG_BUCKET") or defaults.temp_log_bucket,
            jobs_table=environ.get("LOGSORTER_JOBS_TABLE") or defaults.jobs_table,
            ruleset_path=environ.get("LOGSORTER_RULESET") or None,
        )

    def load_ruleset(self) -> RuleSet:
        from logsorter import RuleSet

        if self.ruleset_path is None:
            return RuleSet.default()
        return RuleSet.from_file(self.ruleset_path)


def aws_client_config() -> Config:
    """Retries for throttling and dropped connections (every call the
    classifier makes is idempotent), and timeouts well inside a Lambda's."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,
    )


@dataclass(frozen=True)
class ClassifierClients:
    s3: S3Client
    dynamodb: DynamoDBClient

    @classmethod
    def create(cls) -> ClassifierClients:
        """Clients honouring the standard ``AWS_ENDPOINT_URL*`` and region
        variables."""
        import boto3

        session = boto3.session.Session()
        config = aws_client_config()
        return cls(
            s3=session.client("s3", config=config),
            dynamodb=session.client("dynamodb", config=config),
        )


def create_sqs_client() -> SQSClient:
    import boto3

    return boto3.session.Session().client("sqs", config=aws_client_config())
