"""One HTTP request to a monitor, bounded: a total time budget and a few retries, never raising."""

from __future__ import annotations

import logging
import time
import urllib.parse

logger = logging.getLogger("cronjobs")


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
    within ``timeout`` seconds.

    Returns whether the monitor answered with a 2xx status. Never raises: what went wrong is
    logged on the ``cronjobs`` logger (the URL without its query string, which may hold keys).
    """
    import urllib.error  # here, not at the top: it costs every Django process ~10 ms to import
    import urllib.request

    deadline = time.monotonic() + float(timeout)
    for attempt in range(max(0, retries) + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0.01:
            break
        request = urllib.request.Request(
            url, data=body, method=method, headers={"User-Agent": "cronjobs", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=remaining) as response:
                if 200 <= response.status < 300:
                    return True
                problem = f"status {response.status}"
        except urllib.error.HTTPError as exc:
            problem = f"status {exc.code}"
            if exc.code < 500 and exc.code != 429:
                logger.warning("monitor request %s failed: %s", safe(url), problem)
                return False
        except (OSError, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        logger.warning("monitor request %s failed (attempt %d): %s", safe(url), attempt + 1, problem)
        if attempt < retries:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    return False


def safe(url: str) -> str:
    """The URL without its query string, for log lines."""
    return urllib.parse.urlsplit(url)._replace(query="").geturl()
