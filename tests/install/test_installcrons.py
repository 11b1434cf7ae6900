"""``manage.py installcrons`` against a fake ``crontab`` program, a tabfile, cron.d and systemd."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from cronjobs.install import pycrontab, targets

# installcrons runs the system checks first, and Django's checks of a JSONField ask the database
# what it supports (once per connection): whichever test of a worker comes first needs it.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "tests" / "manage.py"
FOREIGN = "MAILTO=ops@example.com\n0  5 * * 1-5   /usr/bin/backup --all   # nightly backup\n*/10 * * * * date +\\%s\n"

FAKE_CRONTAB = """\
#!{python}
# A stand-in for crontab(1) keeping each user's crontab in $FAKE_CRONTAB_DIR/<user>.
import os, shutil, sys, time
args = sys.argv[1:]
user = os.environ.get("FAKE_CRONTAB_USER", "me")
if "-u" in args:
    at = args.index("-u")
    user = args[at + 1]
    del args[at : at + 2]
    if not os.environ.get("FAKE_CRONTAB_PRIVILEGED"):
        sys.exit("must be privileged to use -u")
path = os.path.join(os.environ["FAKE_CRONTAB_DIR"], user)
if args == ["-l"]:
    barrier = os.environ.get("FAKE_CRONTAB_BARRIER")
    if barrier:  # wait (at most 2 s) until two readers are here, then both read
        open(os.path.join(barrier, str(os.getpid())), "w").close()
        deadline = time.monotonic() + 2
        while len(os.listdir(barrier)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    if not os.path.exists(path):
        sys.exit("no crontab for " + user)
    sys.stdout.write(open(path).read())
elif args == ["-r"]:
    if not os.path.exists(path):
        sys.exit("no crontab for " + user)
    os.unlink(path)
elif len(args) == 1:
    text = sys.stdin.read() if args[0] == "-" else open(args[0]).read()
    if text and not text.endswith("\\n"):
        sys.exit("premature EOF")
    open(path, "w").write(text)
else:
    sys.exit("usage: crontab [-u user] {{-l | -r | file}}")
"""


@pytest.fixture
def fake_crontab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``crontab`` first on PATH; returns the directory holding the users' crontabs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "crontab"
    program.write_text(FAKE_CRONTAB.format(python=sys.executable))
    program.chmod(0o755)
    tabs = tmp_path / "crontabs"
    tabs.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CRONTAB_DIR", str(tabs))
    monkeypatch.setenv("FAKE_CRONTAB_USER", pwd.getpwuid(os.getuid()).pw_name)
    monkeypatch.setattr(targets, "cron_daemon_running", lambda: True)
    return tabs


def my_tab(tabs: Path) -> Path:
    return tabs / os.environ["FAKE_CRONTAB_USER"]


def installcrons(*args: str, tmp_path: Path, **kwargs: object) -> str:
    """Run installcrons in this process; return what it printed."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command(
        "installcrons",
        "--manage-py",
        str(MANAGE),
        "--log-file",
        str(tmp_path / "cronjobs.log"),
        *args,
        stdout=out,
        stderr=err,
        **kwargs,
    )
    return out.getvalue() + err.getvalue()


# -- the user's crontab, through a (fake) crontab program ---------------------------------------


def test_it_installs_into_an_empty_crontab_and_says_so(fake_crontab: Path, tmp_path: Path) -> None:
    output = installcrons(tmp_path=tmp_path)
    text = my_tab(fake_crontab).read_text()
    assert text.count("\n") == 1
    assert text.endswith(" runcrons >> " + str(tmp_path / "cronjobs.log") + " 2>&1 # cronjobs:tests.settings\n")
    assert f"cd {ROOT / 'tests'} && DJANGO_SETTINGS_MODULE=tests.settings {sys.executable} {MANAGE}" in text
    assert "Installed the entry in the crontab of" in output
    assert "+* * * * * cd " in output


def test_running_it_twice_changes_nothing_and_says_unchanged(fake_crontab: Path, tmp_path: Path) -> None:
    my_tab(fake_crontab).write_text(FOREIGN)
    installcrons(tmp_path=tmp_path)
    first = my_tab(fake_crontab).read_bytes()
    mtime = my_tab(fake_crontab).stat().st_mtime_ns
    output = installcrons(tmp_path=tmp_path)
    assert my_tab(fake_crontab).read_bytes() == first
    assert my_tab(fake_crontab).stat().st_mtime_ns == mtime  # not even rewritten
    assert output.startswith("Unchanged: the crontab of")


