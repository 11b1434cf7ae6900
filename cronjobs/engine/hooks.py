"""A job's own hooks: ``on_start``, ``on_success(result)``, ``on_failure(error)``, ``on_finish(outcome)``.

They are called outside the job's transaction: ``on_start`` before it opens, the others after
the run's record is written (and its transaction committed or rolled back). A hook cannot break
that record: an exception in one is logged and noted on the run's message; the run's status
stays what the job earned. Hooks are not called for runs that did not start the job (skipped,
handed to a task backend) nor when runcrons is stopped (SIGTERM, Ctrl-C) in the middle of a run.
A run its supervisor stopped (a timeout, a lost lease) or whose work horse died gets its
``on_failure`` and ``on_finish`` in the next work horse.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from cronjobs.exceptions import Interrupted
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Run

if TYPE_CHECKING:
    from cronjobs.engine.outcomes import Outcome

logger = logging.getLogger("cronjobs")

NAMES = ("on_start", "on_success", "on_failure", "on_finish")


def defines_hooks(job_cls: type[BaseCronJob]) -> bool:
    """Whether the class overrides any hook (most do not: nothing to call)."""
    return any(getattr(job_cls, name) is not getattr(BaseCronJob, name) for name in NAMES)


class Hooks:
    """The hooks of one run; their errors are kept and noted on the run once it is recorded."""

    def __init__(self, job: BaseCronJob | None, run: Run) -> None:
        self.job = job if job is not None and defines_hooks(type(job)) else None
        self.run = run
        self.errors: list[str] = []

    def start(self) -> None:
        self._call("on_start")

    def finished(self, outcome: Outcome, *, result: Any = None, error: BaseException | None = None) -> Outcome:
        """Call ``on_success``/``on_failure`` then ``on_finish``; note their errors on the run."""
        if self.job is None:
            return outcome
        if error is None:
            self._call("on_success", result)
        else:
            self._call("on_failure", error)
        self._call("on_finish", outcome)
        if self.errors and Run.objects.add_note(self.run, "; ".join(self.errors)):
            return dataclasses.replace(outcome, message=self.run.message)
        return outcome

    def _call(self, name: str, *args: Any) -> None:
        if self.job is None:
            return
        try:
            getattr(self.job, name)(*args)
        except (KeyboardInterrupt, Interrupted):
            raise
        except BaseException as exc:  # SystemExit included: a hook never ends the runner
            logger.error("%s: hook %s raised %s: %s", self.run.job_id, name, type(exc).__name__, exc, exc_info=True)
            self.errors.append(f"hook {name} raised {type(exc).__name__}: {exc}")
