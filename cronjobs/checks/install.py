"""The ``INSTALL_*`` keys read by ``installcrons`` (ids cronjobs.E030-E039)."""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import CheckMessage, register

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