def test_foreign_lines_stay_byte_for_byte_and_remove_leaves_them(fake_crontab: Path, tmp_path: Path) -> None:
    my_tab(fake_crontab).write_text(FOREIGN)
    installcrons(tmp_path=tmp_path)
    assert my_tab(fake_crontab).read_text().startswith(FOREIGN)
    output = installcrons("--remove", tmp_path=tmp_path)
    assert my_tab(fake_crontab).read_text() == FOREIGN
    assert "Removed the entry" in output
    assert "nothing to remove" in installcrons("--remove", tmp_path=tmp_path)


def test_removing_the_only_entry_removes_the_crontab(fake_crontab: Path, tmp_path: Path) -> None:
    installcrons(tmp_path=tmp_path)
    installcrons("--remove", tmp_path=tmp_path)
    assert not my_tab(fake_crontab).exists()


def test_a_redeploy_from_another_directory_replaces_the_entry(fake_crontab: Path, tmp_path: Path) -> None:
    release = tmp_path / "releases" / "2"
    release.mkdir(parents=True)
    shutil.copy(MANAGE, release / "manage.py")
    installcrons(tmp_path=tmp_path)
    output = installcrons("--manage-py", str(release / "manage.py"), tmp_path=tmp_path)
    text = my_tab(fake_crontab).read_text()
    assert text.count("cronjobs:tests.settings") == 1
    assert f"cd {release} && " in text
    assert "Updated the entry" in output
    assert "give each its own --id" in output  # in case it was another deployment, not a release


def test_a_symlinked_project_directory_stays_a_symlink_in_the_entry(
    fake_crontab: Path, tmp_path: Path, monkeypatch
) -> None:
    release = tmp_path / "releases" / "42"
    release.mkdir(parents=True)
    shutil.copy(MANAGE, release / "manage.py")
    current = tmp_path / "current"
    current.symlink_to(release)
    monkeypatch.chdir(current)  # os.getcwd() now says releases/42; the shell's $PWD says current
    monkeypatch.setenv("PWD", str(current))
    installcrons("--manage-py", "manage.py", tmp_path=tmp_path)
    assert f"cd {current} && " in my_tab(fake_crontab).read_text()


def test_two_ids_under_one_user_never_touch_each_other(fake_crontab: Path, tmp_path: Path) -> None:
    installcrons("--id", "shop-production", tmp_path=tmp_path)
    installcrons("--id", "shop-staging", tmp_path=tmp_path)
    installcrons("--id", "shop-staging", "--remove", tmp_path=tmp_path)
    text = my_tab(fake_crontab).read_text()
    assert text.count("\n") == 1
    assert text.endswith("# cronjobs:shop-production\n")


def test_the_id_comes_from_the_option_then_the_settings_then_the_settings_module(
    fake_crontab: Path, tmp_path: Path
) -> None:
    with override_settings(CRONJOBS={"INSTALL_ID": "from-settings", "AUTODISCOVER": False}):
        installcrons(tmp_path=tmp_path)
        installcrons("--id", "from-option", tmp_path=tmp_path)
    installcrons(tmp_path=tmp_path)
    tags = [line.rsplit("# ", 1)[1] for line in my_tab(fake_crontab).read_text().splitlines()]
    assert tags == ["cronjobs:from-settings", "cronjobs:from-option", "cronjobs:tests.settings"]


def test_without_manage_py_it_asks_for_its_path(fake_crontab: Path, tmp_path: Path) -> None:
    # Under pytest, sys.argv[0] is not a manage.py (as with `django-admin` or `python -m django`).
    with pytest.raises(CommandError, match=r"not started through manage\.py .*pass --manage-py PATH"):
        call_command("installcrons", "--log-file", str(tmp_path / "x.log"))
    assert not my_tab(fake_crontab).exists()


