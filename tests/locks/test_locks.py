"""The database and cache locks in one process: who gets them, renewal, release, expiry, cost."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.checks import Error
from django.test import override_settings
from django.utils import timezone

from cronjobs import checks, locks
from cronjobs.exceptions import LockError
from cronjobs.locks.cache import CacheLock
from cronjobs.locks.database import DatabaseLock
from cronjobs.locks.models import Lease
from tests.support.projects import REDIS_URL, require_redis

TTL = timedelta(minutes=1)


def database_lock(owner: str, name: str = "job") -> DatabaseLock:
    return DatabaseLock(name, ttl=TTL, owner=owner)


@pytest.mark.django_db
class TestDatabaseLock:
    def test_the_first_taker_gets_it_and_the_second_does_not(self):
        first, second = database_lock("a"), database_lock("b")
        assert first.acquire()
        assert not second.acquire()
        assert second.holder() == "a"

    def test_it_is_free_again_after_release(self):
        first, second = database_lock("a"), database_lock("b")
        assert first.acquire()
        first.release()
        assert first.holder() is None
        assert second.acquire()

    def test_only_the_owner_releases_it(self):
        first = database_lock("a")
        assert first.acquire()
        Lease.objects.filter(name="job").update(owner="b")  # taken over after an expiry
        first.release()
        assert Lease.objects.get(name="job").owner == "b"

    def test_an_expired_lease_can_be_taken_and_the_old_owner_cannot_renew_it(self):
        first, second = database_lock("a"), database_lock("b")
        assert first.acquire()
        Lease.objects.filter(name="job").update(expires_at=timezone.now() - timedelta(seconds=1))
        assert first.holder() is None
        assert second.acquire()
        assert not first.renew()
        assert second.renew()
        assert Lease.objects.get(name="job").owner == "b"

    def test_renewing_moves_the_expiry(self):
        lock = database_lock("a")
        assert lock.acquire()
        Lease.objects.filter(name="job").update(expires_at=timezone.now() + timedelta(seconds=1))
        assert lock.renew()
        assert Lease.objects.get(name="job").expires_at > timezone.now() + timedelta(seconds=50)

    def test_locks_of_different_names_do_not_exclude_each_other(self):
        assert database_lock("a", "one").acquire()
        assert database_lock("b", "two").acquire()

    @pytest.mark.django_db(transaction=True)  # autocommit, as in runcrons: no savepoints
    def test_acquire_and_release_cost_two_queries_once_the_row_exists(self, django_assert_max_num_queries):
        # First use: update, is there a row (never an insert beside a held one), insert, release.
        with django_assert_max_num_queries(4):
            lock = database_lock("a")
            assert lock.acquire()
            lock.release()
        with django_assert_max_num_queries(2):  # the row exists: update, release
            lock = database_lock("b")
            assert lock.acquire()
            lock.release()

    def test_acquiring_twice_with_one_object_is_an_error(self):
        lock = database_lock("a")
        assert lock.acquire()
        with pytest.raises(LockError):
            lock.acquire()

    def test_get_lock_knows_the_database_and_cache_backends(self):
        assert isinstance(locks.get_lock("database", "x", ttl=TTL), DatabaseLock)
        assert isinstance(locks.get_lock("cache", "x", ttl=TTL), CacheLock)


def redis_caches() -> dict:
    return {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "locks": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"cronjobs-test-{uuid.uuid4().hex[:12]}",
        },
    }


@pytest.fixture(params=["redis", "locmem"])
def cache_lock(request):
    """CacheLock factory on a real Redis (atomic scripts) and on the generic cache API."""
    if request.param == "redis":
        require_redis()
        caches = redis_caches()
    else:
        caches = {"locks": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": uuid.uuid4().hex}}
    with override_settings(CACHES=caches):
        yield lambda owner, ttl=TTL: CacheLock("job", ttl=ttl, owner=owner)


class TestCacheLock:
    def test_the_first_taker_gets_it_and_the_second_does_not(self, cache_lock):
        first, second = cache_lock("a"), cache_lock("b")
        assert first.acquire()
        assert not second.acquire()
        assert second.holder() == "a"
        first.release()
        assert second.acquire()

    def test_only_the_owner_releases_or_renews_it(self, cache_lock):
        first, second = cache_lock("a"), cache_lock("b")
        assert first.acquire()
        second.held = True  # pretends to hold it, as a process whose lease expired would
        assert not second.renew()
        second.release()
        assert first.holder() == "a"
        assert first.renew()

    def test_the_lease_expires(self, cache_lock):
        first, second = cache_lock("a", timedelta(seconds=1)), cache_lock("b")
        assert first.acquire()
        import time

        time.sleep(1.1)
        assert second.acquire()
        assert not first.renew()

    def test_an_unreachable_cache_is_a_lock_error_naming_it(self):
        caches = redis_caches()
        caches["locks"]["LOCATION"] = "redis://127.0.0.1:1/0"
        with override_settings(CACHES=caches):
            with pytest.raises(LockError, match=r"cannot reach cache 'locks' \(RedisCache at redis://127.0.0.1:1/0\)"):
                CacheLock("job", ttl=TTL, owner="a").acquire()


class TestCacheLockChecks:
    def errors(self) -> list:
        return checks.check_lock_cache()

    @override_settings(CRONJOBS={"LOCK": "cache", "LOCK_CACHE": "default"})
    def test_a_local_memory_cache_is_rejected(self):
        [error] = self.errors()
        assert isinstance(error, Error)
        assert error.id == "cronjobs.E021"
        assert "LocMemCache" in error.msg and "processes do not share" in error.msg

    @override_settings(
        CRONJOBS={"LOCK": "cache", "LOCK_CACHE": "files"},
        CACHES={"files": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "/tmp/x"}},
    )
    def test_a_cache_without_an_atomic_add_is_rejected(self):
        assert [e.id for e in self.errors()] == ["cronjobs.E022"]

    @override_settings(CRONJOBS={"LOCK": "cache", "LOCK_CACHE": "nope"})
    def test_an_unknown_alias_is_rejected_with_the_known_ones(self):
        [error] = self.errors()
        assert error.id == "cronjobs.E020"
        assert "'default'" in error.hint

    @override_settings(CRONJOBS={"LOCK": "cache", "LOCK_CACHE": "locks"})
    def test_redis_is_accepted(self):
        assert self.errors() == []

    @override_settings(CRONJOBS={"LOCK": "file", "LOCK_CACHE": "default"})
    def test_nothing_is_checked_when_no_job_uses_the_cache_lock(self):
        assert self.errors() == []

    @override_settings(
        CRONJOBS={
            "LOCK": "file",
            "LOCK_CACHE": "default",
            "AUTODISCOVER": False,
            "JOBS": ["tests.locks.test_locks.UsesCache"],
        }
    )
    def test_a_job_with_lock_cache_is_enough_to_check(self):
        assert [e.id for e in self.errors()] == ["cronjobs.E021"]


from cronjobs import BaseCronJob  # noqa: E402


class UsesCache(BaseCronJob):
    schedule = "* * * * *"
    lock = "cache"
    code = "test.uses_cache"


@pytest.mark.django_db
def test_breaking_a_database_lock_frees_it_and_the_old_holder_can_no_longer_renew():
    holder, operator, next_run = database_lock("a"), database_lock("op"), database_lock("b")
    assert operator.break_lock() is None  # free: nothing to break
    assert holder.acquire()
    assert operator.break_lock() == "a"
    assert not holder.renew()
    assert next_run.acquire()
    holder.release()  # the old holder's release does not free the new holder's lease
    assert next_run.holder() == "b"


def test_breaking_a_cache_lock_frees_it_and_the_old_holder_can_no_longer_renew(cache_lock):
    holder, operator, next_run = cache_lock("a"), cache_lock("op"), cache_lock("b")
    assert operator.break_lock() is None
    assert holder.acquire()
    assert operator.break_lock() == "a"
    assert not holder.renew()
    assert next_run.acquire()
    holder.release()
    assert next_run.holder() == "b"
