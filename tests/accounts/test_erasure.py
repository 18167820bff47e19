"""Erasing a person: their name and e-mail go everywhere, the facts stay."""

import json

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.sessions.models import Session
from django.db.models import ProtectedError
from django.urls import reverse

from accounts.models import User
from accounts.services import REMOVED_TEXT, person_erase
from api.services import api_token_create
from audit.models import AuditEvent
from campaigns import services
from campaigns.models import (
    Acknowledgement,
    CampaignEvent,
    Feedback,
    ReminderSnooze,
    Stakeholder,
)
from chat.models import ChatIdentity, ChatPost
from core.errors import DomainError, PermissionRefused
from dashboards import selectors
from dashboards.drilldown import team_pending_acknowledgements, team_weekly_trend
from dashboards.selectors import DashboardFilters, Scope, period_resolve
from notifications.models import Dispatch, Notification, SubscriptionToken
from tests.dashboards.world import NOW, T0, build_world
from tests.factories import (
    MembershipFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
    campaign_input,
    make_manager,
    make_marketer,
)
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True, email="root@example.test")


def _figures(world):
    filters = DashboardFilters(period=period_resolve(key="4w", today=NOW.date(), tz=NOW.tzinfo))
    everything = Scope(team_ids=None)
    teams = [world.alpha, world.bravo, world.charlie, world.delta]
    return {
        "overview": selectors.dashboard_overview(scope=everything, filters=filters, now=NOW),
        "teams": selectors.dashboard_teams(scope=everything, filters=filters, now=NOW),
        "trend": [team_weekly_trend(team=team, now=NOW) for team in teams],
        "pending": [
            (page.total, page.overdue, [row.stakeholder.pk for row in page.rows])
            for page in (team_pending_acknowledgements(team=team, now=NOW) for team in teams)
        ],
        "acknowledged_by": sorted(
            Stakeholder.objects.values_list("pk", "acknowledged_by_id", "acknowledged_version")
        ),
    }


def test_erasing_advisors_who_acknowledged_keeps_every_dashboard_figure(superuser):
    with time_machine.travel(T0, tick=False) as traveller:
        world = build_world(traveller)
        acknowledgers = User.objects.filter(
            acknowledgements__isnull=False, memberships__team__in=[world.alpha, world.charlie]
        ).distinct()
        assert acknowledgers.count() == 3  # alpha's one, charlie's two (every member)
        before = _figures(world)

        for person in acknowledgers:
            assert person_erase(actor=superuser, person=person, remove_text=True).erased

        after = _figures(world)
    for key in before:
        if key == "overview":
            for part in ("headline", "teams", "overrides", "campaigns"):
                assert getattr(after[key], part) == getattr(before[key], part), part
        assert after[key] == before[key], key
    assert before["overview"].headline.announced == 4  # the figures are not all empty


@pytest.fixture
def history(superuser):
    """An owner, a co-editor and an advisor, each leaving their name in the text other
    rows copied: notices about the owner's campaign, the co-editor in the timeline, the
    advisor's note and question in the owner's notices, a lead's nudge."""
    owner = make_marketer(full_name="Oscar Owner", email="oscar@example.test")
    coeditor = make_marketer(full_name="Edith Editor", email="edith@example.test")
    team = TeamFactory(name="Front desk")
    advisor = MembershipFactory(
        team=team, user__full_name="Alice Advisor", user__email="alice@example.test"
    ).user
    colleague = MembershipFactory(team=team, user__full_name="Carl Colleague").user
    # An integration listening to everything: its delivery log copies names and texts.
    WebhookEndpointFactory()
    campaign = announced_campaign(owner=owner, teams=[team], title="Winter sale")
    services.campaign_update(
        actor=owner,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, editor_ids=[coeditor.pk]),
    )
    services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk, note="alice-note-secret")
    services.feedback_post(
        actor=advisor, campaign_id=campaign.pk, tag="question", body="alice-question-secret"
    )
    Notification.objects.filter(recipient=advisor).update(
        last_error="550 <alice@example.test>: mailbox unavailable"
    )
    SubscriptionToken.objects.create(user=advisor, token="alice-token")
    return owner, coeditor, advisor, colleague, campaign


def _everything_written(client, campaign, colleague):
    """The text of every row that copies names, and of the pages that show them."""
    manager = make_manager()
    client.force_login(manager)
    pages = [
        client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode(),
        client.get(reverse("admin:index")).content.decode(),
    ]
    client.force_login(colleague)
    pages.append(client.get(reverse("feed:this_week")).content.decode())
    pages.append(client.get(reverse("feed:week", args=["2026-W01"])).content.decode())
    rows = [
        json.dumps(list(Dispatch.objects.values_list("payload", flat=True)), ensure_ascii=False),
        json.dumps(
            list(CampaignEvent.objects.values_list("details", flat=True)), ensure_ascii=False
        ),
        json.dumps(list(Notification.objects.values_list("last_error", flat=True))),
        json.dumps(list(EmailAddress.objects.values_list("email", flat=True))),
        json.dumps(
            list(WebhookDelivery.objects.values_list("payload", flat=True)), ensure_ascii=False
        ),
    ]
    return "\n".join(pages + rows)


