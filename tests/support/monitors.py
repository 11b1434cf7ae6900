"""A local HTTP server on 127.0.0.1 that records every request, for the monitor tests."""

from __future__ import annotations

import dataclasses
import gzip
import http.server
import json
import threading
import time
import urllib.parse
from typing import Any


@dataclasses.dataclass
class Request:
    method: str
    path: str
    """Path and query string, as sent."""
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        return self.path.split("?")[0]

    @property
    def query(self) -> list[tuple[str, str]]:
        return urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)

    def envelope(self) -> list[tuple[dict[str, Any], Any]]:
        """A Sentry envelope's items: (item header, payload) pairs."""
        lines = self.body.split(b"\n")
        items = []
        index = 1  # line 0 is the envelope header
        while index < len(lines) and lines[index]:
            header = json.loads(lines[index])
            items.append((header, json.loads(lines[index + 1])))
            index += 2
        return items


class RecordingServer:
    """Records each request; ``answers`` scripts the status codes, ``delay`` makes it slow."""

    def __init__(self, answers: list[int] | None = None, delay: float = 0.0) -> None:
        self.requests: list[Request] = []
        self.answered = 0
        """Requests answered (a slow server answers ``delay`` seconds after each request)."""
        self.answers = list(answers or [])
        self.delay = delay
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                recorder.requests.append(Request(self.command, self.path, dict(self.headers), body))
                time.sleep(recorder.delay)
                recorder.answered += 1
                code = recorder.answers.pop(0) if recorder.answers else 200
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: what the timeout tests want

            do_GET = do_POST = do_HEAD = handle_any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.requests

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on (right now)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DrippingServer:
    """Answers every request with a status line and headers sent one byte every ``every``
    seconds (``length`` bytes in all): a socket timeout never fires against it. Records, per
    connection, how many bytes it got out before the client closed the connection."""

    def __init__(self, every: float = 0.5, length: int = 400) -> None:
        import socket

        self.every, self.length = every, length
        self.sent: list[int] = []
        """Bytes sent on each connection the client closed before the drip ended."""
        self.finished = 0
        """Connections that got the whole drip."""
        self.closed = threading.Event()
        self.connected = threading.Event()
        self._stopped = threading.Event()
        self._connections: list[Any] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if self._stopped.is_set():
                conn.close()
                return
            self._connections.append(conn)
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: Any) -> None:
        header = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"x" * self.length
        with conn:
            conn.recv(65536)  # the request (small enough for one read here)
            self.connected.set()
            for index in range(self.length):
                try:
                    conn.sendall(header[index : index + 1])
                except OSError:  # the client shut the connection: what the tests want to see
                    self.sent.append(index)
                    self.closed.set()
                    return
                if self._stopped.wait(self.every):
                    return
            self.finished += 1

    def close(self) -> None:
        """Stops listening and dripping. Closing the listener alone would not do: on Linux a
        socket closed while another thread waits in ``accept()`` goes on listening until that
        call returns, and its port may then be handed to the next test's server, whose clients
        would get this drip."""
        import socket

        self._stopped.set()
        for sock in [self._listener, *self._connections]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # not connected, or closed meanwhile
        self._listener.close()
