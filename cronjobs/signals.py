"""Signals sent around every run.

``run_started``: sent with ``sender`` the job class and ``run`` (the :class:`~cronjobs.models.Run`)
once the job holds its lock, right before ``run()`` is called.

``run_finished``: sent with ``sender`` the job class, ``run`` (refreshed, as recorded) and
``outcome`` (an :class:`~cronjobs.execution.Outcome`) after the run's record is written,
whatever the status: succeeded, failed, timed out, skipped, interrupted.

Receivers run in the runcrons process. An exception in a receiver is logged with its
traceback on the ``cronjobs`` logger and never changes the outcome of the run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

logger = logging.getLogger("cronjobs")

run_started = Signal()
run_finished = Signal()


def send(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Send ``signal``; log (never raise) what a receiver raised."""
    for receiver, result in signal.send_robust(sender, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "receiver %r of %s raised %s: %s",
                receiver,
                "run_started" if signal is run_started else "run_finished",
                type(result).__name__,
                result,
                exc_info=(type(result), result, result.__traceback__),
            )
