"""A run's own process finishing it (its notices, its monitors) is not judged to have lost its claim or its lock."""

from __future__ import annotations

import pytest

from tests.support.monitors import RecordingServer

pytestmark = pytest.mark.processes

CODE = "test.slowly_monitored"


def test_a_slow_monitor_after_the_record_logs_no_lost_claim_or_lock(project):
    server = RecordingServer(delay=2)  # each notice outlasts a renewal of the 3 s lease (every 1 s)
    try:
        result = project.manage(
            "runcrons",
            "-v",
            "2",
            "--force",
            CODE,
            jobs="SlowlyMonitored",
            env={"CRONJOBS_TEST_MONITOR_URL": server.url + "/u"},
        )
    finally:
        server.close()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"{CODE}: succeeded" in result.stdout, output
    assert [r.route for r in server.requests] == ["/u/start", "/u"]  # both notices were sent, slowly
    assert "declared crashed" not in output and "was lost" not in output, output
    assert [status for _, _, status, _, _ in project.runs(CODE)] == ["succeeded"]
