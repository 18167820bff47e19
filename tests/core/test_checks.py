"""The checks CI relies on do fail when they should: a missing template variable fails the
test that renders it, and the type checker refuses an ill-typed call into the app."""

import subprocess
import sys
from pathlib import Path

import pytest
from _pytest.outcomes import Failed
from django.conf import settings
from django.template import Context, Template

ROOT = Path(settings.BASE_DIR)


def test_a_missing_template_variable_fails_the_test():
    with pytest.raises(Failed, match="no_such_variable"):
        Template("Bonjour {{ no_such_variable }}").render(Context({}))


def test_ci_runs_the_type_checker_before_the_tests_and_stops_on_failure():
    script = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in script
    assert script.index("uv run mypy .") < script.index("uv run pytest")


@pytest.mark.slow
def test_the_type_checker_refuses_an_anonymous_actor(tmp_path):
    # The signed-in request type exists so that views cannot hand a service an
    # AnonymousUser; mypy with the project's settings must say so.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from django.contrib.auth.models import AnonymousUser\n"
        "from campaigns import services\n"
        "services.campaign_mark_done(actor=AnonymousUser(), campaign_id=1)\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed argument list
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(probe)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Argument "actor" to "campaign_mark_done" has incompatible type' in result.stdout
