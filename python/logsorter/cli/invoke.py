"""``logsorter invoke``: run a Lambda handler locally on an event file and
print its response, against real AWS or whatever ``AWS_ENDPOINT_URL`` names."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from logsorter.cli.base import CommandError, read_input
from logsorter.functions import FUNCTIONS_BY_NAME

#: The deadline a local invocation reports: Lambda's longest timeout.
TIMEOUT_MS = 15 * 60 * 1000


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "invoke",
        help="run a Lambda handler locally on an event file",
        description=(
            "Run a Lambda handler in this process on an event file and print its response "
            "as JSON. Handler logs and metrics go to stderr."
        ),
    )
    parser.add_argument("function", choices=FUNCTIONS_BY_NAME, help="which handler")
    parser.add_argument(
        "--data-file", required=True, metavar="PATH", help="event JSON file; - for stdin"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="classify: do not write verdicts to DynamoDB"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        event = json.loads(read_input(args.data_file))
    except ValueError as err:
        raise CommandError(f"{args.data_file}: not JSON: {err}") from err
    if args.no_write:
        event = without_writes(args.function, event)
    # Resolved only when invoked, so that a handler still being written does
    # not break the others.
    handler = resolve(FUNCTIONS_BY_NAME[args.function].handler)
    context = LocalContext(args.function)
    # stdout carries only the response; Lambda would capture the handler's log
    # lines and EMF metrics, here they go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            response = handler(event, context)
        except Exception as err:
            raise CommandError(f"{args.function} raised {type(err).__name__}: {err}", 1) from err
    print(json.dumps(response, ensure_ascii=False, indent=2))
    return 0


def without_writes(function: str, event: Any) -> Any:
    if function != "classify":
        raise CommandError("--no-write applies to classify only")
    from logsorter.classifier.errors import BadRequest
    from logsorter.classifier.events import without_writes as classify_without_writes

    try:
        return classify_without_writes(event)
    except BadRequest as err:
        raise CommandError(f"--no-write: {err}") from err


def resolve(path: str) -> Callable[[Any, Any], Any]:
    module_name, _, name = path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), name, None)
    if not callable(handler):
        raise CommandError(f"{path} does not exist in this version of logsorter")
    return handler  # type: ignore[no-any-return]


class LocalContext:
    """The parts of Lambda's context object that handlers read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + TIMEOUT_MS / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
