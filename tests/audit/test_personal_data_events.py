"""Exports and erasures of personal data go to the audit log, naming nobody."""

import json

import pytest
from django.urls import reverse

from accounts.services import person_erase
from audit.models import AuditAction, AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_downloading_ones_data_is_recorded_with_its_format(client):
    person = UserFactory(full_name="Zoé Quartz", email="zoe@example.test")
    client.force_login(person)

    for export_format in ("json", "csv"):
        assert client.get(reverse("accounts:my_data"), {"format": export_format}).status_code == 200

    events = list(AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA_EXPORTED))
    assert sorted(event.details["format"] for event in events) == ["csv", "json"]
    assert {(event.actor_id, event.target_id) for event in events} == {(person.pk, person.pk)}
    assert "Zoé" not in json.dumps([e.details for e in events] + [e.target_label for e in events])


def test_a_refused_format_records_nothing(client):
    client.force_login(UserFactory())

    assert client.get(reverse("accounts:my_data"), {"format": "xml"}).status_code == 400

    assert not AuditEvent.objects.filter(action=AuditAction.PERSONAL_DATA_EXPORTED).exists()


def test_an_erasure_is_recorded_once_without_the_old_name_or_email():
    root = UserFactory(is_staff=True, is_superuser=True)
    person = UserFactory(full_name="Yann Onyx", email="yann@example.test")

    person_erase(actor=root, person=person, remove_text=True)
    person_erase(actor=root, person=person, remove_text=True)  # a second time: nothing to do

    event = AuditEvent.objects.get(action=AuditAction.PERSON_ERASED)
    assert (event.actor_id, event.target_id) == (root.pk, person.pk)
    assert event.details["remove_text"] is True
    written = json.dumps(event.details) + event.target_label
    assert "Yann" not in written
    assert "yann@example.test" not in written
