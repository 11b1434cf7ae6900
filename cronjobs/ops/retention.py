"""Keeping the run table bounded: ``CRONJOBS["KEEP_RUNS"]``, per job, by count and/or age.

``runcrons`` prunes each job right after running it: one indexed query finds the first run
beyond the bound, and only when there is one a second deletes it and what is older; the
cost depends on the bound, not on the history.
``manage.py cronjobs prune`` applies the same to every job code in the table.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from cronjobs import conf
from cronjobs.models import Job, Run

#: The largest count every database takes as a query offset (a signed 32-bit integer).
MAX_COUNT = 2**31 - 1
#: The longest age: ``now - age`` stays a datetime.
MAX_AGE = timedelta(days=36525)


@dataclasses.dataclass(frozen=True)
class Policy:
    """How many runs of each job are kept."""

    count: int | None
    """Keep at most this many runs per job (None: no limit by count)."""
    age: timedelta | None
    """Keep runs whose slot is at most this old (None: no limit by age)."""

    @property
    def keeps_all(self) -> bool:
        return self.count is None and self.age is None


def parse(value: Any) -> Policy:
    """``KEEP_RUNS`` as a :class:`Policy`; raises ``ValueError`` saying what is accepted."""
    if value is None:
        return Policy(None, None)
    if isinstance(value, int) and not isinstance(value, bool):
        return parse({"count": value})
    if isinstance(value, timedelta):
        return parse({"age": value})
    if isinstance(value, dict) and set(value) <= {"count", "age"}:
        count, age = value.get("count"), value.get("age")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise ValueError(f"'count' must be a positive integer or None, not {count!r}")
        if count is not None and count > MAX_COUNT:
            raise ValueError(f"'count' must be at most {MAX_COUNT} (None keeps all), not {count!r}")
        if age is not None and (not isinstance(age, timedelta) or age <= timedelta(0)):
            raise ValueError(f"'age' must be a positive timedelta or None, not {age!r}")
        if age is not None and age > MAX_AGE:
            raise ValueError(f"'age' must be at most {MAX_AGE.days} days (None keeps all), not {age!r}")
        return Policy(count, age)
    raise ValueError(
        f"{value!r} is not a retention policy; use a count (1000), an age (timedelta(days=30)), "
        "{'count': 1000, 'age': timedelta(days=30)} or None"
    )


def policy() -> Policy:
    return parse(conf.get("KEEP_RUNS"))


def prune_job(code: str, now: datetime, keep: Policy | None = None) -> int:
    """Delete the runs of ``code`` beyond the policy; returns how many were deleted.

    Runs still going are never deleted. One query when nothing is beyond the bound.
    """
    keep = policy() if keep is None else keep
    if keep.keeps_all:
        return 0
    before = None if keep.age is None else now - keep.age
    return Run.objects.prune(code, keep.count, before)


def prune_all(now: datetime, keep: Policy | None = None) -> dict[str, int]:
    """Apply the policy to every job code that has runs (registered or not)."""
    keep = policy() if keep is None else keep
    codes = set(Job.objects.values_list("code", flat=True)) | set(
        Run.objects.values_list("job_id", flat=True).distinct()
    )
    return {code: prune_job(code, now, keep) for code in sorted(codes)}
