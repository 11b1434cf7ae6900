"""The directory of file locks: this user's own, and not open to others.

Any local user can create ``/tmp/cronjobs-<uid>`` before cronjobs does; file locks in a
directory someone else owns are theirs to delete, so every file-locked job would refuse to
run. This is reported here, before anything runs, rather than as one failed run per job.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import CheckMessage, Warning, register

from cronjobs import conf, registry
from cronjobs.checks.base import TAG, error
from cronjobs.locks import file


@register(TAG)
def check_lock_dir(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    users = [job for job in registry.discover().classes if job.get_lock_name() == "file"]
    if not users:
        return []
    who = f"{len(users)} job(s) use the file lock"
    configured = conf.get("LOCK_DIR") is not None
    for directory in file.directories():
        problem = file.untrusted(directory)
        if problem:
            hint = (
                "Point CRONJOBS['LOCK_DIR'] at a directory this user owns (mode 0700)."
                if configured
                else "Another local user may have created it to block the jobs: remove it (as root), or set "
                "CRONJOBS['LOCK_DIR'] to a directory this user owns (mode 0700), e.g. beside the project."
            )
            return [error(f"The file locks cannot be trusted: {problem} ({who}).", hint, 120)]
    if configured:
        directory = file.lock_dir()
        try:
            mode = os.lstat(directory).st_mode
        except FileNotFoundError:
            return []
        if mode & 0o022:
            return [
                Warning(
                    f"CRONJOBS['LOCK_DIR'] {str(directory)!r} can be written by other users (mode {mode & 0o777:o}): "
                    f"they can delete lock files and so start a job that is already running ({who}).",
                    hint=f"chmod 700 {directory}; cronjobs leaves the mode of a configured LOCK_DIR as it is.",
                    id="cronjobs.W120",
                )
            ]
    return []
