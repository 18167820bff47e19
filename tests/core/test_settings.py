"""Settings read from the environment, checked in a fresh interpreter each time."""

from tests.support.processes import settings_in_fresh_interpreter


def database_options(**env: str) -> dict[str, object]:
    # DATABASE_CONNECTION_OPTIONS: the default unless a test sets it.
    options: dict[str, object] = settings_in_fresh_interpreter(
        "settings.DATABASES['default'].get('OPTIONS', {})",
        env,
        keep=lambda name: name != "DATABASE_CONNECTION_OPTIONS",
    )
    return options


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
