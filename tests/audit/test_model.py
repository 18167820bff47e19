"""Audit events are append-only: Python refuses to change or delete one, and on
PostgreSQL so does the database, except the SET NULL of a deleted person's link."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AppendOnlyError, AuditAction, AuditEvent
from audit.services import record_audit_event
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    with transaction.atomic():
        return record_audit_event(
            actor=UserFactory(),
            action=AuditAction.TEAM_EDITED,
            target=TeamFactory(name="Ventes"),
            details={"kind": {"old": "other", "new": "sales"}},
        )


def test_a_saved_event_cannot_be_saved_again(event):
    event.target_label = "Rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).target_label == "Ventes"


def test_an_event_cannot_be_deleted(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_events_cannot_be_updated_in_bulk(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action=AuditAction.TEAM_CREATED)
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(actor=None, target_label="x")
    event.action = AuditAction.TEAM_CREATED
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.TEAM_EDITED


def test_deleting_a_person_keeps_their_events_without_the_link(event):
    actor_id = event.actor_id
    UserFactory._meta.model.objects.filter(pk=actor_id).delete()

    kept = AuditEvent.objects.get(pk=event.pk)
    assert kept.actor_id is None
    assert (kept.action, kept.target_label) == (AuditAction.TEAM_EDITED, "Ventes")


# --- the PostgreSQL trigger ------------------------------------------------------------


def _execute(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.postgres
def test_postgres_refuses_an_update_in_raw_sql(event):
    with pytest.raises(DatabaseError, match="append-only"):
        _execute("UPDATE audit_auditevent SET target_label = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _execute("UPDATE audit_auditevent SET details = '{}' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).target_label == "Ventes"


@pytest.mark.postgres
def test_postgres_refuses_a_delete_in_raw_sql(event):
    with pytest.raises(DatabaseError, match="append-only"):
        _execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
def test_postgres_lets_only_the_actor_link_be_cleared(event):
    with pytest.raises(DatabaseError, match="append-only"):
        _execute(
            "UPDATE audit_auditevent SET actor_id = NULL, action = 'team_created' WHERE id = %s",
            [event.pk],
        )
    other = UserFactory()
    with pytest.raises(DatabaseError, match="append-only"):
        _execute("UPDATE audit_auditevent SET actor_id = %s WHERE id = %s", [other.pk, event.pk])
    assert AuditEvent.objects.get(pk=event.pk).actor_id == event.actor_id

    _execute("UPDATE audit_auditevent SET actor_id = NULL WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).actor_id is None


@pytest.mark.postgres
def test_postgres_trigger_is_installed():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditevent'::regclass"
            " AND NOT tgisinternal"
        )
        assert [row[0] for row in cursor.fetchall()] == ["audit_event_append_only"]
