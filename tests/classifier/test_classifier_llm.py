"""The language-model fallback, through real boto3 ``bedrock-runtime`` calls
over HTTP to a loopback server speaking the Converse wire protocol
(``support.converse``): when it is asked, what it is shown, which answers are
taken, and that every failure of the model or the service keeps the engine's
verdict with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from logsorter import RuleSet
from logsorter.aws import ClientLimits, client_config
from logsorter.classifier.classify import JobClassifier
from logsorter.classifier.config import ClassifierConfig
from logsorter.classifier.events import ClassifyRequest
from logsorter.classifier.llm import (
    ANSWER_SCORE,
    ASK_BELOW_SCORE,
    INSTRUCTION,
    LlmConfig,
    LlmJudge,
    needs_second_opinion,
    window,
)
from logsorter.storage import LocalStore
from support.converse import ConverseServer, Reply, converse_server

MODEL = "anthropic.claude-test-v1"
RULES = """
[[rule]]
name = 'make target failed'
pattern = '^make: \\*\\*\\* \\[(\\w+)\\] Error (\\d+)'

[[rule]]
name = 'pytest failure'
pattern = '^FAILED (\\S+)'

[ignore]
lines = ['^noise']

[fallback]
enabled = true
wrappers = ['make target failed']
catch_alls = []
min_score = 0.9
"""
LOG = (
    b"+ make all\n"
    b"cc -c widget.c\n"
    b"ld: cannot find -lgadget\n"
    b"noise: ld: cannot find -lgadget\n"
    b"make: *** [all] Error 1\n"
)


@pytest.fixture
def server() -> Iterator[ConverseServer]:
    with converse_server() as running:
        yield running


def judge(server: ConverseServer, *, attempts: int = 1, max_prompt_bytes: int = 4096) -> LlmJudge:
    limits = ClientLimits(
        max_attempts=attempts, connect_timeout_seconds=1, read_timeout_seconds=0.5
    )
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=client_config(limits),
    )
    return LlmJudge(LlmConfig(MODEL, max_prompt_bytes), client)


def ask(server: ConverseServer, *replies: Reply, attempts: int = 1) -> tuple[str, int | None]:
    server.replies[:] = replies
    ruleset = RuleSet.from_toml(RULES)
    wrapper = ruleset.classify(LOG)
    assert wrapper is not None
    assert needs_second_opinion(ruleset, wrapper)
    opinion = judge(server, attempts=attempts).second_opinion(
        ruleset, LOG, wrapper, context_depth=12, max_bytes=None
    )
    return opinion.outcome, opinion.match.line_num if opinion.match else None


def test_an_answer_naming_a_kept_line_is_the_verdict(server: ConverseServer) -> None:
    server.replies[:] = [Reply(text="Line 3.")]
    ruleset = RuleSet.from_toml(RULES)
    wrapper = ruleset.classify(LOG)
    assert wrapper is not None
    opinion = judge(server).second_opinion(ruleset, LOG, wrapper, context_depth=12, max_bytes=None)
    assert opinion.outcome == "accepted"
    assert opinion.match is not None
    assert opinion.match.to_dict() == {
        "rule": f"llm:{MODEL}",
        "line": "ld: cannot find -lgadget",
        "line_num": 3,
        "captures": ["ld: cannot find -lgadget"],
        "context": ["+ make all"],
        "score": ANSWER_SCORE,
    }
    [(model, body)] = server.requests
    assert model == MODEL
    prompt = body["messages"][0]["content"][0]["text"]
    assert prompt.startswith(INSTRUCTION)
    assert "3: ld: cannot find -lgadget\n" in prompt
    assert "5: make: ***" in prompt
    assert body["inferenceConfig"]["maxTokens"] <= 16


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Reply(text="99"), "no such line"),
        (Reply(text="I cannot tell."), "no such line"),
        (Reply(text="3" * 5000), "no such line"),
        (Reply(text="4"), "not a kept line"),  # dropped by [ignore]
        (Reply(error="ThrottlingException", status=429), "throttled"),
        (Reply(error="AccessDeniedException", status=403), "denied"),
        (Reply(error="ValidationException", status=400), "refused"),
        (Reply(error="InternalServerException", status=500), "failed (InternalServerException)"),
        (Reply(text="3", delay=2.0), "timed out"),
        (Reply(raw=b'{"output": {}}'), "bad answer"),
        (
            Reply(raw=b'{"output": {"message": {"role": "assistant", "content": []}}}'),
            "no such line",
        ),
        (Reply(raw=b"not json"), "bad answer"),
    ],
)
def test_whatever_goes_wrong_keeps_the_engines_verdict(
    server: ConverseServer, reply: Reply, outcome: str
) -> None:
    assert ask(server, reply) == (outcome, None)


def test_throttling_is_retried_within_the_clients_attempts(server: ConverseServer) -> None:
    throttled = Reply(error="ThrottlingException", status=429)
    assert ask(server, throttled, Reply(text="3"), attempts=2) == ("accepted", 3)
    assert len(server.requests) == 2


def test_only_weak_verdicts_are_asked_about() -> None:
    ruleset = RuleSet.from_toml(RULES)
    specific = ruleset.classify(b"FAILED test_a.py::test_b\nmake: *** [all] Error 1\n")
    assert specific is not None
    assert not needs_second_opinion(ruleset, specific)
    wrapper = ruleset.classify(LOG)
    assert wrapper is not None
    assert wrapper.rule == "make target failed"
    assert needs_second_opinion(ruleset, wrapper)
    # The locator's line: asked about while its score is low.
    lenient = RuleSet.from_toml(RULES.replace("min_score = 0.9", "min_score = 0.3"))
    located = lenient.classify(LOG)
    assert located is not None
    assert located.rule == "located failure"
    assert needs_second_opinion(lenient, located) == (located.score < ASK_BELOW_SCORE)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=600)),
    verdict=st.integers(1, 400),
    max_bytes=st.integers(len(INSTRUCTION.encode()) + 64, 6000),
)
def test_the_prompt_stays_within_its_bytes_and_numbers_what_it_shows(
    lines: list[str], verdict: int, max_bytes: int
) -> None:
    shown, prompt = window(lines, min(verdict, max(len(lines), 1)), max_bytes)
    assert len(prompt.encode()) <= max_bytes
    rows = prompt[len(INSTRUCTION) :].split("\n")[:-1]
    numbered = {int(row.split(":", 1)[0]) for row in rows}
    assert numbered == shown
    assert shown <= set(range(1, len(lines) + 1))


def test_the_config_reads_the_model_and_the_prompt_bound() -> None:
    assert LlmConfig.from_env({}) is None
    assert LlmConfig.from_env({"LOGSORTER_LLM_MODEL": " "}) is None
    assert LlmConfig.from_env(
        {"LOGSORTER_LLM_MODEL": MODEL, "LOGSORTER_LLM_MAX_PROMPT_BYTES": "8000"}
    ) == LlmConfig(MODEL, 8000)
    for bad in ("0", "many", "100"):
        with pytest.raises(ValueError, match="LOGSORTER_LLM_MAX_PROMPT_BYTES"):
            LlmConfig.from_env(
                {"LOGSORTER_LLM_MODEL": MODEL, "LOGSORTER_LLM_MAX_PROMPT_BYTES": bad}
            )


def test_the_job_classifier_records_the_answer_and_the_fallback(
    server: ConverseServer, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path)
    store.put("log/7", LOG)
    config = ClassifierConfig(ruleset=RuleSet.from_toml(RULES), llm=LlmConfig(MODEL, 4096))
    dynamodb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=server.url,  # never called: the requests do not write
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    jobs = JobClassifier(config, store, store, dynamodb, llm=judge(server))
    request = ClassifyRequest(job_id=7, write=False)

    server.replies[:] = [Reply(text="3")]
    answered = jobs.classify(request)
    assert answered.llm == "accepted"
    assert answered.match is not None
    assert answered.match["rule"] == f"llm:{MODEL}"

    server.replies[:] = [Reply(error="ThrottlingException", status=429)]
    kept = jobs.classify(request)
    assert kept.llm == "throttled"
    assert kept.match is not None
    assert kept.match["rule"] == "make target failed"
