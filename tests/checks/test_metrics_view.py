"""Without prometheus-client (the ``prometheus`` extra): a check error where the metrics view is
routed (cronjobs.E160), and the view answers 503 saying what to install instead of a traceback."""

from __future__ import annotations

import sys

import pytest
from django.core import checks

pytestmark = pytest.mark.django_db


urlpatterns: list = []  # a URLconf without the metrics view (ROOT_URLCONF = this module)


@pytest.fixture
def without_prometheus(monkeypatch):
    """As if prometheus-client were not installed: importing it fails as it would then."""
    monkeypatch.setitem(sys.modules, "prometheus_client", None)


def test_a_routed_metrics_view_without_prometheus_client_is_a_check_error(without_prometheus):
    from cronjobs.checks.metrics import check_metrics_view

    assert check_metrics_view() == [
        checks.Error(
            "The cronjobs metrics view is routed at '/cron/metrics', but prometheus-client is not installed: "
            "every scrape would fail.",
            hint="Install the extra: pip install 'cronjobs[prometheus]' (or pip install prometheus-client).",
            id="cronjobs.E160",
        )
    ]
    assert "cronjobs.E160" in [m.id for m in checks.run_checks(tags=[checks.Tags.urls])]


def test_no_error_when_the_view_is_not_routed_or_prometheus_client_is_installed(without_prometheus, settings):
    from cronjobs.checks.metrics import check_metrics_view

    settings.ROOT_URLCONF = __name__
    assert check_metrics_view() == []
    settings.ROOT_URLCONF = "tests.urls"
    sys.modules.pop("prometheus_client")
    assert check_metrics_view() == []


def test_the_view_without_prometheus_client_answers_503_saying_what_to_install(client, without_prometheus, caplog):
    response = client.get("/cron/metrics")
    assert response.status_code == 503
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "cronjobs metrics need prometheus-client, which is not installed.\n"
        "Install the extra: pip install 'cronjobs[prometheus]' (or pip install prometheus-client).\n"
    )
    assert "prometheus-client is not installed (cronjobs.E160)" in caplog.text