def test_after_erasure_their_names_and_emails_appear_nowhere(client, history, superuser):
    owner, coeditor, advisor, colleague, campaign = history
    names = ["Oscar Owner", "oscar@example.test", "Edith Editor", "edith@example.test"]
    names += ["Alice Advisor", "alice@example.test"]
    before = _everything_written(client, campaign, colleague)
    for name in names:
        assert name in before, name  # the scan looks where the names really were

    for person in (owner, coeditor, advisor):
        person_erase(actor=superuser, person=person, remove_text=False)

    after = _everything_written(client, campaign, colleague)
    for name in names:
        assert name not in after, name
    assert f"Former member #{owner.pk}" in after
    assert f"Former member #{coeditor.pk}" in after  # the co-editor in the timeline
    assert User.objects.get(pk=colleague.pk).full_name == "Carl Colleague"
    # Without remove_text the words stay, under the pseudonym.
    assert "alice-note-secret" in after
    assert Feedback.objects.get(author=advisor).body == "alice-question-secret"


def test_the_person_is_locked_out_and_their_tokens_and_sessions_are_gone(
    client, history, superuser
):
    _, _, advisor, _, _ = history
    client.force_login(advisor)
    assert client.get(reverse("accounts:profile")).status_code == 200
    assert Session.objects.count() == 1

    report = person_erase(actor=superuser, person=advisor, remove_text=False)

    advisor.refresh_from_db()
    assert report.sessions_ended == 1
    assert Session.objects.count() == 0
    assert client.get(reverse("accounts:profile")).status_code == 302
    assert advisor.full_name == f"Former member #{advisor.pk}"
    assert advisor.email == f"erased-{advisor.pk}@erased.invalid"
    assert not advisor.is_active
    assert not advisor.has_usable_password()
    assert advisor.erased_at is not None
    assert list(EmailAddress.objects.filter(user=advisor).values_list("email", flat=True)) == [
        advisor.email
    ]
    assert not SubscriptionToken.objects.filter(user=advisor).exists()
    # The acknowledgement stands, under the pseudonym.
    assert Acknowledgement.objects.filter(user=advisor, revoked_at__isnull=True).count() == 1


def test_remove_text_blanks_their_notes_and_feedback_wherever_they_were_copied(history, superuser):
    _owner, _, advisor, _, _ = history

    report = person_erase(actor=superuser, person=advisor, remove_text=True)

    assert report.notes_removed == 1
    assert report.feedback_removed == 1
    assert Acknowledgement.objects.get(user=advisor).note == REMOVED_TEXT
    assert Feedback.objects.get(author=advisor).body == REMOVED_TEXT
    text = json.dumps(
        [
            list(Dispatch.objects.values_list("payload", flat=True)),
            list(CampaignEvent.objects.values_list("details", flat=True)),
            list(WebhookDelivery.objects.values_list("payload", flat=True)),
        ]
    )
    assert report.webhook_messages_rewritten >= 2  # the acknowledgement, the question
    assert "alice-note-secret" not in text
    assert "alice-question-secret" not in text
    assert REMOVED_TEXT in text


def test_erasing_twice_changes_nothing_the_second_time(history, superuser):
    _, _, advisor, _, _ = history
    person_erase(actor=superuser, person=advisor, remove_text=False)
    snapshot = (
        User.objects.filter(pk=advisor.pk).values().get(),
        list(Dispatch.objects.order_by("pk").values_list("payload", flat=True)),
        list(Feedback.objects.values_list("body", flat=True)),
    )

    again = person_erase(actor=superuser, person=advisor, remove_text=True)

    assert again.erased is False
    assert snapshot == (
        User.objects.filter(pk=advisor.pk).values().get(),
        list(Dispatch.objects.order_by("pk").values_list("payload", flat=True)),
        list(Feedback.objects.values_list("body", flat=True)),
    )


def test_only_a_superuser_erases_and_never_themselves(history, superuser):
    owner, _, advisor, _, _ = history
    staff = UserFactory(is_staff=True)

    with pytest.raises(PermissionRefused):
        person_erase(actor=staff, person=advisor, remove_text=False)
    with pytest.raises(PermissionRefused):
        person_erase(actor=owner, person=advisor, remove_text=False)
    with pytest.raises(DomainError):
        person_erase(actor=superuser, person=superuser, remove_text=False)
    advisor.refresh_from_db()
    assert advisor.erased_at is None
    assert advisor.full_name == "Alice Advisor"


