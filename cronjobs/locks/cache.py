"""``lock = "cache"``: an atomic add of a token with a TTL, on a cache that processes share.

The cache is ``CRONJOBS["LOCK_CACHE"]`` (an alias of ``CACHES``, default ``"default"``).
On Django's ``RedisCache`` every step is one atomic Redis command: ``SET NX PX`` to take,
and small scripts that compare the token before they extend or delete, so only the owner
renews or releases. On other shared caches (Memcached, django-redis) taking the lock is
``cache.add()``, atomic there too; renewing and releasing read the token first, so they
are only as atomic as two commands in a row (a lease that expires between them is the only
window). Caches that processes do not share, or whose ``add()`` is not atomic across
processes, are rejected by the system checks (cronjobs.E021, E022).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.core.cache import caches

from cronjobs import conf
from cronjobs.exceptions import LockError
from cronjobs.locks import Lock

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def describe_cache(alias: str) -> str:
    """``'alias' (Backend at location)`` for messages that must say what could not be reached."""
    from django.conf import settings

    caches_setting: Any = settings.CACHES
    config = caches_setting.get(alias, {})
    backend = str(config.get("BACKEND", "?")).rsplit(".", 1)[-1]
    location = config.get("LOCATION", "")
    if isinstance(location, (list, tuple)):
        location = ",".join(map(str, location))
    return f"{alias!r} ({backend} at {location})" if location else f"{alias!r} ({backend})"


class CacheLock(Lock):
    """A token under ``cronjobs:lock:<name>`` that expires after ``ttl`` unless renewed."""

    def __init__(self, name: str, *, ttl: timedelta, owner: str) -> None:
        super().__init__(name, ttl=ttl, owner=owner)
        self.alias = conf.get("LOCK_CACHE")
        self.cache = caches[self.alias]
        self.key = f"cronjobs:lock:{name}"
        self.held = False

    def _redis(self) -> tuple[Any, str] | None:
        """The raw client and full key when the cache is Django's RedisCache."""
        from django.core.cache.backends.redis import RedisCache

        if not isinstance(self.cache, RedisCache):
            return None
        key = self.cache.make_and_validate_key(self.key)
        return self.cache._cache.get_client(key, write=True), key

    def _fail(self, exc: Exception) -> LockError:
        return LockError(f"cannot reach cache {describe_cache(self.alias)}: {' '.join(str(exc).split())}")

    def acquire(self) -> bool:
        if self.held:
            raise LockError(f"lock {self.name!r} is already held by this object")
        try:
            redis = self._redis()
            if redis is not None:
                client, key = redis
                self.held = bool(client.set(key, self.owner, nx=True, px=_ms(self.ttl)))
            else:
                self.held = bool(self.cache.add(self.key, self.owner, timeout=_seconds(self.ttl)))
        except Exception as exc:  # each cache client raises its own connection errors
            raise self._fail(exc) from exc
        return self.held

    def renew(self) -> bool:
        if not self.held:
            return False
        try:
            redis = self._redis()
            if redis is not None:
                client, key = redis
                return bool(client.eval(_RENEW, 1, key, self.owner, _ms(self.ttl)))
            if self.cache.get(self.key) != self.owner:
                return False
            return bool(self.cache.touch(self.key, timeout=_seconds(self.ttl)))
        except Exception as exc:
            raise self._fail(exc) from exc

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            redis = self._redis()
            if redis is not None:
                client, key = redis
                client.eval(_RELEASE, 1, key, self.owner)
            elif self.cache.get(self.key) == self.owner:
                self.cache.delete(self.key)
        except Exception as exc:
            raise self._fail(exc) from exc

    def holder(self) -> str | None:
        try:
            redis = self._redis()
            if redis is not None:
                client, key = redis
                value = client.get(key)
                return value.decode() if isinstance(value, bytes) else value
            value = self.cache.get(self.key)
        except Exception as exc:
            raise self._fail(exc) from exc
        return None if value is None else str(value)

    def break_lock(self) -> str | None:
        """Delete the token whoever holds it (only that token: a new holder's is left alone)."""
        holder = self.holder()
        if holder is None:
            return None
        try:
            redis = self._redis()
            if redis is not None:
                client, key = redis
                client.eval(_RELEASE, 1, key, holder)
            elif self.cache.get(self.key) == holder:
                self.cache.delete(self.key)
        except Exception as exc:
            raise self._fail(exc) from exc
        return holder


def _ms(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() * 1000))


def _seconds(ttl: timedelta) -> int:
    return max(1, math.ceil(ttl.total_seconds()))
