"""Settings for the in-process tests (SQLite) and for the runcrons processes tests start.

Processes started by tests read their database from the environment:
CRONJOBS_TEST_DB_VENDOR (sqlite, postgresql, mysql) and CRONJOBS_TEST_DB_NAME.
"""

import importlib.util
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import django

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "tests-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The admin tests log users in by the hundred: a fast hasher (the default one costs ~0.3 s each).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "cronjobs",
    "cronjobs.tasks",
    "tests.testapp",
]
# django-celery-beat, where it is installed (the peers session, requirements/peers.txt): its tables
# are what `cronjobs import-celery-beat` reads (tests/peers/test_celerybeat.py).
if importlib.util.find_spec("django_celery_beat") is not None:
    INSTALLED_APPS.append("django_celery_beat")
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database() -> dict:
    vendor = os.environ.get("CRONJOBS_TEST_DB_VENDOR", "sqlite")
    name = os.environ.get("CRONJOBS_TEST_DB_NAME", "")
    if vendor == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name or "test",
            "HOST": os.environ.get("CRONJOBS_TEST_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("CRONJOBS_TEST_PG_PORT", "5432"),
            "USER": os.environ.get("CRONJOBS_TEST_PG_USER", "postgres"),
            "TEST": {"NAME": f"test_cronjobs_{os.getpid()}"},
        }
    if vendor == "mysql":
        import pymysql

        pymysql.install_as_MySQLdb()
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": name or "test",
            "HOST": os.environ.get("CRONJOBS_TEST_MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("CRONJOBS_TEST_MYSQL_PORT", "3306"),
            "USER": os.environ.get("CRONJOBS_TEST_MYSQL_USER", "root"),
            "PASSWORD": "",
            "OPTIONS": {"charset": "utf8mb4", "isolation_level": "read committed"},
            "TEST": {"NAME": f"test_cronjobs_{os.getpid()}"},
        }
    # Several processes on one file: WAL (set by testapp's connection_created receiver) and a
    # busy timeout. CRONJOBS_TEST_SQLITE_IMMEDIATE=1 adds BEGIN IMMEDIATE (Django 5.1+), so that
    # no transaction that reads first fails to become a writer with "database is locked".
    options: dict = {"timeout": 30}
    if os.environ.get("CRONJOBS_TEST_SQLITE_IMMEDIATE") and django.VERSION >= (5, 1):
        options["transaction_mode"] = "IMMEDIATE"
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name or str(BASE_DIR / "tests.sqlite3"),
        "OPTIONS": options,
        "TEST": {"NAME": ""},  # in memory for the in-process tests
    }


DATABASES = {"default": _database()}
# CRONJOBS_TEST_ROUTED_DB: cronjobs' tables live in that SQLite file, sent there by a router.
if os.environ.get("CRONJOBS_TEST_ROUTED_DB"):
    DATABASES["cronjobs"] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["CRONJOBS_TEST_ROUTED_DB"],
        "OPTIONS": {"timeout": 30},
    }
    DATABASE_ROUTERS = ["tests.testapp.routers.CronjobsRouter"]

CRONJOBS = {
    "AUTODISCOVER": False,
    "JOBS": [p for p in os.environ.get("CRONJOBS_TEST_JOBS", "").split(",") if p],
    "LOCK_DIR": os.environ.get("CRONJOBS_TEST_LOCK_DIR") or None,
    "LOCK": os.environ.get("CRONJOBS_TEST_LOCK", "file"),
    "LOCK_CACHE": "locks",
    "KEEP_RUNS": int(os.environ.get("CRONJOBS_TEST_KEEP_RUNS", "1000")),
    "TASKS_DURABLE_BOOKKEEPING": os.environ.get("CRONJOBS_TEST_DURABLE_BOOKKEEPING") == "1",
    "ENVIRONMENT": os.environ.get("CRONJOBS_TEST_ENVIRONMENT") or None,
    "WORK_HORSE_MAX_MEMORY": int(os.environ.get("CRONJOBS_TEST_MAX_MEMORY", "0")) or None,
}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # The cache lock's cache: a real Redis for processes (CRONJOBS_TEST_REDIS_URL), with a key
    # prefix per test so that tests sharing the server never see each other's locks.
    "locks": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("CRONJOBS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "KEY_PREFIX": os.environ.get("CRONJOBS_TEST_CACHE_PREFIX", "cronjobs-tests"),
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
    },
}

# Django 6.1 sends mail through MAILERS (EMAIL_BACKEND is deprecated there); the tests use locmem.
if django.VERSION >= (6, 1):
    MAILERS: dict[str, dict[str, Any]] = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

TASKS = {
    "default": {
        "BACKEND": "cronjobs.tasks.DatabaseBackend",
        "QUEUES": ["default", "mail", "other"],
        "OPTIONS": {"LEASE_GRACE": timedelta(seconds=float(os.environ.get("CRONJOBS_TEST_LEASE_GRACE", "30")))},
    }
}

# CRONJOBS_TEST_MAIL_DIR: processes write their mail there (one file per message).
if os.environ.get("CRONJOBS_TEST_MAIL_DIR"):
    if django.VERSION >= (6, 1):
        MAILERS = {
            "default": {
                "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "OPTIONS": {"file_path": os.environ["CRONJOBS_TEST_MAIL_DIR"]},
            }
        }
    else:
        EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
        EMAIL_FILE_PATH = os.environ["CRONJOBS_TEST_MAIL_DIR"]
    ADMINS = [("Ops", "ops@example.com")]
    CRONJOBS["MAIL_ADMINS"] = True

# CRONJOBS_TEST_RQ_QUEUE: jobs hand work to RQ (django-tasks-rq, Django 5.2) on this queue of the
# test Redis; `manage.py rqworker QUEUE` runs it.
if os.environ.get("CRONJOBS_TEST_RQ_QUEUE"):
    INSTALLED_APPS.append("django_rq")
    # django-tasks-rq reads results through the connection of the queue named "default".
    _RQ_REDIS = {"URL": os.environ.get("CRONJOBS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")}
    RQ_QUEUES = {"default": _RQ_REDIS, os.environ["CRONJOBS_TEST_RQ_QUEUE"]: _RQ_REDIS}
    TASKS["rq"] = {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [os.environ["CRONJOBS_TEST_RQ_QUEUE"]]}

# CRONJOBS_TEST_CELERY_QUEUE: jobs hand work to Celery workers (cronjobs.tasks.celery) on this queue:
# the test RabbitMQ is the broker, the test Redis keeps the results under a key prefix of the queue's name.
if os.environ.get("CRONJOBS_TEST_CELERY_QUEUE"):
    CELERY_BROKER_URL = os.environ.get("CRONJOBS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
    CELERY_RESULT_BACKEND = os.environ.get("CRONJOBS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": f"{os.environ['CRONJOBS_TEST_CELERY_QUEUE']}:"}
    CELERY_TASK_ACKS_LATE = True
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1
    TASKS["celery"] = {
        "BACKEND": "cronjobs.tasks.celery.CeleryBackend",
        "QUEUES": [os.environ["CRONJOBS_TEST_CELERY_QUEUE"]],
    }
