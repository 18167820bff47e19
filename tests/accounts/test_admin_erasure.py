"""Erasure from the admin: a confirm page and an action, for superusers only; deleting a
person with history points there instead."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import User
from accounts.services import REMOVED_TEXT
from campaigns import services
from campaigns.models import Acknowledgement, Feedback
from tests.factories import MembershipFactory, UserFactory, announced_campaign, make_marketer

pytestmark = pytest.mark.django_db


@pytest.fixture
def advisor_with_history():
    membership = MembershipFactory(user__full_name="Alice Advisor")
    campaign = announced_campaign(owner=make_marketer(), teams=[membership.team])
    services.campaign_acknowledge(actor=membership.user, campaign_id=campaign.pk, note="merci")
    services.feedback_post(
        actor=membership.user, campaign_id=campaign.pk, tag="question", body="Pourquoi ?"
    )
    return membership.user


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _erase_url(person):
    return reverse("admin:accounts_user_erase", args=[person.pk])


def test_the_confirm_page_erases_with_the_text_when_asked(superuser_client, advisor_with_history):
    person = advisor_with_history
    change = reverse("admin:accounts_user_change", args=[person.pk])

    assert _erase_url(person) in superuser_client.get(change).content.decode()
    page = superuser_client.get(_erase_url(person)).content.decode()
    response = superuser_client.post(_erase_url(person), {"remove_text": "on"}, follow=True)

    assert "Alice Advisor" in page
    assert 'name="remove_text"' in page
    person.refresh_from_db()
    assert person.erased_at is not None
    assert person.full_name == f"Former member #{person.pk}"
    assert Acknowledgement.objects.get(user=person).note == REMOVED_TEXT
    assert Feedback.objects.get(author=person).body == REMOVED_TEXT
    assert "Personal data erased" in response.content.decode()


def test_without_the_box_the_text_stays(superuser_client, advisor_with_history):
    person = advisor_with_history

    superuser_client.post(_erase_url(person), {})

    person.refresh_from_db()
    assert person.erased_at is not None
    assert Acknowledgement.objects.get(user=person).note == "merci"


def test_staff_who_are_not_superusers_cannot_erase(client, advisor_with_history):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    client.force_login(staff)

    assert client.get(_erase_url(advisor_with_history)).status_code == 403
    assert client.post(_erase_url(advisor_with_history), {"remove_text": "on"}).status_code == 403
    changelist = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "erase_selected" not in changelist
    advisor_with_history.refresh_from_db()
    assert advisor_with_history.erased_at is None


def test_the_action_erases_the_selected_people(superuser_client, advisor_with_history):
    other = UserFactory(full_name="Bruno Other")

    response = superuser_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "erase_selected", "_selected_action": [advisor_with_history.pk, other.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert User.objects.filter(erased_at__isnull=False).count() == 2
    assert "2 erased, 0 already erased" in response.content.decode()


def test_deleting_a_person_with_history_points_to_erasure(superuser_client, advisor_with_history):
    delete = reverse("admin:accounts_user_delete", args=[advisor_with_history.pk])

    response = superuser_client.get(delete, follow=True)
    posted = superuser_client.post(delete, {"post": "yes"}, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "cannot be deleted" in page
    assert _erase_url(advisor_with_history) in page
    assert posted.status_code == 200
    assert User.objects.filter(pk=advisor_with_history.pk).exists()


def test_a_person_without_history_can_still_be_deleted(superuser_client):
    newcomer = UserFactory()

    superuser_client.post(
        reverse("admin:accounts_user_delete", args=[newcomer.pk]), {"post": "yes"}
    )

    assert not User.objects.filter(pk=newcomer.pk).exists()


def test_an_erased_person_s_page_says_so_and_a_second_erasure_changes_nothing(
    superuser_client, advisor_with_history
):
    person = advisor_with_history
    superuser_client.post(_erase_url(person), {})
    person.refresh_from_db()
    erased_at = person.erased_at

    page = superuser_client.get(_erase_url(person)).content.decode()
    again = superuser_client.post(_erase_url(person), {"remove_text": "on"}, follow=True)

    assert "data was erased on" in page
    assert 'name="remove_text"' not in page
    assert "already erased" in again.content.decode()
    person.refresh_from_db()
    assert person.erased_at == erased_at
    assert Acknowledgement.objects.get(user=person).note == "merci"
