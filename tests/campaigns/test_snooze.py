"""Snoozing a campaign's reminders, per person and campaign: "in 2 working hours", "the next
working day" (across a DST change), never past the team's due date; a reminder due
meanwhile is sent when the snooze ends; escalations still go out at the due date."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from campaigns import services
from campaigns.models import ReminderSnooze, Stakeholder
from core.errors import DomainError, PermissionRefused
from notifications.models import Channel, Kind, Notification
from teams.models import Membership
from tests.factories import (
    WORKING_WEEK_FR,
    MembershipFactory,
    TeamFactory,
    make_manager,
    make_marketer,
)
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")


def announced_at(moment: datetime, team, **kwargs):
    with time_machine.travel(moment, tick=False):
        return announce(
            campaign_for(
                owner=make_marketer(), teams=[team], launch_at=moment + timedelta(days=20), **kwargs
            )
        )


def snooze(person, campaign, choice, at: datetime):
    with time_machine.travel(at, tick=False):
        return services.reminders_snooze(
            actor=person, campaign_id=campaign.pk, choice=choice, now=at
        )


def reminded(campaign, person) -> int:
    return Notification.objects.filter(
        campaign=campaign, kind=Kind.REMINDER, recipient=person, channel=Channel.EMAIL
    ).count()


def run(at: datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        return services.campaigns_send_due_reminders_and_escalations(now=at)


class TestWhen:
    @pytest.fixture
    def office(self):
        team = TeamFactory(ack_deadline_hours=40, **WORKING_WEEK_FR)
        return team, MembershipFactory(team=team).user

    def test_two_working_hours_from_friday_afternoon_is_monday_morning(self, office):
        team, person = office
        friday = datetime(2026, 11, 27, 17, 0, tzinfo=PARIS)
        campaign = announced_at(friday - timedelta(hours=1), team)
        snoozed = snooze(person, campaign, services.IN_TWO_WORKING_HOURS, friday)
        assert snoozed.until == datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
        assert not snoozed.capped

    def test_the_next_working_day_keeps_9_00_across_the_change_to_summer_time(self, office):
        team, person = office
        # Summer time starts on Sunday 28 March 2027, Easter Sunday: the next working day
        # after Friday is Tuesday (Easter Monday is a French holiday), and its 9:00 is
        # 07:00 UTC, not 08:00.
        friday = datetime(2027, 3, 26, 15, 0, tzinfo=PARIS)
        campaign = announced_at(friday - timedelta(hours=1), team)
        snoozed = snooze(person, campaign, services.NEXT_WORKING_DAY, friday)
        assert snoozed.until == datetime(2027, 3, 30, 9, 0, tzinfo=PARIS)
        assert snoozed.until.astimezone(UTC).hour == 7
        # Back to winter time on Sunday 31 October 2027; Monday is All Saints' Day, so
        # Tuesday 9:00, which is 08:00 UTC.
        autumn = datetime(2027, 10, 29, 15, 0, tzinfo=PARIS)
        later = announced_at(autumn - timedelta(hours=1), team)
        assert snooze(person, later, services.NEXT_WORKING_DAY, autumn).until.astimezone(
            UTC
        ) == datetime(2027, 11, 2, 8, 0, tzinfo=UTC)

    def test_never_past_the_teams_due_date(self):
        team = TeamFactory(ack_deadline_hours=1, **WORKING_WEEK_FR)
        person = MembershipFactory(team=team).user
        tuesday = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
        campaign = announced_at(tuesday, team)
        snoozed = snooze(person, campaign, services.NEXT_WORKING_DAY, tuesday)
        assert snoozed.capped
        assert snoozed.until == Stakeholder.objects.get(campaign=campaign).due_at

    def test_only_a_member_of_a_team_that_owes_it(self, office):
        team, person = office
        now = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
        campaign = announced_at(now, team)
        with pytest.raises(PermissionRefused):
            snooze(make_marketer(), campaign, services.NEXT_WORKING_DAY, now)
        with time_machine.travel(now, tick=False):
            services.campaign_acknowledge(actor=person, campaign_id=campaign.pk)
        with pytest.raises(DomainError) as refused:
            snooze(person, campaign, services.NEXT_WORKING_DAY, now)
        assert refused.value.code == "not_pending"
        assert not ReminderSnooze.objects.exists()


class TestReminders:
    @pytest.fixture
    def world(self):
        """Round the clock: a 48-hour deadline, reminders 12 hours before."""
        team = TeamFactory(ack_deadline_hours=48, reminder_hours_before=12)
        lead = MembershipFactory(team=team, role=Membership.Role.LEAD).user
        sleeper, colleague = (MembershipFactory(team=team).user for _ in range(2))
        make_manager()
        t0 = datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
        campaign = announced_at(t0, team)
        return {"t0": t0, "campaign": campaign, "lead": lead, "s": sleeper, "c": colleague}

    def test_a_snoozed_person_gets_the_reminder_when_the_snooze_ends(self, world):
        t0, campaign = world["t0"], world["campaign"]
        with time_machine.travel(t0 + timedelta(hours=30), tick=False):
            services.reminders_snooze(
                actor=world["s"], campaign_id=campaign.pk, until=t0 + timedelta(hours=40)
            )
        run(t0 + timedelta(hours=37))  # inside the 12-hour horizon
        assert reminded(campaign, world["c"]) == 1
        assert reminded(campaign, world["s"]) == 0
        run(t0 + timedelta(hours=39))
        assert reminded(campaign, world["s"]) == 0
        run(t0 + timedelta(hours=40))
        assert reminded(campaign, world["s"]) == 1
        run(t0 + timedelta(hours=41))
        assert reminded(campaign, world["s"]) == 1  # once
        assert not ReminderSnooze.objects.exists()

    def test_nothing_is_owed_once_the_team_acknowledged(self, world):
        t0, campaign = world["t0"], world["campaign"]
        with time_machine.travel(t0 + timedelta(hours=30), tick=False):
            services.reminders_snooze(
                actor=world["s"], campaign_id=campaign.pk, until=t0 + timedelta(hours=40)
            )
        run(t0 + timedelta(hours=37))
        with time_machine.travel(t0 + timedelta(hours=38), tick=False):
            services.campaign_acknowledge(actor=world["c"], campaign_id=campaign.pk)
        run(t0 + timedelta(hours=40))
        assert reminded(campaign, world["s"]) == 0

    def test_the_escalation_goes_out_at_the_due_date_whatever_the_snooze(self, world):
        t0, campaign = world["t0"], world["campaign"]
        with time_machine.travel(t0 + timedelta(hours=30), tick=False):
            snoozed = services.reminders_snooze(
                actor=world["lead"], campaign_id=campaign.pk, until=t0 + timedelta(days=5)
            )
        assert snoozed.until == t0 + timedelta(hours=48)  # held to the due date at most
        run(t0 + timedelta(hours=48))
        escalated = Notification.objects.filter(
            campaign=campaign, kind=Kind.ESCALATION, recipient=world["lead"]
        )
        assert escalated.exists()


def test_the_page_offers_it_and_takes_it_back(client):
    team = TeamFactory()
    person = MembershipFactory(team=team).user
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    client.force_login(person)
    page = reverse("campaigns:detail", args=[campaign.pk])
    assert "Not now? Hold the reminders" in client.get(page).text
    response = client.post(
        reverse("campaigns:snooze", args=[campaign.pk]), {"choice": "2h"}, follow=True
    )
    assert "No reminder about this campaign until" in response.text
    assert "Remind me as usual" in response.text
    response = client.post(reverse("campaigns:snooze_cancel", args=[campaign.pk]), follow=True)
    assert "You will be reminded as usual." in response.text
    assert not ReminderSnooze.objects.exists()
    response = client.post(
        reverse("campaigns:snooze", args=[campaign.pk]), {"choice": "soon"}, follow=True
    )
    assert "Choose when to be reminded." in response.text
