"""seed_demo and runstack refuse a database that holds accounts other than the demo
people (the demo adds a superuser with a public password; runstack serves DEBUG=1),
unless --force; runstack listens on 127.0.0.1 unless told otherwise."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from core.management.commands import runstack
from demo.seed import demo_foreign_accounts, demo_load
from teams.models import Team
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_refuses_a_database_with_real_accounts_and_changes_nothing():
    UserFactory(email="dpo@client.example")

    with pytest.raises(CommandError, match=r"1 account\(s\) that are not demo accounts") as caught:
        call_command("seed_demo", stdout=StringIO())

    assert "dpo@client.example" in str(caught.value)
    assert "--force" in str(caught.value)
    assert User.objects.count() == 1
    assert not Team.objects.exists()


def test_seed_demo_force_seeds_anyway():
    UserFactory(email="dpo@client.example")

    call_command("seed_demo", "--force", stdout=StringIO(), verbosity=0)

    assert User.objects.filter(is_superuser=True).exists()


def test_demo_accounts_alone_are_not_foreign_data():
    demo = demo_load()
    call_command("seed_demo", stdout=StringIO(), verbosity=0)
    assert demo_foreign_accounts(demo) == (0, [])
    call_command("seed_demo", stdout=StringIO(), verbosity=0)  # a second run is fine
    # Demo people whose e-mail was typed in another case are still demo people.
    first = next(iter(demo.people.values()))
    User.objects.filter(email=first.email).update(email=first.email.upper())
    assert demo_foreign_accounts(demo) == (0, [])


@pytest.fixture
def started(monkeypatch) -> list[list[str]]:
    """runstack up to the point where it would start its children, which are recorded."""
    argvs: list[list[str]] = []
    monkeypatch.setattr(runstack.Command, "_prepare", lambda self, **kwargs: None)
    monkeypatch.setattr(
        runstack.Command,
        "_spawn",
        lambda self, children, env: argvs.extend(child.argv for child in children),
    )
    monkeypatch.setattr(runstack.Command, "_watch", lambda self, children, stopping: None)
    return argvs


def test_runstack_refuses_a_database_with_real_accounts(started):
    UserFactory(email="dpo@client.example")

    with pytest.raises(CommandError, match="Refusing to run runstack"):
        call_command("runstack", stdout=StringIO())

    assert started == []


def test_runstack_listens_on_localhost_by_default(started):
    call_command("runstack", stdout=StringIO())

    web = started[0]
    assert web[-3:] == ["runserver", "127.0.0.1:8000", "--noreload"]


def test_runstack_host_and_force_are_options(started):
    UserFactory(email="dpo@client.example")

    call_command("runstack", "--force", "--host", "192.0.2.10", "--port", "8010", stdout=StringIO())

    assert started[0][-2] == "192.0.2.10:8010"
