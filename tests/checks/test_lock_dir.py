"""The file locks' directory: a foreign one is a check error (and runcrons says so, running
nothing); a configured one keeps its mode, with a warning when others may write to it."""

from __future__ import annotations

import os
import stat
import tempfile
from datetime import timedelta

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from cronjobs.locks.file import FileLock
from cronjobs.models import Run

pytestmark = pytest.mark.django_db
JOBS = {"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.Hourly"]}


def cronjobs_messages() -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks(tags=["cronjobs"]) if m.id and m.id.startswith("cronjobs.")]


@pytest.fixture
def foreign_default_dir(tmp_path, monkeypatch):
    """/tmp/cronjobs-<uid> made by someone else: this process runs as a uid that does not own it."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    fake_uid = os.getuid() + 4242
    (tmp_path / f"cronjobs-{fake_uid}").mkdir(mode=0o777)
    monkeypatch.setattr(os, "getuid", lambda: fake_uid)
    with override_settings(CRONJOBS=JOBS):
        yield tmp_path / f"cronjobs-{fake_uid}"


def test_a_lock_directory_pre_created_by_another_user_is_a_check_error_with_a_hint(foreign_default_dir):
    (message,) = [m for m in cronjobs_messages() if m.id == "cronjobs.E120"]
    assert message.level == checks.ERROR
    assert f"lock directory {foreign_default_dir} belongs to uid {os.getuid() - 4242}" in message.msg
    assert "1 job(s) use the file lock" in message.msg
    assert "Another local user may have created it" in message.hint and "LOCK_DIR" in message.hint


def test_runcrons_refuses_to_run_with_a_foreign_lock_directory_and_says_why(foreign_default_dir):
    with pytest.raises(CommandError, match=r"cronjobs.E120: The file locks cannot be trusted") as raised:
        call_command("runcrons", "--force")
    assert raised.value.returncode == 2
    assert not Run.objects.exists()


def test_a_configured_lock_dir_keeps_its_mode_and_draws_a_warning_when_others_can_write(tmp_path):
    shared = tmp_path / "locks"
    shared.mkdir()
    os.chmod(shared, 0o775)
    with override_settings(CRONJOBS={**JOBS, "LOCK_DIR": str(shared)}):
        lock = FileLock("app.job", ttl=timedelta(minutes=1), owner="me")
        assert lock.acquire()
        lock.release()
        assert stat.S_IMODE(os.stat(shared).st_mode) == 0o775
        (message,) = [m for m in cronjobs_messages() if m.id == "cronjobs.W120"]
        assert "can be written by other users (mode 775)" in message.msg
        assert message.hint.startswith(f"chmod 700 {shared}")
        os.chmod(shared, 0o700)
        assert not [m for m in cronjobs_messages() if m.id == "cronjobs.W120"]


def test_a_configured_lock_dir_that_is_a_symlink_is_a_check_error(tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "locks").symlink_to(tmp_path / "real")
    with override_settings(CRONJOBS={**JOBS, "LOCK_DIR": str(tmp_path / "locks")}):
        (message,) = [m for m in cronjobs_messages() if m.id == "cronjobs.E120"]
        assert "is not a directory (a symlink?)" in message.msg
        assert message.hint == "Point CRONJOBS['LOCK_DIR'] at a directory this user owns (mode 0700)."


def test_no_job_with_a_file_lock_means_no_lock_directory_check(foreign_default_dir):
    with override_settings(CRONJOBS={**JOBS, "LOCK": "database"}):
        assert not [m for m in cronjobs_messages() if m.id == "cronjobs.E120"]
