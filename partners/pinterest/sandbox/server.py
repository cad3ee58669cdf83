"""The sandbox's HTTP server: stdlib ThreadingHTTPServer, one thread per connection.

Threads matter: an injected hang or latency must not hold up other calls.
`SandboxServer` runs it in a background thread (tests) or in the foreground
(`manage.py pinterest_sandbox`).
"""

from __future__ import annotations

import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .api import handle_api
from .control import handle_control
from .oauth import handle_authorize
from .seed import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from .state import SandboxState
from .wire import ApiError, ConnectionDropped, Request, Response

# Idle keep-alive connections are closed after this long, so their threads end.
IDLE_CONNECTION_SECONDS = 120


def route(state: SandboxState, request: Request) -> Response:
    """Send a request to the Pinterest API, the consent page or the control API."""
    if request.path.startswith("/v5/"):
        return handle_api(state, request)
    if request.path in ("/oauth", "/oauth/"):
        return handle_authorize(state, request)
    if request.path.startswith("/_sandbox/"):
        return handle_control(state, request)
    if request.path == "/" and request.method == "GET":
        return Response.html(
            200,
            "<!doctype html><title>Pinterest (sandbox)</title><h1>Pinterest (sandbox)</h1>"
            "<p>API under <code>/v5/</code>, consent page at <code>/oauth/</code>, "
            "control API at <a href='/_sandbox/state'><code>/_sandbox/state</code></a>.</p>",
        )
    return ApiError(404, 404, "Not found.").response()


class _Handler(BaseHTTPRequestHandler):
    """Turns http.server's callbacks into `Request` -> `route` -> `Response`."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_CONNECTION_SECONDS
    # Headers and body go out in separate writes: with Nagle on, the client's delayed
    # ACK adds ~40 ms to every keep-alive call, which would skew the benchmarks.
    disable_nagle_algorithm = True
    server: _Server

    def _handle(self) -> None:
        # Stamped once the request line and headers are in, before the body is read.
        arrived = self.server.state.clock()
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            arrived=arrived,
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        try:
            response = route(self.server.state, request)
        except ConnectionDropped:
            self.close_connection = True  # no answer at all: the client sees a closed socket
            return
        except Exception:
            # A sandbox bug must show as a 500 (and a traceback), not a dropped connection.
            traceback.print_exc()
            response = ApiError(500, 500, "Sandbox internal error.").response()
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout fired during an injected hang): nothing to do.
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"pinterest-sandbox: {format % args}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets bursts of parallel connections.
    request_queue_size = 128
    # Do not join request threads on close: one may sleep in an injected hang.
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: SandboxState, verbose: bool) -> None:
        self.state = state
        self.verbose = verbose
        super().__init__(address, _Handler)


class SandboxServer:
    """The local Pinterest: `.start()` in a thread, `.url`, `.state` to steer it, `.stop()`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state: SandboxState | None = None,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
        auto_approve: bool = False,
        verbose: bool = False,
    ) -> None:
        self.state = state or SandboxState(
            client_id=client_id, client_secret=client_secret, auto_approve=auto_approve
        )
        # Port 0 lets the OS pick a free port; the socket is bound here, so `.url` is final.
        self._server = _Server((host, port), self.state, verbose)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8700 (no trailing slash)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_base_url(self) -> str:
        """What PINTEREST_API_BASE_URL should be."""
        return self.url + "/v5"

    @property
    def oauth_url(self) -> str:
        """What PINTEREST_OAUTH_URL should be."""
        return self.url + "/oauth/"

    def start(self) -> SandboxServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pinterest-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the sandbox's own process)."""
        # Threads hand the interpreter over every millisecond, not every 5 ms: a request's
        # arrival is then stamped when it arrives, not when another request's handler lets go.
        sys.setswitchinterval(0.001)
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving, wake hung calls and close the socket."""
        self.state.interrupt()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
