"""Settings of the benchmark project: BENCH_DB (SQLite file, 'postgresql:NAME' or 'mysql:NAME'), BENCH_JOBS jobs."""

import os

SECRET_KEY = "benchmarks-only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "cronjobs",
    "cronjobs.tasks",
    "benchmarks.project.benchapp",
]

_db = os.environ.get("BENCH_DB", "/tmp/cronjobs-bench.sqlite3")
if _db.startswith("postgresql:"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _db.split(":", 1)[1],
            "HOST": "127.0.0.1",
            "USER": "postgres",
            "CONN_MAX_AGE": None,
        }
    }
elif _db.startswith("mysql:"):  # MariaDB or MySQL, through PyMySQL as the tests use it
    import pymysql

    pymysql.install_as_MySQLdb()
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": _db.split(":", 1)[1],
            "HOST": "127.0.0.1",
            "USER": "root",
            "PASSWORD": "",
            "CONN_MAX_AGE": None,
            "OPTIONS": {"charset": "utf8mb4", "isolation_level": "read committed"},
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _db, "OPTIONS": {"timeout": 20}}}

CRONJOBS = {"LOCK": os.environ.get("BENCH_LOCK", "file"), "LOCK_DIR": os.environ.get("BENCH_LOCK_DIR") or None}
