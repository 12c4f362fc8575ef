"""A Lambda Runtime API emulator for running handlers the way Lambda runs
them: a runtime interface client (``python -m awslambdaric module.handler``)
polls it for events, and tests invoke through the route the container image's
emulator exposes, ``POST /2015-03-31/functions/function/invocations``.

Runtime API routes served (version 2018-06-01): ``GET invocation/next`` (blocks
until an event is queued, then answers with the ``Lambda-Runtime-*`` headers),
``POST invocation/{id}/response``, ``POST invocation/{id}/error`` and
``POST init/error``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any

RUNTIME_PREFIX = "/2018-06-01/runtime"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class Invocation:
    request_id: str
    event: bytes
    done: threading.Event = field(default_factory=threading.Event)
    #: The response body, or the error document when ``failed``.
    result: bytes = b""
    failed: bool = False
    error_type: str = ""

    def json(self) -> Any:
        return json.loads(self.result)


class LambdaRuntimeEmulator:
    """Hands queued events to one runtime and records its answers."""

    def __init__(
        self, function_name: str = "function", timeout_seconds: float = 60, port: int = 0
    ) -> None:
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        #: The runtime's report that it could not start, and its error type.
        self.init_error: tuple[bytes, str] | None = None
        self._pending: queue.Queue[Invocation] = queue.Queue()
        self._in_flight: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def invoke_url(self) -> str:
        return f"http://{self.address}{INVOKE_PATH}"

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def start(self) -> LambdaRuntimeEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def invoke(self, event: bytes, wait_seconds: float | None = None) -> Invocation:
        """Queue ``event`` and wait for the runtime's answer."""
        invocation = Invocation(str(uuid.uuid4()), event)
        with self._lock:
            failed_init = self.init_error
        if failed_init is not None:
            # As Lambda does: a function that failed to initialise fails each invoke.
            invocation.result, invocation.error_type = failed_init
            invocation.failed = True
            return invocation
        self._pending.put(invocation)
        if not invocation.done.wait(wait_seconds or self.timeout_seconds + 30):
            raise TimeoutError(f"no answer to invocation {invocation.request_id}")
        return invocation

    def runtime_environment(self) -> dict[str, str]:
        """The variables Lambda sets for a function's runtime process."""
        return {
            "AWS_LAMBDA_RUNTIME_API": self.address,
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }

    def _next(self) -> Invocation:
        invocation = self._pending.get()
        with self._lock:
            self._in_flight[invocation.request_id] = invocation
        return invocation

    def _fail_init(self, body: bytes, error_type: str) -> None:
        with self._lock:
            self.init_error = (body, error_type)
            waiting = list(self._in_flight)
        while not self._pending.empty():
            invocation = self._pending.get_nowait()
            with self._lock:
                self._in_flight[invocation.request_id] = invocation
            waiting.append(invocation.request_id)
        for request_id in waiting:
            self._finish(request_id, body, error_type)

    def _finish(self, request_id: str, body: bytes, error_type: str | None) -> bool:
        with self._lock:
            invocation = self._in_flight.pop(request_id, None)
        if invocation is None:
            return False
        invocation.result = body
        invocation.failed = error_type is not None
        invocation.error_type = error_type or ""
        invocation.done.set()
        return True

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path != f"{RUNTIME_PREFIX}/invocation/next":
                    self._reply(404, b'{"errorMessage": "unknown route"}')
                    return
                invocation = emulator._next()
                deadline_ms = int((time.time() + emulator.timeout_seconds) * 1000)
                self._reply(
                    200,
                    invocation.event,
                    {
                        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": emulator.function_arn,
                        "Lambda-Runtime-Trace-Id": (
                            f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"
                        ),
                    },
                )

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == INVOKE_PATH:
                    invocation = emulator.invoke(body)
                    extra = {"X-Amz-Function-Error": "Unhandled"} if invocation.failed else {}
                    self._reply(200, invocation.result, extra)
                    return
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "Unhandled")
                if self.path == f"{RUNTIME_PREFIX}/init/error":
                    self._reply(202, b'{"status": "OK"}')
                    emulator._fail_init(body, error_type)
                    return
                prefix, _, rest = self.path.partition(f"{RUNTIME_PREFIX}/invocation/")
                request_id, _, outcome = rest.partition("/")
                if prefix or outcome not in ("response", "error"):
                    self._reply(404, b'{"errorMessage": "unknown route"}')
                elif emulator._finish(request_id, body, error_type if outcome == "error" else None):
                    self._reply(202, b'{"status": "OK"}')
                else:
                    self._reply(400, b'{"errorMessage": "unknown or finished request id"}')

            def _reply(self, status: int, body: bytes, headers: Mapping[str, str] = {}) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the runtime's own output goes to the test log."""

        return Handler


@contextmanager
def lambda_function(
    handler: str,
    env: Mapping[str, str],
    function_name: str = "function",
    timeout_seconds: float = 60,
    *,
    port: int = 0,
    log: IO[bytes] | None = None,
) -> Iterator[LambdaRuntimeEmulator]:
    """An emulator with ``python -m awslambdaric handler`` polling it, in a
    process whose environment is this one's plus the Lambda variables plus
    ``env``. Yields once the emulator listens; the runtime starts up behind
    it (the first invocation waits for it). The function's output goes to
    ``log`` when given, else it is shown on stdout when the function stops
    (pytest shows it for a failed test); a file, not a pipe, so a chatty
    function never blocks on a full pipe."""
    emulator = LambdaRuntimeEmulator(function_name, timeout_seconds, port).start()
    with ExitStack() as cleanup:
        output = log or cleanup.enter_context(tempfile.TemporaryFile())
        process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", handler],
            env={**os.environ, **emulator.runtime_environment(), **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield emulator
        finally:
            process.kill()
            process.wait(timeout=30)
            emulator.stop()
            if log is None:
                output.seek(0)
                sys.stdout.write(output.read().decode("utf-8", "replace"))
