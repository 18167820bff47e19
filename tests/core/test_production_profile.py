"""Production-safe by default: what DEBUG=0 refuses, and the HTTPS profile that passes
`check --deploy` with zero warnings. Each case in a fresh interpreter, since settings
read the environment once, at import."""

import secrets
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

from hub.production import DEVELOPMENT_SECRET_KEY, production_secret_key, secret_key_problem
from tests.support.processes import manage_in_fresh_interpreter, settings_in_fresh_interpreter

GOOD_KEY = secrets.token_urlsafe(50)
# What the outer run sets (pyproject's test key, a developer's shell) must not leak in.
OWNED = (
    "SECRET_KEY",
    "DEBUG",
    "EMAIL_",
    "PASSERELLE_",
    "SECURE_",
    "SESSION_COOKIE_SECURE",
    "BEHIND_HTTPS_PROXY",
    "ACCOUNT_DEFAULT_HTTP_PROTOCOL",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "TRUSTED_PROXY_COUNT",
)
PRODUCTION = {
    "SECRET_KEY": GOOD_KEY,
    "PASSERELLE_BASE_URL": "https://passerelle.example.com",
    "ALLOWED_HOSTS": "passerelle.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://passerelle.example.com",
    "EMAIL_HOST": "smtp.example.com",
    "TRUSTED_PROXY_COUNT": "1",
}


def _outer(name: str) -> bool:
    return not name.startswith(OWNED)


def manage(*args: str, **env: str):
    return manage_in_fresh_interpreter(args, env, keep=_outer)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (DEVELOPMENT_SECRET_KEY, "public development key"),
        ("django-insecure-" + "k" * 50, "public development key"),
        ("a1B2c3D4e5", "fewer than 50"),
        ("ab" * 40, "fewer than 5 different"),
        ("abcdefgh" * 8, "repeats the same 8 characters"),
        # Long and varied, yet a guesser's dictionaries and patterns find them.
        ("a" * 45 + "bcdef", "guessable"),
        ("abcdefghijklmnopqrstuvwxyz" * 2, "guessable"),
        ("qwertyuiopasdfghjklzxcvbnm1234567890qwertyuiopasdfghjkl", "guessable"),
        ("my-company-passerelle-production-secret-key-2026!!", "guessable"),
    ],
)
def test_weak_keys_are_named_for_what_is_wrong(key, problem):
    found = secret_key_problem(key)
    assert found is not None
    assert problem in found


def test_a_generated_key_is_accepted():
    assert secret_key_problem(GOOD_KEY) is None
    # Every form of random key the documentation and tools suggest passes, every time.
    for _ in range(20):
        for key in (
            secrets.token_urlsafe(50),
            secrets.token_hex(25),
            get_random_secret_key(),
            secrets.token_urlsafe(38),
            secrets.token_urlsafe(64),  # 86 characters: past zxcvbn's 72
            secrets.token_hex(64),
        ):
            assert secret_key_problem(key) is None, key
    assert production_secret_key(debug=False, key=GOOD_KEY, key_file="") == GOOD_KEY


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG=0"),
        ({"SECRET_KEY": " "}, "it is empty"),
        ({"SECRET_KEY": DEVELOPMENT_SECRET_KEY}, "public development key"),
        ({"SECRET_KEY": "short-but-random-Zx81"}, "fewer than 50"),
        ({"SECRET_KEY": "x" * 64}, "fewer than 5 different"),
    ],
)
def test_debug_off_refuses_to_start_without_a_real_key(env, message):
    result = manage("check", DEBUG="0", EMAIL_HOST="smtp.example.com", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_the_key_can_come_from_a_file_without_its_newline(tmp_path: Path):
    secret = tmp_path / "secret_key"
    secret.write_text(GOOD_KEY + "\n")
    key = settings_in_fresh_interpreter(
        "settings.SECRET_KEY",
        {"DEBUG": "0", "SECRET_KEY_FILE": str(secret), "EMAIL_HOST": "smtp.example.com"},
        keep=_outer,
    )
    assert key == GOOD_KEY


def test_a_weak_or_missing_key_file_is_refused(tmp_path: Path):
    weak = tmp_path / "weak"
    weak.write_text("changeme\n")
    result = manage("check", DEBUG="0", SECRET_KEY_FILE=str(weak), EMAIL_HOST="smtp.example.com")
    assert result.returncode != 0
    assert f"SECRET_KEY_FILE ({weak})" in result.stderr
    missing = manage(
        "check", DEBUG="0", SECRET_KEY_FILE=str(tmp_path / "nope"), EMAIL_HOST="smtp.example.com"
    )
    assert missing.returncode != 0
    assert "cannot be read" in missing.stderr


def test_debug_on_still_runs_on_the_development_key():
    key = settings_in_fresh_interpreter("settings.SECRET_KEY", {"DEBUG": "1"}, keep=_outer)
    assert key == DEVELOPMENT_SECRET_KEY


def test_debug_off_refuses_files_for_mail_unless_chosen():
    refused = manage("check", DEBUG="0", SECRET_KEY=GOOD_KEY)
    assert refused.returncode != 0
    assert "set EMAIL_HOST (SMTP) or an anymail EMAIL_BACKEND" in refused.stderr

    chosen = settings_in_fresh_interpreter(
        "settings.MAILERS['default']",
        {"DEBUG": "0", "SECRET_KEY": GOOD_KEY, "EMAIL_FILE_PATH": "outbox-files"},
        keep=_outer,
    )
    assert chosen["BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert chosen["OPTIONS"]["file_path"].endswith("outbox-files")


def test_debug_on_keeps_writing_mail_to_files():
    mailer = settings_in_fresh_interpreter(
        "settings.MAILERS['default']", {"DEBUG": "1"}, keep=_outer
    )
    assert mailer["BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert mailer["OPTIONS"]["file_path"].endswith("sent-mail")


def test_the_production_profile_passes_check_deploy_with_zero_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_without_the_profile_check_deploy_does_complain():
    # The zero above comes from the profile, not from checks that never run.
    plain = {**PRODUCTION, "PASSERELLE_BASE_URL": "http://passerelle.example.com"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **plain)
    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "security.W008" in result.stderr


def test_the_profile_settings():
    values = settings_in_fresh_interpreter(
        "{n: getattr(settings, n, None) for n in ['SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS',"
        " 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE',"
        " 'SECURE_PROXY_SSL_HEADER', 'ACCOUNT_DEFAULT_HTTP_PROTOCOL', 'SECURE_REDIRECT_EXEMPT',"
        " 'ALLAUTH_TRUSTED_PROXY_COUNT']}",
        {**PRODUCTION, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "0"},
        keep=_outer,
    )
    assert values == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "ACCOUNT_DEFAULT_HTTP_PROTOCOL": "https",
        "SECURE_REDIRECT_EXEMPT": [r"^health/", r"^metrics$"],
        "ALLAUTH_TRUSTED_PROXY_COUNT": 1,
    }


def test_the_redirect_spares_load_balancer_probes(client, settings):
    # In-process, with the profile's redirect settings: probes over plain HTTP get their
    # answer, pages go to HTTPS.
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]

    page = client.get("/accounts/login/")
    assert page.status_code == 301
    assert page["Location"] == "https://testserver/accounts/login/"
    assert client.get("/health/live/").status_code == 200
    assert client.get("/metrics").status_code != 301
