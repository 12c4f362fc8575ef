"""The stack `make up` runs when no Docker engine is reachable: the same
services as docker-compose.yml, as local processes on loopback. A moto server
stands in for S3, DynamoDB and SQS; each function is a `python -m awslambdaric`
process behind a Runtime API emulator that also serves the container image's
invoke route, on the port compose maps for it:

    curl -XPOST 127.0.0.1:9001/2015-03-31/functions/function/invocations -d @fixtures/request.json

    python -m tests.support.stack --state .stamps/stack.json --logs .stamps
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

from moto.server import ThreadedMotoServer

from tests.support.lambda_runtime import lambda_function

AWS_PORT = 5000
#: Service name (as in docker-compose.yml) -> handler and port.
FUNCTIONS = {
    "classifier": ("logsorter.handlers.classify", 9001),
    "collator": ("logsorter.handlers.collate", 9002),
    "collator-dlq": ("logsorter.handlers.collate_dlq", 9003),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, required=True, help="JSON file written when ready")
    parser.add_argument("--logs", type=Path, required=True, help="folder for the functions' logs")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=AWS_PORT, verbose=False)
    moto.start()
    aws = f"http://127.0.0.1:{AWS_PORT}"
    env = {
        "AWS_ENDPOINT_URL": aws,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    args.logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as running:
        invoke_urls = {}
        for name, (handler, port) in FUNCTIONS.items():
            log = running.enter_context((args.logs / f"{name}.log").open("ab"))
            function = running.enter_context(
                lambda_function(handler, env, function_name=name, port=port, log=log)
            )
            invoke_urls[name] = function.invoke_url
        state = {"pid": os.getpid(), "aws": aws, "functions": invoke_urls}
        args.state.write_text(json.dumps(state, indent=2))
        print(json.dumps(state, indent=2), flush=True)
        stopped.wait()
    moto.stop()
    args.state.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
