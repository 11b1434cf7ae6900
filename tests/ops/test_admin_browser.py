"""The admin in a real browser: Debian's chromium, driven by selenium, against the example project.

The example project runs under ``manage.py runserver`` on 127.0.0.1 with its own SQLite file.
Screenshots (the job list, filters, a failed run, the job page's timeline and duration chart)
are saved for review in $CRONJOBS_SCREENSHOTS, or tests/output (git-ignored); the directory is
printed at the end of the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.projects import ROOT, stop, unavailable, wait_for

pytestmark = pytest.mark.browser
EXAMPLE = ROOT / "example"
OUTPUT = Path(os.environ.get("CRONJOBS_SCREENSHOTS") or ROOT / "tests" / "output")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served(str):
    """The example project's URL, with ``manage(*args)`` to run its commands on its database."""

    def __new__(cls, url: str, manage: object) -> Served:
        served = super().__new__(cls, url)
        served.manage = manage  # type: ignore[attr-defined]
        return served


@pytest.fixture
def example(tmp_path):
    """The example project migrated into a fresh database, its jobs run once (the feed job fails), served."""
    env = {
        **os.environ,
        "EXAMPLE_DB": str(tmp_path / "example.sqlite3"),
        "SHOP_FEED": str(tmp_path / "missing-feed.csv"),
        "DJANGO_SUPERUSER_PASSWORD": "browser-test",
        "PYTHONPATH": os.pathsep.join([str(EXAMPLE), str(ROOT)]),  # this checkout's cronjobs
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=120
        )

    for args in (("migrate", "-v0"), ("createsuperuser", "--noinput", "--username", "admin", "--email", "a@b.example")):
        result = manage(*args)
        assert result.returncode == 0, result.stderr
    ran = manage("runcrons", "--force")
    assert ran.returncode == 1 and "shop.import_feed: failed" in ran.stdout, ran.stdout + ran.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/admin/login/", timeout=2):
                return True
        except OSError:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else "runserver died"
            return False

    try:
        wait_for(up, timeout=60, interval=0.2)
        yield Served(url, manage)
    finally:
        stop(server)
        server.communicate(timeout=30)  # reaps it and closes its pipe


