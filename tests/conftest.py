"""Shared fixtures, and the rule that decides when service-bound tests run.

Tests marked `postgres`, `redis` or `browser` need a real server or Chromium. Without
one they are skipped on a developer's laptop; with PASSERELLE_REQUIRE_SERVICES=1 (CI)
a missing service fails them instead, so CI can never pass by skipping.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test.utils import override_settings
from django.utils import translation

from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
    make_manager,
    make_marketer,
)
from tests.support.servers import (  # noqa: F401 - fixtures, for every test folder
    celery_app,
    celery_worker,
    private_queue,
    publish_spy,
    quiet_worker_logging,
    redis_proxy,
    smtp_server,
    use_broker,
    webhook_server,
)

REQUIRE_SERVICES = os.environ.get("PASSERELLE_REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing(item: pytest.Item) -> str | None:
    if item.get_closest_marker("postgres") and not settings.DATABASE_IS_POSTGRES:
        return "needs DATABASE_URL pointing at PostgreSQL"
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        return "needs REDIS_URL pointing at Redis"
    has_chromium = Path(CHROMIUM).exists() or shutil.which("chromium")
    if item.get_closest_marker("browser") and not has_chromium:
        return f"needs Chromium at {CHROMIUM}"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _missing(item)
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"PASSERELLE_REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def marketer():
    return make_marketer(email="marketer@example.test", full_name="Marie Marketing")


@pytest.fixture
def manager():
    return make_manager(email="manager@example.test", full_name="Manon Manager")


@pytest.fixture
def support_team():
    return TeamFactory(name="Conseillers clientèle", slug="conseillers")


@pytest.fixture
def advisor(support_team):
    return MembershipFactory(
        team=support_team, user__email="advisor@example.test", user__full_name="Alice Advisor"
    ).user


@pytest.fixture
def draft_campaign(marketer, support_team):
    campaign = CampaignFactory(owner=marketer)
    StakeholderFactory(campaign=campaign, team=support_team)
    return campaign


@pytest.fixture
def storage(settings, tmp_path) -> Path:
    """A storage of the test's own: uploaded files land in a temporary folder, never in
    data/media. Returns that folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    # PBKDF2 at its production cost takes ~0.3 s per login; what the tests check about
    # passwords does not depend on the hasher, so a fast one serves the whole run.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def unreachable_cache(settings):
    """Point the default cache at a port nothing listens on, with short timeouts: call it
    with the backend under test (the production one degrades, Django's raises)."""

    def use(backend: str = "core.cache.ResilientRedisCache") -> None:
        settings.CACHES = {
            "default": {
                "BACKEND": backend,
                "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
                "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
            }
        }

    return use


@pytest.fixture
def own_cache(settings):
    """A local-memory cache of the test's own (xdist workers share Redis), empty at the
    start and emptied after: for tests of what is kept in the cache."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "test-own-cache",
        }
    }
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


@pytest.fixture(autouse=True)
def _dashboard_figures_computed_each_time(settings):
    # Figures cached across tests would describe another test's data (and xdist workers
    # share Redis); the test of the cache turns it on with a cache of its own.
    settings.DASHBOARD_CACHE_SECONDS = 0
    # Likewise documents kept for the next reader (frozen clocks and reused ids would let
    # one test's document be served in another).
    settings.SUBSCRIPTION_CACHE_SECONDS = 0
    settings.SUBSCRIPTION_FRESH_SECONDS = 0
    # Rows are still rendered through the fragment tag (so a row that reads the reader
    # fails), just not kept; tests/core/test_fragments.py turns keeping on.
    settings.FRAGMENT_CACHE_SECONDS = 0
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise():
    # Tests read English messages; a test about French switches explicitly.
    with translation.override("en"):
        yield
