"""The managers' audit page: who may read it, filters, pages, the htmx rows, CSV."""

import csv
import io
from datetime import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from audit.selectors import CURSOR_SALT, PAGE_SIZE
from audit.services import record_audit_event
from core.cursors import cursor_write
from teams.models import Membership, Team
from tests.factories import MembershipFactory, TeamFactory, UserFactory, make_marketer

URL = reverse("audit:log")
pytestmark = pytest.mark.django_db


def record(**kwargs):
    with transaction.atomic():
        return record_audit_event(**kwargs)


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def rows(response) -> list[str]:
    return [row.event.action for row in response.context["page"].rows]


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("who", ["advisor", "marketer", "lead"])
def test_only_managers_may_read_the_log(client, who, advisor):
    if who == "advisor":
        person = advisor
    elif who == "marketer":
        person = make_marketer()
    else:
        person = MembershipFactory(role=Membership.Role.LEAD).user
    client.force_login(person)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "csv"}).status_code == 403


def test_newest_first_with_people_by_their_current_name(manager_client, manager):
    person = UserFactory(full_name="Alice Martin")
    team = TeamFactory(name="Ventes")
    record(actor=manager, action=AuditAction.TOKEN_CREATED, target=person)
    record(
        actor=manager,
        action=AuditAction.MEMBERSHIP_ADDED,
        target=team,
        details={"user_id": person.pk, "role": "lead"},
    )
    Team.objects.filter(pk=team.pk).delete()
    type(person).objects.filter(pk=person.pk).update(full_name="Personne 7f3a")

    response = manager_client.get(URL)

    assert response.status_code == 200
    assert rows(response) == [AuditAction.MEMBERSHIP_ADDED, AuditAction.TOKEN_CREATED]
    page = response.content.decode()
    assert "Ventes" in page  # the deleted team reads right
    assert "Personne 7f3a" in page  # the pseudonym, not the name at the time
    assert "Alice" not in page
    assert "Manon Manager" in page
    assert 'id="audit-rows"' in page
    assert reverse("dashboards:overview") in page


def test_the_dashboard_links_to_the_log_for_managers_only(client, manager):
    client.force_login(manager)
    assert URL in client.get(reverse("dashboards:overview")).content.decode()
    lead = MembershipFactory(role=Membership.Role.LEAD).user
    client.force_login(lead)
    assert URL not in client.get(reverse("dashboards:overview")).content.decode()


def test_filters(manager_client, manager):
    other = make_marketer()
    team = TeamFactory(name="Ventes")
    # Written directly, with the moments they happened at (the service takes the
    # database's clock). Paris is UTC+1 in November; the reader's zone decides the day.
    for when, actor, action, target in [
        ("2026-11-02T23:30:00+00:00", manager, AuditAction.TEAM_CREATED, team),  # 3 Nov
        ("2026-11-20T10:00:00+00:00", other, AuditAction.TOKEN_CREATED, other),
        ("2026-11-20T22:59:00+00:00", manager, AuditAction.TEAM_EDITED, team),  # 20 Nov
    ]:
        AuditEvent.objects.create(
            occurred_at=datetime.fromisoformat(when),
            actor=actor,
            action=action,
            target_type=target._meta.label_lower,
            target_id=target.pk,
        )
    manager.time_zone = "Europe/Paris"
    manager.save()

    def shown(**params):
        response = manager_client.get(URL, params)
        assert response.status_code == 200
        assert not response.context["form"].errors
        return rows(response)

    assert shown(action="team_created") == [AuditAction.TEAM_CREATED]
    assert shown(actor=other.pk) == [AuditAction.TOKEN_CREATED]
    assert shown(target_type="teams.team") == [AuditAction.TEAM_EDITED, AuditAction.TEAM_CREATED]
    assert shown(date_from="2026-11-10") == [AuditAction.TEAM_EDITED, AuditAction.TOKEN_CREATED]
    assert shown(date_to="2026-11-02") == []
    assert shown(date_to="2026-11-03") == [AuditAction.TEAM_CREATED]
    assert shown(date_from="2026-11-20", date_to="2026-11-20", actor=manager.pk) == [
        AuditAction.TEAM_EDITED
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "nope"}, "action"),
        ({"actor": "999999999999999999999"}, "actor"),
        ({"actor": "abc"}, "actor"),
        ({"target_type": "auth.secret"}, "target_type"),
        ({"date_from": "2026-13-45"}, "date_from"),
        ({"date_from": "0001-01-01"}, "date_from"),
        ({"date_from": "2026-11-20", "date_to": "2026-11-01"}, "date_to"),
    ],
)
def test_bad_filters_are_form_errors_and_left_out(manager_client, manager, params, field):
    record(actor=manager, action=AuditAction.TEAM_CREATED, target=TeamFactory())
    response = manager_client.get(URL, params)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert rows(response) == [AuditAction.TEAM_CREATED]
    assert "Some filters could not be used" in response.content.decode()