def test_a_bad_id_is_refused(fake_crontab: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot be an installation id"):
        installcrons("--id", "../etc", tmp_path=tmp_path)


def test_an_unparseable_line_makes_it_refuse_unless_forced(fake_crontab: Path, tmp_path: Path) -> None:
    my_tab(fake_crontab).write_text("FOO = bar\n")
    with pytest.raises(CommandError, match="line 1: FOO = bar") as info:
        installcrons(tmp_path=tmp_path)
    assert info.value.returncode == 1
    assert my_tab(fake_crontab).read_text() == "FOO = bar\n"
    output = installcrons("--force", tmp_path=tmp_path)
    assert my_tab(fake_crontab).read_text().startswith("FOO = bar\n* * * * * ")
    assert "kept line 1" in output


def test_dry_run_prints_the_diff_and_writes_nothing(fake_crontab: Path, tmp_path: Path) -> None:
    my_tab(fake_crontab).write_text(FOREIGN)
    output = installcrons("--dry-run", tmp_path=tmp_path)
    assert my_tab(fake_crontab).read_text() == FOREIGN
    assert output.startswith("--- the crontab of ")
    assert "\n+* * * * * cd " in output
    assert "Dry run: nothing was written." in output


def test_check_exits_1_until_the_entry_is_installed_as_it_would_be_written(fake_crontab: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not installed") as info:
        installcrons("--check", tmp_path=tmp_path)
    assert info.value.returncode == 1
    installcrons(tmp_path=tmp_path)
    assert "is up to date" in installcrons("--check", tmp_path=tmp_path)
    with pytest.raises(CommandError, match="is out of date"):
        installcrons("--check", "--log-file", str(tmp_path / "other.log"), tmp_path=tmp_path)
    with pytest.raises(CommandError, match="is still installed"):
        installcrons("--check", "--remove", tmp_path=tmp_path)


def test_another_users_crontab_needs_privileges(fake_crontab: Path, tmp_path: Path, monkeypatch, request) -> None:
    shared = Path(tempfile.mkdtemp(prefix="cronjobs-test-"))  # a directory nobody can reach
    request.addfinalizer(lambda: shutil.rmtree(shared))
    shared.chmod(0o777)
    log = ("--log-file", str(shared / "x.log"))
    with pytest.raises(CommandError, match=r"must be privileged.*\n--user nobody needs root"):
        installcrons("--user", "nobody", *log, tmp_path=tmp_path)
    monkeypatch.setenv("FAKE_CRONTAB_PRIVILEGED", "1")
    installcrons("--user", "nobody", *log, tmp_path=tmp_path)
    assert (fake_crontab / "nobody").read_text().startswith("* * * * * cd ")


def test_an_unknown_user_is_a_clear_error(fake_crontab: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="there is no user 'no-such-user-here'"):
        installcrons("--user", "no-such-user-here", tmp_path=tmp_path)


def test_without_a_crontab_program_it_points_to_runcrons_loop(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CommandError, match=r"no `crontab` program.*runcrons --loop"):
        installcrons(tmp_path=tmp_path)


def test_without_a_cron_daemon_it_warns_and_points_to_runcrons_loop(
    fake_crontab: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(targets, "cron_daemon_running", lambda: False)
    output = installcrons(tmp_path=tmp_path)
    assert "warning: no cron daemon is running" in output
    assert "runcrons --loop" in output
    assert my_tab(fake_crontab).exists()


def test_a_dry_run_warns_too_when_no_cron_daemon_runs(fake_crontab: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(targets, "cron_daemon_running", lambda: False)
    output = installcrons("--dry-run", tmp_path=tmp_path)
    assert "warning: no cron daemon is running" in output and "Dry run: nothing was written." in output
    assert not my_tab(fake_crontab).exists()


def test_the_cron_daemon_is_found_in_proc(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "comm").write_text("systemd\n")
    assert targets.cron_daemon_running(tmp_path) is False
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "comm").write_text("cron\n")
    assert targets.cron_daemon_running(tmp_path) is True
    assert targets.cron_daemon_running(tmp_path / "absent") is None


def test_a_log_directory_that_does_not_exist_is_refused(fake_crontab: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"log file's directory .*missing does not exist"):
        installcrons("--log-file", str(tmp_path / "missing" / "x.log"), tmp_path=tmp_path)
    assert not my_tab(fake_crontab).exists()


def test_environment_variables_come_from_the_allowlist(fake_crontab: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHOP_REGION", "eu west")
    with override_settings(CRONJOBS={"INSTALL_ENV": ["SHOP_REGION"], "AUTODISCOVER": False}):
        installcrons(tmp_path=tmp_path)
    assert "DJANGO_SETTINGS_MODULE=tests.settings SHOP_REGION='eu west' " in my_tab(fake_crontab).read_text()


def test_a_secret_in_the_allowlist_is_a_system_check_error(fake_crontab: Path, tmp_path: Path) -> None:
    with override_settings(CRONJOBS={"INSTALL_ENV": ["SECRET_KEY"], "AUTODISCOVER": False}):
        with pytest.raises(CommandError, match=r"cronjobs.E032.*SECRET_KEY, which looks like a secret") as info:
            installcrons(tmp_path=tmp_path)
    assert info.value.returncode == 2
    assert not my_tab(fake_crontab).exists()


def test_the_env_file_must_exist_and_should_not_be_world_readable(fake_crontab: Path, tmp_path: Path) -> None:
    env_file = tmp_path / "shop.env"
    with override_settings(CRONJOBS={"INSTALL_ENV_FILE": str(env_file), "AUTODISCOVER": False}):
        with pytest.raises(CommandError, match=r"shop\.env does not exist"):
            installcrons(tmp_path=tmp_path)
        env_file.write_text("SECRET_KEY=x\n")
        env_file.chmod(0o644)
        output = installcrons(tmp_path=tmp_path)
    assert f". {env_file} && set +a" in my_tab(fake_crontab).read_text()
    assert "readable by every user" in output


# -- concurrent installs -------------------------------------------------------------------


@pytest.mark.processes
@pytest.mark.parametrize("target", ["crontab", "tabfile"])
def test_two_concurrent_installs_are_both_present(fake_crontab: Path, tmp_path: Path, target: str) -> None:
    # The fake `crontab -l` waits until both installs are reading: without the lock both
    # would read the empty crontab, and the second write would drop the first entry.
    # (A tabfile is read in an instant: there the test shows less.)
    tabfile = tmp_path / "tabfile"
    args = ["--tabfile", str(tabfile)] if target == "tabfile" else []
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "FAKE_CRONTAB_BARRIER": str(barrier), "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [sys.executable, str(MANAGE), "installcrons", "--id", name, "--log-file", str(tmp_path / "x.log"), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("first", "second")
    ]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    text = (tabfile if target == "tabfile" else my_tab(fake_crontab)).read_text()
    assert sorted(line.rsplit("# ", 1)[1] for line in text.splitlines()) == ["cronjobs:first", "cronjobs:second"]


# -- a crontab file, and cron.d -----------------------------------------------------------------


def test_a_tabfile_is_synced_like_a_crontab(tmp_path: Path) -> None:
    tabfile = tmp_path / "crontab.txt"
    tabfile.write_text(FOREIGN)
    installcrons("--tabfile", str(tabfile), tmp_path=tmp_path)
    installcrons("--tabfile", str(tabfile), tmp_path=tmp_path)
    assert tabfile.read_text().startswith(FOREIGN)
    assert tabfile.read_text().count("cronjobs:") == 1
    installcrons("--tabfile", str(tabfile), "--remove", tmp_path=tmp_path)
    assert tabfile.read_text() == FOREIGN


def test_cron_d_gets_the_system_format_written_atomically_with_mode_0644(tmp_path: Path) -> None:
    cron_d = tmp_path / "cron.d"
    cron_d.mkdir()
    path = cron_d / "shop"
    path.write_text("0 5 * * * root /usr/bin/backup\n")
    path.chmod(0o600)
    installcrons("--cron-d", str(path), "--run-as", "root", tmp_path=tmp_path)
    lines = path.read_text().splitlines()
    assert lines[0] == "0 5 * * * root /usr/bin/backup"
    assert lines[1].startswith("* * * * * root cd ")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in cron_d.iterdir()) == ["shop"]  # no temporary file left behind
    assert "Unchanged" in installcrons("--cron-d", str(path), "--run-as", "root", tmp_path=tmp_path)


def test_cron_d_file_names_follow_cron_rules_and_a_bad_one_is_bad_usage(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"cron ignores files in cron\.d named 'shop\.cron'") as info:
        installcrons("--cron-d", str(tmp_path / "shop.cron"), "--run-as", "root", tmp_path=tmp_path)
    assert info.value.returncode == 2
    assert not (tmp_path / "shop.cron").exists()


def test_cron_d_needs_run_as(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--cron-d needs --run-as") as info:
        installcrons("--cron-d", str(tmp_path / "shop"), tmp_path=tmp_path)
    assert info.value.returncode == 2


def test_the_log_file_must_be_writable_by_the_user_cron_runs_as(tmp_path: Path, request) -> None:
    shared = Path(tempfile.mkdtemp(prefix="cronjobs-test-"))
    request.addfinalizer(lambda: shutil.rmtree(shared))
    shared.chmod(0o777)
    hidden = tmp_path / "open"  # writable by all, but inside a directory only root can enter
    hidden.mkdir()
    hidden.chmod(0o777)
    for log, ok in ((shared / "x.log", True), (hidden / "x.log", False), (tmp_path / "x.log", False)):
        args = ("--cron-d", str(tmp_path / "shop"), "--run-as", "nobody", "--log-file", str(log))
        if ok:
            installcrons(*args, tmp_path=tmp_path)
        else:
            with pytest.raises(CommandError, match="cannot be written by nobody"):
                installcrons(*args, tmp_path=tmp_path)


def test_removing_the_last_entry_of_a_cron_d_file_deletes_it(tmp_path: Path) -> None:
    path = tmp_path / "shop"
    installcrons("--cron-d", str(path), "--run-as", "root", tmp_path=tmp_path)
    installcrons("--cron-d", str(path), "--run-as", "root", "--remove", tmp_path=tmp_path)
    assert not path.exists()


# -- systemd -------------------------------------------------------------------------------------


def verify(paths: list[Path]) -> subprocess.CompletedProcess:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("required in CI: systemd-analyze is not installed")
        pytest.skip("systemd-analyze is not installed")
    return subprocess.run([analyze, "verify", *map(str, paths)], capture_output=True, text=True, timeout=60)


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path: Path, monkeypatch) -> None:
    odd = tmp_path / "my 100% project $HOME"
    odd.mkdir()
    shutil.copy(MANAGE, odd / "manage.py")
    (odd / "logs").mkdir()
    monkeypatch.setenv("SHOP_NOTE", 'say "hi" \\ 50%')
    units = tmp_path / "units"
    units.mkdir()
    with override_settings(CRONJOBS={"INSTALL_ENV": ["SHOP_NOTE"], "AUTODISCOVER": False}):
        output = installcrons(
            "--systemd",
            str(units),
            "--run-as",
            "root",
            "--id",
            "shop",
            "--manage-py",
            str(odd / "manage.py"),
            "--log-file",
            str(odd / "logs" / "cron.log"),
            tmp_path=tmp_path,
        )
    assert "systemctl enable --now cronjobs-shop.timer" in output
    paths = sorted(units.iterdir())
    assert [p.name for p in paths] == ["cronjobs-shop.service", "cronjobs-shop.timer"]
    service = paths[0].read_text()
    assert f'ExecStart="{sys.executable}" "{tmp_path}/my 100%% project $$HOME/manage.py" "runcrons"' in service
    assert 'Environment="DJANGO_SETTINGS_MODULE=tests.settings" "SHOP_NOTE=say \\"hi\\" \\\\ 50%%"' in service
    assert "OnCalendar=*-*-* *:*:00" in paths[1].read_text()
    result = verify(paths)
    assert result.returncode == 0, result.stderr + result.stdout


def test_systemd_analyze_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    # The check above can fail: a unit whose command does not exist does not verify.
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nType=oneshot\nExecStart=/nonexistent/python manage.py runcrons\n")
    assert verify([bad]).returncode != 0


def test_the_systemd_units_are_synced_checked_and_removed(tmp_path: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    installcrons("--systemd", str(units), tmp_path=tmp_path)
    assert "Unchanged" in installcrons("--systemd", str(units), tmp_path=tmp_path)
    assert "up to date" in installcrons("--systemd", str(units), "--check", tmp_path=tmp_path)
    installcrons("--systemd", str(units), "--remove", tmp_path=tmp_path)
    assert list(units.iterdir()) == []


def test_run_as_goes_with_cron_d_or_systemd(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--run-as goes with"):
        installcrons("--run-as", "root", "--tabfile", str(tmp_path / "t"), tmp_path=tmp_path)


def test_a_crontab_python_crontab_reads_in_an_unknown_way_is_never_written(tmp_path: Path, monkeypatch) -> None:
    CronTab = pycrontab.load().CronTab

    # As if a future python-crontab no longer set `lines` from what it read.
    monkeypatch.setattr(targets._ExactCronTab, "__setattr__", CronTab.__setattr__)
    tabfile = tmp_path / "crontab.txt"
    tabfile.write_text(FOREIGN)
    with pytest.raises(CommandError, match="python-crontab reads crontabs in a way cronjobs does not know"):
        installcrons("--tabfile", str(tabfile), tmp_path=tmp_path)
    assert tabfile.read_text() == FOREIGN