def test_deleting_someone_who_acknowledged_is_refused_by_the_database(history):
    _, _, advisor, _, _ = history

    with pytest.raises(ProtectedError):
        User.objects.filter(pk=advisor.pk).delete()
    assert Acknowledgement.objects.filter(user_id=advisor.pk).exists()


def test_a_short_name_is_replaced_as_a_word_not_inside_other_words(superuser):
    owner = make_marketer(full_name="Ann", email="ann@example.test")
    announced_campaign(owner=owner, title="Announcement for Ann", body="Ann says: Annual sale")

    person_erase(actor=superuser, person=owner, remove_text=False)

    payload = Dispatch.objects.get(campaign__owner=owner).payload
    pseudonym = f"Former member #{owner.pk}"
    assert payload["title"] == f"Announcement for {pseudonym}"
    assert payload["body"] == f"{pseudonym} says: Annual sale"
    assert payload["owner_name"] == pseudonym
    assert payload["owner_email"] == f"erased-{owner.pk}@erased.invalid"


def test_remove_text_takes_their_not_ready_reason_out_of_every_copy(history, superuser):
    """The objection's words sit on the stakeholder row, the timeline (their event, the
    owner's reply quoting it, a manager's override listing it), the owner's notices and
    webhook messages: all blanked; the owner's own reply stays (it is the owner's)."""
    owner, _, _, colleague, campaign = history
    team = colleague.memberships.get().team
    services.stakeholder_not_ready(
        actor=colleague, campaign_id=campaign.pk, team_id=team.pk, reason="carl-objection-sss"
    )
    services.stakeholder_not_ready_reply(
        actor=owner, campaign_id=campaign.pk, team_id=team.pk, reply="owner-reply-ttt"
    )
    services.campaign_override_done(
        actor=make_manager(), campaign_id=campaign.pk, reason="Launch maintained"
    )

    def written() -> str:
        return json.dumps(
            [
                list(Stakeholder.objects.values_list("not_ready_reason", "not_ready_reply")),
                list(CampaignEvent.objects.values_list("details", flat=True)),
                list(Dispatch.objects.values_list("payload", flat=True)),
                list(WebhookDelivery.objects.values_list("payload", flat=True)),
                list(AuditEvent.objects.values_list("details", flat=True)),
            ],
            ensure_ascii=False,
        )

    assert written().count("carl-objection-sss") >= 5  # the scan looks where it was
    report = person_erase(actor=superuser, person=colleague, remove_text=True)

    assert report.not_ready_texts_removed == 1
    after = written()
    assert "carl-objection-sss" not in after
    assert "owner-reply-ttt" in after
    assert "Launch maintained" in after


def test_without_remove_text_their_not_ready_reason_stays_under_the_pseudonym(history, superuser):
    _, _, _, colleague, campaign = history
    team = colleague.memberships.get().team
    services.stakeholder_not_ready(
        actor=colleague, campaign_id=campaign.pk, team_id=team.pk, reason="carl-objection-sss"
    )

    person_erase(actor=superuser, person=colleague, remove_text=False)

    assert Stakeholder.objects.get(team=team).not_ready_reason == "carl-objection-sss"


def test_what_tied_the_account_to_other_systems_goes(history, superuser):
    _, _, advisor, _, campaign = history
    ChatIdentity.objects.create(platform="slack", external_user_id="U0ALICE", user=advisor)
    Authenticator.objects.create(user=advisor, type=Authenticator.Type.TOTP, data={})
    ReminderSnooze.objects.create(user=advisor, campaign=campaign, until=campaign.launch_at)
    token = api_token_create(actor=advisor, name="Tableur", scope="read", expires_in_days=30)

    person_erase(actor=superuser, person=advisor, remove_text=False)

    assert not ChatIdentity.objects.filter(user=advisor).exists()
    assert not Authenticator.objects.filter(user=advisor).exists()
    assert not ReminderSnooze.objects.filter(user=advisor).exists()
    token.token.refresh_from_db()
    assert token.token.revoked_at is not None


def test_team_chat_posts_naming_them_are_redrawn(history, superuser):
    """Slack posts show who acknowledged ("✓ Acknowledged by …"): after the erasure they
    are marked for an update, drawn from the rewritten rows."""
    _, _, advisor, _, campaign = history
    team = advisor.memberships.get().team
    post = ChatPost.objects.create(
        platform="slack",
        campaign=campaign,
        team=team,
        version=campaign.version,
        channel_id="C1",
        message_ts="1.2",
    )
    other = ChatPost.objects.create(
        platform="slack",
        campaign=announced_campaign(teams=[team]),
        team=team,
        version=1,
        channel_id="C1",
        message_ts="3.4",
    )

    person_erase(actor=superuser, person=advisor, remove_text=False)

    post.refresh_from_db()
    other.refresh_from_db()
    assert post.stale_since is not None
    assert other.stale_since is None  # a campaign that does not name them is left alone
