from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api import services as api_services


class ApiClient:
    """A test client that sends a real API token, as an integration does."""

    def __init__(self, user, *, scope: str = "write") -> None:
        made = api_services.api_token_create(
            actor=user, name=f"tests {scope}", scope=scope, expires_in_days=30
        )
        self.token = made.token
        self.secret = made.secret
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {made.secret}")

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params)

    def _send(self, method: str, path: str, body=None, **headers):
        return getattr(self.client, method)(
            f"/api/v1{path}",
            data=body if body is not None else {},
            content_type="application/json",
            headers=headers,
        )

    def post(self, path: str, body=None, **headers):
        return self._send("post", path, body, **headers)

    def put(self, path: str, body=None, **headers):
        return self._send("put", path, body, **headers)

    def patch(self, path: str, body=None, **headers):
        return self._send("patch", path, body, **headers)

    def delete(self, path: str, **headers):
        return self.client.delete(f"/api/v1{path}", headers=headers)


@pytest.fixture(autouse=True)
def _rate_limits_counted_per_test(own_cache):
    """Each test counts its requests in a cache of its own."""


@pytest.fixture
def api_as():
    return ApiClient


def campaign_body(team_ids, **changes):
    body = {
        "title": "Vœux 2027",
        "channel": "email",
        "audience": "Clients actifs",
        "estimated_recipients": 40000,
        # A month ahead of whenever the tests run: announcing a launch already past needs
        # a reason, which tests of that rule ask for themselves.
        "launch_at": (timezone.now() + timedelta(days=30)).replace(microsecond=0).isoformat(),
        "summary": "Carte de vœux à tous les clients.",
        "body": "## Points clés\n\n- Aucune offre",
        "team_ids": list(team_ids),
        "kpis": [{"name": "Ouvertures", "target": "35.00", "unit": "percent"}],
    }
    body.update(changes)
    return body
