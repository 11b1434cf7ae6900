# What a few expressions mean, checked against cronjobs' own schedule arithmetic.
from datetime import datetime, timezone

from cronjobs.schedules import CronSchedule

new_year = datetime(2026, 1, 1, tzinfo=timezone.utc)  # a Thursday


def first_three(expression):
    schedule, moment, found = CronSchedule(expression, "UTC"), new_year, []
    for _ in range(3):
        moment = schedule.next_after(moment)
        found.append(moment.strftime("%a %d %b"))
    return found


assert first_three("0 9 * * 5#2") == ["Fri 09 Jan", "Fri 13 Feb", "Fri 13 Mar"]  # second Friday
assert first_three("0 9 * * 5L") == ["Fri 30 Jan", "Fri 27 Feb", "Fri 27 Mar"]  # last Friday
assert first_three("0 9 L * *") == ["Sat 31 Jan", "Sat 28 Feb", "Tue 31 Mar"]  # last day
assert first_three("0 9 LW * *") == ["Fri 30 Jan", "Fri 27 Feb", "Tue 31 Mar"]  # last weekday
# Day of month and day of week both set: either matches (cron's rule).
assert first_three("0 9 1 * MON") == ["Thu 01 Jan", "Mon 05 Jan", "Mon 12 Jan"]
