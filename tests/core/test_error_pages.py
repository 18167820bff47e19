import pytest
from django.urls import reverse

from tests.factories import UserFactory, announced_campaign

pytestmark = pytest.mark.django_db


def test_a_missing_campaign_gets_the_app_404_page(client):
    client.force_login(UserFactory())
    response = client.get("/campaigns/987654/")
    assert response.status_code == 404
    assert b"This page does not exist" in response.content
    assert b"Back to the campaigns" in response.content


def test_a_refusal_explains_itself_on_the_app_403_page(client):
    client.force_login(UserFactory())
    response = client.get(reverse("campaigns:edit", args=[announced_campaign().pk]))
    assert response.status_code == 403
    assert (
        b"Only the campaign&#x27;s owner, its co-editors and managers can edit it."
        in response.content
    )


def test_error_pages_are_in_french_for_a_french_reader(client):
    client.force_login(UserFactory(language="fr"))
    response = client.get("/campaigns/987654/")
    assert response.status_code == 404
    assert b"Cette page n'existe pas" in response.content
    assert b"Retour aux campagnes" in response.content
