"""The cache behind ``lock = "cache"``: shared by processes, with an atomic ``add()``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, register

from cronjobs import conf, registry
from cronjobs.checks.base import TAG, error

#: Cache backends whose entries other processes cannot see.
UNSHARED_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
#: Cache backends whose ``add()`` is a read then a write, so two processes can both succeed.
NON_ATOMIC_CACHES = (
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.db.DatabaseCache",
)


@register(TAG)
def check_lock_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The cache behind ``lock = "cache"`` must be shared by processes and add atomically."""
    users = [job for job in registry.discover().classes if job.get_lock_name() == "cache" and job.overlap == "skip"]
    if conf.get("LOCK") != "cache" and not users:
        return []
    alias = conf.get("LOCK_CACHE")
    who = f"{len(users)} job(s) use the cache lock" if users else "CRONJOBS['LOCK'] is 'cache'"
    if not isinstance(alias, str) or alias not in settings.CACHES:
        known = ", ".join(repr(a) for a in settings.CACHES) or "none"
        return [
            error(
                f"CRONJOBS['LOCK_CACHE'] is {alias!r}, not an alias in CACHES ({who}).",
                f"Use one of {known}, or add a Redis or Memcached cache to CACHES.",
                20,
            )
        ]
    config: Any = settings.CACHES[alias]
    backend = str(config.get("BACKEND", ""))
    if backend in UNSHARED_CACHES:
        return [
            error(
                f"The cache lock's cache {alias!r} uses {backend.rsplit('.', 1)[-1]}, which processes do not share "
                f"({who}).",
                "Every runcrons process would hold its own lock. Point CRONJOBS['LOCK_CACHE'] at a Redis or "
                "Memcached cache, or use lock = 'database'.",
                21,
            )
        ]
    if backend in NON_ATOMIC_CACHES:
        return [
            error(
                f"The cache lock's cache {alias!r} uses {backend.rsplit('.', 1)[-1]}, whose add() is not atomic "
                f"across processes ({who}).",
                "Two processes could both take the lock. Use Redis or Memcached, or lock = 'database'.",
                22,
            )
        ]
    return []
