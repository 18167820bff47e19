"""The README's API examples (curl, then Python), run as written against a live server
with a real token: if they stop working, this fails."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine

from api import services as api_services
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(__file__).resolve().parents[2] / "README.md"


def example(kind: str) -> str:
    text = README.read_text()
    match = re.search(
        rf"<!-- api-example:{kind} -->\n```\w+\n(.*?)```\n<!-- /api-example:{kind} -->",
        text,
        re.DOTALL,
    )
    assert match, f"README has no {kind} example"
    return match[1]


@pytest.fixture
def environment(live_server, marketer, support_team, tmp_path):
    token = api_services.api_token_create(
        actor=marketer, name="README", scope="write", expires_in_days=30
    ).secret
    return {
        **os.environ,
        "PASSERELLE_URL": live_server.url,
        "PASSERELLE_TOKEN": token,
        "TEAM_ID": str(support_team.pk),
    }


# The examples' launch dates are fixed (January 2027): the server runs before them.
@time_machine.travel("2026-12-15 10:00 +0100", tick=True)
def test_the_curl_example_creates_announces_and_reads(environment, tmp_path):
    script = example("curl").replace("export PASSERELLE_URL", ": export PASSERELLE_URL")
    done = subprocess.run(  # noqa: S603 - the README's own example
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.strip() == "Conseillers clientèle waiting"
    campaign = Campaign.objects.get()
    assert (campaign.title, campaign.status) == ("Vœux 2027", "announced")


@time_machine.travel("2026-12-15 10:00 +0100", tick=True)
def test_the_python_example_is_safe_to_run_twice(environment, tmp_path):
    for _ in range(2):
        done = subprocess.run(  # noqa: S603 - the README's own example
            [sys.executable, "-c", example("python")],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "Conseillers clientèle waiting"
    campaign = Campaign.objects.get()
    assert campaign.status == "announced"
    assert campaign.external_reference.source == "hubspot"
