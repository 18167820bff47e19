"""Editing a team's working time in the admin: days as checkboxes, the time zone from a
list, and everything that cannot make a calendar refused with the field's error."""

from datetime import time

import pytest
from django.urls import reverse

from teams.models import Team
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def post(client, team: Team, **changes: object):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {
        "name": team.name,
        "slug": team.slug,
        "kind": team.kind,
        "ack_policy": team.ack_policy,
        "ack_deadline_hours": "4",
        "reminder_hours_before": "1",
        "time_zone": "Europe/Paris",
        "working_days": ["1", "2", "3", "4", "5"],
        "work_starts_at": "09:00",
        "work_ends_at": "18:00",
        "holiday_country": "FR",
        "holiday_subdivision": "",
        "webhook_format": team.webhook_format,
        "language": team.language,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    return client.post(reverse("admin:teams_team_change", args=[team.pk]), form | changes)


def test_the_change_page_shows_the_days_as_checked_boxes(admin_client):
    team = TeamFactory(working_days="136", time_zone="America/Montreal")
    html = admin_client.get(reverse("admin:teams_team_change", args=[team.pk])).text
    assert 'name="working_days" value="1" id="id_working_days_0" checked' in html
    assert 'name="working_days" value="2" id="id_working_days_1">' in html
    assert '<option value="America/Montreal" selected>' in html


def test_a_team_gets_a_four_day_week_in_alsace(client):
    team = TeamFactory()
    response = post(
        client,
        team,
        working_days=["4", "1", "2", "3"],
        work_starts_at="08:30",
        work_ends_at="17:00",
        time_zone="Europe/Paris",
        holiday_subdivision="57",
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.working_days == "1234"  # sorted ISO weekdays
    assert (team.work_starts_at, team.work_ends_at) == (time(8, 30), time(17))
    assert team.holiday_subdivision == "57"
    assert team.working_calendar().weekdays == frozenset({1, 2, 3, 4})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"working_days": []}, "This field is required."),
        ({"work_starts_at": "18:00", "work_ends_at": "09:00"}, "must end after it starts"),
        ({"time_zone": "Europe/Atlantis"}, "Select a valid choice."),
        ({"holiday_country": "XX"}, "No public-holiday calendar is known"),
        ({"holiday_subdivision": "99"}, "no region with the code"),
    ],
)
def test_a_calendar_that_cannot_work_is_refused_and_nothing_changes(client, changes, message):
    team = TeamFactory(ack_deadline_hours=48)
    response = post(client, team, **changes)
    assert response.status_code == 200
    assert message in response.text
    team.refresh_from_db()
    assert team.ack_deadline_hours == 48
    assert team.working_days == "1234567"


def test_the_team_admin_shows_every_setting_of_a_team():
    """A new team setting (the Slack or Mattermost channel) must not be editable in the
    app yet missing from the admin's fieldsets."""
    from django.contrib import admin as django_admin

    from teams.models import TEAM_SETTINGS_FIELDS, Team

    fieldsets = django_admin.site._registry[Team].fieldsets
    shown = set()
    for _name, options in fieldsets:
        for entry in options["fields"]:
            shown.update(entry if isinstance(entry, tuple) else (entry,))
    assert set(TEAM_SETTINGS_FIELDS) <= shown
