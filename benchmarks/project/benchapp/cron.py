"""BENCH_JOBS trivial jobs, generated; BENCH_SCHEDULE sets their schedule (default: 03:00 daily).

BENCH_SCHEDULE=distinct gives every job its own expression (a minute of January 1st).
"""

import os

from cronjobs import BaseCronJob


def _run(self):
    return None


def _schedule(index: int) -> str:
    schedule = os.environ.get("BENCH_SCHEDULE", "0 3 * * *")
    return f"{index % 60} {index // 60 % 24} 1 1 *" if schedule == "distinct" else schedule


for _i in range(int(os.environ.get("BENCH_JOBS", "0"))):
    _name = f"Job{_i:04d}"
    globals()[_name] = type(
        _name,
        (BaseCronJob,),
        {"__module__": __name__, "schedule": _schedule(_i), "run": _run},
    )
