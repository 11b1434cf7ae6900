"""The crontab entry and the sync of a crontab's text: pure functions, no crontab touched."""

from __future__ import annotations

import dataclasses
import shlex
import subprocess

import pytest

from cronjobs.install import entry
from cronjobs.install.entry import InstallError, Project, UnparseableCrontab, entry_line, sync

PROJECT = Project(
    id="shop",
    python="/srv/venv/bin/python",
    manage_py="/srv/shop/manage.py",
    settings_module="shop.settings",
    log_file="/var/log/shop/cronjobs.log",
)
FOREIGN = (
    "# m h dom mon dow command\n"
    "MAILTO=ops@example.com\n"
    "0  5 * * 1-5   /usr/bin/backup --all   # nightly backup\n"
    "\n"
    "*/10 * * * * date +\\%s >> /tmp/ticks\r\n"
    "@reboot /usr/local/bin/warm-cache\n"
)


def command_of(line: str) -> str:
    """The command cron hands to sh for ``line``: after the five fields, up to the tag, ``\\%`` unescaped."""
    return line.split(" ", 5)[5].rsplit(" # ", 1)[0].replace("\\%", "%")


def test_the_entry_runs_runcrons_every_minute_from_the_project_directory() -> None:
    assert entry_line(PROJECT) == (
        "* * * * * cd /srv/shop && DJANGO_SETTINGS_MODULE=shop.settings /srv/venv/bin/python "
        "/srv/shop/manage.py runcrons >> /var/log/shop/cronjobs.log 2>&1 # cronjobs:shop"
    )


def test_the_system_format_names_the_user_before_the_command() -> None:
    assert entry_line(PROJECT, run_as="www-data").startswith("* * * * * www-data cd /srv/shop && ")


def test_paths_with_spaces_percent_and_hash_survive_cron_and_the_shell() -> None:
    project = Project(
        id="odd",
        python="/opt/my venv/bin/python",
        manage_py="/srv/100% shop #2/manage.py",
        settings_module="shop.settings",
        env=(("GREETING", "it's 50% off"),),
        log_file="/var/log/a b/c.log",
    )
    line = entry_line(project)
    assert "100\\% shop" in line  # cron turns a bare % into a newline
    command = command_of(line)
    # The shell splits the command back into exactly the original words.
    words = shlex.split(command.replace("&&", "; "), comments=False)
    assert "/srv/100% shop #2" in words
    assert "/opt/my venv/bin/python" in words
    assert "/srv/100% shop #2/manage.py" in words
    assert "GREETING=it's 50% off" in words
    assert "/var/log/a b/c.log" in words
    # ... and python-crontab still finds our tag at the end of the line.
    assert sync(line + "\n", project.tag, line).ours == (line,)


