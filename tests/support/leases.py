"""Leases seen from outside the runcrons processes: when a claim's lease has been outlived.

The test jobs that hang (tests/testapp/jobs.py: ``WritesThenHangs``, ``AllowsOverlap`` and their
kin) have a ``lock_ttl`` of 4 s: their claims and locks lapse 4 s after the last renewal. A
test that needs a lease lapsed runs the judging process on a clock past it
(:func:`tests.support.projects.clock_ahead` with :data:`LAPSED`) instead of sleeping it out; a
test that needs a live run kept alive by its heartbeat alone waits for the renewal that shows it
(:func:`renewed_past_the_claim`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

#: The lease of the test jobs' claims and locks (their lock_ttl), and a moment past it.
TTL = timedelta(seconds=4)
LAPSED = TTL + timedelta(seconds=1)


def renewed_past_the_claim(project, code: str, count: int) -> bool:
    """Whether each of the job's ``count`` running runs has had its lease renewed at a moment past
    the lease its claim took (``started_at + TTL``): only the heartbeat keeps it alive now.

    A renewal at ``t`` sets ``lease_until = t + TTL``; ``t > started_at + TTL`` is
    ``lease_until - started_at > 2 * TTL``.
    """
    rows = project.query(
        "SELECT started_at, lease_until FROM cronjobs_run WHERE job_code = ? AND status = 'running'", (code,)
    )
    leases = [(as_utc(started), as_utc(until)) for started, until in rows if until is not None]
    return len(leases) == count and all(until - started > 2 * TTL for started, until in leases)


def as_utc(value: object) -> datetime:
    """A datetime read from any of the databases (a string on SQLite, naive on MySQL), in UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
