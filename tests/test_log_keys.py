"""No log call passes a key the logging machinery reserves: the standard
library raises ``KeyError`` for one (``message``, ``name``, ...), and
Powertools replaces its own (``level``, ``location``, ...) with what it
writes, so the value is lost, or refuses it when it is not a string."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "logsorter"
#: What the standard library's ``makeRecord`` refuses to overwrite.
RECORD_KEYS = {*vars(logging.makeLogRecord({})), "message", "asctime"}
#: What Powertools writes on every line, beside the reserved attributes.
POWERTOOLS_KEYS = {
    "service",
    "sampling_rate",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
}
RESERVED = RECORD_KEYS | set(RESERVED_LOG_ATTRS) | POWERTOOLS_KEYS
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "append_keys"}


def logged_keys(tree: ast.AST) -> list[tuple[int, str]]:
    """Keys of ``extra={...}`` dict literals and keyword arguments of log
    calls, with their line numbers."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in LOG_METHODS:
            continue
        for keyword in node.keywords:
            if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
                found += [
                    (key.lineno, key.value)
                    for key in keyword.value.keys
                    if isinstance(key, ast.Constant) and isinstance(key.value, str)
                ]
            elif keyword.arg not in (None, "extra", "exc_info", "stack_info", "stacklevel"):
                found.append((keyword.value.lineno, keyword.arg))
    return found


def test_no_log_call_uses_a_reserved_key() -> None:
    offending = [
        f"{path.relative_to(PACKAGE)}:{line}: {key}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, key in logged_keys(ast.parse(path.read_text(), str(path)))
        if key in RESERVED
    ]
    assert offending == []


def test_the_reserved_keys_are_the_ones_that_break_a_log_call() -> None:
    """The check above looks for what does break: ``message`` raises."""
    logger = Logger(service="check")
    for key in ("message", "name", "msg"):
        try:
            logger.info("hello", extra={key: "x"})
        except KeyError:
            continue
        raise AssertionError(f"logging with {key!r} did not raise")
    assert {"message", "level", "location", "timestamp", "service"} <= RESERVED
