"""A local HTTP receiver for webhook tests: records every POST it gets (loopback only).

With ``get``, it also answers GETs (a /metrics endpoint for the scraper's tests)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """``with Receiver(status=200) as r: ...; r.calls`` -> [(path, parsed JSON body)]."""

    def __init__(
        self,
        status: int = 200,
        answer: dict[str, Any] | None = None,
        get: Callable[[str], tuple[int, bytes]] | None = None,
    ) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.status = status
        self.answer = json.dumps(answer or {"ok": True}).encode()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                receiver.calls.append((self.path, body))
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            def do_GET(self) -> None:
                receiver.calls.append((self.path, None))
                status, body = get(self.path) if get is not None else (404, b"")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/rollback"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
