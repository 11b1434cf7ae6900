"""The job page's pictures: a timeline with one mark per slot, and the durations, as SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cronjobs.engine.runner import Runner
from cronjobs.models import Job, Run
from cronjobs.ops import charts
from tests.testapp.jobs import Flaky

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
SVG = "{http://www.w3.org/2000/svg}"
UTC = ZoneInfo("UTC")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Sometimes(Flaky):
    code = "test.sometimes"
    timeout = timedelta(seconds=30)


@pytest.fixture
def history():
    """12:01 ok, 12:02 failed, 12:03-12:05 missed (runcrons down), 12:06 ok, 12:07 ok."""
    jobs = {"test.sometimes": Sometimes}
    Runner(jobs, now=at(0)).run()
    for minute, failing in ((1, False), (2, True), (6, False), (7, False)):
        Sometimes.failing = failing
        Runner(jobs, now=at(minute)).run()
    Sometimes.failing = True
    return Job.objects.get(code="test.sometimes")


def marks(svg: str, tag: str = "rect") -> list[tuple[str, str]]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return [
        (el.get("class").split()[-1], el.findtext(f"{SVG}title")) for el in root.iter(f"{SVG}{tag}") if el.get("class")
    ]


def test_the_timeline_has_one_mark_per_slot_coloured_by_status_missed_ones_included(history):
    slots = charts.recent_slots(history, Sometimes, at(7.5))
    assert [slot.strftime("%H:%M") for slot, _ in slots] == [f"12:0{m}" for m in range(1, 8)]
    found = marks(charts.timeline_svg(slots, UTC))
    assert [cls for cls, _ in found] == [
        "cronjobs-slot-succeeded",
        "cronjobs-slot-failed",
        "cronjobs-slot-missed",
        "cronjobs-slot-missed",
        "cronjobs-slot-missed",
        "cronjobs-slot-succeeded",
        "cronjobs-slot-succeeded",
    ]
    assert found[1][1].startswith("2026-03-01 12:02:00 UTC: failed, ")


def test_slots_without_a_record_are_drawn_hollow(history):
    Run.objects.filter(status="missed").delete()  # as pruning would
    slots = charts.recent_slots(history, Sometimes, at(7.5))
    found = marks(charts.timeline_svg(slots, UTC))
    assert [cls for cls, _ in found][2:5] == ["cronjobs-slot-none"] * 3
    assert found[2][1] == "2026-03-01 12:03:00 UTC: no record"


def test_the_timeline_keeps_the_newest_slots_only(history):
    slots = charts.recent_slots(history, Sometimes, at(7.5), limit=3)
    assert [slot.strftime("%H:%M") for slot, _ in slots] == ["12:05", "12:06", "12:07"]


def test_the_duration_chart_has_a_bar_per_finished_run_and_the_timeout_line(history):
    runs = list(Run.objects.filter(job_id="test.sometimes").exclude(status="missed").order_by("slot"))
    svg = charts.durations_svg(runs, Sometimes.timeout, UTC)
    bars = marks(svg)
    assert [cls for cls, _ in bars] == [
        "cronjobs-bar-succeeded",
        "cronjobs-bar-failed",
        "cronjobs-bar-succeeded",
        "cronjobs-bar-succeeded",
    ]
    # Runs of milliseconds: a 30 s timeout line would flatten every bar; the caption names it.
    assert marks(svg, "line") == []
    page = charts.job_charts(history, Sometimes, at(7.5), UTC)
    assert "Durations of the last 4 runs (timeout 30 s)" in page


def texts(svg: str) -> list[str | None]:
    return [el.text for el in ET.fromstring(svg).iter(f"{SVG}text")]


def test_a_timeout_on_the_scale_of_the_runs_is_a_labelled_line():
    runs = [Run(job_id="x", slot=T0, status="succeeded", attempt=1, duration=d) for d in (12.0, 20.0, 31.0)]
    svg = charts.durations_svg(runs, timedelta(seconds=30), UTC)
    assert marks(svg, "line") == [("cronjobs-timeout", "timeout 30 s")]
    assert texts(svg) == ["31 s", "0 s", "timeout 30 s"]


def test_sub_millisecond_runs_read_in_milliseconds_on_the_axis():
    runs = [Run(job_id="x", slot=T0, status="succeeded", attempt=1, duration=d) for d in (0.0002, 0.0004)]
    assert texts(charts.durations_svg(runs, None, UTC)) == ["1.0 ms", "0 s"]
    (bar,) = marks(charts.durations_svg(runs[1:], None, UTC))
    assert bar == ("cronjobs-bar-succeeded", "2026-03-01 12:00:30 UTC: succeeded, 0.40 ms")


def test_one_slot_is_one_slot():
    assert charts._label([(T0, None)], UTC) == "1 slot, 2026-03-01 12:00"


def test_titles_are_escaped():
    run = Run(job_id="x", slot=T0, status="<script>", attempt=2, duration=1.5)
    svg = charts.durations_svg([run], None, UTC)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_the_job_page_shows_both_charts(history, admin_client):
    response = admin_client.get("/admin/cronjobs/job/test.sometimes/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="cronjobs-timeline"' in page and 'class="cronjobs-durations"' in page
