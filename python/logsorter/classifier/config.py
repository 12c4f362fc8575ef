"""The classifier's configuration, read from the environment once per
container or command: where logs are read and verdicts written, whether a
verdict may create a job's item, the compiled ruleset, and the optional
language-model fallback."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from logsorter import RuleSet
from logsorter.aws import ClientLimits
from logsorter.classifier.llm import LlmConfig
from logsorter.limits import ceiling
from logsorter.rulesets import load_ruleset

DEFAULT_REPO = "pytorch/pytorch"
DEFAULT_LOG_BUCKET = "ossci-raw-job-status"
DEFAULT_TEMP_LOG_BUCKET = "gha-artifacts"
DEFAULT_JOBS_TABLE = "torchci-workflow-job"
MAX_LOG_ENV = "LOGSORTER_MAX_LOG_MB"
#: Worst case of one S3 or DynamoDB call: 3 x (2 s + 10 s) plus backoff, well
#: inside the function's 60 s, so a stalled call fails over to a retry and
#: an invocation's deadline (see ``ClassifierApp``) is rarely what stops it.
CLIENT_LIMITS = ClientLimits(max_attempts=3, connect_timeout_seconds=2, read_timeout_seconds=10)
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})


@dataclass(frozen=True)
class ClassifierConfig:
    ruleset: RuleSet
    log_bucket: str = DEFAULT_LOG_BUCKET
    temp_log_bucket: str = DEFAULT_TEMP_LOG_BUCKET
    jobs_table: str = DEFAULT_JOBS_TABLE
    #: Whether a verdict for a job the table has no item for creates the
    #: item (the default); when not, a stray event cannot add jobs.
    create_missing_jobs: bool = True
    #: Logs longer than this once decompressed are refused (413).
    max_log_bytes: int | None = None
    #: The language-model fallback; None (the default) when it is off.
    llm: LlmConfig | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ClassifierConfig:
        """``LOGSORTER_*`` variables, each falling back to its default when
        unset or empty; ``LOGSORTER_RULESET`` is a ruleset TOML path (else the
        packaged ruleset). ``LOGSORTER_MAX_LOG_MB`` bounds a log's
        decompressed size (default: a quarter of the function's memory).
        ``LOGSORTER_LLM_MODEL`` turns the language-model fallback on, with
        prompts of at most ``LOGSORTER_LLM_MAX_PROMPT_BYTES``.
        Raises ``OSError`` or ``ValueError`` when the ruleset does not load
        or a variable has no meaning."""
        return cls(
            ruleset=load_ruleset(environ.get("LOGSORTER_RULESET") or None),
            log_bucket=environ.get("LOGSORTER_LOG_BUCKET") or DEFAULT_LOG_BUCKET,
            temp_log_bucket=environ.get("LOGSORTER_TEMP_LOG_BUCKET") or DEFAULT_TEMP_LOG_BUCKET,
            jobs_table=environ.get("LOGSORTER_JOBS_TABLE") or DEFAULT_JOBS_TABLE,
            create_missing_jobs=parse_boolean(
                "LOGSORTER_CREATE_MISSING_JOBS",
                environ.get("LOGSORTER_CREATE_MISSING_JOBS") or "true",
            ),
            max_log_bytes=ceiling(environ, MAX_LOG_ENV),
            llm=LlmConfig.from_env(environ),
        )


def parse_boolean(name: str, value: str) -> bool:
    """``true``/``1``/``yes`` or ``false``/``0``/``no``, in any case."""
    word = value.strip().lower()
    if word not in TRUE_WORDS | FALSE_WORDS:
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return word in TRUE_WORDS
