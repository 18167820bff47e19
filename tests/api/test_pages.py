"""The token pages: a person makes, sees once and revokes their tokens; managers make
integration tokens; nobody else reaches the integrations page."""

import pytest
from django.test import Client

from api.models import ApiToken

pytestmark = pytest.mark.django_db


def test_a_person_makes_a_token_sees_it_once_and_revokes_it(client, advisor):
    client.force_login(advisor)
    page = client.post(
        "/profile/api-tokens/", {"name": "Mon script", "scope": "read", "expires_in_days": "30"}
    )
    assert page.status_code == 200
    token = ApiToken.objects.get(user=advisor)
    secret = page.context["made"].secret
    assert secret.encode() in page.content
    assert "no-store" in page["Cache-Control"]
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me").status_code == 200
    listed = client.get("/profile/api-tokens/")
    assert b"Mon script" in listed.content
    assert secret.encode() not in listed.content  # shown once
    client.post(f"/profile/api-tokens/{token.pk}/revoke/")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/me").status_code == 401


def test_a_bad_token_form_says_why_and_makes_nothing(client, advisor):
    client.force_login(advisor)
    page = client.post(
        "/profile/api-tokens/", {"name": "", "scope": "root", "expires_in_days": "7"}
    )
    assert page.status_code == 400
    assert set(page.context["form"].errors) == {"name", "scope", "expires_in_days"}
    assert not ApiToken.objects.exists()


def test_another_persons_token_cannot_be_revoked(client, advisor, marketer):
    from api.services import api_token_create

    made = api_token_create(actor=marketer, name="Marie", scope="read", expires_in_days=30)
    client.force_login(advisor)
    assert client.post(f"/profile/api-tokens/{made.token.pk}/revoke/").status_code == 404
    made.token.refresh_from_db()
    assert made.token.revoked_at is None


def test_managers_make_integration_tokens_and_others_are_refused(client, manager, marketer):
    client.force_login(marketer)
    assert client.get("/dashboard/integrations/").status_code == 403
    client.force_login(manager)
    page = client.post(
        "/dashboard/integrations/",
        {"name": "HubSpot sync", "scope": "write", "expires_in_days": ""},
    )
    assert page.status_code == 200
    token = ApiToken.objects.get(kind="service")
    assert token.expires_at is None
    assert token.created_by == manager
    assert b"HubSpot sync" in client.get("/dashboard/integrations/").content
