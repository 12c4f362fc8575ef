"""The optional language-model fallback, off unless ``LOGSORTER_LLM_MODEL``
names an Amazon Bedrock model. When the rules give only a wrapper's or a
catch-all's verdict, or the locator's line scores under ``ASK_BELOW_SCORE``,
the model is asked through the Converse API which line says why the job
failed.

It sees a bounded window of the log, at most ``LOGSORTER_LLM_MAX_PROMPT_BYTES``:
numbered lines around the verdict so far, then the end of the log, where a
job's failure is printed. Its answer is taken only when it names one of the
lines it was shown that the engine keeps (``RuleSet.verdict_at``); the
verdict's rule is then ``llm:{model}``. A time-out, throttling, a missing
permission, or an answer that names no such line keeps the engine's verdict,
with the reason, which the function logs and counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError
from botocore.parsers import ResponseParserError

from logsorter import _core
from logsorter.aws import ClientLimits, bedrock_runtime_client

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

    from logsorter import Match, RuleSet

MODEL_ENV = "LOGSORTER_LLM_MODEL"
MAX_PROMPT_ENV = "LOGSORTER_LLM_MAX_PROMPT_BYTES"
DEFAULT_MAX_PROMPT_BYTES = 16 * 1024
#: A located line scoring under this is worth a second opinion.
ASK_BELOW_SCORE = 0.75
#: A model's answer carries no evidence score of its own.
ANSWER_SCORE = 0.5
#: Two tries of at most 2 s to connect and 10 s between bytes: well inside
#: the classifier's 60 s, beside the S3 and DynamoDB calls.
LLM_LIMITS = ClientLimits(max_attempts=2, connect_timeout_seconds=2, read_timeout_seconds=10)
#: Lines shown around the verdict so far, and at the end of the log.
BEFORE_VERDICT, AFTER_VERDICT, TAIL = 20, 5, 60
#: A shown line is cut to this many characters.
MAX_LINE_CHARS = 400
INSTRUCTION = (
    "Below are numbered lines from the log of a CI job that failed (not all of"
    " its lines). Reply with the number of the one line that states why the job"
    " failed, and nothing else.\n\n"
)
#: Error codes of the Converse API, as the reasons a fallback records.
REASONS = {
    "ThrottlingException": "throttled",
    "ServiceQuotaExceededException": "throttled",
    "AccessDeniedException": "denied",
    "UnrecognizedClientException": "denied",
    "ModelTimeoutException": "timed out",
    "ResourceNotFoundException": "no such model",
    "ValidationException": "refused",
    "ModelNotReadyException": "unavailable",
    "ServiceUnavailableException": "unavailable",
}


@dataclass(frozen=True)
class LlmConfig:
    model: str
    max_prompt_bytes: int = DEFAULT_MAX_PROMPT_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LlmConfig | None:
        """None when ``LOGSORTER_LLM_MODEL`` is unset or empty. Raises
        ``ValueError`` for a prompt size that is not a positive number of
        bytes."""
        model = (environ.get(MODEL_ENV) or "").strip()
        if not model:
            return None
        raw = environ.get(MAX_PROMPT_ENV) or str(DEFAULT_MAX_PROMPT_BYTES)
        try:
            max_prompt_bytes = int(raw)
        except ValueError:
            max_prompt_bytes = 0
        if max_prompt_bytes < len(INSTRUCTION.encode()) + 64:
            raise ValueError(f"{MAX_PROMPT_ENV} must be a number of bytes above 256, got {raw!r}")
        return cls(model, max_prompt_bytes)


@dataclass(frozen=True)
class SecondOpinion:
    """What asking the model gave: its verdict, or why there is none."""

    match: Match | None
    #: ``"accepted"``, or why the engine's verdict stays.
    outcome: str


@dataclass(frozen=True)
class LlmJudge:
    config: LlmConfig
    client: BedrockRuntimeClient

    @classmethod
    def from_config(cls, config: LlmConfig) -> LlmJudge:
        return cls(config, bedrock_runtime_client(LLM_LIMITS))

    @property
    def rule(self) -> str:
        return f"llm:{self.config.model}"

    def second_opinion(
        self,
        ruleset: RuleSet,
        data: bytes,
        match: Match,
        *,
        context_depth: int,
        max_bytes: int | None,
    ) -> SecondOpinion:
        """The model's verdict on ``data``, whose engine verdict is
        ``match``; never raises for what the model or Bedrock does."""
        # Decoded once: the window and the verdict both read this text.
        text = _core.decode_log(data, max_bytes=max_bytes)
        shown, prompt = window(text.split("\n"), match.line_num, self.config.max_prompt_bytes)
        try:
            answer = self._ask(prompt)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            return SecondOpinion(None, REASONS.get(code, f"failed ({code or 'no code'})"))
        except (ReadTimeoutError, ConnectTimeoutError):
            return SecondOpinion(None, "timed out")
        except BotoCoreError as err:
            return SecondOpinion(None, f"failed ({type(err).__name__})")
        except (ResponseParserError, KeyError, TypeError, IndexError):
            # botocore's parser refuses a body that is not the Converse shape;
            # one that parses may still lack the text.
            return SecondOpinion(None, "bad answer")
        # At most 9 digits: a line number, and never an int too long to parse.
        named = re.search(r"(?<!\d)\d{1,9}(?!\d)", answer)
        if named is None or int(named.group()) not in shown:
            return SecondOpinion(None, "no such line")
        verdict = ruleset.verdict_at(
            text, int(named.group()), self.rule, ANSWER_SCORE, context_depth
        )
        if verdict is None:
            return SecondOpinion(None, "not a kept line")
        return SecondOpinion(verdict, "accepted")

    def _ask(self, prompt: str) -> str:
        response: Any = self.client.converse(
            modelId=self.config.model,
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            inferenceConfig={"maxTokens": 16, "temperature": 0.0},
        )
        blocks = response["output"]["message"]["content"]
        return "".join(str(block["text"]) for block in blocks if "text" in block)


def needs_second_opinion(ruleset: RuleSet, match: Match) -> bool:
    """A wrapper's or catch-all's verdict, or a located line under
    ``ASK_BELOW_SCORE``. (No verdict at all is never asked about: a log
    without failure evidence must stay unclassified.)"""
    if match.rule == _core.LOCATED_RULE:
        return match.score < ASK_BELOW_SCORE
    fallback = ruleset.fallback
    return fallback is not None and match.rule in (*fallback[0], *fallback[1])


def window(lines: list[str], verdict_line: int, max_bytes: int) -> tuple[set[int], str]:
    """The 1-based numbers of the lines shown and the prompt showing them:
    the lines around ``verdict_line`` first, then the log's end, as many as
    fit in ``max_bytes`` with the instruction, in log order."""
    last = len(lines) - (1 if lines and lines[-1] == "" else 0)
    wanted = [
        *range(max(1, verdict_line - BEFORE_VERDICT), min(last, verdict_line + AFTER_VERDICT) + 1),
        *range(last, max(0, last - TAIL), -1),
    ]
    budget = max_bytes - len(INSTRUCTION.encode())
    shown: dict[int, str] = {}
    for number in wanted:
        if number in shown:
            continue
        text = _core.normalize_line(lines[number - 1])[:MAX_LINE_CHARS]
        entry = f"{number}: {text}\n"
        size = len(entry.encode())
        if size > budget:
            break
        budget -= size
        shown[number] = entry
    return set(shown), INSTRUCTION + "".join(shown[n] for n in sorted(shown))
