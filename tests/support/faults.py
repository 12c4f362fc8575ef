"""A threaded loopback HTTP proxy that relays requests to an upstream (the moto
server) and injects faults into chosen ones: a dropped connection before or
after the upstream saw the request, an error response such as throttling, or
a stall (the answer held back, as from a server that stopped responding).

Point one service at it with ``AWS_ENDPOINT_URL_<SERVICE>``; boto3 then talks
to the proxy over real HTTP, and its retry logic meets real failures.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

Action = Literal["drop", "drop_after_upstream", "respond", "stall"]
#: Headers that describe one connection, not the message, so are not relayed.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection"})


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def amz_target(self) -> str:
        """``X-Amz-Target`` of JSON-protocol services, e.g.
        ``DynamoDB_20120810.UpdateItem``."""
        return self.headers.get("x-amz-target", "")


@dataclass
class Fault:
    """What to do to the next ``times`` requests that ``matches`` accepts."""

    matches: Callable[[SeenRequest], bool]
    action: Action
    times: int = 1
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: ``stall``: how long the answer is held; ``None`` until the proxy stops.
    stall_seconds: float | None = None
    injected: int = 0


def amz_target(operation: str, body_contains: bytes = b"") -> Callable[[SeenRequest], bool]:
    """Matches JSON-protocol calls whose target ends with ``.operation`` (and
    whose body contains ``body_contains``)."""
    return lambda request: (
        request.amz_target.endswith("." + operation) and body_contains in request.body
    )


def s3_get_object(key: str) -> Callable[[SeenRequest], bool]:
    """Matches S3 GETs of ``key`` (path-style, as boto3 sends to an IP)."""
    return lambda request: (
        request.method == "GET" and request.path.partition("?")[0].endswith("/" + key)
    )


def stall(matches: Callable[[SeenRequest], bool], times: int = 1000) -> Fault:
    """Hold the answer to matching requests until the proxy stops."""
    return Fault(matches, "stall", times)


def dynamodb_error(
    operation: str, error_type: str, message: str, times: int = 1, body_contains: bytes = b""
) -> Fault:
    """DynamoDB's answer with error ``error_type`` (HTTP 400) to ``operation``
    calls (whose body contains ``body_contains``)."""
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": message}
    )
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    return Fault(
        amz_target(operation, body_contains), "respond", times, 400, body.encode(), headers
    )


def dynamodb_throttling(operation: str, times: int = 1, body_contains: bytes = b"") -> Fault:
    """DynamoDB's own throttling answer (retryable)."""
    message = "The level of configured provisioned throughput for the table was exceeded."
    return dynamodb_error(
        operation, "ProvisionedThroughputExceededException", message, times, body_contains
    )


class FaultProxy:
    """Relays to ``upstream``; faults added with ``inject`` apply in order."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.faults: list[Fault] = []
        self.seen: list[SeenRequest] = []
        self._lock = threading.Lock()
        #: Set when the proxy stops: stalled answers are released.
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _fault_for(self, request: SeenRequest) -> Fault | None:
        with self._lock:
            self.seen.append(request)
            for fault in self.faults:
                if fault.injected < fault.times and fault.matches(request):
                    fault.injected += 1
                    return fault
        return None

    def _relay(self, request: SeenRequest) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
            connection.request(request.method, request.path, request.body, headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one_request(self) -> None:
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline or not self.parse_request():
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                request = SeenRequest(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                self.close_connection = True
                fault = proxy._fault_for(request)
                if fault is not None and fault.action == "drop":
                    return
                if fault is not None and fault.action == "respond":
                    self._answer(fault.status, list(fault.headers.items()), fault.body)
                    return
                if fault is not None and fault.action == "stall":
                    if not proxy._stopping.wait(fault.stall_seconds):
                        self._answer(*proxy._relay(request))
                    return
                status, headers, body = proxy._relay(request)
                if fault is not None:  # drop_after_upstream: the effect happened, the reply is lost
                    return
                self._answer(status, headers, body)

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                try:
                    self.send_response_only(status)
                    for name, value in headers:
                        if name.lower() not in HOP_BY_HOP | {"content-length"}:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    # The client gave up waiting (after a stall): nobody to answer.
                    return

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test reports what matters."""

        return Handler


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()
