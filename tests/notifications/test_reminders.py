"""Reminders before each team's due date, escalations after it (campaigns.services runs
them on beat; the notices are outbox rows)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from campaigns.models import Stakeholder
from campaigns.services import (
    campaign_acknowledge,
    campaign_cancel,
    campaign_override_done,
    campaign_update,
    campaigns_send_due_reminders_and_escalations,
)
from notifications.models import Channel, Kind, Notification
from notifications.services import preferences_save
from teams.models import Membership, Team
from tests.factories import (
    MembershipFactory,
    TeamFactory,
    campaign_input,
    make_manager,
    make_marketer,
)
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
DEADLINE = 48
REMIND_BEFORE = 12


def run(at: datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        return campaigns_send_due_reminders_and_escalations(now=at)


def recipients(kind: str, channel: str = Channel.EMAIL, **filters) -> set[int]:
    return set(
        Notification.objects.filter(kind=kind, channel=channel, **filters).values_list(
            "recipient_id", flat=True
        )
    )


@pytest.fixture
def setup():
    """A team where every member must acknowledge: a lead, two members; a manager; a
    campaign announced at T0 and launching well after the deadline."""
    team = TeamFactory(
        ack_deadline_hours=DEADLINE,
        reminder_hours_before=REMIND_BEFORE,
        ack_policy=Team.AckPolicy.EVERY_MEMBER,
    )
    lead = MembershipFactory(team=team, role=Membership.Role.LEAD).user
    first, second = (MembershipFactory(team=team).user for _ in range(2))
    manager = make_manager()
    marketer = make_marketer()
    with time_machine.travel(T0, tick=False):
        campaign = announce(
            campaign_for(owner=marketer, teams=[team], launch_at=T0 + timedelta(days=10))
        )
    assert Stakeholder.objects.get(campaign=campaign).due_at == T0 + timedelta(hours=DEADLINE)
    return {
        "team": team,
        "lead": lead,
        "first": first,
        "second": second,
        "manager": manager,
        "marketer": marketer,
        "campaign": campaign,
    }


def test_reminder_goes_once_to_members_who_have_not_acknowledged_and_not_before_time(setup):
    campaign = setup["campaign"]
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        campaign_acknowledge(actor=setup["first"], campaign_id=campaign.pk)

    too_early = T0 + timedelta(hours=DEADLINE - REMIND_BEFORE) - timedelta(minutes=1)
    assert run(too_early) == {"reminders": 0, "escalations": 0}
    assert not Notification.objects.filter(kind=Kind.REMINDER).exists()

    in_window = T0 + timedelta(hours=DEADLINE - REMIND_BEFORE) + timedelta(minutes=1)
    assert run(in_window) == {"reminders": 4, "escalations": 0}  # 2 people x (e-mail + in-app)
    assert recipients(Kind.REMINDER) == {setup["lead"].pk, setup["second"].pk}
    assert recipients(Kind.REMINDER, Channel.IN_APP) == {setup["lead"].pk, setup["second"].pk}
    reminder = Notification.objects.filter(kind=Kind.REMINDER).first()
    assert reminder.payload["team"] == setup["team"].name
    assert datetime.fromisoformat(reminder.payload["due_at"]) == T0 + timedelta(hours=DEADLINE)

    assert run(in_window + timedelta(hours=1)) == {"reminders": 0, "escalations": 0}
    assert run(in_window + timedelta(hours=5)) == {"reminders": 0, "escalations": 0}
    assert Notification.objects.filter(kind=Kind.REMINDER).count() == 4


def test_no_reminder_once_the_team_has_acknowledged(setup):
    campaign = setup["campaign"]
    for person in ("lead", "first", "second"):
        campaign_acknowledge(actor=setup[person], campaign_id=campaign.pk)
    assert run(T0 + timedelta(hours=DEADLINE - 1)) == {"reminders": 0, "escalations": 0}
    assert run(T0 + timedelta(hours=DEADLINE + 1)) == {"reminders": 0, "escalations": 0}


def test_escalation_at_the_due_date_goes_to_leads_and_managers_once(setup):
    due = T0 + timedelta(hours=DEADLINE)
    assert run(due - timedelta(minutes=1))["escalations"] == 0

    counts = run(due)
    assert counts["escalations"] == 4  # lead and manager, e-mail and in-app
    assert recipients(Kind.ESCALATION) == {setup["lead"].pk, setup["manager"].pk}
    assert setup["first"].pk not in recipients(Kind.ESCALATION, Channel.IN_APP)
    escalation = Notification.objects.filter(kind=Kind.ESCALATION).first()
    assert escalation.payload["team"] == setup["team"].name
    assert escalation.status in {Notification.Status.PENDING, Notification.Status.SENT}

    assert run(due + timedelta(hours=1)) == {"reminders": 0, "escalations": 0}
    assert run(due + timedelta(days=3)) == {"reminders": 0, "escalations": 0}
    assert Notification.objects.filter(kind=Kind.ESCALATION).count() == 4


def test_escalation_email_reaches_a_lead_who_switched_everything_off(setup):
    preferences_save(user=setup["lead"], enabled=set(), daily_digest=False)
    run(T0 + timedelta(hours=DEADLINE))
    assert setup["lead"].pk in recipients(Kind.ESCALATION)
    assert setup["lead"].pk not in recipients(Kind.ESCALATION, Channel.IN_APP)


@pytest.mark.parametrize("close", ["cancel", "override_done"])
def test_nothing_after_the_campaign_is_cancelled_or_done(setup, close):
    campaign = setup["campaign"]
    if close == "cancel":
        campaign_cancel(actor=setup["marketer"], campaign_id=campaign.pk, reason="Budget")
    else:
        campaign_override_done(
            actor=setup["manager"], campaign_id=campaign.pk, reason="Launched anyway"
        )
    before = Notification.objects.count()

    assert run(T0 + timedelta(hours=DEADLINE - 1)) == {"reminders": 0, "escalations": 0}
    assert run(T0 + timedelta(hours=DEADLINE + 1)) == {"reminders": 0, "escalations": 0}
    assert Notification.objects.count() == before
    assert not Notification.objects.filter(kind__in=[Kind.REMINDER, Kind.ESCALATION]).exists()


def test_a_material_change_restarts_the_clock_and_allows_a_new_reminder(setup):
    campaign = setup["campaign"]
    remind_at = T0 + timedelta(hours=DEADLINE - REMIND_BEFORE + 1)
    assert run(remind_at)["reminders"] == 6  # three people, nobody acknowledged yet
    first_reminders = set(
        Notification.objects.filter(kind=Kind.REMINDER).values_list("pk", flat=True)
    )

    changed_at = remind_at + timedelta(hours=1)
    with time_machine.travel(changed_at, tick=False):
        campaign = campaign_update(
            actor=setup["marketer"],
            campaign_id=campaign.pk,
            data=campaign_input(campaign, audience="Clients actifs et inactifs"),
        )
    assert campaign.version == 2
    new_due = changed_at + timedelta(hours=DEADLINE)
    assert Stakeholder.objects.get(campaign=campaign).due_at == new_due

    # The old due date passes without an escalation: version 2 is not due yet.
    assert run(T0 + timedelta(hours=DEADLINE + 1)) == {"reminders": 0, "escalations": 0}
    assert run(new_due - timedelta(hours=REMIND_BEFORE + 1)) == {"reminders": 0, "escalations": 0}

    assert run(new_due - timedelta(hours=REMIND_BEFORE - 1))["reminders"] == 6
    second = Notification.objects.filter(kind=Kind.REMINDER).exclude(pk__in=first_reminders)
    assert set(second.values_list("campaign_version", flat=True)) == {2}
    assert run(new_due - timedelta(hours=1))["reminders"] == 0

    assert run(new_due)["escalations"] == 4
    assert set(
        Notification.objects.filter(kind=Kind.ESCALATION).values_list("campaign_version", flat=True)
    ) == {2}


def test_each_team_is_reminded_on_its_own_schedule(setup):
    fast = TeamFactory(ack_deadline_hours=6, reminder_hours_before=2)
    fast_member = MembershipFactory(team=fast).user
    with time_machine.travel(T0, tick=False):
        campaign = announce(campaign_for(owner=setup["marketer"], teams=[fast, setup["team"]]))

    run(T0 + timedelta(hours=5))
    assert recipients(Kind.REMINDER, campaign=campaign) == {fast_member.pk}
    run(T0 + timedelta(hours=7))
    assert recipients(Kind.ESCALATION, campaign=campaign) == {setup["manager"].pk}
    run(T0 + timedelta(hours=DEADLINE))
    assert recipients(Kind.ESCALATION, campaign=campaign) == {setup["manager"].pk, setup["lead"].pk}


def test_beat_reads_nothing_more_once_a_team_was_reminded_and_escalated(
    setup, django_assert_max_num_queries
):
    due = T0 + timedelta(hours=DEADLINE)
    assert run(due - timedelta(hours=1))["reminders"] > 0
    assert run(due + timedelta(minutes=5))["escalations"] > 0
    stakeholder = Stakeholder.objects.get()
    assert stakeholder.reminded_version == stakeholder.escalated_version == 1

    # Later ticks find no candidate at all: the snoozes that ended (none), the
    # longest-reminder aggregate, the managers and an empty candidate query, however many
    # late teams have been handled.
    with django_assert_max_num_queries(4):
        assert run(due + timedelta(hours=5)) == {"reminders": 0, "escalations": 0}
