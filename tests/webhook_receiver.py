"""A real HTTP webhook receiver on 127.0.0.1 for the tests, whose answers a test can script."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


# What to answer a request: (status, extra headers). The default accepts everything with 204.
Responder = Callable[[Received, int], tuple[int, dict[str, str]]]


def accept(_: Received, __: int) -> tuple[int, dict[str, str]]:
    return 204, {}


@dataclass
class Receiver:
    port: int
    responder: Responder = accept
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time())
                with receiver.lock:
                    receiver.received.append(request)
                    seen = sum(1 for r in receiver.received if r.headers.get("webhook-id") == request.headers.get("webhook-id"))
                status, headers = receiver.responder(request, seen)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def ids(self) -> list[str]:
        with self.lock:
            return [r.webhook_id for r in self.received]

    def wait_for(self, count: int, timeout_s: float = 60) -> list[Received]:
        """Wait until `count` distinct webhook ids have arrived."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if len(set(self.ids())) >= count:
                with self.lock:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"only {len(set(self.ids()))} of {count} webhooks arrived in {timeout_s} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_receiver(responder: Responder = accept, port: int | None = None) -> Iterator[Receiver]:
    receiver = Receiver(port or free_port(), responder)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
