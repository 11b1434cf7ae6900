"""The fake clock of a test host's processes: ``django.utils.timezone.now`` shifted by CRONJOBS_TEST_CLOCK_OFFSET seconds.

On the test hosts' PYTHONPATH only (tests/hosts/network.py). cronjobs reads the wall clock
through ``timezone.now()`` alone (slots, claims, leases, lock expiry), so shifting it shifts
the host's clock as runcrons sees it, while monotonic time, sleeps and timeouts stay real.
libfaketime cannot do this for Python here: with its monotonic clock faked, waits on
conditions (``threading.Event.wait``) never end; with it real, ``time.sleep`` fails (EINVAL).
"""

import os

_offset = float(os.environ.get("CRONJOBS_TEST_CLOCK_OFFSET", "0") or 0)
if _offset:
    from datetime import datetime, timedelta
    from datetime import timezone as _utc

    from django.utils import timezone as _timezone

    _shift = timedelta(seconds=_offset)

    def _now() -> datetime:
        return datetime.now(tz=_utc.utc) + _shift

    _timezone.now = _now
