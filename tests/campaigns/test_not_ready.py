""" "Not ready": a stakeholder team holds the campaign's closure until marketing answers
and the team acknowledges; a manager's override still closes it and records the objection."""

import json
import threading

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from campaigns import services
from campaigns.models import Campaign, CampaignEvent, Stakeholder
from core.errors import DomainError, PermissionRefused
from dashboards.selectors import (
    WEEK,
    DashboardFilters,
    Scope,
    dashboard_headline,
    period_resolve,
)
from notifications.models import Channel, DeliverySettings, Kind, Notification
from notifications.tokens import ack_token_make
from teams.models import Team
from tests.campaigns.test_done_gate import (
    TIMEOUT,
    _acknowledged_campaign,
    _holding_locks,
    _wait_until_blocked,
    _Worker,
)
from tests.factories import (
    MembershipFactory,
    TeamFactory,
    announced_campaign,
    campaign_input,
    campaign_state,
    make_manager,
)

Status = Campaign.Status
EventKind = CampaignEvent.Kind
REASON = "Le script des conseillers manque"


def _say_not_ready(advisor, campaign, team, reason=REASON, **kwargs) -> Stakeholder:
    return services.stakeholder_not_ready(
        actor=advisor, campaign_id=campaign.pk, team_id=team.pk, reason=reason, **kwargs
    )


