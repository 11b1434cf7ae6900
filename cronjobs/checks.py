"""System checks: every mistake in a job class or in ``CRONJOBS`` is reported before anything runs."""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from cronjobs import conf, locks, registry
from cronjobs.exceptions import ScheduleError
from cronjobs.jobs import CATCHUP_CHOICES, OVERLAP_CHOICES, BaseCronJob, CommandJob

TAG = "cronjobs"


def _error(msg: str, hint: str, id: int, obj: Any = None) -> Error:
    return Error(msg, hint=hint, obj=obj, id=f"cronjobs.E{id:03d}")


@register(TAG)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    user = getattr(settings, "CRONJOBS", None)
    if user is not None and not isinstance(user, dict):
        return [_error("CRONJOBS must be a dict.", f"Got {type(user).__name__}.", 10)]
    for key in sorted(set(user or {}) - set(conf.DEFAULTS)):
        errors.append(
            _error(
                f"CRONJOBS has an unknown key {key!r}.",
                f"Accepted keys: {', '.join(sorted(conf.DEFAULTS))}.",
                10,
            )
        )
    if not settings.USE_TZ:
        errors.append(
            _error(
                "cronjobs needs USE_TZ = True.",
                "Slots are stored as aware datetimes in UTC; set USE_TZ = True in your settings.",
                13,
            )
        )
    values = conf.get_settings()
    if not isinstance(values["JOBS"], (list, tuple)):
        errors.append(_error("CRONJOBS['JOBS'] must be a list of dotted paths.", "E.g. ['myapp.jobs.Nightly'].", 16))
    if values["LOCK"] not in locks.BACKENDS:
        errors.append(
            _error(
                f"CRONJOBS['LOCK'] is {values['LOCK']!r}, not a known lock.",
                f"Use one of {', '.join(repr(n) for n in locks.BACKENDS)}.",
                5,
            )
        )
    if not isinstance(values["MAX_CATCHUP"], int) or values["MAX_CATCHUP"] < 1:
        errors.append(_error("CRONJOBS['MAX_CATCHUP'] must be a positive integer.", "The default is 100.", 16))
    if not isinstance(values["CATCHUP_GRACE"], timedelta) or values["CATCHUP_GRACE"] < timedelta(0):
        errors.append(
            _error("CRONJOBS['CATCHUP_GRACE'] must be a non-negative timedelta.", "The default is 2 minutes.", 16)
        )
    if values["LOCK_DIR"] is not None:
        problem = _unwritable(os.fspath(values["LOCK_DIR"]))
        if problem:
            errors.append(
                _error(
                    f"CRONJOBS['LOCK_DIR'] {os.fspath(values['LOCK_DIR'])!r} cannot be written: {problem}.",
                    "Point LOCK_DIR at a directory this user owns, or leave it unset.",
                    12,
                )
            )
    for message in registry.discover().errors:
        errors.append(_error(f"CRONJOBS['JOBS']: {message}.", "Fix or remove the entry.", 11))
    return errors


#: Cache backends whose entries other processes cannot see.
UNSHARED_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)
#: Cache backends whose ``add()`` is a read then a write, so two processes can both succeed.
NON_ATOMIC_CACHES = (
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.db.DatabaseCache",
)


