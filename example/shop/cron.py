"""The example's jobs: each shows one feature. runcrons finds them because this file is cron.py."""

import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from cronjobs import BaseCronJob, CommandJob
from shop.models import Heartbeat, Price


class RecordHeartbeat(BaseCronJob):
    """Every minute: records that the scheduler is alive (one row per slot)."""

    schedule = "* * * * *"
    code = "shop.heartbeat"

    def run(self):
        Heartbeat.objects.create(slot=self.slot)
        return f"alive at {timezone.localtime(self.slot):%H:%M}"


class RefreshPrices(BaseCronJob):
    """Every 5 minutes in absolute time; atomic: all prices change together or none do."""

    interval = timedelta(minutes=5)
    code = "shop.refresh_prices"
    retries = 2
    retry_delay = timedelta(minutes=1)

    def run(self):
        now = timezone.now()
        for sku in ("apple", "pear", "plum"):
            Price.objects.create(sku=sku, amount=Decimal(random.randint(100, 500)) / 100, refreshed_at=now)
        return "3 prices refreshed"


class NightlyReport(BaseCronJob):
    """At 02:30 Berlin time, DST-safe; after downtime it waits for the next night."""

    schedule = "30 2 * * *"
    timezone = "Europe/Berlin"
    catchup = "none"
    code = "shop.nightly_report"

    def run(self):
        since = timezone.now() - timedelta(days=1)
        count = Price.objects.filter(refreshed_at__gte=since).count()
        return f"{count} price updates in the last 24 hours"


class ClearSessions(CommandJob):
    """Any management command on a schedule."""

    schedule = "@daily"
    command = "clearsessions"


class ImportFeed(BaseCronJob):
    """Every 15 minutes: imports prices from settings.SHOP_FEED. What it prints is kept in the
    run record; a missing feed fails the run, with its traceback kept too."""

    schedule = "*/15 * * * *"
    code = "shop.import_feed"

    def run(self):
        rows = Path(settings.SHOP_FEED).read_text().split()
        now = timezone.now()
        for row in rows:
            sku, amount = row.split(",")
            Price.objects.create(sku=sku, amount=Decimal(amount), refreshed_at=now)
            print(f"{sku}: {amount}")  # noqa: T201  (captured: that is the point)
        return f"{len(rows)} prices imported"
