"""Settings read from the environment, checked in a fresh interpreter each time."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def database_options(**env: str) -> dict[str, object]:
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "hub.settings"}
    environment.pop("DATABASE_CONNECTION_OPTIONS", None)  # the default unless a test sets it
    environment.update(env)
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgres_connections_get_the_planner_settings():
    options = database_options(DATABASE_URL="postgres://u@db.invalid:5432/passerelle")
    assert options["options"] == "-c random_page_cost=1.1 -c jit=off"


def test_options_from_the_url_are_kept_and_can_be_switched_off():
    url = "postgres://u@db.invalid:5432/passerelle?options=-c%20search_path%3Dapp"
    assert database_options(DATABASE_URL=url)["options"] == (
        "-c search_path=app -c random_page_cost=1.1 -c jit=off"
    )
    assert database_options(DATABASE_URL=url, DATABASE_CONNECTION_OPTIONS="")["options"] == (
        "-c search_path=app"
    )


def test_sqlite_gets_no_postgres_options():
    options = database_options(DATABASE_URL="sqlite:////tmp/passerelle-settings-test.sqlite3")
    assert "options" not in options
    assert options["transaction_mode"] == "IMMEDIATE"