@register(TAG)
def check_fencing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Fenced records need READ COMMITTED on PostgreSQL (Django's default): under REPEATABLE READ or
    SERIALIZABLE the heartbeat's lease renewals make every job that outlives a renewal fail."""
    from django.core.checks import Warning
    from django.db import connections, router

    from cronjobs.models import Run

    alias = router.db_for_write(Run)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return []
    level = (connection.settings_dict.get("OPTIONS") or {}).get("isolation_level")
    if level is None:
        return []
    driver: Any = getattr(connection, "Database")  # noqa: B009  (psycopg or psycopg2: levels numbered differently)
    if driver.__name__ == "psycopg2":
        fine = {driver.extensions.ISOLATION_LEVEL_READ_COMMITTED, driver.extensions.ISOLATION_LEVEL_READ_UNCOMMITTED}
    else:
        fine = {driver.IsolationLevel.READ_COMMITTED, driver.IsolationLevel.READ_UNCOMMITTED}
    if level in fine:
        return []
    return [
        Warning(
            f"DATABASES[{alias!r}] (where cronjobs records runs) uses isolation level {level!r}.",
            hint="Runs renew their lease while a job's transaction is open; under REPEATABLE READ or SERIALIZABLE "
            "the job's fenced record then fails to serialize. Use READ COMMITTED (Django's default) there.",
            id="cronjobs.W019",
        )
    ]


@register(TAG)
def check_lock_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The cache behind ``lock = "cache"`` must be shared by processes and add atomically."""
    users = [job for job in registry.discover().classes if job.get_lock_name() == "cache" and job.overlap == "skip"]
    if conf.get("LOCK") != "cache" and not users:
        return []
    alias = conf.get("LOCK_CACHE")
    who = f"{len(users)} job(s) use the cache lock" if users else "CRONJOBS['LOCK'] is 'cache'"
    if not isinstance(alias, str) or alias not in settings.CACHES:
        known = ", ".join(repr(a) for a in settings.CACHES) or "none"
        return [
            _error(
                f"CRONJOBS['LOCK_CACHE'] is {alias!r}, not an alias in CACHES ({who}).",
                f"Use one of {known}, or add a Redis or Memcached cache to CACHES.",
                20,
            )
        ]
    config: Any = settings.CACHES[alias]
    backend = str(config.get("BACKEND", ""))
    if backend in UNSHARED_CACHES:
        return [
            _error(
                f"The cache lock's cache {alias!r} uses {backend.rsplit('.', 1)[-1]}, which processes do not share "
                f"({who}).",
                "Every runcrons process would hold its own lock. Point CRONJOBS['LOCK_CACHE'] at a Redis or "
                "Memcached cache, or use lock = 'database'.",
                21,
            )
        ]
    if backend in NON_ATOMIC_CACHES:
        return [
            _error(
                f"The cache lock's cache {alias!r} uses {backend.rsplit('.', 1)[-1]}, whose add() is not atomic "
                f"across processes ({who}).",
                "Two processes could both take the lock. Use Redis or Memcached, or lock = 'database'.",
                22,
            )
        ]
    return []


@register(TAG)
def check_jobs(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    by_code: dict[str, list[type[BaseCronJob]]] = defaultdict(list)
    for job in registry.discover().classes:
        by_code[job.get_code()].append(job)
        errors.extend(_check_job(job))
    for code, classes in by_code.items():
        if len(classes) > 1:
            names = ", ".join(f"{c.__module__}.{c.__qualname__}" for c in classes)
            errors.append(
                _error(
                    f"Job code {code!r} is used by {len(classes)} classes: {names}.",
                    "Give each job a distinct `code`.",
                    6,
                    classes[1],
                )
            )
    return errors


def _check_job(job: type[BaseCronJob]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []

    def add(msg: str, hint: str, id: int) -> None:
        errors.append(_error(f"{job.__qualname__}: {msg}", hint, id, job))

    code = job.get_code()
    if not isinstance(code, str) or not code or len(code) > 191 or code.split() != [code]:
        add(f"code {code!r} is not usable.", "Use a non-empty string of at most 191 characters without spaces.", 15)
    if job.schedule is None and job.interval is None:
        add("has neither schedule nor interval.", "Set schedule = '*/5 * * * *' or interval = timedelta(...).", 2)
    elif job.schedule is not None and job.interval is not None:
        add("has both schedule and interval.", "Keep one of them.", 2)
    elif job.interval is not None:
        try:
            job.get_schedule()
        except ScheduleError as exc:
            add(f"bad interval: {exc}.", "Use a positive timedelta of whole seconds, e.g. timedelta(minutes=5).", 3)
    else:
        zone_ok = _zone_ok(job.get_timezone())
        if not zone_ok:
            add(
                f"unknown time zone {job.get_timezone()!r}.",
                "Use an IANA zone name such as 'Europe/Berlin' (see zoneinfo.available_timezones()).",
                4,
            )
        else:
            try:
                job.get_schedule()
            except ScheduleError as exc:
                add(
                    f"bad schedule: {exc}.",
                    "Use five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, "
                    "@weekly, @monthly, @yearly.",
                    1,
                )
    if job.get_lock_name() not in locks.BACKENDS:
        add(
            f"unknown lock {job.get_lock_name()!r}.",
            f"Use one of {', '.join(repr(n) for n in locks.BACKENDS)}.",
            5,
        )
    if job.catchup not in CATCHUP_CHOICES:
        add(f"catchup is {job.catchup!r}.", f"Use one of {', '.join(map(repr, CATCHUP_CHOICES))}.", 7)
    if job.overlap not in OVERLAP_CHOICES:
        add(f"overlap is {job.overlap!r}.", f"Use one of {', '.join(map(repr, OVERLAP_CHOICES))}.", 8)
    if not isinstance(job.retries, int) or isinstance(job.retries, bool) or job.retries < 0:
        add(f"retries is {job.retries!r}.", "Use a whole number, 0 or more.", 9)
    if not isinstance(job.atomic, bool):
        add(f"atomic is {job.atomic!r}.", "Use True or False.", 9)
    for name, allow_none in (("retry_delay", False), ("timeout", True), ("lock_ttl", False)):
        value = getattr(job, name)
        if value is None and allow_none:
            continue
        if not isinstance(value, timedelta) or value < timedelta(0) or (name != "retry_delay" and not value):
            add(f"{name} is {value!r}.", "Use a positive datetime.timedelta.", 9)
    errors.extend(_check_database(job))
    if issubclass(job, CommandJob):
        errors.extend(_check_command(job))
    return errors


def _check_database(job: type[BaseCronJob]) -> list[CheckMessage]:
    """The job's ``database`` exists; an atomic job there is fenced only where runs are recorded too."""
    from django.core.checks import Warning
    from django.db import router

    from cronjobs.models import Run

    if not isinstance(job.database, str) or job.database not in settings.DATABASES:
        return [
            _error(
                f"{job.__qualname__}: database is {job.database!r}, not an alias in DATABASES.",
                f"Use one of {', '.join(map(repr, settings.DATABASES))} (the database its atomic run writes to).",
                17,
                job,
            )
        ]
    runs = router.db_for_write(Run)
    if job.atomic and job.database != runs:
        return [
            Warning(
                f"{job.__qualname__}: its transaction is on {job.database!r} but runs are recorded on {runs!r}, "
                "so its success cannot commit with its work: after a crash or a lost lease its slot may run twice.",
                hint=f"Set database = {runs!r} if the job writes there, or silence cronjobs.W018 to accept "
                "at-least-once for this job.",
                obj=job,
                id="cronjobs.W018",
            )
        ]
    return []


def _check_command(job: type[CommandJob]) -> list[CheckMessage]:
    from django.core.management import get_commands

    if not job.command:
        return [_error(f"{job.__qualname__}: no command set.", "Set command = 'clearsessions' (for example).", 14, job)]
    if job.command not in get_commands():
        return [
            _error(
                f"{job.__qualname__}: unknown management command {job.command!r}.",
                "Run `manage.py help` for the list of commands.",
                14,
                job,
            )
        ]
    return []


def _unwritable(directory: str) -> str | None:
    """Why a file lock could not be created in ``directory``, or None when it can."""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except Exception:
        return False
    return True


@register(TAG)
def check_install_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The ``INSTALL_*`` keys read by ``installcrons`` (ids cronjobs.E030-E039)."""
    from cronjobs.install import entry

    errors: list[CheckMessage] = []
    values = conf.get_settings()
    install_id = values["INSTALL_ID"]
    if install_id is not None and (not isinstance(install_id, str) or not entry.ID_RE.match(install_id)):
        errors.append(
            _error(
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
            _error("CRONJOBS['INSTALL_ENV'] must be a list of variable names.", "E.g. ['LANG', 'PYTHONPATH'].", 31)
        )
    else:
        for name in entry.secret_names(names):
            errors.append(
                _error(
                    f"CRONJOBS['INSTALL_ENV'] names {name}, which looks like a secret.",
                    "The crontab is no place for secrets: put them in the file named by "
                    "CRONJOBS['INSTALL_ENV_FILE'], which the entry reads when it runs.",
                    32,
                )
            )
    env_file = values["INSTALL_ENV_FILE"]
    if env_file is not None and not isinstance(env_file, (str, os.PathLike)):
        errors.append(_error("CRONJOBS['INSTALL_ENV_FILE'] must be a path or None.", f"Got {env_file!r}.", 33))
    log_file = values["INSTALL_LOG_FILE"]
    if log_file is not None and log_file is not False and not isinstance(log_file, (str, os.PathLike)):
        errors.append(
            _error(
                "CRONJOBS['INSTALL_LOG_FILE'] must be a path, None or False.",
                "None: cronjobs.log beside manage.py; False: no log file, cron mails the output.",
                34,
            )
        )
    return errors


@register(TAG)
def check_task_backends(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Jobs that hand their work to a Tasks backend name one that exists; cronjobs' own backend
    needs its app installed."""
    from django.apps import apps

    errors: list[CheckMessage] = []
    configured = getattr(settings, "TASKS", None) or {}
    for job in registry.discover().classes:
        alias = job.task_backend
        if alias is not None and alias not in configured:
            errors.append(
                _error(
                    f"{job.__qualname__}: task_backend is {alias!r}, which is not in settings.TASKS.",
                    f"Use one of {', '.join(map(repr, configured)) or '(none configured)'}, or add it to TASKS.",
                    56,
                    job,
                )
            )
    if not apps.is_installed("cronjobs.tasks"):
        for alias, params in configured.items():
            backend = str(params.get("BACKEND", "")) if isinstance(params, dict) else ""
            if backend.startswith("cronjobs.tasks."):
                errors.append(
                    _error(
                        f"TASKS[{alias!r}] uses {backend}, but the app 'cronjobs.tasks' is not installed.",
                        "Add 'cronjobs.tasks' to INSTALLED_APPS (after 'cronjobs') and run `manage.py migrate`.",
                        58,
                    )
                )
    return errors


# -- operating the jobs: retention, output, notices (E040-E049, W040-W049) ------------------


@register(TAG)
def check_operations(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from django.core.checks import Warning

    from cronjobs.ops import retention

    errors: list[CheckMessage] = []
    values = conf.get_settings()
    try:
        retention.parse(values["KEEP_RUNS"])
    except ValueError as exc:
        errors.append(
            _error(
                f"CRONJOBS['KEEP_RUNS'] is invalid: {exc}.",
                "E.g. 1000, timedelta(days=30), {'count': 1000, 'age': timedelta(days=30)}, or None to keep all.",
                40,
            )
        )
    limit = values["OUTPUT_LIMIT"]
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        errors.append(
            _error(
                f"CRONJOBS['OUTPUT_LIMIT'] is {limit!r}.",
                "Use a whole number of characters, 0 to store no output (the default is 64000).",
                41,
            )
        )
    if not isinstance(values["MAIL_ADMINS"], bool):
        errors.append(_error(f"CRONJOBS['MAIL_ADMINS'] is {values['MAIL_ADMINS']!r}.", "Use True or False.", 42))
    elif values["MAIL_ADMINS"] and not settings.ADMINS:
        errors.append(
            Warning(
                "CRONJOBS['MAIL_ADMINS'] is True but settings.ADMINS is empty: no failure mail will be sent.",
                hint="Set ADMINS = [('Name', 'ops@example.com')] (and the EMAIL_* settings).",
                id="cronjobs.W040",
            )
        )
    timeout = values["PING_TIMEOUT"]
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 60:
        errors.append(
            _error(f"CRONJOBS['PING_TIMEOUT'] is {timeout!r}.", "Use a number of seconds above 0, at most 60.", 43)
        )
    for job in registry.discover().classes:
        url = job.ping_url
        if url is None:
            continue
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or "://" == url[-3:]:
            errors.append(
                _error(
                    f"{job.__qualname__}: ping_url {url!r} is not an http(s) URL.",
                    "E.g. ping_url = 'https://hc-ping.com/<uuid>', or None for no pings.",
                    44,
                    job,
                )
            )
    return errors
