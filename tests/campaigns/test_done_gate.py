"""The acknowledgement check: a campaign is done only once every stakeholder team acknowledged the
current version, unless a manager overrides it with a reason."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Acknowledgement, Campaign, CampaignEvent, Stakeholder
from core.errors import DomainError, PermissionRefused
from teams.models import Team
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    announced_campaign,
    campaign_input,
    campaign_state,
    make_manager,
    make_marketer,
    team_with_members,
)

Status = Campaign.Status
EventKind = CampaignEvent.Kind


def _refused_done(actor, campaign: Campaign) -> DomainError:
    before = campaign_state(campaign.pk)
    with pytest.raises(DomainError) as refused:
        services.campaign_mark_done(actor=actor, campaign_id=campaign.pk)
    assert refused.value.code == "acknowledgements_pending"
    assert campaign_state(campaign.pk) == before
    return refused.value


@pytest.mark.django_db
class TestAcknowledgementCheck:
    def test_any_member_policy_one_acknowledgement_is_enough(self, marketer):
        team, (first, _second) = team_with_members(
            2, name="Ventes", ack_policy=Team.AckPolicy.ANY_MEMBER
        )
        campaign = announced_campaign(owner=marketer, teams=[team])

        error = _refused_done(marketer, campaign)
        assert error.message == "Waiting for Ventes to acknowledge version 1."

        services.campaign_acknowledge(actor=first, campaign_id=campaign.pk)
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)

        assert Campaign.objects.get(pk=campaign.pk).status == Status.DONE

    def test_every_member_policy_waits_for_each_active_member(self, marketer):
        team, (first, second) = team_with_members(
            2, name="Support N2", ack_policy=Team.AckPolicy.EVERY_MEMBER
        )
        MembershipFactory(team=team, user__is_active=False)  # left the company: not waited for
        campaign = announced_campaign(owner=marketer, teams=[team])

        services.campaign_acknowledge(actor=first, campaign_id=campaign.pk)
        assert Stakeholder.objects.get(campaign=campaign).acknowledged_version is None
        error = _refused_done(marketer, campaign)
        assert "Support N2" in error.message

        services.campaign_acknowledge(actor=second, campaign_id=campaign.pk)
        assert Stakeholder.objects.get(campaign=campaign).acknowledged_version == 1
        assert campaign.events.filter(kind=EventKind.TEAM_ACKNOWLEDGED).count() == 1
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
        assert Campaign.objects.get(pk=campaign.pk).status == Status.DONE

    def test_message_names_only_the_teams_still_pending(self, marketer):
        sales, (seller,) = team_with_members(1, name="Ventes")
        support, _ = team_with_members(1, name="Accueil")
        billing, _ = team_with_members(1, name="Facturation")
        campaign = announced_campaign(owner=marketer, teams=[sales, support, billing])

        services.campaign_acknowledge(actor=seller, campaign_id=campaign.pk)

        error = _refused_done(marketer, campaign)
        assert error.message == "Waiting for Accueil, Facturation to acknowledge version 1."

    def test_acknowledging_an_older_version_does_not_count(self, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        services.campaign_update(
            actor=marketer,
            campaign_id=campaign.pk,
            data=campaign_input(campaign, body="## Nouveau\n\nL'offre passe à 20 %."),
        )

        error = _refused_done(marketer, campaign)
        assert error.message == f"Waiting for {support_team.name} to acknowledge version 2."

        with pytest.raises(DomainError) as stale:
            services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk, version=1)
        assert stale.value.code == "stale_version"
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk, version=2)
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
        assert Campaign.objects.get(pk=campaign.pk).status == Status.DONE

    def test_withdrawn_acknowledgement_reopens_the_check(self, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        services.campaign_acknowledgement_revoke(
            actor=advisor, campaign_id=campaign.pk, team_id=support_team.pk
        )

        _refused_done(marketer, campaign)
        assert campaign.events.filter(kind=EventKind.ACK_REVOKED, actor=advisor).count() == 1

    def test_any_member_team_stays_acknowledged_while_another_ack_is_live(self, marketer):
        team, (first, second) = team_with_members(2, ack_policy=Team.AckPolicy.ANY_MEMBER)
        campaign = announced_campaign(owner=marketer, teams=[team])
        services.campaign_acknowledge(actor=first, campaign_id=campaign.pk)
        stakeholder = Stakeholder.objects.get(campaign=campaign)
        # A second member's own acknowledgement, recorded before the first one's withdrawal.
        Acknowledgement.objects.create(stakeholder=stakeholder, user=second, version=1)

        services.campaign_acknowledgement_revoke(
            actor=first, campaign_id=campaign.pk, team_id=team.pk
        )

        stakeholder.refresh_from_db()
        assert stakeholder.acknowledged_version == 1
        assert stakeholder.acknowledged_by == second
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)


@pytest.mark.django_db
class TestOverride:
    def test_manager_override_records_reason_and_pending_teams(self, marketer, manager):
        sales, (seller,) = team_with_members(1, name="Ventes")
        support, _ = team_with_members(1, name="Accueil", ack_policy=Team.AckPolicy.EVERY_MEMBER)
        billing, _ = team_with_members(1, name="Facturation")
        campaign = announced_campaign(owner=marketer, teams=[sales, support, billing])
        services.campaign_acknowledge(actor=seller, campaign_id=campaign.pk)

        services.campaign_override_done(
            actor=manager,
            campaign_id=campaign.pk,
            reason="  Launch happened; teams told in person.  ",
        )

        campaign.refresh_from_db()
        assert campaign.status == Status.DONE
        assert campaign.done_at is not None
        assert campaign.done_override_reason == "Launch happened; teams told in person."
        event = campaign.events.get(kind=EventKind.DONE_OVERRIDDEN)
        assert event.actor == manager
        assert event.version == 1
        assert event.details == {
            "reason": "Launch happened; teams told in person.",
            "pending_teams": ["Accueil", "Facturation"],
        }

    @pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
    def test_override_needs_a_reason(self, marketer, manager, support_team, reason):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        before = campaign_state(campaign.pk)

        with pytest.raises(DomainError) as refused:
            services.campaign_override_done(actor=manager, campaign_id=campaign.pk, reason=reason)

        assert not isinstance(refused.value, PermissionRefused)
        assert refused.value.field_errors == {
            "reason": ["Reason is required to override the acknowledgement check."]
        }
        assert refused.value.message == "Reason is required to override the acknowledgement check."
        assert campaign_state(campaign.pk) == before

    def test_marketer_cannot_override(self, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        before = campaign_state(campaign.pk)

        with pytest.raises(PermissionRefused) as refused:
            services.campaign_override_done(
                actor=marketer, campaign_id=campaign.pk, reason="In a hurry"
            )

        assert "Only managers" in refused.value.message
        assert campaign_state(campaign.pk) == before

    def test_inactive_manager_cannot_override(self, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        gone = make_manager(is_active=False)
        before = campaign_state(campaign.pk)

        with pytest.raises(PermissionRefused):
            services.campaign_override_done(
                actor=gone, campaign_id=campaign.pk, reason="Old habits"
            )

        assert campaign_state(campaign.pk) == before


@pytest.mark.django_db
class TestAcknowledgementCheckThroughViews:
    def test_mark_done_button_explains_who_is_pending(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(marketer)

        page = client.get(reverse("campaigns:detail", args=[campaign.pk]))
        assert f"Waiting for {support_team.name}" in page.content.decode()

        response = client.post(reverse("campaigns:mark_done", args=[campaign.pk]), follow=True)
        assert response.redirect_chain[-1][0] == reverse("campaigns:detail", args=[campaign.pk])
        assert (
            f"Waiting for {support_team.name} to acknowledge version 1."
            in response.content.decode()
        )
        assert Campaign.objects.get(pk=campaign.pk).status == Status.ANNOUNCED

    def test_override_view_refuses_a_blank_reason(self, client, marketer, manager, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(manager)

        response = client.post(
            reverse("campaigns:override_done", args=[campaign.pk]), {"reason": " "}, follow=True
        )

        page = response.content.decode()
        assert "Reason is required to override the acknowledgement check." in page
        assert Campaign.objects.get(pk=campaign.pk).status == Status.ANNOUNCED

    def test_override_view_closes_with_reason_on_the_timeline(
        self, client, marketer, manager, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(manager)

        response = client.post(
            reverse("campaigns:override_done", args=[campaign.pk]),
            {"reason": "Confirmed at the Monday meeting"},
            follow=True,
        )

        assert Campaign.objects.get(pk=campaign.pk).status == Status.DONE
        assert "Confirmed at the Monday meeting" in response.content.decode()

    def test_marketer_gets_403_on_override(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:override_done", args=[campaign.pk]), {"reason": "x"}
        )

        assert response.status_code == 403
        assert Campaign.objects.get(pk=campaign.pk).status == Status.ANNOUNCED


# --- concurrency on PostgreSQL ----------------------------------------------------------

TIMEOUT = 10.0


def _acknowledged_campaign(marketer, advisor, team) -> Campaign:
    # Built without campaign_announce: this test commits for real, and the announce's
    # on-commit publish would reach the development broker.
    campaign = CampaignFactory(owner=marketer, status=Status.ANNOUNCED, announced_at=timezone.now())
    StakeholderFactory(campaign=campaign, team=team, due_at=timezone.now())
    services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version == 1
    return campaign


def _wait_until_blocked(waiter: "_Worker", *, by: "_Worker") -> None:
    """Wait until `waiter`'s database session is blocked by a lock `by`'s session holds."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if waiter.pid is not None and by.pid is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [by.pid, waiter.pid])
                if cursor.fetchone()[0]:
                    return
        if waiter.error is not None or not waiter.is_alive():
            pytest.fail(f"{waiter.name} finished without waiting: {waiter.error!r}")
        time.sleep(0.02)
    pytest.fail(f"{waiter.name} was not blocked by {by.name} within {TIMEOUT}s")


