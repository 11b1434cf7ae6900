"""How things read for a person: one function each, the same words everywhere."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from django.test.utils import override_settings

from cronjobs import words

T = datetime(2026, 12, 6, 23, 29, 26, 123456, tzinfo=timezone.utc)


def test_a_moment_reads_to_the_second_with_its_zone_never_in_iso_or_with_microseconds():
    assert words.moment(T, "UTC") == "2026-12-06 23:29:26 UTC"
    assert words.moment(T, "Europe/Berlin") == "2026-12-07 00:29:26 CET"
    with override_settings(TIME_ZONE="America/New_York"):
        assert words.moment(T) == "2026-12-06 18:29:26 EST"


@pytest.mark.parametrize(
    ("status", "said"), [("timed_out", "timed out"), ("handed_off", "handed off"), ("succeeded", "succeeded")]
)
def test_a_status_reads_as_list_says_it(status, said):
    assert words.status(status) == said


def test_counts_agree_with_their_number():
    assert [words.count(n, "slot") for n in (0, 1, 2)] == ["0 slots", "1 slot", "2 slots"]
    assert words.count(1, "entry", "entries") == "1 entry" and words.count(3, "entry", "entries") == "3 entries"


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "0 s"),
        (0.0004, "0.40 ms"),
        (0.0042, "4.2 ms"),
        (0.25, "250 ms"),
        (1.5, "1.50 s"),
        (45, "45 s"),
        (150, "2.5 min"),
    ],
)
def test_a_duration_never_reads_as_zero_when_it_is_not(seconds, said):
    assert words.duration(seconds) == said


def test_ordinal_words_become_figures():
    assert words.ordinals("Every fifth minute past every second hour") == "Every 5th minute past every 2nd hour"
    assert words.ordinals("on the first and third Monday") == "on the 1st and 3rd Monday"


def test_a_moment_at_the_calendars_edge_keeps_four_digits_for_the_year():
    assert words.moment(datetime(1, 1, 1, tzinfo=timezone.utc), "UTC") == "0001-01-01 00:00:00 UTC"
