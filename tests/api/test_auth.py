"""Tokens (hashed, scoped, expiring, revocable), service tokens, the browser's session with
CSRF, and the rate limit per caller."""

import uuid

import pytest
from django.test import Client

from api import selectors as api_selectors
from api import services as api_services
from api.models import ApiToken
from audit.models import AuditEvent
from core.errors import DomainError, PermissionRefused
from tests.api.conftest import campaign_body

pytestmark = pytest.mark.django_db


def test_a_token_is_stored_hashed_and_shown_once(marketer):
    made = api_services.api_token_create(
        actor=marketer, name="HubSpot", scope="write", expires_in_days=90
    )
    token = ApiToken.objects.get()
    assert made.secret.startswith(f"psl_{token.prefix}_")
    assert made.secret not in {token.key_hash, token.prefix, token.name}
    assert token.expires_at is not None
    assert AuditEvent.objects.filter(action="api_token_created").count() == 1


def test_a_presented_token_is_read_with_its_person_as_the_orm_reads_them(marketer):
    """api.selectors.token_by_prefix writes its query out: every field must come back as
    the ORM gives it (aware dates on SQLite as on PostgreSQL, the person's own row)."""
    made = api_services.api_token_create(
        actor=marketer, name="HubSpot", scope="write", expires_in_days=90
    )
    expected = ApiToken.objects.select_related("user").get()
    found = api_selectors.token_by_prefix(expected.prefix)
    assert found is not None
    fields = [f.attname for f in ApiToken._meta.concrete_fields]
    assert [getattr(found, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert found.expires_at.tzinfo is not None
    user_fields = [f.attname for f in type(marketer)._meta.concrete_fields]
    assert [getattr(found.user, f) for f in user_fields] == [
        getattr(expected.user, f) for f in user_fields
    ]
    assert api_services.api_token_authenticate(made.secret) == expected
    assert api_selectors.token_by_prefix("nosuchprefix") is None


def test_a_personal_token_needs_a_name_and_an_offered_expiry(marketer):
    with pytest.raises(DomainError) as refused:
        api_services.api_token_create(actor=marketer, name=" ", scope="admin", expires_in_days=7)
    assert set(refused.value.field_errors) == {"name", "scope", "expires_in_days"}


def test_a_token_and_its_integration_account_are_named_on_one_visible_line(manager):
    made = api_services.service_token_create(
        actor=manager, name="HubSpot\u202e sync\nBcc: x", scope="read", expires_in_days=None
    )
    assert made.token.name == "HubSpot sync Bcc: x"
    assert made.token.user.full_name == "HubSpot sync Bcc: x"


def test_last_use_is_noted(api_as, marketer):
    tool = api_as(marketer)
    assert tool.get("/me").status_code == 200
    tool.token.refresh_from_db()
    assert tool.token.last_used_at is not None


def test_only_managers_make_service_tokens_which_act_as_their_integration(
    manager, marketer, support_team
):
    with pytest.raises(PermissionRefused):
        api_services.service_token_create(
            actor=marketer, name="HubSpot sync", scope="write", expires_in_days=None
        )
    made = api_services.service_token_create(
        actor=manager, name="HubSpot sync", scope="write", expires_in_days=None
    )
    account = made.token.user
    assert account != manager
    assert not account.has_usable_password()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {made.secret}")
    created = client.post(
        "/api/v1/campaigns", campaign_body([support_team.pk]), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["owner"]["name"] == "HubSpot sync"


def test_someone_else_cannot_revoke_my_token_but_a_manager_can(marketer, manager, advisor):
    made = api_services.api_token_create(
        actor=marketer, name="Script", scope="read", expires_in_days=30
    )
    from core.errors import NotFound

    with pytest.raises(NotFound):
        api_services.api_token_revoke(actor=advisor, token_id=made.token.pk)
    api_services.api_token_revoke(actor=manager, token_id=made.token.pk)
    made.token.refresh_from_db()
    assert made.token.revoked_at is not None


def test_the_session_works_and_writes_need_the_csrf_token(marketer, support_team):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(marketer)
    assert browser.get("/api/v1/me").json()["token"] is None
    body = campaign_body([support_team.pk])
    refused = browser.post("/api/v1/campaigns", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    browser.get("/campaigns/")  # a page sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(
        "/api/v1/campaigns", body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201, accepted.content


def test_a_bad_token_is_401_even_from_a_signed_in_browser(marketer):
    browser = Client()
    browser.force_login(marketer)
    response = browser.get("/api/v1/me", headers={"Authorization": "Bearer psl_0_bad"})
    assert response.status_code == 401


def test_over_the_limit_is_429_with_retry_after_per_token(api_as, marketer, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    tool, other = api_as(marketer), api_as(marketer)
    assert [tool.get("/me").status_code for _ in range(3)] == [200, 200, 200]
    limited = tool.get("/me")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert limited["Content-Type"] == "application/problem+json"
    assert other.get("/me").status_code == 200  # another token counts on its own


@pytest.mark.redis
def test_the_limit_is_counted_in_redis_shared_by_every_web_process(api_as, marketer, settings):
    # A prefix of its own: the counts expire by themselves a minute later.
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"t-rate-{uuid.uuid4().hex}",
        }
    }
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    tool = api_as(marketer)
    assert [tool.get("/me").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_with_the_cache_down_requests_pass_uncounted(
    api_as, marketer, settings, monkeypatch, own_cache
):
    """The limit is protection, not a rule worth an outage: Redis down lets requests in."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    settings.API_RATE_LIMIT_PER_MINUTE = 1

    def down(*args, **kwargs):
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(own_cache, "add", down)
    monkeypatch.setattr(own_cache, "incr", down)
    tool = api_as(marketer)
    assert [tool.get("/me").status_code for _ in range(3)] == [200, 200, 200]
