"""Every add, change and delete made in the admin is in the audit log, with its own
action for teams, webhooks, memberships and roles; the log itself cannot be edited there."""

from datetime import datetime

import pytest
from django import forms
from django.contrib.auth.models import Group
from django.db import models
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from campaigns.models import ChannelDefaultTeam
from teams.models import Membership, Team
from teams.roles import MANAGER
from tests.factories import MembershipFactory, TeamFactory, UserFactory, make_marketer

pytestmark = pytest.mark.django_db

SECRET_HOOK = "http://127.0.0.1:9/hooks/T000/B000/s3cr3t-path"


@pytest.fixture
def admin_user(client, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    admin = UserFactory(is_staff=True, is_superuser=True, full_name="Ada Admin")
    client.force_login(admin)
    return admin


def url(model: type[models.Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _value(field: forms.Field, value: object) -> dict[str, object] | object:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | models.QuerySet):
        return [v.pk if isinstance(v, models.Model) else v for v in value]
    return value


def form_data(response) -> dict[str, object]:
    """What the admin page would post back unchanged (extra inline forms left out)."""
    data: dict[str, object] = {}

    def add(form: forms.BaseForm, prefix: str = "") -> None:
        for name, field in form.fields.items():
            key = f"{prefix}{name}"
            value = form.initial.get(name, field.initial)
            if callable(value):
                value = value()
            if value is None or value is False or field.disabled:
                continue
            if isinstance(field, forms.SplitDateTimeField) and isinstance(value, datetime):
                data[f"{key}_0"], data[f"{key}_1"] = value.date(), value.time()
                continue
            data[key] = "on" if value is True else _value(field, value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        count = len(formset.initial_forms)
        data |= {
            f"{formset.prefix}-TOTAL_FORMS": count,
            f"{formset.prefix}-INITIAL_FORMS": count,
        }
        for form in formset.initial_forms:
            add(form, prefix=f"{form.prefix}-")
    return data


def entries(action=None):
    events = AuditEvent.objects.order_by("id")
    return list(events.filter(action=action) if action else events)


def test_creating_a_team_with_a_member_and_a_webhook(client, admin_user):
    person = UserFactory(full_name="Alice Martin", email="alice@example.com")
    data = form_data(client.get(url(Team, "add")))
    data |= {
        "name": "Ventes",
        "slug": "ventes",
        "webhook_url": SECRET_HOOK,
        "memberships-TOTAL_FORMS": 1,
        "memberships-INITIAL_FORMS": 0,
        "memberships-0-user": person.pk,
        "memberships-0-role": "lead",
    }
    response = client.post(url(Team, "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    team = Team.objects.get(slug="ventes")
    created, webhook, membership = (
        entries(AuditAction.TEAM_CREATED)[0],
        entries(AuditAction.WEBHOOK_SET)[0],
        entries(AuditAction.MEMBERSHIP_ADDED)[0],
    )
    assert len(entries()) == 3
    assert all(e.actor == admin_user and e.target_id == team.pk for e in entries())
    assert all(e.target_label == "Ventes" and e.details["via"] == "admin" for e in entries())
    assert created.details["name"] == {"new": "Ventes"}
    assert webhook.details["webhook_url"] == {"new": "http://127.0.0.1"}
    assert membership.details == {
        "via": "admin",
        "user_id": person.pk,
        "membership_id": team.memberships.get().pk,
        "role": "lead",
    }
    stored = str(list(AuditEvent.objects.values()))
    assert "s3cr3t" not in stored
    assert "Alice" not in stored
    assert "alice@example.com" not in stored


def test_changing_a_webhook_and_a_role_and_removing_a_member(client, admin_user):
    team = TeamFactory(name="Ventes", webhook_url=SECRET_HOOK)
    lead = MembershipFactory(team=team, role=Membership.Role.MEMBER).user
    leaving = MembershipFactory(team=team).user
    data = form_data(client.get(url(Team, "change", team.pk)))
    lead_form = next(k for k, v in data.items() if k.endswith("-user") and v == lead.pk)
    leaving_form = next(k for k, v in data.items() if k.endswith("-user") and v == leaving.pk)
    data |= {
        "webhook_url": "https://127.0.0.2/other/s3cr3t-2",
        "ack_deadline_hours": 24,
        lead_form.replace("-user", "-role"): "lead",
        leaving_form.replace("-user", "-DELETE"): "on",
    }
    response = client.post(url(Team, "change", team.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    [edited] = entries(AuditAction.TEAM_EDITED)
    assert edited.details["ack_deadline_hours"] == {"old": 48, "new": 24}
    assert "webhook_url" not in edited.details
    [webhook] = entries(AuditAction.WEBHOOK_CHANGED)
    assert webhook.details["webhook_url"] == {"old": "http://127.0.0.1", "new": "https://127.0.0.2"}
    [role] = entries(AuditAction.ROLE_CHANGED)
    assert (role.target_id, role.details["user_id"]) == (team.pk, lead.pk)
    assert role.details["role"] == {"old": "member", "new": "lead"}
    [removed] = entries(AuditAction.MEMBERSHIP_REMOVED)
    assert (removed.target_id, removed.details["user_id"]) == (team.pk, leaving.pk)
    assert "s3cr3t" not in str(list(AuditEvent.objects.values()))


def test_removing_a_webhook(client, admin_user):
    team = TeamFactory(name="Ventes", webhook_url=SECRET_HOOK)
    data = form_data(client.get(url(Team, "change", team.pk))) | {"webhook_url": ""}
    assert client.post(url(Team, "change", team.pk), data).status_code == 302

    [event] = entries()
    assert event.action == AuditAction.WEBHOOK_REMOVED
    assert event.details["webhook_url"] == {"old": "http://127.0.0.1", "new": ""}


def test_deleting_a_team_keeps_its_name_in_the_log(client, admin_user):
    team = TeamFactory(name="Ventes")
    member = MembershipFactory(team=team).user
    team_id = team.pk
    response = client.post(url(Team, "delete", team.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Team.objects.filter(pk=team_id).exists()

    [event] = entries()
    assert (event.action, event.target_id, event.target_label) == (
        AuditAction.TEAM_DELETED,
        team_id,
        "Ventes",
    )
    assert event.details["members"] == [member.pk]


def test_deleting_teams_in_bulk_records_each(client, admin_user):
    teams = [TeamFactory(name="Ventes"), TeamFactory(name="Support")]
    response = client.post(
        url(Team, "changelist"),
        {"action": "delete_selected", "_selected_action": [t.pk for t in teams], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Team.objects.exists()
    assert sorted(e.target_label for e in entries(AuditAction.TEAM_DELETED)) == [
        "Support",
        "Ventes",
    ]


def test_the_repaired_action_in_the_admin_is_recorded(client, admin_user):
    team = TeamFactory(
        name="Ventes", webhook_broken_at="2026-12-01T10:00:00Z", webhook_broken_reason="HTTP 410"
    )
    client.post(
        url(Team, "changelist"),
        {"action": "mark_webhook_repaired", "_selected_action": [team.pk]},
    )
    [event] = entries()
    assert (event.action, event.actor, event.target_id) == (
        AuditAction.WEBHOOK_REPAIRED,
        admin_user,
        team.pk,
    )
    assert event.ip == "127.0.0.1"


def test_giving_a_person_the_manager_role(client, admin_user):
    person = make_marketer(full_name="Bruno Blanc", email="bruno@example.com")
    data = form_data(client.get(url(type(person), "change", person.pk)))
    manager = Group.objects.get(name=MANAGER)
    data |= {"groups": [*data.get("groups", []), manager.pk], "full_name": "Bruno Noir"}
    response = client.post(url(type(person), "change", person.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    [role] = entries(AuditAction.ROLE_CHANGED)
    assert (role.target_type, role.target_id, role.target_label) == ("accounts.user", person.pk, "")
    assert role.details["groups"] == {"old": ["Marketer"], "new": ["Manager", "Marketer"]}
    [other] = entries(AuditAction.ADMIN_CHANGED)
    assert other.details["full_name"] == {"changed": True}
    stored = str(list(AuditEvent.objects.values()))
    assert "Bruno" not in stored
    assert "bruno@example.com" not in stored


def test_changing_a_password_in_the_admin_is_recorded_without_it(client, admin_user):
    person = UserFactory()
    response = client.post(
        reverse("admin:auth_user_password_change", args=[person.pk]),
        {"password1": "N3w-pass-phrase!x", "password2": "N3w-pass-phrase!x"},
    )
    assert response.status_code == 302
    [event] = entries()
    assert (event.action, event.target_id) == (AuditAction.ADMIN_CHANGED, person.pk)
    assert "N3w-pass" not in str(event.details)


def test_any_other_model_gets_the_generic_admin_actions(client, admin_user):
    team = TeamFactory(name="Ventes")
    add = url(ChannelDefaultTeam, "add")
    response = client.post(add, {"channel": "email", "team": team.pk})
    assert response.status_code == 302
    row = ChannelDefaultTeam.objects.get()
    response = client.post(url(ChannelDefaultTeam, "delete", row.pk), {"post": "yes"})
    assert response.status_code == 302

    added, deleted = entries()
    assert (added.action, added.target_type, added.target_id) == (
        AuditAction.ADMIN_ADDED,
        "campaigns.channeldefaultteam",
        row.pk,
    )
    assert added.details["team"] == {"new": team.pk}
    assert (deleted.action, deleted.target_id) == (AuditAction.ADMIN_DELETED, row.pk)


def test_an_invalid_admin_form_records_nothing(client, admin_user):
    data = form_data(client.get(url(Team, "add"))) | {"name": "", "slug": "x"}
    response = client.post(url(Team, "add"), data)
    assert response.status_code == 200
    assert entries() == []


def test_audit_events_cannot_be_added_changed_or_deleted_in_the_admin(client, admin_user):
    team = TeamFactory(name="Ventes")
    client.post(url(Team, "delete", team.pk), {"post": "yes"})
    event = AuditEvent.objects.get()

    assert client.get(url(AuditEvent, "changelist")).status_code == 200
    page = client.get(url(AuditEvent, "change", event.pk))
    assert page.status_code == 200
    assert 'name="target_label"' not in page.content.decode()
    assert client.get(url(AuditEvent, "add")).status_code == 403
    assert client.post(url(AuditEvent, "change", event.pk), {"action": "x"}).status_code == 403
    assert client.post(url(AuditEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    response = client.post(
        url(AuditEvent, "changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert list(AuditEvent.objects.all()) == [event]
    assert AuditEvent.objects.get().target_label == "Ventes"
