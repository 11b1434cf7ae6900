"""The Prometheus metrics view needs ``prometheus-client`` (E160).

Registered under Django's ``urls`` tag, not :data:`~cronjobs.checks.base.TAG`: it reads the
URLconf, which ``runcrons`` (running only cronjobs' checks, every minute) has no use for.
``manage.py check`` and ``runserver`` run it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

from django.core.checks import CheckMessage, Tags, register

from cronjobs.checks.base import error

HINT = "Install the extra: pip install 'cronjobs[prometheus]' (or pip install prometheus-client)."


@register(Tags.urls)
def check_metrics_view(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if importlib.util.find_spec("prometheus_client") is not None:
        return []
    routes = sorted(set(metrics_routes()))
    if not routes:
        return []
    return [
        error(
            f"The cronjobs metrics view is routed at {', '.join(repr(r) for r in routes)}, "
            "but prometheus-client is not installed: every scrape would fail.",
            HINT,
            160,
        )
    ]


def metrics_routes() -> Iterator[str]:
    """The URL patterns (as written, joined) that lead to ``cronjobs.ops.metrics.metrics_view``."""
    from django.urls import URLPattern, URLResolver, get_resolver

    from cronjobs.ops.metrics import metrics_view

    def walk(patterns: Any, prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and _is(pattern.callback, metrics_view):
                yield "/" + prefix + str(pattern.pattern)

    try:
        yield from walk(get_resolver().url_patterns, "")
    except Exception:  # a broken URLconf is reported by Django's own checks
        return


def _is(callback: Any, view: Any) -> bool:
    """``callback`` is ``view``, or wraps it (decorators that use functools.wraps)."""
    for _ in range(20):
        if callback is view:
            return True
        callback = getattr(callback, "__wrapped__", None)
        if callback is None:
            return False
    return False
