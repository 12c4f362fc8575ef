"""The classifier's configuration, read from the environment once per
container or command: where logs are read and verdicts written, and the
compiled ruleset."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from logsorter import RuleSet
from logsorter.rulesets import load_ruleset

DEFAULT_REPO = "pytorch/pytorch"
DEFAULT_LOG_BUCKET = "ossci-raw-job-status"
DEFAULT_TEMP_LOG_BUCKET = "gha-artifacts"
DEFAULT_JOBS_TABLE = "torchci-workflow-job"


@dataclass(frozen=True)
class ClassifierConfig:
    ruleset: RuleSet
    log_bucket: str = DEFAULT_LOG_BUCKET
    temp_log_bucket: str = DEFAULT_TEMP_LOG_BUCKET
    jobs_table: str = DEFAULT_JOBS_TABLE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ClassifierConfig:
        """``LOGSORTER_*`` variables, each falling back to its default when
        unset or empty; ``LOGSORTER_RULESET`` is a ruleset TOML path (else the
        packaged ruleset). Raises ``OSError`` or ``ValueError`` when the
        ruleset does not load."""
        return cls(
            ruleset=load_ruleset(environ.get("LOGSORTER_RULESET") or None),
            log_bucket=environ.get("LOGSORTER_LOG_BUCKET") or DEFAULT_LOG_BUCKET,
            temp_log_bucket=environ.get("LOGSORTER_TEMP_LOG_BUCKET") or DEFAULT_TEMP_LOG_BUCKET,
            jobs_table=environ.get("LOGSORTER_JOBS_TABLE") or DEFAULT_JOBS_TABLE,
        )
