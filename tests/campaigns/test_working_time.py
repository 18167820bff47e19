"""Due dates, reminders and escalations in each team's working time (a team's working
days and hours, in its time zone, without French public holidays)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.models import Stakeholder
from campaigns.services import campaigns_send_due_reminders_and_escalations
from notifications.models import Kind, Notification
from teams.deadlines import due_in_words
from teams.models import Membership, Team
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
FRIDAY_17 = datetime(2026, 12, 4, 17, 0, tzinfo=PARIS)
SATURDAY_10 = datetime(2026, 12, 5, 10, 0, tzinfo=PARIS)
MONDAY_12 = datetime(2026, 12, 7, 12, 0, tzinfo=PARIS)


def run(at: datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        return campaigns_send_due_reminders_and_escalations(now=at)


def sent(kind: str) -> int:
    return Notification.objects.filter(kind=kind).count()


def announced_team(*, at: datetime, deadline: int, remind_before: int, **team_fields) -> Team:
    """A French office team (lead and member), a manager, and a campaign announced at `at`
    that launches long after the due date."""
    team = TeamFactory(
        ack_deadline_hours=deadline,
        reminder_hours_before=remind_before,
        **(WORKING_WEEK_FR | team_fields),
    )
    MembershipFactory(team=team, role=Membership.Role.LEAD)
    MembershipFactory(team=team)
    make_manager()
    with time_machine.travel(at, tick=False):
        announce(
            campaign_for(owner=make_marketer(), teams=[team], launch_at=at + timedelta(days=30))
        )
    return team


def due_of(team: Team) -> datetime:
    due = Stakeholder.objects.get(team=team).due_at
    assert due is not None
    return due


def test_friday_evening_announcement_is_due_monday_and_not_escalated_on_saturday():
    team = announced_team(at=FRIDAY_17, deadline=4, remind_before=0)
    # One hour on Friday (17:00-18:00), three on Monday (09:00-12:00).
    assert due_of(team) == MONDAY_12

    assert run(SATURDAY_10) == {"reminders": 0, "escalations": 0}
    assert run(MONDAY_12 - timedelta(minutes=1)) == {"reminders": 0, "escalations": 0}
    assert sent(Kind.ESCALATION) == 0

    assert run(MONDAY_12)["escalations"] == 4  # lead and manager, e-mail and in-app
    assert run(MONDAY_12 + timedelta(hours=1))["escalations"] == 0  # once


def test_a_deadline_at_closing_time_escalates_next_working_morning():
    # Announced Friday 09:00 with nine working hours: due Friday 18:00, the closing time.
    team = announced_team(at=FRIDAY_17.replace(hour=9), deadline=9, remind_before=0)
    due = due_of(team)
    assert due == FRIDAY_17.replace(hour=18)

    # Past the due date, but the office is closed: nobody is escalated to at night or
    # during the weekend.
    for evening_or_weekend in (
        due + timedelta(minutes=30),
        SATURDAY_10,
        SATURDAY_10 + timedelta(days=1),
        MONDAY_12.replace(hour=8, minute=59),
    ):
        assert run(evening_or_weekend) == {"reminders": 0, "escalations": 0}
    assert sent(Kind.ESCALATION) == 0

    assert run(MONDAY_12.replace(hour=9))["escalations"] == 4


def test_the_reminder_lead_time_counts_working_hours():
    # Friday 16:00, four working hours: due Monday 11:00. Three working hours before that
    # is Friday 17:00 (one on Friday, two on Monday), not Monday 08:00 on the clock.
    team = announced_team(at=FRIDAY_17.replace(hour=16), deadline=4, remind_before=3)
    assert due_of(team) == MONDAY_12.replace(hour=11)

    assert run(FRIDAY_17 - timedelta(minutes=1)) == {"reminders": 0, "escalations": 0}
    assert run(FRIDAY_17 + timedelta(minutes=5))["reminders"] == 4  # lead and member, x2
    assert run(MONDAY_12.replace(hour=8))["reminders"] == 0  # once


def test_holidays_and_the_team_time_zone_move_the_due_date():
    # Thursday 24 December 2026, 17:00 in Paris: Christmas is a Friday, so due Monday 28.
    christmas_eve = datetime(2026, 12, 24, 17, tzinfo=PARIS)
    paris_team = announced_team(at=christmas_eve, deadline=4, remind_before=0)
    assert due_of(paris_team) == datetime(2026, 12, 28, 12, tzinfo=PARIS)

    # A team in Montreal works 09:00-18:00 there: 17:00 in Paris is 11:00 in Montreal, so
    # the four hours fit in its Thursday afternoon.
    montreal = ZoneInfo("America/Montreal")
    quebec_team = announced_team(
        at=christmas_eve, deadline=4, remind_before=0, time_zone="America/Montreal"
    )
    assert due_of(quebec_team) == datetime(2026, 12, 24, 15, tzinfo=montreal)


def test_sweep_sends_to_a_team_at_work_and_waits_for_one_at_rest():
    # Both are overdue at Monday 08:30 UTC: 09:30 in Paris, 03:30 in Montreal.
    paris_team = announced_team(at=FRIDAY_17, deadline=1, remind_before=0)
    night_team = announced_team(
        at=FRIDAY_17, deadline=1, remind_before=0, time_zone="America/Montreal"
    )
    monday_morning_paris = MONDAY_12.replace(hour=9, minute=30)
    assert due_of(paris_team) < monday_morning_paris
    assert due_of(night_team) < monday_morning_paris

    run(monday_morning_paris)
    escalated = set(
        Stakeholder.objects.filter(escalated_version__isnull=False).values_list(
            "team_id", flat=True
        )
    )
    assert escalated == {paris_team.pk}


def test_team_calendar_is_validated():
    for fields, bad_field in [
        ({"time_zone": "Europe/Parisss"}, "time_zone"),
        ({"working_days": ""}, "working_days"),
        ({"working_days": "1289"}, "working_days"),
        ({"holiday_country": "XX"}, "holiday_country"),
        ({"work_starts_at": time(18), "work_ends_at": time(9)}, "work_ends_at"),
        ({"holiday_subdivision": "99"}, "holiday_subdivision"),
        ({"holiday_country": "", "holiday_subdivision": "57"}, "holiday_subdivision"),
    ]:
        team = TeamFactory.build(**(WORKING_WEEK_FR | fields))
        with pytest.raises(ValidationError) as refused:
            team.full_clean(exclude=["slug"])
        assert bad_field in refused.value.message_dict, fields

    TeamFactory.build(**WORKING_WEEK_FR, holiday_subdivision="57").full_clean()
    # 00:00 as the end means midnight: a team at work round the clock.
    TeamFactory.build(work_starts_at=time(0), work_ends_at=time(0)).full_clean()


# --- the due date in words ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "due", "english", "french"),
    [
        (
            SATURDAY_10,
            MONDAY_12,
            "Due Monday 12:00, 3 working hours left",
            "À rendre lundi à 12:00, 3 heures ouvrées restantes",
        ),
        (
            FRIDAY_17,
            MONDAY_12,
            "Due Monday 12:00, 4 working hours left",
            "À rendre lundi à 12:00, 4 heures ouvrées restantes",
        ),
        (
            MONDAY_12.replace(hour=11, minute=15),
            MONDAY_12,
            "Due today 12:00, 45 working minutes left",
            "À rendre aujourd’hui à 12:00, 45 minutes ouvrées restantes",
        ),
        (
            FRIDAY_17 - timedelta(hours=4),
            FRIDAY_17 + timedelta(hours=1),
            "Due today 18:00, 5 working hours left",
            "À rendre aujourd’hui à 18:00, 5 heures ouvrées restantes",
        ),
        (
            MONDAY_12.replace(hour=11),
            FRIDAY_17,
            "Was due Friday 17:00, 3 working hours late",
            "Échéance vendredi à 17:00, 3 heures ouvrées de retard",
        ),
        (
            # Brought forward to a Saturday launch: no working time is left before it.
            FRIDAY_17 + timedelta(hours=2),
            SATURDAY_10,
            "Due tomorrow 10:00, no working hours left",
            "À rendre demain à 10:00, plus aucune heure ouvrée",
        ),
        (
            FRIDAY_17,
            # A month with Christmas and New Year: 1 + 45 + 45 + 36 + 36 + 3 hours.
            datetime(2027, 1, 4, 12, tzinfo=PARIS),
            "Due 4 January 2027 12:00, 166 working hours left",
            "À rendre 4 janvier 2027 à 12:00, 166 heures ouvrées restantes",
        ),
    ],
)
def test_due_date_in_words(now, due, english, french):
    team = TeamFactory.build(**WORKING_WEEK_FR)
    with timezone.override(PARIS):
        with translation.override("en"):
            assert due_in_words(team=team, due_at=due, now=now) == english
        with translation.override("fr"):
            assert due_in_words(team=team, due_at=due, now=now) == french


def test_campaign_page_shows_the_due_date_in_working_time(client, django_assert_max_num_queries):
    team = announced_team(at=FRIDAY_17, deadline=4, remind_before=0)
    advisor = Membership.objects.filter(team=team, role=Membership.Role.MEMBER).get().user
    campaign_id = Stakeholder.objects.get(team=team).campaign_id
    client.force_login(advisor)
    # 15: the page's budget (test_detail_page): the team's calendar comes with its row.
    with time_machine.travel(SATURDAY_10, tick=False), django_assert_max_num_queries(15):
        html = client.get(reverse("campaigns:detail", args=[campaign_id])).text
    assert "Due Monday 12:00, 3 working hours left" in html
    assert f'datetime="{MONDAY_12.isoformat()}"' in html


def test_a_team_row_written_around_the_rules_falls_back_to_the_default_calendar(caplog):
    team = TeamFactory(**WORKING_WEEK_FR)
    # Written around the form (a raw update): no such zone.
    Team.objects.filter(pk=team.pk).update(time_zone="Europe/Atlantis")
    team.refresh_from_db()
    assert team.working_calendar().time_zone == "Europe/Paris"
    assert "unusable working calendar" in caplog.text
    with pytest.raises(ValueError, match="Europe/Atlantis"):
        team.working_calendar(strict=True)
    # Due dates and the sweep keep working for everyone.
    team = announced_team(at=FRIDAY_17, deadline=4, remind_before=0)
    Team.objects.filter(pk=team.pk).update(time_zone="Europe/Atlantis")
    assert run(SATURDAY_10) == {"reminders": 0, "escalations": 0}
    assert run(MONDAY_12)["escalations"] == 4