class _Worker(threading.Thread):
    """Runs `target` on its own database connection and keeps its result or error."""

    def __init__(self, target, name: str) -> None:
        super().__init__(daemon=True, name=name)
        self._target_fn = target
        self.pid: int | None = None
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.result = self._target_fn()
        except BaseException as error:
            self.error = error
        finally:
            connection.close()


def _holding_locks(work, locked: threading.Event, release: threading.Event):
    """Do `work` inside a transaction that keeps its row locks until `release` is set."""

    def run() -> object:
        with transaction.atomic():
            result = work()
            locked.set()
            if not release.wait(TIMEOUT):
                raise TimeoutError("the test never released the locks")
        return result

    return run


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_mark_done_waits_for_a_withdrawal_in_progress_and_then_refuses(
    marketer, advisor, support_team
):
    campaign = _acknowledged_campaign(marketer, advisor, support_team)
    locked, release = threading.Event(), threading.Event()

    def revoke() -> Stakeholder:
        # The service's own lock order: campaign row first, then the stakeholder rows.
        Campaign.objects.select_for_update().get(pk=campaign.pk)
        return services.campaign_acknowledgement_revoke(
            actor=advisor, campaign_id=campaign.pk, team_id=support_team.pk
        )

    revoker = _Worker(_holding_locks(revoke, locked, release), "withdrawal")
    closer = _Worker(
        lambda: services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk), "mark-done"
    )
    try:
        revoker.start()
        assert locked.wait(TIMEOUT), revoker.error
        closer.start()
        _wait_until_blocked(closer, by=revoker)
    finally:
        release.set()
        revoker.join(TIMEOUT)
        closer.join(TIMEOUT)

    assert not revoker.is_alive()
    assert not closer.is_alive()
    assert revoker.error is None
    assert isinstance(closer.error, DomainError)
    assert closer.error.code == "acknowledgements_pending"
    campaign.refresh_from_db()
    assert campaign.status == Status.ANNOUNCED
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version is None
    assert not campaign.events.filter(kind__in=[EventKind.DONE, EventKind.DONE_OVERRIDDEN]).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_withdrawal_waits_for_mark_done_in_progress_and_then_refuses(
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
    revoker = _Worker(
        lambda: services.campaign_acknowledgement_revoke(
            actor=advisor, campaign_id=campaign.pk, team_id=support_team.pk
        ),
        "withdrawal",
    )
    try:
        closer.start()
        assert locked.wait(TIMEOUT), closer.error
        revoker.start()
        _wait_until_blocked(revoker, by=closer)
    finally:
        release.set()
        closer.join(TIMEOUT)
        revoker.join(TIMEOUT)

    assert not closer.is_alive()
    assert not revoker.is_alive()
    assert closer.error is None
    assert isinstance(revoker.error, DomainError)
    assert "Only an announced campaign" in revoker.error.message
    campaign.refresh_from_db()
    assert campaign.status == Status.DONE
    stakeholder = Stakeholder.objects.get(campaign=campaign)
    assert stakeholder.acknowledged_version == 1
    assert stakeholder.acknowledgements.filter(revoked_at__isnull=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_mark_done_only_one_wins(advisor, support_team):
    owner, co_editor = make_marketer(), make_marketer()
    campaign = _acknowledged_campaign(owner, advisor, support_team)
    campaign.editors.add(co_editor)
    marketers = [owner, co_editor]
    start = threading.Barrier(2, timeout=TIMEOUT)

    def close(actor):
        def run() -> Campaign:
            start.wait()
            return services.campaign_mark_done(actor=actor, campaign_id=campaign.pk)

        return run

    workers = [_Worker(close(m), f"mark-done-{i}") for i, m in enumerate(marketers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT)

    assert not any(w.is_alive() for w in workers)
    errors = [w.error for w in workers if w.error is not None]
    assert len(errors) == 1
    assert isinstance(errors[0], DomainError)
    assert errors[0].code == "already_done"
    assert campaign.events.filter(kind=EventKind.DONE).count() == 1
