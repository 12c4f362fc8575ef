"""The stack `make up` runs when no Docker engine is reachable: the same
services as docker-compose.yml, as local processes on loopback. A moto server
stands in for S3, DynamoDB and SQS; each function is a `python -m awslambdaric`
process behind a Runtime API emulator that also serves the container image's
invoke route, on the port compose maps for it:

    curl -XPOST 127.0.0.1:9001/2015-03-31/functions/function/invocations -d @fixtures/request.json

    python scripts/local_stack.py --state .stamps/stack.json --logs .stamps

With ``--compose`` it only writes the state of the stack `docker compose up`
started (the same addresses), for the tests to find it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from lambda_runtime import INVOKE_PATH, lambda_function
from logsorter.functions import FUNCTIONS
from moto.server import ThreadedMotoServer

HOST = "127.0.0.1"
#: The port compose maps for its moto service.
AWS_PORT = 5000
AWS_URL = f"http://{HOST}:{AWS_PORT}"


def state(**extra: Any) -> str:
    """What the tests read (``LOGSORTER_STACK``): the AWS endpoint and each
    function's invoke URL by compose service name, the same for both stacks."""
    invoke_urls = {f.service: f"http://{HOST}:{f.local_port}{INVOKE_PATH}" for f in FUNCTIONS}
    return json.dumps({**extra, "aws": AWS_URL, "functions": invoke_urls}, indent=2)


def run_stack(state_file: Path, logs: Path) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())

    moto = ThreadedMotoServer(ip_address=HOST, port=AWS_PORT, verbose=False)
    moto.start()
    env = {
        "AWS_ENDPOINT_URL": AWS_URL,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as running:
        for function in FUNCTIONS:
            log = running.enter_context((logs / f"{function.service}.log").open("ab"))
            running.enter_context(
                lambda_function(
                    function.handler,
                    {**env, **function.environment},
                    function_name=function.service,
                    port=function.local_port,
                    log=log,
                )
            )
        ready = state(pid=os.getpid())
        state_file.write_text(ready)
        print(ready, flush=True)
        stopped.wait()
    moto.stop()
    state_file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, required=True, help="JSON file written when ready")
    parser.add_argument("--logs", type=Path, help="folder for the functions' logs")
    parser.add_argument(
        "--compose", action="store_true", help="write the state of the compose stack and exit"
    )
    args = parser.parse_args()
    if args.compose:
        args.state.write_text(state())
    elif args.logs is None:
        parser.error("--logs is required to run the stack")
    else:
        run_stack(args.state, args.logs)


if __name__ == "__main__":
    main()
