"""One HTTP request to a monitor, bounded: a total time budget and a few retries, never raising.

**The budget holds.** A socket timeout only bounds each read: a server that sends one byte
every half second keeps a plain ``urlopen(timeout=2)`` going for as long as it likes. So the
attempts run in a thread of their own, and the caller waits for them until the deadline and no
longer; at the deadline it shuts down the connection in use (the server sees it closed) and
returns False. Connecting, sending, every read and every retry count against one budget.

**Secrets stay out of logs.** Monitor URLs carry keys: healthchecks.io ping keys and check
UUIDs and Cronitor API keys in the path, passwords in the user info, tokens in the query.
:func:`safe` masks them; every line that names a monitor URL goes through it.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import urllib.parse
from typing import Any

logger = logging.getLogger("cronjobs")

#: What :func:`safe` puts in place of a secret.
MASK = "***"


def send(
    url: str,
    body: bytes | None = None,
    *,
    method: str = "POST",
    timeout: float,
    retries: int = 1,
    headers: dict[str, str] | None = None,
) -> bool:
    """Send one request; retry on connection errors and 5xx answers; all attempts together
    within ``timeout`` seconds, however slowly the server answers.

    Returns whether the monitor answered with a 2xx status. Never raises: what went wrong is
    logged on the ``cronjobs`` logger (the URL masked by :func:`safe`).
    """
    request = _Request(url, body, method, retries, headers or {}, time.monotonic() + float(timeout))
    thread = threading.Thread(target=request.run, name="cronjobs-monitor", daemon=True)
    try:
        thread.start()  # inside: a stop may reach this thread while start() waits for the new one
        if request.done.wait(max(0.0, request.deadline - time.monotonic())):
            return request.ok
    finally:
        if not request.done.is_set():
            request.abandon()  # also when an exception (a stop) reached the caller while it waited
    logger.warning("monitor request %s abandoned: no answer within its %gs", safe(url), float(timeout))
    return False


class _Request:
    """The attempts of one :func:`send`, run in their own thread; :meth:`abandon` cuts them off."""

    def __init__(
        self, url: str, body: bytes | None, method: str, retries: int, headers: dict[str, str], deadline: float
    ) -> None:
        self.url, self.body, self.method, self.retries = url, body, method, max(0, retries)
        self.headers = {"User-Agent": "cronjobs", **headers}
        self.deadline = deadline
        self.ok = False
        self.done = threading.Event()
        self._mutex = threading.Lock()
        self._connections: list[Any] = []
        self._abandoned = False

    def run(self) -> None:
        try:
            self.ok = self._attempts()
        except Exception:  # never into the thread's excepthook: a monitor must not make noise there
            logger.warning("monitor request %s failed", safe(self.url), exc_info=True)
        finally:
            self.done.set()

    def _attempts(self) -> bool:
        import http.client  # here, not at the top: it costs every Django process ~10 ms to import
        import urllib.error
        import urllib.request

        opener = urllib.request.build_opener(*_handlers(self))
        for attempt in range(self.retries + 1):
            remaining = self.deadline - time.monotonic()
            if remaining <= 0.01 or self._abandoned:
                break
            request = urllib.request.Request(self.url, data=self.body, method=self.method, headers=self.headers)
            try:
                with opener.open(request, timeout=remaining) as response:
                    if 200 <= response.status < 300:
                        return True
                    problem = f"status {response.status}"
            except urllib.error.HTTPError as exc:
                problem = f"status {exc.code}"
                if exc.code < 500 and exc.code != 429:
                    logger.warning("monitor request %s failed: %s", safe(self.url), problem)
                    return False
            except (OSError, ValueError, http.client.HTTPException) as exc:
                if self._abandoned:
                    break
                problem = f"{type(exc).__name__}: {_masked_text(str(exc), self.url)}"
            logger.warning("monitor request %s failed (attempt %d): %s", safe(self.url), attempt + 1, problem)
            if attempt < self.retries:
                time.sleep(min(0.2, max(0.0, self.deadline - time.monotonic())))
        return False

    def opened(self, connection: Any) -> None:
        """A connection of this request is open: tracked, so that :meth:`abandon` can cut it."""
        with self._mutex:
            self._connections.append(connection)
            abandoned = self._abandoned
        if abandoned:
            _cut(connection)

    def abandon(self) -> None:
        """The deadline passed: no more attempts, and the open connection is shut down."""
        with self._mutex:
            self._abandoned = True
            connections = list(self._connections)
        for connection in connections:
            _cut(connection)


def _cut(connection: Any) -> None:
    """Shut the connection's socket down: a read blocked on it in another thread returns at once."""
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the file descriptor's, under any TLS wrapper
    except OSError:
        pass  # closed meanwhile


def _handlers(request: _Request) -> list[Any]:
    """urllib handlers whose connections tell ``request`` when they are open (proxies, TLS and
    redirects as urllib does them)."""
    import http.client
    import urllib.request

    class HTTPConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            request.opened(self)

    class HTTPSConnection(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            request.opened(self)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(HTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(HTTPSConnection, req)

    return [HTTPHandler, HTTPSHandler]


# -- masking ---------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)


def safe(url: str) -> str:
    """``url`` fit for a log line: user info, the query's values and every path segment that may
    be a key (a UUID, 16 characters or more, or letters mixed with digits or with both cases)
    replaced by ``***``. ``https://hc-ping.com/<uuid>/start?rid=<uuid>`` becomes
    ``https://hc-ping.com/***/start?rid=***``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    path = "/".join(MASK if _secret(segment) else segment for segment in parts.path.split("/"))
    names = [name for name, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)]
    query = "&".join(f"{name}={MASK}" for name in names) if names else (MASK if parts.query else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, query, ""))


def _secret(segment: str) -> bool:
    if not segment:
        return False
    if len(segment) >= 16 or _UUID.search(segment):
        return True
    letters = any(c.isalpha() for c in segment)
    return (letters and any(c.isdigit() for c in segment)) or (
        any(c.islower() for c in segment) and any(c.isupper() for c in segment)
    )


def _masked_text(text: str, url: str) -> str:
    """An exception's text with the parts of ``url`` that :func:`safe` masks masked there too."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return text
    secrets = [segment for segment in parts.path.split("/") if _secret(segment)]
    if "@" in parts.netloc:
        secrets.append(parts.netloc.rpartition("@")[0])
    if parts.query:
        secrets.append(parts.query)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