def test_pages_and_the_htmx_rows(manager_client, manager, django_assert_max_num_queries):
    team = TeamFactory(name="Ventes")
    people = [UserFactory() for _ in range(5)]
    for i in range(PAGE_SIZE + 5):
        record(
            actor=manager,
            action=AuditAction.MEMBERSHIP_ADDED,
            target=team,
            details={"user_id": people[i % 5].pk},
        )
    newest_first = list(AuditEvent.objects.values_list("pk", flat=True))

    with django_assert_max_num_queries(8):
        first = manager_client.get(URL)
    assert [r.event.pk for r in first.context["page"].rows] == newest_first[:PAGE_SIZE]
    cursor = first.context["page"].next_cursor
    assert cursor

    with django_assert_max_num_queries(8):
        more = manager_client.get(URL, {"after": cursor}, headers={"HX-Request": "true"})
    body = more.content.decode()
    assert "<html" not in body
    assert "<form" not in body
    assert body.count('<tr id="audit-') == 5
    assert [r.event.pk for r in more.context["page"].rows] == newest_first[PAGE_SIZE:]
    assert more.context["page"].next_cursor is None


def test_a_filter_change_in_htmx_gets_the_results_only(manager_client, manager):
    record(actor=manager, action=AuditAction.TEAM_CREATED, target=TeamFactory())
    response = manager_client.get(URL, {"action": "nope"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="audit-results">')
    assert "Some filters could not be used" in body
    assert "<html" not in body


# Lambdas: a signed value carries its signing time, and ids built from it at
# collection would differ between xdist workers.
@pytest.mark.parametrize(
    "make_cursor",
    [
        lambda: "garbage",
        lambda: cursor_write(salt="another.list", values=[1]),
        lambda: cursor_write(salt=CURSOR_SALT, values=["not an id"]),
        lambda: cursor_write(salt=CURSOR_SALT, values=[2**70]),
        lambda: cursor_write(salt=CURSOR_SALT, values=[timezone.now(), 1]),
    ],
    ids=["garbage", "other-list", "not-an-id", "huge-id", "wrong-shape"],
)
def test_a_forged_cursor_gives_the_first_page(manager_client, manager, make_cursor):
    record(actor=manager, action=AuditAction.TEAM_CREATED, target=TeamFactory())
    response = manager_client.get(URL, {"after": make_cursor()})
    assert response.status_code == 200
    assert response.context["page"].restarted
    assert rows(response) == [AuditAction.TEAM_CREATED]


def test_csv_of_the_filtered_list(manager_client, manager):
    person = UserFactory(full_name="Alice Martin")
    team = TeamFactory(name="=HYPERLINK(1)")
    record(
        actor=manager,
        action=AuditAction.ROLE_CHANGED,
        target=team,
        details={"user_id": person.pk, "role": {"old": "member", "new": "lead"}},
    )
    record(actor=person, action=AuditAction.TOKEN_CREATED, target=person)

    response = manager_client.get(URL, {"format": "csv", "action": "role_changed"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *lines = list(csv.reader(io.StringIO(text)))
    assert header == ["When", "Who", "What", "About", "Target", "Details", "IP"]
    assert len(lines) == 1
    [line] = lines
    assert line[1:5] == ["Manon Manager", "Role changed", "team", "'=HYPERLINK(1)"]
    assert line[5] == "person: Alice Martin; role: member → lead"


def test_xlsx_of_the_filtered_list_has_dates_as_dates(
    manager_client, manager, django_assert_max_num_queries
):
    import openpyxl

    for _ in range(5):  # older entries: the query count must not grow with them
        record(actor=UserFactory(), action=AuditAction.TEAM_CREATED, target=TeamFactory())
    team = TeamFactory(name="=HYPERLINK(1)")
    record(actor=manager, action=AuditAction.TEAM_CREATED, target=team)

    with django_assert_max_num_queries(8):  # as the page: not one query per row
        response = manager_client.get(URL, {"format": "xlsx", "action": "team_created"})

    assert response["Content-Type"].endswith("spreadsheetml.sheet")
    assert 'filename="passerelle-audit-log.xlsx"' in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, row, *older = sheet.iter_rows()
    assert len(older) == 5
    assert [cell.value for cell in header] == [
        "When",
        "Who",
        "What",
        "About",
        "Target",
        "Details",
        "IP",
    ]
    event = AuditEvent.objects.get(target_id=team.pk, actor=manager)
    assert row[0].is_date
    assert row[0].value == timezone.localtime(event.occurred_at).replace(microsecond=0, tzinfo=None)
    assert (row[4].value, row[4].data_type) == ("=HYPERLINK(1)", "s")
