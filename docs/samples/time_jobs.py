# The jobs of the examples on the Time page (explanation/time.md): tests/test_docs.py runs each
# `cronjobs simulate` shown there against them and compares the output with the page.
from datetime import timedelta

from cronjobs import BaseCronJob


class QuarterHourly(BaseCronJob):
    code = "shop.quarter_hourly"
    schedule = "*/15 * * * *"
    timezone = "Europe/Berlin"

    def run(self): ...


class Nightly(BaseCronJob):
    code = "shop.nightly"
    schedule = "30 2 * * *"
    timezone = "Europe/Berlin"

    def run(self): ...


class Every45Minutes(BaseCronJob):
    code = "shop.every_45_min"
    interval = timedelta(minutes=45)
    timezone = "Europe/Berlin"  # intervals ignore it; the simulation shows slots in it

    def run(self): ...


class FeedLatest(BaseCronJob):
    code = "feed.latest"
    schedule = "0 * * * *"
    timezone = "Europe/Berlin"
    catchup = "latest"

    def run(self): ...


class FeedAll(FeedLatest):
    code = "feed.all"
    catchup = "all"


class FeedNone(FeedLatest):
    code = "feed.none"
    catchup = "none"


class Every20Seconds(BaseCronJob):
    code = "stock.every_20_s"
    interval = timedelta(seconds=20)
    timezone = "Europe/Berlin"

    def run(self): ...


class Every45Seconds(BaseCronJob):
    code = "stock.every_45_s"
    interval = timedelta(seconds=45)
    timezone = "Europe/Berlin"

    def run(self): ...
