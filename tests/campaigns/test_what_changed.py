"""Each announced version's content is kept, and a new version says what changed: on the
campaign page, in the "changed" e-mail and chat message (the changed fields, not the whole
brief), on the timeline and on the acknowledgement page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import Acknowledgement, Campaign, CampaignEvent, CampaignVersion
from notifications.channels import build_email, webhook_payload
from notifications.models import Channel, Kind, Notification
from notifications.tokens import ack_token_make
from teams.models import Team
from teams.roles import Actor
from tests.factories import CampaignFactory, announced_campaign, campaign_input, team_with_members

pytestmark = pytest.mark.django_db

BODY = (
    "## Ce que reçoivent les clients\n\n"
    "Un e-mail avec le code PRINTEMPS.\n\n"
    "## Points clés\n\n"
    "- Offre valable 15 jours\n"
    "- Livraison en 48 h\n\n"
    "## FAQ\n\n"
    "Le code ne se cumule pas avec les autres remises.\n"
)
NEW_BODY = BODY.replace("valable 15 jours", "valable 30 jours")
DETAIL_MAX_QUERIES = 16  # as tests/campaigns/test_detail_page.py: the diff's two reads, the snooze


@pytest.fixture
def team():
    team, _members = team_with_members(
        1,
        name="Conseillers",
        webhook_url="https://hooks.slack.com/services/x",
        webhook_format=Team.WebhookFormat.SLACK,
    )
    return team


@pytest.fixture
def member(team):
    return team.memberships.get().user


@pytest.fixture
def changed(marketer, team, member) -> Campaign:
    """Announced, acknowledged, then the body and the audience change: version 2."""
    campaign = announced_campaign(
        owner=marketer, teams=[team], body=BODY, audience="Clients actifs"
    )
    services.campaign_acknowledge(actor=member, campaign_id=campaign.pk)
    services.campaign_update(
        actor=marketer,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, body=NEW_BODY, audience="Clients <inactifs>"),
    )
    return Campaign.objects.get(pk=campaign.pk)


def test_announcing_keeps_the_version_as_announced(marketer):
    campaign = announced_campaign(owner=marketer, body=BODY)
    kept = CampaignVersion.objects.get(campaign=campaign)
    assert (kept.version, kept.body, kept.title, kept.launch_at, kept.announced_by) == (
        1,
        BODY,
        campaign.title,
        campaign.launch_at,
        marketer,
    )


def test_a_draft_keeps_no_version(marketer, support_team):
    campaign = CampaignFactory(owner=marketer)
    services.campaign_update(
        actor=marketer, campaign_id=campaign.pk, data=campaign_input(campaign, body="Autre")
    )
    assert not CampaignVersion.objects.filter(campaign=campaign).exists()


def test_a_new_version_is_kept_and_the_old_one_frozen(marketer, changed):
    services.campaign_update(
        actor=marketer,
        campaign_id=changed.pk,
        data=campaign_input(changed, title="Printemps (corrigé)"),
    )
    versions = {v.version: v for v in CampaignVersion.objects.filter(campaign=changed)}
    assert sorted(versions) == [1, 2]
    assert (versions[1].body, versions[1].audience) == (BODY, "Clients actifs")
    assert versions[1].title == changed.title  # the fix came after version 2
    assert (versions[2].body, versions[2].audience) == (NEW_BODY, "Clients <inactifs>")
    assert versions[2].title == "Printemps (corrigé)"  # kept current while it is current


def test_the_diff_names_each_changed_field_and_only_the_changed_passage(changed):
    found = selectors.version_changes(campaign=changed)
    assert found is not None
    assert (found.since, found.version) == (1, 2)
    audience, body = found.fields
    assert (audience["field"], audience["before"], audience["after"]) == (
        "audience",
        "Clients actifs",
        "Clients <inactifs>",
    )
    assert body["field"] == "body"
    text = "".join(piece for hunk in body["hunks"] for _op, piece in hunk)
    assert "Offre valable" in text
    assert "FAQ" not in text  # far from the change: left out


def test_the_changed_notice_carries_the_diff(changed, member):
    notice = Notification.objects.get(
        campaign=changed, kind=Kind.CHANGED, channel=Channel.EMAIL, recipient=member
    )
    assert [change["field"] for change in notice.payload["diff"]] == ["audience", "body"]
    event = changed.events.get(kind=CampaignEvent.Kind.VERSION_BUMPED)
    assert event.details["changes"] == notice.payload["diff"]


def test_the_changed_e_mail_shows_the_changes_not_the_whole_brief(changed, member):
    notice = Notification.objects.get(
        campaign=changed, kind=Kind.CHANGED, channel=Channel.EMAIL, recipient=member
    )

    email = build_email(notice)

    html = email.alternatives[0][0]
    assert "What changed" in html
    assert "<del>15</del><ins>30</ins>" in html
    assert "Clients &lt;inactifs&gt;" in html
    assert "Clients <inactifs>" not in html
    assert "FAQ" not in html  # the rest of the brief is not repeated
    assert "What changed" in email.body
    assert "Audience: Clients actifs → Clients <inactifs>" in email.body
    assert "valable [-15-]{+30+} jours" in email.body
    assert "ne se cumule pas" not in email.body
    assert "/campaigns/ack/" in email.body  # still one click to acknowledge


def test_the_announcement_e_mail_still_carries_the_whole_brief(marketer, team, member):
    campaign = announced_campaign(owner=marketer, teams=[team], body=BODY)
    notice = Notification.objects.get(campaign=campaign, channel=Channel.EMAIL, recipient=member)
    email = build_email(notice)
    assert "FAQ" in email.body
    assert "What changed" not in email.body


def test_the_changed_chat_message_lists_the_changed_fields(changed):
    notice = Notification.objects.select_related("team").get(
        campaign=changed, kind=Kind.CHANGED, channel=Channel.WEBHOOK
    )

    payload = webhook_payload(notice, webhook_format="slack")

    facts = payload["blocks"][2]["text"]["text"]
    assert "*Audience:* Clients actifs → Clients &lt;inactifs&gt;" in facts
    assert "changed, see the campaign" in facts
    assert "*Channel:*" not in facts  # unchanged fields are not repeated
    assert "Offre valable" not in str(payload)


def test_the_campaign_page_shows_what_changed(client, changed, member, marketer):
    client.force_login(marketer)
    page = client.get(reverse("campaigns:detail", args=[changed.pk])).content.decode()
    assert "What changed in version 2" in page
    assert "Since version 1." in page
    assert "<del>15</del><ins>30</ins>" in page
    assert "Clients &lt;inactifs&gt;" in page
    # The timeline's entry is readable too: before → after.
    assert "Audience: Clients actifs → Clients &lt;inactifs&gt;" in page


def test_the_page_counts_from_the_version_the_reader_acknowledged(
    client, changed, member, marketer, django_assert_max_num_queries
):
    services.campaign_update(
        actor=marketer,
        campaign_id=changed.pk,
        data=campaign_input(changed, launch_at=changed.launch_at + timedelta(days=1)),
    )
    client.force_login(member)
    with django_assert_max_num_queries(DETAIL_MAX_QUERIES):
        page = client.get(reverse("campaigns:detail", args=[changed.pk])).content.decode()
    assert "What changed in version 3" in page
    assert "Since version 1, which you acknowledged." in page
    assert "<del>15</del><ins>30</ins>" in page  # version 2's change is in it too
    fields = selectors.changes_for_reader(
        campaign=Campaign.objects.get(pk=changed.pk), viewer=Actor.of(member)
    )
    assert fields is not None
    assert [f["field"] for f in fields.fields] == ["launch_at", "audience", "body"]


def test_a_withdrawn_acknowledgement_is_not_counted_from(client, changed, member, marketer):
    services.campaign_update(
        actor=marketer,
        campaign_id=changed.pk,
        data=campaign_input(changed, launch_at=changed.launch_at + timedelta(days=1)),
    )
    Acknowledgement.objects.filter(user=member).update(revoked_at=timezone.now())
    fields = selectors.changes_for_reader(
        campaign=Campaign.objects.get(pk=changed.pk), viewer=Actor.of(member)
    )
    assert fields is not None
    assert fields.since == 2


def test_the_acknowledgement_page_shows_what_changed(client, changed, member):
    token = ack_token_make(user_id=member.pk, campaign_id=changed.pk, version=2)
    client.force_login(member)
    page = client.get(reverse("campaigns:acknowledge_link", args=[token])).content.decode()
    assert "What changed in version 2" in page
    assert "Since version 1, which you acknowledged." in page
    assert "<del>15</del><ins>30</ins>" in page


def test_a_first_version_shows_no_diff(client, marketer):
    campaign = announced_campaign(owner=marketer)
    client.force_login(marketer)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "What changed" not in page


def test_the_migration_keeps_the_current_version_of_campaigns_already_announced(marketer):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("campaigns.migrations.0014_campaign_versions")
    announced = announced_campaign(owner=marketer, body=BODY)
    draft = CampaignFactory(owner=marketer)
    CampaignVersion.objects.all().delete()  # as before versions were kept

    migration.snapshot_current_versions(apps, None)
    migration.snapshot_current_versions(apps, None)  # run twice: no duplicate

    kept = CampaignVersion.objects.get()
    assert (kept.campaign_id, kept.version, kept.body) == (announced.pk, 1, BODY)
    assert not CampaignVersion.objects.filter(campaign=draft).exists()
