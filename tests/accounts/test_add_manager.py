from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from teams.roles import Actor
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_first_manager_gets_an_account_and_a_one_time_link(client):
    out = StringIO()
    call_command("add_manager", "Claire.Fontaine@Example.com", name="Claire Fontaine", stdout=out)
    claire = User.objects.get(email="claire.fontaine@example.com")
    assert Actor.of(claire).is_manager
    link = out.getvalue().split("Their sign-in link (one use): ")[1].strip()
    path = link.split("localhost:8000", 1)[1] if "localhost:8000" in link else link
    assert "Welcome, Claire Fontaine" in client.get(path).content.decode()


def test_an_existing_person_is_made_a_manager_without_a_link():
    person = UserFactory(email="paul@example.com")
    out = StringIO()
    call_command("add_manager", "paul@example.com", stdout=out)
    assert Actor.of(User.objects.get(pk=person.pk)).is_manager
    assert "sign-in link" not in out.getvalue()


def test_a_bad_address_is_refused():
    with pytest.raises(CommandError, match="valid e-mail"):
        call_command("add_manager", "not-an-address")
