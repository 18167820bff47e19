import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_health_needs_no_login(client):
    response = client.get(reverse("core:health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_campaign_pages_render_for_marketer(client, marketer, draft_campaign):
    client.force_login(marketer)
    assert client.get(reverse("campaigns:list")).status_code == 200
    assert client.get(reverse("campaigns:detail", args=[draft_campaign.pk])).status_code == 200
    assert client.get(reverse("campaigns:create")).status_code == 200
    assert client.get(reverse("campaigns:edit", args=[draft_campaign.pk])).status_code == 200
    assert client.get(reverse("notifications:inbox")).status_code == 200
    assert client.get(reverse("notifications:preferences")).status_code == 200
