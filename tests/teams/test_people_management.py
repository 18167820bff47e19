"""Teams and people in the app: who may do what (every page by role), creating and
changing teams, adding and removing members, invitations, company roles, deactivation,
and the audit entries of each."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts import invitation_delivery
from accounts.invitations import invitation_token_make
from accounts.models import Invitation, User
from audit.models import AuditAction, AuditEvent
from campaigns.models import Stakeholder
from campaigns.services import campaign_acknowledge
from teams.models import Membership, Team
from teams.roles import MANAGER, MARKETER, Actor
from tests.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    make_manager,
    make_marketer,
    team_with_members,
)
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db

TEAM_DATA = {
    "name": "Conseillers clientèle",
    "kind": "support",
    "ack_policy": "any",
    "ack_deadline_hours": "48",
    "reminder_hours_before": "12",
    "time_zone": "Europe/Paris",
    "working_days": ["1", "2", "3", "4", "5"],
    "work_starts_at": "09:00",
    "work_ends_at": "18:00",
    "holiday_country": "FR",
    "holiday_subdivision": "",
    "webhook_url": "",
    "webhook_format": "slack",
    "language": "fr",
}


@pytest.fixture
def world():
    team, (member,) = team_with_members(1, name="Ventes", slug="ventes")
    lead = MembershipFactory(team=team, role=Membership.Role.LEAD).user
    other_team = TeamFactory(name="Support", slug="support")
    other_lead = MembershipFactory(team=other_team, role=Membership.Role.LEAD).user
    return {
        "team": team,
        "member": member,
        "lead": lead,
        "other_lead": other_lead,
        "manager": make_manager(),
        "outsider": UserFactory(),
    }


def _as(client, person):
    client.logout()
    if person is not None:
        client.force_login(person)
    return client


# --- every page by role ------------------------------------------------------------------------

# (who, may manage the team "ventes", may manage people)
ROLES = [
    ("manager", True, True),
    ("lead", True, False),
    ("other_lead", False, False),
    ("member", False, False),
]


@pytest.mark.parametrize(("who", "manages_team", "manages_people"), ROLES)
def test_each_page_answers_each_role(client, world, who, manages_team, manages_people):
    c = _as(client, world[who])
    team = world["team"]
    member = world["member"]
    assert c.get(reverse("teams:directory")).status_code == 200
    assert c.get(reverse("teams:person", args=[member.pk])).status_code == 200
    detail = c.get(reverse("teams:detail", args=[team.slug]))
    assert detail.status_code == 200
    assert ("Add to the team" in detail.content.decode()) is manages_team
    assert c.get(reverse("teams:edit", args=[team.slug])).status_code == (
        200 if manages_team else 403
    )
    assert c.get(reverse("teams:create")).status_code == (200 if manages_people else 403)
    assert c.get(reverse("teams:import")).status_code == (200 if manages_people else 403)

    added = c.post(
        reverse("teams:member_add", args=[team.slug]),
        {"email": "new@example.com", "role": "member"},
    )
    assert added.status_code == (302 if manages_team else 403)
    assert User.objects.filter(email="new@example.com").exists() is manages_team

    role = c.post(reverse("teams:member_role", args=[team.slug, member.pk]), {"role": "lead"})
    assert role.status_code == (302 if manages_team else 403)
    assert Membership.objects.get(team=team, user=member).role == (
        "lead" if manages_team else "member"
    )

    c.post(reverse("teams:person_roles", args=[member.pk]), {"roles": [MARKETER]})
    assert Actor.of(User.objects.get(pk=member.pk)).is_marketer is manages_people

    c.post(reverse("teams:person_active", args=[member.pk]), {"active": "0"})
    assert User.objects.get(pk=member.pk).is_active is not manages_people


def test_anonymous_people_are_sent_to_the_sign_in(client, world):
    for url in (
        reverse("teams:directory"),
        reverse("teams:detail", args=["ventes"]),
        reverse("teams:import"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    assert (
        client.post(
            reverse("teams:member_add", args=["ventes"]), {"email": "x@example.com"}
        ).status_code
        == 302
    )
    assert not User.objects.filter(email="x@example.com").exists()


def test_the_directory_names_the_roles_and_the_teams(client, world):
    marketer = make_marketer(full_name="Mathilde Marketing")
    content = _as(client, world["member"]).get(reverse("teams:directory")).content.decode()
    assert "Mathilde Marketing" in content
    assert world["manager"].display_name in content
    assert "Ventes" in content
    assert world["lead"].display_name in content
    person = client.get(reverse("teams:person", args=[marketer.pk])).content.decode()
    assert "Marketer" in person
    own = client.get(reverse("accounts:profile")).content.decode()
    assert reverse("teams:person", args=[world["member"].pk]) in own


def test_a_search_with_a_nul_character_finds_by_the_rest(client, world):
    # PostgreSQL refuses NUL in a query's text: the directory drops it (the fuzzer's find).
    marketer = make_marketer(full_name="Mathilde Marketing")
    response = _as(client, world["member"]).get(reverse("teams:directory"), {"q": "Mathi\x00lde"})
    assert response.status_code == 200
    assert marketer.display_name in response.content.decode()


# --- teams -------------------------------------------------------------------------------------


def test_a_manager_creates_a_team_and_it_is_audited(client, world):
    response = _as(client, world["manager"]).post(reverse("teams:create"), TEAM_DATA)
    team = Team.objects.get(name="Conseillers clientèle")
    assert response.url == reverse("teams:detail", args=[team.slug])
    assert team.slug == "conseillers-clientele"
    assert (team.language, team.working_days) == ("fr", "12345")
    event = AuditEvent.objects.get(action=AuditAction.TEAM_CREATED)
    assert (event.actor, event.target_id) == (world["manager"], team.pk)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "Ventes"}, "already exists"),
        ({"work_starts_at": "18:00", "work_ends_at": "09:00"}, "must end after it starts"),
        ({"webhook_url": "http://127.0.0.1/hook"}, ""),
        ({"ack_deadline_hours": "-3"}, ""),
    ],
    ids=["no-name", "taken-name", "hours-backwards", "private-webhook", "negative-hours"],
)
def test_a_team_that_breaks_a_rule_is_not_created_and_loses_nothing(client, world, change, message):
    data = TEAM_DATA | change
    response = _as(client, world["manager"]).post(reverse("teams:create"), data)
    assert response.status_code == 200
    content = response.content.decode()
    assert "nothing was saved" in content
    assert message in content
    assert 'value="12"' in content  # what was typed is still there
    assert not Team.objects.filter(name=data["name"]).exclude(slug="ventes").exists()


def test_a_lead_renames_their_team_and_its_address_stays(client, world):
    team = world["team"]
    data = TEAM_DATA | {"name": "Ventes Île-de-France"}
    response = _as(client, world["lead"]).post(reverse("teams:edit", args=[team.slug]), data)
    assert response.url == reverse("teams:detail", args=["ventes"])
    team.refresh_from_db()
    assert (team.name, team.slug) == ("Ventes Île-de-France", "ventes")
    event = AuditEvent.objects.get(action=AuditAction.TEAM_EDITED)
    assert event.details["name"] == {"old": "Ventes", "new": "Ventes Île-de-France"}


def test_the_service_refuses_a_lead_of_another_team(world):
    from core.errors import PermissionRefused
    from teams import services

    with pytest.raises(PermissionRefused):
        services.team_update(
            actor=world["other_lead"], team_id=world["team"].pk, data={"name": "X"}
        )
    with pytest.raises(PermissionRefused):
        services.team_create(actor=world["lead"], data={"name": "Mine"})


# --- members -----------------------------------------------------------------------------------


def test_adding_someone_new_invites_them_without_any_role(
    client, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _as(client, world["lead"]).post(
            reverse("teams:member_add", args=["ventes"]),
            {
                "email": " Sophie.Martin@Example.com ",
                "full_name": "Sophie Martin",
                "role": "member",
            },
        )
    assert response.status_code == 302
    sophie = User.objects.get(email="sophie.martin@example.com")
    assert not sophie.has_usable_password()
    assert not Actor.of(sophie).is_marketer
    assert not Actor.of(sophie).is_manager
    assert Membership.objects.filter(team=world["team"], user=sophie, role="member").exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.PERSON_INVITED, AuditAction.MEMBERSHIP_ADDED} <= actions

    invitation = Invitation.objects.get(user=sophie)
    assert invitation_delivery.invitations_send(invitation_ids=[invitation.pk]) == 1
    assert invitation_delivery.invitations_send(invitation_ids=[invitation.pk]) == 0  # once
    (message,) = mail.outbox
    assert message.to == ["sophie.martin@example.com"]
    assert "Ventes" in message.body
    assert "/accounts/invitation/" in message.body
    page = client.get(reverse("teams:detail", args=["ventes"])).content.decode()
    assert "not signed in yet" in page


def test_adding_someone_twice_changes_nothing(client, world):
    _as(client, world["lead"])
    url = reverse("teams:member_add", args=["ventes"])
    client.post(url, {"email": world["member"].email, "role": "member"})
    assert Membership.objects.filter(user=world["member"]).count() == 1
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_ADDED).exists()


def test_a_bad_address_is_refused_next_to_the_field_and_kept(client, world):
    response = _as(client, world["lead"]).post(
        reverse("teams:member_add", args=["ventes"]),
        {"email": "sophie@", "full_name": "Sophie", "role": "member"},
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "Enter a valid email address." in content
    assert 'value="sophie@"' in content
    assert 'value="Sophie"' in content


def test_removing_the_last_pending_member_of_an_every_member_team_completes_it(client, world):
    team = world["team"]
    team.ack_policy = Team.AckPolicy.EVERY_MEMBER
    team.save()
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    campaign_acknowledge(actor=world["lead"], campaign_id=campaign.pk)
    stakeholder = Stakeholder.objects.get(campaign=campaign)
    assert stakeholder.acknowledged_version is None  # the member has not acknowledged

    _as(client, world["lead"]).post(
        reverse("teams:member_remove", args=[team.slug, world["member"].pk])
    )

    stakeholder.refresh_from_db()
    assert stakeholder.acknowledged_version == campaign.version
    assert campaign.events.filter(kind="team_acknowledged", details__recounted=True).exists()
    assert AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_REMOVED).count() == 1


def test_deactivating_someone_keeps_their_history_and_recounts(client, world):
    team = world["team"]
    team.ack_policy = Team.AckPolicy.EVERY_MEMBER
    team.save()
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    campaign_acknowledge(actor=world["member"], campaign_id=campaign.pk)

    _as(client, world["manager"]).post(
        reverse("teams:person_active", args=[world["lead"].pk]), {"active": "0"}
    )

    lead = User.objects.get(pk=world["lead"].pk)
    assert not lead.is_active
    assert Membership.objects.filter(user=lead).exists()  # history kept
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version == campaign.version
    assert AuditEvent.objects.filter(action=AuditAction.PERSON_DEACTIVATED).count() == 1
    assert not client.login(email=lead.email, password=DEFAULT_PASSWORD)


def test_a_deactivated_person_receives_nothing_more(client, world):
    from notifications.models import Channel, Notification

    announce(campaign_for(owner=make_marketer(), teams=[world["team"]]))
    mine = Notification.objects.filter(recipient=world["member"])
    assert mine.filter(channel=Channel.EMAIL, status=Notification.Status.PENDING).exists()
    in_app = mine.filter(channel=Channel.IN_APP).count()

    _as(client, world["manager"]).post(
        reverse("teams:person_active", args=[world["member"].pk]), {"active": "0"}
    )

    assert not mine.filter(status__in=["pending", "held"]).exists()
    assert mine.filter(channel=Channel.IN_APP).count() == in_app  # history kept
    event = AuditEvent.objects.get(action=AuditAction.PERSON_DEACTIVATED)
    assert event.details["undelivered_notices_dropped"] >= 1


def test_a_manager_cannot_lock_themselves_out(client, world):
    manager = world["manager"]
    _as(client, manager).post(reverse("teams:person_roles", args=[manager.pk]), {"roles": []})
    assert Actor.of(User.objects.get(pk=manager.pk)).is_manager
    client.post(reverse("teams:person_active", args=[manager.pk]), {"active": "0"})
    assert User.objects.get(pk=manager.pk).is_active


def test_company_roles_are_given_and_audited(client, world):
    member = world["member"]
    _as(client, world["manager"]).post(
        reverse("teams:person_roles", args=[member.pk]), {"roles": [MARKETER, MANAGER]}
    )
    fresh = User.objects.get(pk=member.pk)
    assert Actor.of(fresh).is_marketer
    assert Actor.of(fresh).is_manager
    event = AuditEvent.objects.get(action=AuditAction.ROLE_CHANGED)
    assert event.details["groups"] == {"old": [], "new": [MANAGER, MARKETER]}


# --- invitations -------------------------------------------------------------------------------


def test_an_invitation_sets_a_password_and_signs_in_once(client, world):
    person = User.objects.create_user(email="new@example.com", password=None, full_name="Nina")
    MembershipFactory(team=world["team"], user=person)
    url = reverse("accounts:invitation", args=[invitation_token_make(person)])

    page = client.get(url).content.decode()
    assert "Welcome, Nina" in page
    assert "Ventes" in page
    weak = client.post(url, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200
    assert "too short" in weak.content.decode()

    response = client.post(
        url, {"new_password1": "lantern-harbour-97", "new_password2": "lantern-harbour-97"}
    )

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == person.pk
    assert client.get(reverse("accounts:profile")).status_code == 200  # still signed in
    client.logout()
    used = client.get(url)
    assert used.status_code == 400
    assert "already used" in used.content.decode()
    assert client.login(email="new@example.com", password="lantern-harbour-97")


def test_an_expired_or_damaged_invitation_says_so(client, settings):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    person = User.objects.create_user(email="late@example.com", password=None)
    token = invitation_token_make(person)
    later = timezone.now() + timedelta(days=settings.ACCOUNT_INVITATION_MAX_AGE_DAYS, hours=1)
    with time_machine.travel(later):
        expired = client.get(reverse("accounts:invitation", args=[token]))
    assert expired.status_code == 400
    assert "has expired" in expired.content.decode()
    damaged = client.get(reverse("accounts:invitation", args=[token[:-3] + "xyz"]))
    assert damaged.status_code == 400
    assert "damaged" in damaged.content.decode()


def test_an_unsent_invitation_is_sent_by_the_sweep(world):
    from datetime import timedelta

    from django.utils import timezone

    person = User.objects.create_user(email="swept@example.com", password=None)
    invitation = Invitation.objects.create(user=person)
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    assert invitation_delivery.invitations_unsent() == [invitation.pk]
    invitation_delivery.invitations_send(invitation_ids=invitation_delivery.invitations_unsent())
    assert invitation_delivery.invitations_unsent() == []
    assert len(mail.outbox) == 1


def test_a_team_turned_to_any_member_is_done_when_one_has_acknowledged(client, world):
    team = world["team"]
    team.ack_policy = Team.AckPolicy.EVERY_MEMBER
    team.save()
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    campaign_acknowledge(actor=world["member"], campaign_id=campaign.pk)
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version is None

    from teams import services

    services.team_update(actor=world["lead"], team_id=team.pk, data={"ack_policy": "any"})

    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version == campaign.version


def test_an_invitation_no_longer_needed_is_not_sent_nor_swept_again(world):
    from datetime import timedelta

    from django.utils import timezone

    person = User.objects.create_user(email="gone@example.com", password=None, is_active=False)
    invitation = Invitation.objects.create(user=person)
    Invitation.objects.filter(pk=invitation.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    assert invitation_delivery.invitations_send(invitation_ids=[invitation.pk]) == 0
    assert invitation_delivery.invitations_unsent() == []
    assert not mail.outbox


def test_smtp_down_leaves_the_invitation_for_the_sweep_then_it_goes_out(world, monkeypatch):
    import smtplib

    from django.core.mail import EmailMultiAlternatives

    person = User.objects.create_user(email="smtp@example.com", password=None)
    invitation = Invitation.objects.create(user=person)
    real_send = EmailMultiAlternatives.send

    def down(self, fail_silently=False):  # type: ignore[no-untyped-def]
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr(EmailMultiAlternatives, "send", down)
    assert invitation_delivery.invitations_send(invitation_ids=[invitation.pk]) == 0
    invitation.refresh_from_db()
    assert invitation.sent_at is None
    assert invitation.claimed_at is None  # given back
    assert invitation.attempts == 1
    assert "connection lost" in invitation.last_error

    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    assert invitation_delivery.invitations_send(invitation_ids=[invitation.pk]) == 1
    invitation.refresh_from_db()
    assert (invitation.attempts, invitation.last_error) == (2, "")
    assert len(mail.outbox) == 1


def test_an_invitation_another_worker_is_sending_is_left_to_it_until_its_lease_ends(world):
    from datetime import timedelta

    from django.utils import timezone

    person = User.objects.create_user(email="leased@example.com", password=None)
    invitation = Invitation.objects.create(user=person, claimed_at=timezone.now())
    assert invitation_delivery.invitations_send(invitation_ids=[invitation.pk]) == 0
    assert not mail.outbox

    # That worker died: past the lease, the sweep's task sends it.
    Invitation.objects.filter(pk=invitation.pk).update(
        claimed_at=timezone.now() - invitation_delivery.LEASE - timedelta(seconds=1)
    )
    assert invitation_delivery.invitations_send(invitation_ids=[invitation.pk]) == 1
    assert len(mail.outbox) == 1
