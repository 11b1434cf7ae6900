"""Tests of the shop's jobs, written as a user of cronjobs writes them: no cron, no waiting.

``run_job`` runs one job through the real engine (transaction, lock, record); ``frozen_clock``
holds the moment ``runcrons`` reads, so a schedule can be walked through minute by minute.
"""

from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import call_command
from django.test import override_settings

from cronjobs.models import Run
from cronjobs.testing import frozen_clock, run_job
from shop.cron import ImportFeed, NightlyReport, RecordHeartbeat, RefreshPrices
from shop.models import Heartbeat, Price

UTC = timezone.utc


@pytest.mark.django_db
def test_the_heartbeat_records_its_slot_in_local_time():
    with frozen_clock(datetime(2026, 7, 1, 12, 0, 30, tzinfo=UTC)):
        result = run_job(RecordHeartbeat)
    assert result.succeeded
    assert result.run.message == "alive at 14:00"  # Berlin, summer time
    assert Heartbeat.objects.get().slot == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_refreshing_prices_writes_all_three():
    result = run_job(RefreshPrices)
    assert result.run.message == "3 prices refreshed"
    assert sorted(Price.objects.values_list("sku", flat=True)) == ["apple", "pear", "plum"]


@pytest.mark.django_db
def test_a_missing_feed_fails_the_import_and_keeps_the_traceback(tmp_path):
    with override_settings(SHOP_FEED=tmp_path / "missing.csv"):
        result = run_job(ImportFeed)
    assert result.status == Run.Status.FAILED
    assert "FileNotFoundError" in result.run.traceback
    assert Price.objects.count() == 0


@pytest.mark.django_db
def test_the_import_keeps_what_it_printed(tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text("apple,1.20\npear,0.80\n")
    with override_settings(SHOP_FEED=feed):
        result = run_job(ImportFeed)
    assert result.run.message == "2 prices imported"
    assert result.run.output == "apple: 1.20\npear: 0.80\n"


@pytest.mark.django_db(transaction=True)
def test_the_nightly_report_runs_right_after_the_spring_forward_gap(cronjobs_clock):
    # 02:30 Berlin does not exist on 29 March 2026: the clocks jump from 02:00 to 03:00 CEST.
    cronjobs_clock.set(datetime(2026, 3, 28, 23, 0, tzinfo=UTC))
    call_command("runcrons", "shop.nightly_report")  # first sight: the job starts from here
    runs = []
    for _ in range(180):  # three hours, a runcrons a minute as cron starts it
        cronjobs_clock.tick()
        call_command("runcrons", "shop.nightly_report")
        runs = list(Run.objects.filter(job_id="shop.nightly_report").values_list("slot", "status"))
        if runs:
            break
    assert runs == [(datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "succeeded")]  # 03:00 CEST
    assert cronjobs_clock.now == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_the_nightly_report_counts_the_last_days_prices():
    Price.objects.create(sku="apple", amount="1.00", refreshed_at=datetime.now(UTC) - timedelta(hours=2))
    assert run_job(NightlyReport).run.message == "1 price updates in the last 24 hours"