@pytest.fixture
def browser():
    if not CHROMIUM or not CHROMEDRIVER:
        unavailable("chromium and chromedriver are not installed (scripts/system-deps.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1500,900",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def test_an_operator_sees_the_jobs_pauses_one_and_reads_a_failed_runs_traceback(example, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{example}/admin/login/?next=/admin/cronjobs/job/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys("browser-test")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    assert browser.find_element(By.CSS_SELECTOR, "#content h1").text == "Cron jobs"
    codes = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#result_list th.field-code a")]
    assert sorted(codes) == [
        "shop.ClearSessions",
        "shop.heartbeat",
        "shop.import_feed",
        "shop.nightly_report",
        "shop.refresh_prices",
    ]
    failed = browser.find_element(By.CSS_SELECTOR, ".cronjobs-status-failed")
    assert failed.text == "failed"
    assert failed.value_of_css_property("background-color") == "rgba(186, 33, 33, 1)"
    OUTPUT.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(OUTPUT / "admin-job-list.png"))

    row = browser.find_element(By.XPATH, "//tr[th/a[text()='shop.heartbeat']]")
    row.find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("pause")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    assert _message(browser, "Paused") == "Paused: shop.heartbeat."
    row = browser.find_element(By.XPATH, "//tr[th/a[text()='shop.heartbeat']]")
    assert row.find_element(By.CSS_SELECTOR, "td.field-next_run .cronjobs-status-paused").text == "paused"
    assert browser.save_screenshot(str(OUTPUT / "admin-job-list-paused.png"))

    row = browser.find_element(By.XPATH, "//tr[th/a[text()='shop.import_feed']]")
    row.find_element(By.LINK_TEXT, "all runs").click()
    browser.find_element(By.LINK_TEXT, "failed").click()
    browser.find_element(By.CSS_SELECTOR, "#result_list tbody th a").click()
    traceback = browser.find_element(By.CSS_SELECTOR, "pre.cronjobs-traceback").text
    assert traceback.startswith("Traceback (most recent call last):")
    assert "FileNotFoundError" in traceback and "missing-feed.csv" in traceback
    assert browser.save_screenshot(str(OUTPUT / "admin-failed-run.png"))


def _seed_heartbeat_history(database) -> None:
    """Forty minutes of shop.heartbeat: mostly succeeded, some failed, timed out, skipped and
    missed, and four slots with no record at all (drawn hollow)."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0, tzinfo=None)
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "UPDATE cronjobs_job SET first_seen = ? WHERE code = 'shop.heartbeat'",
            (str(now - timedelta(minutes=40, seconds=30)),),
        )
        db.execute("DELETE FROM cronjobs_run WHERE job_code = 'shop.heartbeat'")
        for minutes in range(1, 41):
            if 20 <= minutes <= 23:
                continue
            status = {7: "failed", 14: "failed", 15: "timed_out", 30: "skipped", 10: "missed", 11: "missed"}.get(
                minutes, "succeeded"
            )
            slot = now - timedelta(minutes=minutes)
            ran = status not in ("missed", "skipped")
            duration = 0.2 + (minutes % 5) * 0.35 + (2.5 if status == "timed_out" else 0) if ran else None
            db.execute(
                "INSERT INTO cronjobs_run (job_code, slot, attempt, forced, status, started_at, finished_at, duration, "
                "hostname, boot_id, pid, token, message, traceback, output, task_backend, task_id) "
                "VALUES ('shop.heartbeat', ?, 1, 0, ?, ?, ?, ?, 'web-1', '', 1, '', '', '', '', '', '')",
                (str(slot), status, str(slot) if ran else None, str(slot) if ran else None, duration),
            )


def shot(browser, name: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(OUTPUT / name))
    print(f"screenshot: {OUTPUT / name}")  # noqa: T201  (where to look, kept with -s or on failure)


def test_filters_links_badges_a_failing_job_and_an_overdue_next_run(example, browser, tmp_path):
    from selenium.webdriver.common.by import By

    # shop.nightly_report should have run ten minutes ago: as if cron had stopped.
    late = (datetime.now(timezone.utc) - timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S")
    with contextlib.closing(sqlite3.connect(tmp_path / "example.sqlite3")) as db, db:
        db.execute("UPDATE cronjobs_job SET next_slot = ? WHERE code = 'shop.nightly_report'", (late,))

    browser.get(f"{example}/admin/login/?next=/admin/cronjobs/job/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys("browser-test")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    filters = browser.find_element(By.ID, "changelist-filter").text
    assert "By failing" in filters and "By paused" in filters and "By last status" in filters
    assert not browser.find_elements(By.CSS_SELECTOR, "#result_list img[alt=False]")  # no red crosses
    row = browser.find_element(By.XPATH, "//tr[th/a[text()='shop.nightly_report']]")
    assert "overdue: is cron running?" in row.find_element(By.CSS_SELECTOR, "td.field-next_run").text
    stale = row.find_element(By.CSS_SELECTOR, ".cronjobs-stale")
    assert stale.value_of_css_property("color") == "rgba(186, 33, 33, 1)"
    shot(browser, "admin-jobs-overdue.png")

    browser.find_element(By.LINK_TEXT, "Failing").click()
    codes = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#result_list th.field-code a")]
    assert codes == ["shop.import_feed"]
    assert browser.find_element(By.CSS_SELECTOR, ".cronjobs-status-failed").text == "failed"
    shot(browser, "admin-jobs-failing.png")

    browser.get(f"{example}/admin/cronjobs/run/")
    link = browser.find_element(By.XPATH, "//td[contains(@class, 'field-job_link')]/a[text()='shop.import_feed']")
    when = browser.find_element(By.CSS_SELECTOR, "td.field-slot_local .cronjobs-when").text
    assert len(when.split()) == 3  # date, time, zone
    shot(browser, "admin-runs.png")
    link.click()
    assert browser.find_element(By.CSS_SELECTOR, "#content h1").text.startswith("View cron job")
    assert browser.find_element(By.CSS_SELECTOR, ".field-first_seen_when .readonly").text.count(":") == 2
    shot(browser, "admin-job-detail.png")


def test_the_job_page_shows_a_timeline_of_the_slots_and_a_duration_chart(example, browser, tmp_path):
    from selenium.webdriver.common.by import By

    _seed_heartbeat_history(tmp_path / "example.sqlite3")
    browser.get(f"{example}/admin/login/?next=/admin/cronjobs/job/shop.heartbeat/change/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys("browser-test")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    timeline = browser.find_element(By.CSS_SELECTOR, "svg.cronjobs-timeline")
    marks = timeline.find_elements(By.CSS_SELECTOR, "rect.cronjobs-slot")
    assert len(marks) >= 40  # one per minute slot, the last forced run's included
    classes = [mark.get_attribute("class").split()[-1] for mark in marks]
    # 20 to 23 minutes ago, and the current minute's slot when the forced run sits beside it.
    assert classes.count("cronjobs-slot-none") in (4, 5) and classes.count("cronjobs-slot-missed") == 2
    assert classes.count("cronjobs-slot-failed") == 2 and "cronjobs-slot-timed_out" in classes
    failed = timeline.find_element(By.CSS_SELECTOR, "rect.cronjobs-slot-failed")
    assert failed.get_attribute("fill") == "#ba2121" and failed.size["width"] > 0
    chart = browser.find_element(By.CSS_SELECTOR, "svg.cronjobs-durations")
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.cronjobs-bar")
    assert len(bars) >= 33
    assert max(bar.size["height"] for bar in bars) > 3 * min(bar.size["height"] for bar in bars)
    assert browser.execute_script("return document.querySelectorAll('script[src*=chart], canvas').length") == 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView()", timeline)
    assert browser.save_screenshot(str(OUTPUT / "admin-job-charts.png"))
    charts = browser.find_element(By.CSS_SELECTOR, "div.cronjobs-charts")
    assert charts.screenshot(str(OUTPUT / "admin-job-charts-detail.png"))


def _log_in(browser, example: str, next_url: str, username: str = "admin") -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{example}/admin/login/?next={next_url}")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys("browser-test")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def _settled(browser, read, starting: str = ""):
    """What ``read()`` gives once the page that a click or a load brings has replaced the last
    one: an element of the old page goes stale under it (on a busy machine, often)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(_driver):
        try:
            found = read()
            text = found.text if hasattr(found, "text") else ""
            return found if not starting or text.startswith(starting) else False
        except (StaleElementReferenceException, NoSuchElementException):
            return False

    return WebDriverWait(browser, 60, poll_frequency=0.1).until(ready)


def _message(browser, starting: str) -> str:
    """The text of the message the page a click brings shows, once it begins with ``starting``."""
    from selenium.webdriver.common.by import By

    return _settled(browser, lambda: browser.find_element(By.CSS_SELECTOR, "ul.messagelist li"), starting).text


def _cut_off(browser) -> int:
    """How many pixels the page, or the list's table in its scrolling box, is wider than its room."""
    return browser.execute_script(
        "const page = document.documentElement.scrollWidth - document.documentElement.clientWidth;"
        "const box = document.querySelector('#changelist .results');"
        "return Math.max(page, box ? box.scrollWidth - box.clientWidth : 0);"
    )


def test_at_1400_px_the_lists_fit_and_the_job_page_acts_with_buttons(example, browser, tmp_path):
    from selenium.webdriver.common.by import By

    _seed_heartbeat_history(tmp_path / "example.sqlite3")
    browser.set_window_size(1400, 900)
    _log_in(browser, example, "/admin/cronjobs/job/")
    assert _cut_off(browser) == 0
    # The longest schedule in words takes two lines at most, its zone a third, small.
    schedule = browser.find_element(By.XPATH, "//tr[th/a[text()='shop.import_feed']]//span[@class='cronjobs-schedule']")
    line = float(schedule.value_of_css_property("line-height").removesuffix("px"))
    assert schedule.text == "Every 15th minute of every hour" and schedule.size["height"] <= 2 * line + 1
    shot(browser, "admin-1400-job-list.png")

    browser.get(f"{example}/admin/cronjobs/run/")
    assert _cut_off(browser) == 0
    shot(browser, "admin-1400-run-list.png")

    browser.get(f"{example}/admin/cronjobs/job/shop.heartbeat/change/")
    buttons = _settled(
        browser,
        lambda: [b.get_attribute("value") for b in browser.find_elements(By.CSS_SELECTOR, ".cronjobs-buttons input")],
    )
    assert buttons == ["Run now (at the next runcrons)", "Pause"]  # no lock held: no "Unlock"
    assert browser.find_element(By.CSS_SELECTOR, ".field-paused_state .readonly").text == "no"
    shot(browser, "admin-1400-job-page.png")
    browser.find_element(By.CSS_SELECTOR, "input.cronjobs-button-pause").click()
    message = _settled(browser, lambda: browser.find_element(By.CSS_SELECTOR, "ul.messagelist li"), "Paused")
    assert (message.text, message.get_attribute("class")) == ("Paused: shop.heartbeat.", "success")
    assert browser.find_element(By.CSS_SELECTOR, ".field-paused_state .readonly").text == "paused"
    browser.find_element(By.CSS_SELECTOR, "input.cronjobs-button-resume").click()
    message = _settled(browser, lambda: browser.find_element(By.CSS_SELECTOR, "ul.messagelist li"), "Resumed")
    assert message.text == "Resumed: shop.heartbeat."
    browser.find_element(By.CSS_SELECTOR, "input.cronjobs-button-run_now").click()
    assert "The next runcrons runs shop.heartbeat once" in _message(browser, "The next runcrons")
    assert "at the next runcrons (run requested)" in browser.find_element(By.CSS_SELECTOR, ".field-next_run").text
    assert browser.current_url.endswith("/admin/cronjobs/job/shop.heartbeat/change/")
    shot(browser, "admin-1400-job-page-run-requested.png")
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    shot(browser, "admin-1400-job-page-charts.png")
    assert _cut_off(browser) == 0


def _listed(example, code: str) -> str:
    """What ``manage.py cronjobs list`` says of ``code`` after a ``runcrons`` ("" when it has no such job)."""
    ran = example.manage("runcrons")
    assert ran.returncode in (0, 1), ran.stdout + ran.stderr  # 1: the example's feed job fails when due
    listed = example.manage("cronjobs", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    blocks = [block for block in listed.stdout.split("\n\n") if block.split()[:1] == [code]]
    return blocks[0] if blocks else ""


def _form(browser, **fields: str) -> None:
    from selenium.webdriver.common.by import By

    for name, value in fields.items():
        field = browser.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    browser.find_element(By.NAME, "_save").click()


def test_a_schedule_added_changed_paused_and_deleted_in_the_admin_applies_at_the_next_runcrons(example, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _log_in(browser, example, "/admin/cronjobs/storedschedule/add/")
    _form(browser, name="sessions", command="clearsessions", schedule="* * * * *")
    assert "was added successfully" in _message(browser, "The stored schedule")
    assert "Every minute" in _listed(example, "db.sessions")
    shot(browser, "admin-stored-schedules.png")

    browser.find_element(By.LINK_TEXT, "sessions").click()
    _form(browser, schedule="61 * * * *")  # refused with the check's message
    error = _settled(browser, lambda: browser.find_element(By.CSS_SELECTOR, ".errorlist")).text
    assert "61" in error and "E001" in error, error
    shot(browser, "admin-stored-schedule-refused.png")
    _form(browser, schedule="*/5 * * * *")
    assert "was changed successfully" in _message(browser, "The stored schedule")
    assert "Every 5th minute of every hour" in _listed(example, "db.sessions")

    row = browser.find_element(By.XPATH, "//tr[th/a[text()='sessions']]")
    row.find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("disable")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    assert _message(browser, "Disabled") == "Disabled: db.sessions."
    assert "paused" in _listed(example, "db.sessions")

    # A user who may only look cannot change it.
    made = example.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import Permission, User\n"
        "u = User.objects.create_user('viewer', password='browser-test', is_staff=True)\n"
        "u.user_permissions.add(Permission.objects.get(codename='view_storedschedule'))",
    )
    assert made.returncode == 0, made.stderr
    browser.delete_all_cookies()
    _log_in(browser, example, "/admin/cronjobs/storedschedule/", username="viewer")
    browser.find_element(By.LINK_TEXT, "sessions").click()
    assert browser.find_elements(By.NAME, "_save") == []  # read only
    assert browser.find_elements(By.NAME, "schedule") == []
    browser.get(f"{example}/admin/cronjobs/storedschedule/add/")
    assert "403" in browser.title or "Forbidden" in browser.page_source

    browser.delete_all_cookies()
    _log_in(browser, example, "/admin/cronjobs/storedschedule/")
    browser.find_element(By.LINK_TEXT, "sessions").click()
    browser.find_element(By.CSS_SELECTOR, "a.deletelink").click()
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert "was deleted successfully" in _message(browser, "The stored schedule")
    assert "not registered any more" in _listed(example, "db.sessions")  # its history kept until `forget`