@pytest.mark.django_db
class TestSayingNotReady:
    def test_holds_mark_as_done_with_the_teams_reason(self, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        _say_not_ready(advisor, campaign, support_team)
        before = campaign_state(campaign.pk)
        with pytest.raises(DomainError) as refused:
            services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
        assert refused.value.code == "teams_not_ready"
        assert refused.value.message == f"Conseillers clientèle is not ready: {REASON}"
        assert campaign_state(campaign.pk) == before

    def test_after_acknowledging_takes_the_acknowledgement_back(
        self, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        stakeholder = _say_not_ready(advisor, campaign, support_team)
        stakeholder.refresh_from_db()
        assert stakeholder.acknowledged_version is None
        assert stakeholder.not_ready_reason == REASON
        assert stakeholder.not_ready_by == advisor
        assert not stakeholder.acknowledgements.filter(revoked_at__isnull=True).exists()
        with pytest.raises(DomainError):
            services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)

    def test_any_member_of_an_every_member_team_holds_it(self, marketer):
        team = TeamFactory(name="Ventes", ack_policy=Team.AckPolicy.EVERY_MEMBER)
        first, second = (MembershipFactory(team=team).user for _ in range(2))
        campaign = announced_campaign(owner=marketer, teams=[team])
        services.campaign_acknowledge(actor=first, campaign_id=campaign.pk)
        _say_not_ready(second, campaign, team, reason="Pas de stock")
        services.campaign_acknowledge(actor=second, campaign_id=campaign.pk)
        # Its author acknowledging lifts it; the team is then complete.
        stakeholder = Stakeholder.objects.get(campaign=campaign)
        assert stakeholder.not_ready_at is None
        assert stakeholder.acknowledged_version == 1
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)

    def test_owner_is_told_at_once_even_when_reading_a_digest(
        self, marketer, advisor, support_team
    ):
        DeliverySettings.objects.create(user=marketer, daily_digest=True)
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        _say_not_ready(advisor, campaign, support_team)
        rows = Notification.objects.filter(kind=Kind.NOT_READY, recipient=marketer)
        by_channel = {row.channel: row.status for row in rows}
        assert by_channel == {
            Channel.EMAIL: Notification.Status.PENDING,
            Channel.IN_APP: Notification.Status.SENT,
        }
        assert rows.first().payload["reason"] == REASON
        event = campaign.events.get(kind=EventKind.NOT_READY)
        assert event.actor == advisor
        assert event.details == {"team": "Conseillers clientèle", "reason": REASON}

    def test_saying_it_again_replaces_the_reason_and_tells_the_owner_again(
        self, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        _say_not_ready(advisor, campaign, support_team)
        _say_not_ready(advisor, campaign, support_team, reason="Toujours pas de stock")
        assert (
            Stakeholder.objects.get(campaign=campaign).not_ready_reason == "Toujours pas de stock"
        )
        assert campaign.events.filter(kind=EventKind.NOT_READY).count() == 2
        owner_emails = Notification.objects.filter(
            kind=Kind.NOT_READY, recipient=marketer, channel=Channel.EMAIL
        )
        assert owner_emails.count() == 2

    @pytest.mark.parametrize("reason", ["", "   ", "\x00"])
    def test_needs_a_reason_and_changes_nothing_without(
        self, marketer, advisor, support_team, reason
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        before = campaign_state(campaign.pk)
        with pytest.raises(DomainError) as refused:
            _say_not_ready(advisor, campaign, support_team, reason=reason)
        assert "reason" in refused.value.field_errors
        assert campaign_state(campaign.pk) == before

    def test_someone_outside_the_team_cannot(self, marketer, support_team):
        outsider = MembershipFactory(team=TeamFactory(name="Autre")).user
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        with pytest.raises(PermissionRefused):
            _say_not_ready(outsider, campaign, support_team)
        assert Stakeholder.objects.get(campaign=campaign).not_ready_at is None

    def test_a_done_campaign_cannot_be_held(self, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
        with pytest.raises(DomainError) as refused:
            _say_not_ready(advisor, campaign, support_team)
        assert refused.value.code == "not_announced"


@pytest.mark.django_db
class TestTheOwnersAnswer:
    def test_reply_tells_the_team_and_the_hold_stays_until_it_acknowledges(
        self, marketer, advisor, support_team
    ):
        support_team.webhook_url = "https://hooks.example.com/services/T/B/X"
        support_team.save()
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        _say_not_ready(advisor, campaign, support_team)
        services.stakeholder_not_ready_reply(
            actor=marketer,
            campaign_id=campaign.pk,
            team_id=support_team.pk,
            reply="Script en ligne",
        )
        stakeholder = Stakeholder.objects.get(campaign=campaign)
        assert stakeholder.not_ready_reply == "Script en ligne"
        told = Notification.objects.filter(kind=Kind.NOT_READY_REPLY)
        assert {(n.recipient_id, n.team_id) for n in told} >= {
            (advisor.pk, None),
            (None, support_team.pk),
        }
        with pytest.raises(DomainError):
            services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        stakeholder.refresh_from_db()
        assert stakeholder.not_ready_at is None
        assert stakeholder.not_ready_reply == ""
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
        kinds = list(campaign.events.values_list("kind", flat=True))
        assert kinds.index(EventKind.NOT_READY) < kinds.index(EventKind.NOT_READY_REPLIED)
        assert kinds[-1] == EventKind.DONE

    def test_a_new_version_keeps_the_hold_until_the_team_acknowledges_it(
        self, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        _say_not_ready(advisor, campaign, support_team)
        services.campaign_update(
            actor=marketer,
            campaign_id=campaign.pk,
            data=campaign_input(campaign, body="Nouveau script pour les conseillers."),
        )
        assert Stakeholder.objects.get(campaign=campaign).not_ready_at is not None
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk, version=2)
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)

    def test_no_reply_without_an_objection_or_from_an_advisor(
        self, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        with pytest.raises(DomainError) as refused:
            services.stakeholder_not_ready_reply(
                actor=marketer, campaign_id=campaign.pk, team_id=support_team.pk, reply="?"
            )
        assert refused.value.code == "nothing_to_reply"
        _say_not_ready(advisor, campaign, support_team)
        with pytest.raises(PermissionRefused):
            services.stakeholder_not_ready_reply(
                actor=advisor, campaign_id=campaign.pk, team_id=support_team.pk, reply="Moi"
            )

    def test_override_records_the_open_objection(self, marketer, advisor, support_team):
        manager = make_manager()
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        _say_not_ready(advisor, campaign, support_team)
        services.campaign_override_done(
            actor=manager, campaign_id=campaign.pk, reason="Lancement maintenu"
        )
        event = campaign.events.get(kind=EventKind.DONE_OVERRIDDEN)
        assert event.details["not_ready"] == [{"team": "Conseillers clientèle", "reason": REASON}]
        assert event.details["pending_teams"] == ["Conseillers clientèle"]
        # The security log names the team, not its member's words (erasable elsewhere).
        audit = AuditEvent.objects.get(action=AuditAction.DONE_OVERRIDDEN)
        assert audit.details["not_ready_teams"] == ["Conseillers clientèle"]
        assert REASON not in json.dumps(audit.details, ensure_ascii=False)


@pytest.mark.django_db
class TestOnThePage:
    def test_member_says_not_ready_and_the_owner_sees_it_with_a_reply_form(
        self, client, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        page = reverse("campaigns:detail", args=[campaign.pk])
        client.force_login(advisor)
        assert "Not ready…" in client.get(page).text
        response = client.post(
            reverse("campaigns:not_ready", args=[campaign.pk, support_team.pk]),
            {"reason": REASON},
            follow=True,
        )
        assert "Marketing was told your team is not ready" in response.text
        client.force_login(marketer)
        html = client.get(page).text
        assert REASON in html
        assert 'class="pill pill-late">Not ready' in html
        assert reverse("campaigns:not_ready_reply", args=[campaign.pk, support_team.pk]) in html
        response = client.post(
            reverse("campaigns:mark_done", args=[campaign.pk]),
            follow=True,
        )
        assert f"Conseillers clientèle is not ready: {REASON}" in response.text
        response = client.post(
            reverse("campaigns:not_ready_reply", args=[campaign.pk, support_team.pk]),
            {"reply": "Le script est dans l'intranet"},
            follow=True,
        )
        assert "Your reply was sent to the team." in response.text
        assert "Le script est dans l&#x27;intranet" in response.text

    def test_a_blank_reason_is_refused_with_a_message(
        self, client, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(advisor)
        response = client.post(
            reverse("campaigns:not_ready", args=[campaign.pk, support_team.pk]),
            {"reason": "  "},
            follow=True,
        )
        assert "Say what the team is missing" in response.text
        assert Stakeholder.objects.get(campaign=campaign).not_ready_at is None

    def test_from_the_emails_link_without_a_session(self, client, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        link = reverse(
            "campaigns:acknowledge_link",
            args=[
                ack_token_make(
                    user_id=advisor.pk,
                    campaign_id=campaign.pk,
                    version=1,
                    team_ids=[support_team.pk],
                )
            ],
        )
        client.get(link)  # the CSRF cookie, as a browser gets it
        response = client.post(link, {"answer": "not_ready", "reason": ""})
        assert "Say what the team is missing" in response.text
        response = client.post(link, {"answer": "not_ready", "reason": "Pas de stock"})
        assert "Marketing was told Conseillers clientèle is not ready" in response.text
        event = campaign.events.get(kind=EventKind.NOT_READY)
        assert event.details["via"] == services.VIA_EMAIL_LINK
        # The same link still acknowledges, once the team is ready.
        response = client.post(link)
        assert "Acknowledged for Conseillers clientèle" in response.text
        assert Stakeholder.objects.get(campaign=campaign).not_ready_at is None

    def test_a_typed_reason_comes_back_with_the_error(
        self, client, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        link = reverse(
            "campaigns:acknowledge_link",
            args=[ack_token_make(user_id=advisor.pk, campaign_id=campaign.pk, version=1)],
        )
        response = client.post(link, {"answer": "not_ready", "reason": "Stock\x00"})
        assert "cannot be stored" in response.text
        assert "Stock" in response.text


@pytest.mark.django_db
def test_the_dashboard_counts_open_objections_and_their_age(marketer, advisor, support_team):
    campaign = announced_campaign(owner=marketer, teams=[support_team])
    other = announced_campaign(owner=marketer, teams=[support_team])
    _say_not_ready(advisor, campaign, support_team)
    _say_not_ready(advisor, other, support_team)
    services.campaign_acknowledge(actor=advisor, campaign_id=other.pk)
    now = timezone.now()
    filters = DashboardFilters(
        period=period_resolve(key=WEEK, today=now.date(), tz=timezone.get_current_timezone())
    )
    headline = dashboard_headline(scope=Scope(team_ids=None), filters=filters, now=now)
    assert headline.not_ready_now == 1
    assert headline.not_ready_oldest_at == Stakeholder.objects.get(campaign=campaign).not_ready_at


# --- the same race as withdrawals, on PostgreSQL ------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_mark_done_waits_for_a_not_ready_in_progress_and_then_refuses(
    marketer, advisor, support_team
):
    campaign = _acknowledged_campaign(marketer, advisor, support_team)
    locked, release = threading.Event(), threading.Event()
    objector = _Worker(
        _holding_locks(lambda: _say_not_ready(advisor, campaign, support_team), locked, release),
        "not-ready",
    )
    closer = _Worker(
        lambda: services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk), "mark-done"
    )
    try:
        objector.start()
        assert locked.wait(TIMEOUT), objector.error
        closer.start()
        _wait_until_blocked(closer, by=objector)
    finally:
        release.set()
        objector.join(TIMEOUT)
        closer.join(TIMEOUT)
    assert objector.error is None
    assert isinstance(closer.error, DomainError)
    assert closer.error.code == "teams_not_ready"
    campaign.refresh_from_db()
    assert campaign.status == Status.ANNOUNCED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_not_ready_waits_for_mark_done_in_progress_and_then_refuses(
    marketer, advisor, support_team
):
    campaign = _acknowledged_campaign(marketer, advisor, support_team)
    locked, release = threading.Event(), threading.Event()
    closer = _Worker(
        _holding_locks(
            lambda: services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk),
            locked,
            release,
        ),
        "mark-done",
    )
    objector = _Worker(lambda: _say_not_ready(advisor, campaign, support_team), "not-ready")
    try:
        closer.start()
        assert locked.wait(TIMEOUT), closer.error
        objector.start()
        _wait_until_blocked(objector, by=closer)
    finally:
        release.set()
        closer.join(TIMEOUT)
        objector.join(TIMEOUT)
    assert closer.error is None
    assert isinstance(objector.error, DomainError)
    assert objector.error.code == "not_announced"
    stakeholder = Stakeholder.objects.get(campaign=campaign)
    assert stakeholder.not_ready_at is None
    assert stakeholder.acknowledged_version == 1
