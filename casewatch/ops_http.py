"""The operations endpoints of a long-running process, on its metrics port: /metrics, /healthz, /readyz.

/healthz answers 200 while the process serves at all (a liveness probe: restart it if not).
/readyz answers 200 only when `unready()` says nothing is wrong, else 503 with the reason
as JSON: an orchestrator sends no work to it, and an operator sees why. The reason comes
from the same object that sets the process's `*_ready` gauge, so the two cannot disagree.
"""

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

# None when ready, else a short reason ("no input partitions assigned").
Unready = Callable[[], str | None]


def serve_ops(port: int, host: str, registry: CollectorRegistry, unready: Unready) -> ThreadingHTTPServer:
    """Serve the endpoints from a daemon thread; the server is returned (its port, and to shut it down)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._json(200, {"status": "alive"})
            elif path == "/readyz":
                reason = unready()
                if reason is None:
                    self._json(200, {"status": "ready"})
                else:
                    self._json(503, {"status": "unready", "reason": reason})
            else:
                self._json(404, {"status": "not found", "endpoints": ["/metrics", "/healthz", "/readyz"]})

        def _json(self, status: int, body: dict[str, object]) -> None:
            self._answer(status, json.dumps(body).encode(), "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Silent: a probe every few seconds would fill the log."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="casewatch-ops-http").start()
    return server