def test_the_quoting_holds_for_a_real_shell(tmp_path) -> None:
    directory = tmp_path / "my 100% project #1"
    directory.mkdir()
    project = Project(
        id="x",
        python="/bin/echo",
        manage_py=str(directory / "manage.py"),
        settings_module="s",
        env=(("A", "x y"),),
    )
    command = command_of(entry_line(project))
    out = subprocess.run(["/bin/sh", "-c", command + "; pwd"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [f"{directory}/manage.py runcrons", str(directory)]


@pytest.mark.parametrize("value", ["a\nb", "tab\there", "back\\%slash"])
def test_values_cron_cannot_carry_are_refused(value: str) -> None:
    with pytest.raises(InstallError, match="cannot"):
        entry_line(Project(id="x", python="/p", manage_py=f"/srv/{value}/manage.py", settings_module="s"))


def test_a_command_longer_than_debian_cron_takes_is_refused_with_what_to_do() -> None:
    def project(length: int) -> Project:
        return Project(id="x", python="/" + "p" * length, manage_py="/" + "d" * 400 + "/manage.py", settings_module="s")

    # Debian's crontab refuses commands over 998 characters; the tag is part of the command.
    fits = entry_line(project(130))
    assert len(fits.split(" ", 5)[5]) == 998
    with pytest.raises(InstallError, match="999 characters long; cron allows at most 998"):
        entry_line(project(131))


def test_an_env_file_is_sourced_at_run_time_so_its_secrets_stay_out_of_the_crontab() -> None:
    project = Project(id="x", python="/p", manage_py="/srv/manage.py", settings_module="s", env_file="/etc/shop.env")
    assert "cd /srv && set -a && . /etc/shop.env && set +a && DJANGO_SETTINGS_MODULE=s " in entry_line(project)


def test_the_env_allowlist_copies_values_and_refuses_secrets() -> None:
    assert entry.env_from(["LANG"], {"LANG": "C.UTF-8"}) == (("LANG", "C.UTF-8"),)
    for name in ("SECRET_KEY", "DB_PASSWORD", "API_TOKEN", "AWS_SECRET_ACCESS_KEY"):
        with pytest.raises(InstallError, match="looks like a secret"):
            entry.env_from([name], {name: "x"})
    with pytest.raises(InstallError, match="URL with a password"):
        entry.env_from(["DATABASE"], {"DATABASE": "postgres://app:hunter2@db/app"})
    with pytest.raises(InstallError, match="not set in this environment"):
        entry.env_from(["MISSING"], {})


@pytest.mark.parametrize("bad", ["", "has space", "-leading", "a/b", "x" * 101, "tab\t"])
def test_ids_are_checked(bad: str) -> None:
    with pytest.raises(InstallError, match="cannot be an installation id"):
        entry.check_id(bad)


def test_installing_appends_one_line_and_keeps_every_other_byte() -> None:
    line = entry_line(PROJECT)
    result = sync(FOREIGN, PROJECT.tag, line)
    assert result.after == FOREIGN + line + "\n"
    assert result.ours == ()


def test_a_missing_final_newline_is_added_before_our_line() -> None:
    result = sync("0 5 * * * /bin/backup", PROJECT.tag, "LINE # cronjobs:shop")
    assert result.after == "0 5 * * * /bin/backup\nLINE # cronjobs:shop\n"


def test_syncing_twice_changes_nothing() -> None:
    line = entry_line(PROJECT)
    once = sync(FOREIGN, PROJECT.tag, line).after
    again = sync(once, PROJECT.tag, line)
    assert not again.changed
    assert again.ours == (line,)


def test_a_changed_entry_is_replaced_in_place_and_duplicates_are_merged() -> None:
    old = entry_line(dataclasses.replace(PROJECT, manage_py="/srv/releases/1/manage.py"))
    text = f"{old}\n0 5 * * * /bin/backup\n{old}\n"
    new = entry_line(PROJECT)
    result = sync(text, PROJECT.tag, new)
    assert result.after == f"{new}\n0 5 * * * /bin/backup\n"
    assert result.ours == (old, old)


def test_removing_takes_out_only_our_line() -> None:
    line = entry_line(PROJECT)
    other = entry_line(dataclasses.replace(PROJECT, id="shop-staging"))
    text = FOREIGN + line + "\n" + other + "\n"
    assert sync(text, PROJECT.tag, None).after == FOREIGN + other + "\n"


def test_another_id_is_another_entry() -> None:
    line = entry_line(PROJECT)
    staging = entry_line(dataclasses.replace(PROJECT, id="shop-staging"))
    result = sync(line + "\n", "cronjobs:shop-staging", staging)
    assert result.after == f"{line}\n{staging}\n"


def test_a_line_python_crontab_cannot_parse_is_refused_with_its_number() -> None:
    text = "0 5 * * * /bin/backup\nFOO = bar\n61 * * * * /bin/never\n"
    with pytest.raises(UnparseableCrontab) as info:
        sync(text, PROJECT.tag, entry_line(PROJECT))
    assert "line 2: FOO = bar" in str(info.value)
    assert "line 3: 61 * * * * /bin/never" in str(info.value)


def test_with_force_an_unparseable_line_is_kept_as_it_is() -> None:
    text = "FOO = bar\n"
    result = sync(text, PROJECT.tag, "LINE # cronjobs:shop", force=True)
    assert result.after == "FOO = bar\nLINE # cronjobs:shop\n"
    assert result.unparseable == ((1, "FOO = bar"),)


def test_a_system_crontab_line_without_a_user_is_unparseable() -> None:
    with pytest.raises(UnparseableCrontab):
        sync("* * * * *\n", PROJECT.tag, None, system=True)
    line = entry_line(PROJECT, run_as="www-data")
    assert sync("0 5 * * * root /bin/backup\n" + line + "\n", PROJECT.tag, line, system=True).ours == (line,)


def test_the_diff_is_a_unified_diff() -> None:
    result = sync("0 5 * * * /bin/backup\n", PROJECT.tag, "LINE # cronjobs:shop")
    assert result.diff("crontab") == (
        "--- crontab (installed)\n+++ crontab (new)\n@@ -1 +1,2 @@\n 0 5 * * * /bin/backup\n+LINE # cronjobs:shop\n"
    )
