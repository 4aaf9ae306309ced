"""A local webhook receiver for the benchmarks: answers 204 and notes when each webhook-id arrived.

It speaks HTTP/1.0, so every POST opens its own connection, as the real sender's do.
"""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Serves on 127.0.0.1 in a background thread until `close()`.

    `first_seen[webhook_id]` is the time.time() of its first receipt, `counts[webhook_id]` how many came.
    """

    def __init__(self) -> None:
        self.first_seen: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("content-length") or 0))
                received_at, webhook_id = time.time(), self.headers.get("webhook-id", "")
                with lock:
                    receiver.first_seen.setdefault(webhook_id, received_at)
                    receiver.counts[webhook_id] = receiver.counts.get(webhook_id, 0) + 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's signature)
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def duplicates(self) -> int:
        """Receipts beyond the first of each webhook-id."""
        return sum(count - 1 for count in self.counts.values())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
