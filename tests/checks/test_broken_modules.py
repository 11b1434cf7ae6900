"""A broken ``cron.py`` in one app: a check error naming the app and the file, ``manage.py
check`` reports it (no traceback), and runcrons still runs the other apps' jobs, then exits 2."""

from __future__ import annotations

import io
import sys
import textwrap

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import CommandError, call_command
from django.core.management.base import SystemCheckError
from django.test.utils import override_settings

from tests.testapp.models import Effect

pytestmark = pytest.mark.django_db

GOOD = """
from cronjobs import BaseCronJob
from tests.testapp.models import Effect


class Billing(BaseCronJob):
    schedule = "* * * * *"
    code = "billing.invoices"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=0)
"""
BROKEN = {
    "ImportError": ("from cronjobs import BaseCronJob\nimport no_such_module_for_cronjobs\n", "ModuleNotFoundError"),
    "SyntaxError": ("from cronjobs import BaseCronJob\n\nclass Oops(BaseCronJob:\n    pass\n", "SyntaxError"),
    "NameError": ("class Oops(BaseCronJobb):\n    pass\n", "NameError: name 'BaseCronJobb' is not defined"),
}


@pytest.fixture(params=sorted(BROKEN))
def two_apps(request, tmp_path, monkeypatch):
    """App ``billing`` with a good cron.py, app ``reports`` with a broken one."""
    source, error = BROKEN[request.param]
    for name, text in (("billing", GOOD), ("reports", source)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("")
        (tmp_path / name / "cron.py").write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    apps = [*settings.INSTALLED_APPS, "billing", "reports"]
    cronjobs = {**settings.CRONJOBS, "AUTODISCOVER": True, "LOCK_DIR": str(tmp_path / "locks")}
    with override_settings(INSTALLED_APPS=apps, CRONJOBS=cronjobs):
        yield tmp_path / "reports" / "cron.py", error
    for name in [m for m in sys.modules if m.split(".")[0] in ("billing", "reports")]:
        del sys.modules[name]


def test_a_broken_cron_module_is_a_check_error_naming_the_app_and_the_file(two_apps):
    path, error = two_apps
    (message,) = [m for m in checks.run_checks(tags=["cronjobs"]) if m.id == "cronjobs.E121"]
    assert message.msg.startswith(f"App 'reports': {path} cannot be imported: ")
    assert error in message.msg
    assert message.hint == "Fix reports.cron; until then its jobs do not run (the other apps' jobs do)."


def test_manage_py_check_reports_it_without_a_traceback(two_apps):
    with pytest.raises(SystemCheckError, match=r"cronjobs.E121\) App 'reports'") as raised:
        call_command("check")
    assert "Traceback" not in str(raised.value)


def test_runcrons_still_runs_the_other_apps_jobs_then_exits_2(two_apps):
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"1 cron module\(s\) could not be imported") as raised:
        call_command("runcrons", "--force", stdout=io.StringIO(), stderr=err)
    assert raised.value.returncode == 2
    assert "cronjobs.E121: App 'reports'" in err.getvalue() and "The other apps' jobs run." in err.getvalue()
    assert list(Effect.objects.values_list("job", flat=True)) == ["billing.invoices"]


def test_the_list_shows_the_other_apps_jobs(two_apps):
    out = io.StringIO()
    call_command("cronjobs", "list", stdout=out, skip_checks=True)
    assert "billing.invoices" in out.getvalue()


def test_a_job_message_names_its_app_and_file(two_apps):
    from cronjobs import registry

    path, _ = two_apps
    billing = path.parent.parent / "billing" / "cron.py"
    billing.write_text('from cronjobs import BaseCronJob\n\n\nclass NoWork(BaseCronJob):\n    schedule = "@daily"\n')
    sys.modules.pop("billing.cron", None)
    registry.reset()
    (message,) = [m for m in checks.run_checks(tags=["cronjobs"]) if m.id == "cronjobs.E122"]
    assert message.msg.startswith("NoWork (code 'billing.NoWork', app billing, ")
    assert message.msg.endswith(f"{billing}:4): defines no run() method.")
