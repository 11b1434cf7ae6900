"""What ``installcrons`` needs: the ``INSTALL_*`` keys (ids cronjobs.E030-E039) and python-crontab (I170, W171)."""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import CheckMessage, Info, Warning, register

from cronjobs import conf
from cronjobs.checks.base import TAG, error


@register(TAG)
def check_install_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The ``INSTALL_*`` keys read by ``installcrons`` (ids cronjobs.E030-E039)."""
    from cronjobs.install import entry

    errors: list[CheckMessage] = []
    values = conf.get_settings()
    install_id = values["INSTALL_ID"]
    if install_id is not None and (not isinstance(install_id, str) or not entry.ID_RE.match(install_id)):
        errors.append(
            error(
                f"CRONJOBS['INSTALL_ID'] is {install_id!r}.",
                "Use 1 to 100 letters, digits, '.', '_' or '-', e.g. 'shop-production'.",
                30,
            )
        )
    names = values["INSTALL_ENV"]
    if not isinstance(names, (list, tuple)) or not all(
        isinstance(n, str) and entry.ENV_NAME_RE.match(n) for n in names
    ):
        errors.append(
            error("CRONJOBS['INSTALL_ENV'] must be a list of variable names.", "E.g. ['LANG', 'PYTHONPATH'].", 31)
        )
    else:
        for name in entry.secret_names(names):
            errors.append(
                error(
                    f"CRONJOBS['INSTALL_ENV'] names {name}, which looks like a secret.",
                    "The crontab is no place for secrets: put them in the file named by "
                    "CRONJOBS['INSTALL_ENV_FILE'], which the entry reads when it runs.",
                    32,
                )
            )
    env_file = values["INSTALL_ENV_FILE"]
    if env_file is not None and not isinstance(env_file, (str, os.PathLike)):
        errors.append(error("CRONJOBS['INSTALL_ENV_FILE'] must be a path or None.", f"Got {env_file!r}.", 33))
    log_file = values["INSTALL_LOG_FILE"]
    if log_file is not None and log_file is not False and not isinstance(log_file, (str, os.PathLike)):
        errors.append(
            error(
                "CRONJOBS['INSTALL_LOG_FILE'] must be a path, None or False.",
                "None: cronjobs.log beside manage.py; False: no log file, cron mails the output.",
                34,
            )
        )
    return errors


#: Not under TAG: runcrons (which runs only TAG's checks) and the job checks have no use for it.
INSTALL_TAG = "cronjobs_install"


@register(INSTALL_TAG)
def check_python_crontab(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """python-crontab is installed (cronjobs.W171) and whether another ``crontab`` shadows it (I170).

    Never an error: only installcrons, the one command that needs python-crontab, may stop on
    it. A shadowed python-crontab is information, not a warning: installcrons loads it from its
    file and works, and ``check --fail-level WARNING`` keeps passing beside django-tasks-rq.

    Finds files only, imports nothing: the check runs before every command, which must keep
    working whatever ``crontab`` module is installed (see :mod:`cronjobs.install.pycrontab`).
    """
    from cronjobs.install import pycrontab

    found = pycrontab.diagnose()
    if found.python_crontab_file is None:
        return [
            Warning(
                "python-crontab is not installed, so installcrons cannot work.", hint=found.hint, id="cronjobs.W171"
            )
        ]
    if found.shadowed_by is not None:
        return [
            Info(
                f"The module `crontab` here comes from {found.shadowed_by} ({found.module_file}) and shadows "
                "python-crontab's (parse-crontab, required by rq-scheduler and django-tasks-rq, does this).",
                hint=found.hint,
                id="cronjobs.I170",
            )
        ]
    return []
