"""Pages: the e-mail's acknowledge link, the inbox and its badge, preferences, and where a
failed delivery shows up (campaign page, admin)."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from campaigns.models import Acknowledgement, Campaign, Stakeholder
from campaigns.services import campaign_cancel, campaign_update
from notifications import services
from notifications.models import Channel, DeliverySettings, Kind, Notification, Preference
from notifications.tokens import ack_token_make
from tests.factories import (
    CampaignFactory,
    UserFactory,
    campaign_input,
    make_marketer,
    team_with_members,
)
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db
Status = Notification.Status


# --- acknowledge link -----------------------------------------------------------------


@pytest.fixture
def ack():
    team, (member, colleague) = team_with_members(2)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team], title="Soldes"))
    token = ack_token_make(
        user_id=member.pk, campaign_id=campaign.pk, version=campaign.version, team_ids=[team.pk]
    )
    return {
        "campaign": campaign,
        "member": member,
        "colleague": colleague,
        "url": reverse("campaigns:acknowledge_link", args=[token]),
    }


def acknowledged(campaign: Campaign) -> bool:
    stakeholder = Stakeholder.objects.get(campaign=campaign)
    return stakeholder.acknowledged_version is not None or Acknowledgement.objects.exists()


def test_opening_the_link_only_shows_a_confirmation(client, ack):
    client.force_login(ack["member"])
    response = client.get(ack["url"])
    assert response.status_code == 200
    content = response.content.decode()
    assert '<button type="submit">Acknowledge</button>' in content
    assert 'method="post"' in content
    assert "Soldes" in content
    assert not acknowledged(ack["campaign"])


def test_posting_the_confirmation_acknowledges(client, ack):
    client.force_login(ack["member"])
    response = client.post(ack["url"], {"note": "Vu, merci"})
    assert response.status_code == 200
    assert "Acknowledged for" in response.content.decode()
    stakeholder = Stakeholder.objects.get(campaign=ack["campaign"])
    assert (stakeholder.acknowledged_version, stakeholder.acknowledged_by) == (1, ack["member"])
    assert Acknowledgement.objects.get().note == "Vu, merci"

    again = client.post(ack["url"])
    assert "This link has already been used" in again.content.decode()
    assert Acknowledgement.objects.count() == 1


def test_the_link_works_without_a_session_and_names_the_person_and_team(client, ack):
    team = Stakeholder.objects.get(campaign=ack["campaign"]).team
    for method in (client.get, client.head):
        response = method(ack["url"])
        assert response.status_code == 200
        assert response["Cache-Control"].startswith("max-age=0")
    content = client.get(ack["url"]).content.decode()
    who = ack["member"].display_name
    assert f"Acknowledge as <strong>{who}</strong> for <strong>{team.name}</strong>" in content
    assert "You are not signed in: this link only acknowledges." in content
    assert not acknowledged(ack["campaign"])

    response = client.post(ack["url"], {"note": "Vu"})

    assert response.status_code == 200
    assert "Acknowledged for" in response.content.decode()
    assert Acknowledgement.objects.get().user == ack["member"]
    assert "_auth_user_id" not in client.session  # acknowledging signs nobody in
    event = ack["campaign"].events.get(kind="acknowledged")
    assert (event.actor, event.details["via"]) == (ack["member"], "email_link")


def test_a_scanner_prefetching_the_link_changes_nothing(client, ack):
    for _ in range(3):
        client.get(ack["url"])
        client.head(ack["url"])
    assert not acknowledged(ack["campaign"])
    assert not ack["campaign"].events.filter(kind="acknowledged").exists()


def test_a_post_without_the_pages_csrf_token_acknowledges_nothing(ack):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(ack["url"]).status_code == 403
    assert not acknowledged(ack["campaign"])
    page = strict.get(ack["url"])
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert strict.post(ack["url"], {"csrfmiddlewaretoken": token}).status_code == 200
    assert acknowledged(ack["campaign"])


def test_posting_twice_acknowledges_once_and_the_used_link_says_so(client, ack):
    client.post(ack["url"])
    client.post(ack["url"])
    assert Acknowledgement.objects.count() == 1
    assert ack["campaign"].events.filter(kind="acknowledged").count() == 1

    content = client.get(ack["url"]).content.decode()

    assert "This link has already been used" in content
    assert "acknowledged on" in content
    assert ack["member"].display_name not in content.split("ack-link-teams")[1]  # no names
    assert "<form" not in content.split('class="narrow ack-link"')[1]
    login = reverse("account_login")
    assert f'href="{login}?next=%2Fcampaigns%2F{ack["campaign"].pk}%2F"' in content


def test_a_link_whose_team_a_colleague_already_acknowledged_is_used(client, ack):
    client.force_login(ack["colleague"])
    client.post(
        reverse("campaigns:acknowledge", args=[ack["campaign"].pk]),
        {"version": ack["campaign"].version},
    )
    client.logout()
    content = client.get(ack["url"]).content.decode()
    assert "This link has already been used" in content
    assert ack["colleague"].display_name not in content  # no names without a session
    client.force_login(ack["member"])
    signed_in = client.get(ack["url"]).content.decode()
    assert f"acknowledged by {ack['colleague'].display_name}" in signed_in


def test_the_link_acknowledges_only_for_the_teams_it_was_sent_for(client, ack):
    from tests.factories import MembershipFactory, StakeholderFactory, TeamFactory

    campaign, member = ack["campaign"], ack["member"]
    joined_since = TeamFactory(name="Rejointe depuis")
    MembershipFactory(team=joined_since, user=member)
    StakeholderFactory(campaign=campaign, team=joined_since)

    content = client.get(ack["url"]).content.decode()
    assert "Rejointe depuis" not in content.split("ack-link-who")[1].split("</p>")[0]
    client.post(ack["url"])

    acknowledged_teams = set(
        Acknowledgement.objects.filter(user=member).values_list(
            "stakeholder__team__name", flat=True
        )
    )
    assert "Rejointe depuis" not in acknowledged_teams
    assert len(acknowledged_teams) == 1


def test_the_email_link_is_bound_to_the_recipients_stakeholder_teams():
    from notifications.channels import build_email
    from notifications.tokens import ack_token_read
    from tests.factories import MembershipFactory, TeamFactory

    team, (member,) = team_with_members(1)
    other = TeamFactory()
    MembershipFactory(team=other, user=member)  # not a stakeholder of this campaign
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    row = Notification.objects.get(campaign=campaign, recipient=member, channel=Channel.EMAIL)
    token = build_email(row).body.split("/campaigns/ack/")[1].split("/")[0]
    assert ack_token_read(token).team_ids == frozenset({team.pk})


def test_a_link_once_used_cannot_acknowledge_again_after_a_withdrawal(client, ack):
    from campaigns.services import campaign_acknowledgement_revoke

    client.post(ack["url"], {"note": "Vu"})
    team = Stakeholder.objects.get(campaign=ack["campaign"]).team
    campaign_acknowledgement_revoke(
        actor=ack["member"], campaign_id=ack["campaign"].pk, team_id=team.pk
    )

    replay = client.post(ack["url"], {"note": "Encore"})

    assert "This link has already been used" in replay.content.decode()
    assert Acknowledgement.objects.filter(revoked_at__isnull=True).count() == 0
    assert ack["campaign"].events.filter(kind="acknowledged").count() == 1


def test_the_link_of_a_deactivated_person_acknowledges_nothing(client, ack):
    User.objects.filter(pk=ack["member"].pk).update(is_active=False)
    for response in (client.get(ack["url"]), client.post(ack["url"])):
        assert response.status_code == 400
        assert "no longer active" in response.content.decode()
    assert not acknowledged(ack["campaign"])


def test_the_link_of_someone_who_left_the_team_acknowledges_nothing(client, ack):
    ack["member"].memberships.all().delete()
    content = client.get(ack["url"]).content.decode()
    assert "You are no longer in a team this link was sent for" in content
    client.post(ack["url"])
    assert not acknowledged(ack["campaign"])


def test_the_link_opens_nothing_but_the_acknowledgement(client, ack):
    client.post(ack["url"])
    page = client.get(reverse("campaigns:detail", args=[ack["campaign"].pk]))
    assert page.status_code == 302
    assert page.url.startswith(reverse("account_login"))


def test_an_expired_link_is_refused_and_offers_to_sign_in(client, ack):
    later = timezone.now() + timedelta(days=settings.NOTIFICATIONS_ACK_LINK_MAX_AGE_DAYS, hours=1)
    with time_machine.travel(later):
        shown = client.get(ack["url"])
        posted = client.post(ack["url"])
    for response in (shown, posted):
        assert response.status_code == 400
        content = response.content.decode()
        assert "The link has expired. Sign in to acknowledge" in content
        assert "Nothing was acknowledged." in content
        login = reverse("account_login")
        assert f'href="{login}?next=%2Fcampaigns%2F{ack["campaign"].pk}%2F"' in content
    assert not acknowledged(ack["campaign"])


def test_a_link_within_its_lifetime_still_works(client, ack):
    later = timezone.now() + timedelta(days=settings.NOTIFICATIONS_ACK_LINK_MAX_AGE_DAYS - 1)
    with time_machine.travel(later):
        client.force_login(ack["member"])
        assert client.post(ack["url"]).status_code == 200
    assert acknowledged(ack["campaign"])


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token.replace(":", ";", 1),
        lambda token: token[: len(token) // 2],
        lambda token: "not-a-token",
    ],
)
def test_a_tampered_link_is_refused_and_says_so(client, ack, tamper):
    client.force_login(ack["member"])
    token = ack["url"].split("/ack/")[1].rstrip("/")
    url = reverse("campaigns:acknowledge_link", args=[tamper(token)])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 400
        content = response.content.decode()
        assert "The link is damaged or incomplete" in content
        assert "Nothing was acknowledged." in content
    assert not acknowledged(ack["campaign"])


def test_a_token_for_another_campaign_id_cannot_be_forged(client, ack):
    client.force_login(ack["member"])
    token = ack["url"].split("/ack/")[1].rstrip("/")
    other = ack_token_make(user_id=ack["member"].pk, campaign_id=ack["campaign"].pk + 1, version=1)
    forged = other.split(":")[0] + ":" + ":".join(token.split(":")[1:])
    response = client.post(reverse("campaigns:acknowledge_link", args=[forged]))
    assert response.status_code == 400
    assert not acknowledged(ack["campaign"])


def test_someone_elses_link_is_refused_and_says_so(client, ack):
    client.force_login(ack["colleague"])  # same team, but the link was sent to `member`
    for response in (client.get(ack["url"]), client.post(ack["url"])):
        assert response.status_code == 403
        content = response.content.decode()
        assert "This link was sent to someone else" in content
        assert "Nothing was acknowledged." in content
    assert not acknowledged(ack["campaign"])


def test_a_link_to_a_version_that_changed_since_does_not_acknowledge(client, ack):
    campaign = ack["campaign"]
    campaign_update(
        actor=campaign.owner,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, audience="Tous les clients"),
    )
    shown = client.get(ack["url"]).content.decode()
    assert "This campaign changed since this e-mail (now version 2). Sign in to read" in shown

    response = client.post(ack["url"])

    content = response.content.decode()
    assert "This campaign changed since (now version 2)" in content
    assert "Acknowledged for" not in content
    assert not acknowledged(campaign)


def test_a_link_to_a_cancelled_campaign_does_not_acknowledge(client, ack):
    campaign = ack["campaign"]
    campaign_cancel(actor=campaign.owner, campaign_id=campaign.pk, reason="Budget")
    shown = client.get(ack["url"]).content.decode()
    assert "Only announced campaigns can be acknowledged; this one is cancelled." in shown
    content = client.post(ack["url"]).content.decode()
    assert "Only announced campaigns can be acknowledged; this one is cancelled." in content
    assert not acknowledged(campaign)


# --- inbox, unread badge, mark read ---------------------------------------------------


@pytest.fixture
def reader():
    person = UserFactory()
    for _ in range(3):
        campaign = CampaignFactory()
        services.notifications_enqueue(
            campaign_id=campaign.pk,
            campaign_version=1,
            kind=Kind.ANNOUNCED,
            user_ids=[person.pk],
            payload={
                "title": campaign.title,
                "path": f"/campaigns/{campaign.pk}/",
                "owner_name": "Marie",
            },
        )
    return person


def in_app(user: User):
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP).order_by("pk")


def test_unread_badge_counts_unread_in_app_notifications(client, reader):
    client.force_login(reader)
    response = client.get(reverse("notifications:unread_badge"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert '<span class="badge" id="unread-count" aria-label="3 unread notifications">3</span>' in (
        response.content.decode()
    )
    assert "<html" not in response.content.decode()

    services.inbox_mark_read(user=reader)
    response = client.get(reverse("notifications:unread_badge"))
    assert response.content.decode().strip() == ""


def test_unread_badge_counts_only_my_notifications(client, reader):
    client.force_login(UserFactory())
    assert "badge" not in client.get(reverse("notifications:unread_badge")).content.decode()


def test_mark_read_with_htmx_answers_an_event_for_the_badge(client, reader):
    client.force_login(reader)
    first = in_app(reader).first()
    response = client.post(
        reverse("notifications:mark_read", args=[first.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "inbox-changed"
    first.refresh_from_db()
    assert first.read_at is not None
    assert in_app(reader).filter(read_at__isnull=True).count() == 2


def test_mark_read_without_htmx_redirects_to_the_inbox(client, reader):
    client.force_login(reader)
    first = in_app(reader).first()
    response = client.post(reverse("notifications:mark_read", args=[first.pk]))
    assert response.status_code == 302
    assert response.url == reverse("notifications:inbox")
    assert in_app(reader).filter(read_at__isnull=True).count() == 2


def test_mark_all_read_with_and_without_htmx(client, reader):
    client.force_login(reader)
    response = client.post(reverse("notifications:mark_all_read"), headers={"HX-Request": "true"})
    assert response["HX-Trigger"] == "inbox-changed"
    assert not in_app(reader).filter(read_at__isnull=True).exists()
    assert client.post(reverse("notifications:mark_all_read")).status_code == 302


def test_mark_read_is_post_only_and_cannot_touch_someone_elses(client, reader):
    other = UserFactory()
    client.force_login(other)
    first = in_app(reader).first()
    assert client.get(reverse("notifications:mark_read", args=[first.pk])).status_code == 405
    client.post(reverse("notifications:mark_read", args=[first.pk]))
    client.post(reverse("notifications:mark_all_read"))
    assert in_app(reader).filter(read_at__isnull=True).count() == 3


def test_inbox_lists_my_notifications_with_bounded_queries(
    client, reader, django_assert_max_num_queries
):
    client.force_login(reader)
    for _ in range(10):
        campaign = CampaignFactory()
        services.notifications_enqueue(
            campaign_id=campaign.pk,
            campaign_version=1,
            kind=Kind.CHANGED,
            user_ids=[reader.pk],
            payload={"title": campaign.title, "path": "/"},
        )
    with django_assert_max_num_queries(8):
        response = client.get(reverse("notifications:inbox"))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.count('class="inbox-item is-unread') == 13
    # Only in-app rows are listed, never the e-mail copies.
    assert (
        f'notification-{Notification.objects.filter(channel=Channel.EMAIL).first().pk}"'
        not in content
    )


def _many_notices(person: User, count: int) -> None:
    """`count` in-app notices for `person`, one second apart, as the outbox writes them,
    each about its own campaign (the inbox folds notices about the same campaign)."""
    owner = make_marketer()
    start = timezone.now() - timedelta(hours=1)
    for i in range(count):
        campaign = CampaignFactory(owner=owner)
        with time_machine.travel(start + timedelta(seconds=i), tick=False):
            services.notifications_enqueue(
                campaign_id=campaign.pk,
                campaign_version=1,
                kind=Kind.FEEDBACK,
                user_ids=[person.pk],
                payload={"title": f"Note {i}", "path": "/"},
                occurrence=f"note-{i}",
            )


def test_inbox_pages_older_notices_with_a_cursor_and_constant_queries(
    client, django_assert_max_num_queries
):
    person = UserFactory()
    _many_notices(person, 65)
    client.force_login(person)
    seen: list[str] = []
    url = reverse("notifications:inbox")
    for expected in (30, 30, 5):
        with django_assert_max_num_queries(8):
            response = client.get(url, headers={"HX-Request": "true"})
        html = response.content.decode()
        ids = [part.split('"')[0] for part in html.split('id="notification-')[1:]]
        assert len(ids) == expected
        seen += ids
        if expected == 5:
            assert "Older notifications" not in html
        else:
            query = html.split('class="load-more" href="')[1].split('"')[0].replace("&amp;", "&")
            url = reverse("notifications:inbox") + query
    assert len(set(seen)) == 65  # every notice once, newest first
    assert seen[0] == str(in_app(person).last().pk)


def test_a_forged_inbox_cursor_gives_the_first_page(client, reader):
    client.force_login(reader)
    response = client.get(reverse("notifications:inbox"), {"before": "forged:cursor"})
    assert response.status_code == 200
    assert response.content.decode().count('class="inbox-item') == 3


def test_the_unread_badge_stops_counting_at_99(client, django_assert_max_num_queries):
    person = UserFactory()
    _many_notices(person, 120)
    client.force_login(person)
    with django_assert_max_num_queries(3):  # session, user, the capped count
        html = client.get(reverse("notifications:unread_badge")).content.decode()
    assert ">99+</span>" in html
    assert 'aria-label="More than 99 unread notifications"' in html


def test_inbox_htmx_request_gets_only_the_items_fragment(client, reader):
    client.force_login(reader)
    response = client.get(reverse("notifications:inbox"), headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "<html" not in content
    assert content.count('class="inbox-item') == 3
    full = client.get(reverse("notifications:inbox")).content.decode()
    assert "<html" in full


# --- preferences ----------------------------------------------------------------------


def test_preferences_page_locks_escalation_email(client):
    person = UserFactory()
    client.force_login(person)
    content = client.get(reverse("notifications:preferences")).content.decode()
    assert 'name="escalation__email" id="escalation__email"' in content
    assert '<input type="hidden" name="escalation__email" value="on">' in content
    assert "always on" in content


def test_saving_preferences_switches_channels_off_except_escalation_email(client):
    person = UserFactory()
    client.force_login(person)
    response = client.post(
        reverse("notifications:preferences"),
        {"announced__email": "on", "announced__in_app": "on", "daily_digest": "on"},
    )
    assert response.status_code == 302
    stored = {
        (kind, channel): enabled
        for kind, channel, enabled in Preference.objects.filter(user=person).values_list(
            "kind", "channel", "enabled"
        )
    }
    assert stored[(Kind.ANNOUNCED, Channel.EMAIL)] is True
    assert stored[(Kind.REMINDER, Channel.EMAIL)] is False
    assert stored[(Kind.ESCALATION, Channel.EMAIL)] is True  # not sent, still on
    assert stored[(Kind.ESCALATION, Channel.IN_APP)] is False
    assert DeliverySettings.objects.get(user=person).daily_digest is True

    content = client.get(reverse("notifications:preferences")).content.decode()
    assert "checked" not in checkbox(content, "reminder__email")
    assert "checked" in checkbox(content, "announced__email")
    assert "checked" in checkbox(content, "daily_digest")


def checkbox(content: str, name: str) -> str:
    start = content.index(f'<input type="checkbox" role="switch" name="{name}"')
    return content[start : content.index(">", start)]


# --- failures are visible -------------------------------------------------------------


@pytest.fixture
def failed_campaign(smtp_server):
    """One of two e-mails refused for good by a real SMTP server."""
    team, members = team_with_members(2)
    owner = make_marketer(full_name="Marie Marketing")
    campaign = announce(campaign_for(owner=owner, teams=[team]))
    smtp_server.handler.refused_rcpt = {members[0].email: "550 5.1.1 mailbox unknown"}
    ids = Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL).values_list(
        "pk", flat=True
    )
    services.notifications_deliver(notification_ids=list(ids))
    failed = Notification.objects.get(campaign=campaign, status=Status.FAILED)
    assert failed.recipient == members[0]
    return campaign, failed


def test_the_owner_sees_failed_deliveries_on_the_campaign_page(client, failed_campaign):
    campaign, failed = failed_campaign
    client.force_login(campaign.owner)
    content = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "1 message could not be delivered." in content
    assert "Mailbox unavailable" in content
    assert failed.recipient.display_name in content
    assert "5.1.1 mailbox unknown" in content
    assert "Send it again" in content


def test_a_stakeholder_does_not_see_delivery_failures(client, failed_campaign):
    campaign, _failed = failed_campaign
    member = User.objects.filter(memberships__team__stakeholdings__campaign=campaign).first()
    client.force_login(member)
    content = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "could not be delivered" not in content


def test_failed_deliveries_are_filtered_in_the_admin(client, failed_campaign):
    _campaign, failed = failed_campaign
    admin = User.objects.create_superuser(email="admin@example.test", password="x")
    client.force_login(admin)
    changelist = reverse("admin:notifications_notification_changelist")

    failed_page = client.get(changelist, {"status__exact": "failed"})
    assert failed_page.status_code == 200
    assert list(failed_page.context["cl"].result_list) == [failed]
    sent_page = client.get(changelist, {"status__exact": "sent"})
    assert failed not in list(sent_page.context["cl"].result_list)
    assert client.get(changelist, {"q": "mailbox unknown"}).context["cl"].result_count == 1


def test_inbox_offers_acknowledge_only_while_it_is_still_owed(client):
    from campaigns import services as campaign_services
    from tests.factories import (
        MembershipFactory,
        announced_campaign,
        campaign_input,
    )

    membership = MembershipFactory()
    reader, team = membership.user, membership.team
    announced_campaign(teams=[team], title="Owed")
    done = announced_campaign(teams=[team], title="Done already")
    campaign_services.campaign_acknowledge(actor=reader, campaign_id=done.pk)
    changed = announced_campaign(teams=[team], title="Changed since")
    campaign_services.campaign_update(
        actor=changed.owner,
        campaign_id=changed.pk,
        data=campaign_input(changed, audience="Another audience"),
    )
    client.force_login(reader)

    page = client.get(reverse("notifications:inbox")).content.decode()

    assert page.count('name="version"') == 2  # "Owed" v1, and the "changed" notice v2
    # The superseded version 1 announcement is folded under the "changed" notice.
    assert "Now version 2" not in page
    assert "1 earlier notice" in page
    assert "✓ Acknowledged" in page
