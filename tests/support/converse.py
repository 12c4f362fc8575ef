"""A loopback HTTP server that speaks the wire protocol of Amazon Bedrock's
Converse API (REST-JSON: ``POST /model/{modelId}/converse``), as moto stands in
for S3: boto3's ``bedrock-runtime`` client talks to it over real HTTP, signs
its requests and parses its answers and errors (the error code in the
``x-amzn-ErrorType`` header) as it would Bedrock's.

Each request is answered by the next of the queued ``Reply`` values (the last
one repeats), and kept for the test to read.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote


@dataclass(frozen=True)
class Reply:
    #: The model's text; ignored when ``error`` is set.
    text: str = ""
    #: An error code (``ThrottlingException``, ``AccessDeniedException``...)
    #: and its HTTP status, instead of an answer.
    error: str | None = None
    status: int = 200
    #: Seconds to wait before answering.
    delay: float = 0.0
    #: A body that is not the Converse shape at all.
    raw: bytes | None = None


@dataclass
class ConverseServer:
    url: str
    replies: list[Reply] = field(default_factory=list)
    #: ``(model id, request body)`` of every request, in order.
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def reply(self) -> Reply:
        if len(self.replies) > 1:
            return self.replies.pop(0)
        return self.replies[0] if self.replies else Reply(text="")


def _handler(server: ConverseServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            parts = self.path.split("/")
            if len(parts) != 4 or parts[1] != "model" or parts[3] != "converse":
                self._send(404, {"message": f"no route {self.path}"}, "UnknownOperationException")
                return
            server.requests.append((unquote(parts[2]), body))
            reply = server.reply()
            time.sleep(reply.delay)
            if reply.raw is not None:
                self._send_bytes(200, reply.raw)
            elif reply.error is not None:
                self._send(reply.status, {"message": reply.error}, reply.error)
            else:
                self._send(
                    200,
                    {
                        "output": {
                            "message": {"role": "assistant", "content": [{"text": reply.text}]}
                        },
                        "stopReason": "end_turn",
                        "usage": {"inputTokens": 10, "outputTokens": 2, "totalTokens": 12},
                        "metrics": {"latencyMs": 5},
                    },
                )

        def _send(self, status: int, payload: dict[str, Any], error: str | None = None) -> None:
            self._send_bytes(status, json.dumps(payload).encode(), error)

        def _send_bytes(self, status: int, data: bytes, error: str | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if error is not None:
                    self.send_header("x-amzn-ErrorType", f"{error}:http://internal.amazon.com/")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a time-out test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def converse_server() -> Iterator[ConverseServer]:
    holder = ConverseServer(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(holder))
    httpd.daemon_threads = True
    holder.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        httpd.shutdown()
        httpd.server_close()
