"""The Django admin: every page a superuser can open answers, and campaigns change only
through the domain (the admin shows them; it never edits them behind the services)."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from campaigns.models import Campaign, Stakeholder
from demo.seed import demo_seed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    demo_seed()  # a row of nearly every kind, as real use leaves them
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_admin_page_answers_for_a_superuser(superuser_client, rf):
    request = rf.get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    problems = []
    for model, model_admin in admin.site._registry.items():
        pages = [_url(model, "changelist")]
        if model_admin.has_add_permission(request):
            pages.append(_url(model, "add"))
        instance = model._default_manager.order_by("pk").first()
        if instance is not None:
            pages.append(_url(model, "change", instance.pk))
        for page in pages:
            status = superuser_client.get(page).status_code
            if status != 200:
                problems.append(f"{page}: {status}")
    assert problems == []


def test_an_announced_campaign_cannot_be_changed_in_the_admin(superuser_client):
    campaign = Campaign.objects.filter(status=Campaign.Status.ANNOUNCED).first()
    before = Campaign.objects.filter(pk=campaign.pk).values().get()
    teams = list(campaign.stakeholders.values_list("team_id", flat=True))

    page = superuser_client.get(_url(Campaign, "change", campaign.pk)).content.decode()
    response = superuser_client.post(
        _url(Campaign, "change", campaign.pk),
        {"title": campaign.title, "body": "Autre texte", "channel": "sms", "audience": "Tous"},
    )

    assert 'name="body"' not in page  # shown, not editable
    assert "View on site" in page  # to the campaign page, where the services change it
    assert response.status_code == 403
    assert Campaign.objects.filter(pk=campaign.pk).values().get() == before
    assert list(campaign.stakeholders.values_list("team_id", flat=True)) == teams


def test_acknowledgements_and_stakeholders_are_not_added_in_the_admin(superuser_client):
    assert superuser_client.get(reverse("admin:campaigns_acknowledgement_add")).status_code == 403
    assert Stakeholder not in admin.site._registry or (
        superuser_client.get(_url(Stakeholder, "add")).status_code == 403
    )


def test_a_key_beyond_the_columns_range_is_a_form_error_not_a_server_error(superuser_client):
    """Found by the fuzzer: the group form posted a 28-digit permission id, which Django's
    many-to-many field checked one by one and then read in one query that failed."""
    response = superuser_client.post(
        "/admin/auth/group/add/",
        {"name": "Relecteurs", "permissions": "-3405550427182647113836134400", "_save": "1"},
    )
    assert response.status_code == 200
    assert "is not a valid value" in response.content.decode()
    assert not Group.objects.filter(name="Relecteurs").exists()

    permission = Permission.objects.order_by("pk").first()
    assert permission is not None
    response = superuser_client.post(
        "/admin/auth/group/add/",
        {"name": "Relecteurs", "permissions": str(permission.pk), "_save": "1"},
    )
    assert response.status_code == 302
    assert list(Group.objects.get(name="Relecteurs").permissions.all()) == [permission]
