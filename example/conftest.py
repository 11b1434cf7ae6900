# cronjobs' pytest fixture: cronjobs_clock (the runner's clock, frozen; move it with tick()).
from cronjobs.testing import cronjobs_clock  # noqa: F401
