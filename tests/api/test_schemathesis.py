"""Schemathesis against the live OpenAPI schema, in process: every operation fuzzed from
its documented inputs, and every answer checked against what the schema promises (no
server error, documented status and content type, the documented shape)."""

import pytest
import schemathesis
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth

from api import services as api_services
from tests.factories import MembershipFactory, TeamFactory, announced_campaign, make_manager

pytestmark = pytest.mark.django_db


# Read from the running app (no database needed to serve the schema).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _connection_kept_between_requests():
    """As Django's test client does: a request through the WSGI app must not close the
    test's database connection (its transaction holds the test's data)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(own_cache):
    """A manager who is also a marketer and a team member: most operations can succeed."""
    person = make_manager(full_name="Fuzz Manager")
    from django.contrib.auth.models import Group

    from teams.roles import MARKETER

    person.groups.add(Group.objects.get(name=MARKETER))
    team = TeamFactory(name="Fuzz team")
    MembershipFactory(team=team, user=person)
    announced_campaign(owner=person, teams=[team])
    return api_services.api_token_create(
        actor=person, name="schemathesis", scope="write", expires_in_days=30
    ).secret


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_keeps_its_contract(case, token):
    # Every check but "schema-valid data is accepted": the schema states the shape, and
    # the domain has rules it cannot (an end after the launch, a known KPI, a launch date
    # not moved into the past once announced), refused as documented 400s with the web
    # form's words. A server error, an undocumented status or content type, or a body
    # that breaks its documented shape all fail.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


def test_chains_of_operations_keep_their_contract(token):
    """Stateful: Schemathesis chains operations through the links it infers from the
    schema (a created campaign's id into its read, update, announce, thread…)."""

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        # Each scenario starts from the same data and an empty cache: Hypothesis replays
        # scenarios (to confirm and shrink a failure), and one that met the rows or the
        # kept pages an earlier scenario left behind would take other branches, which it
        # reports as a flaky strategy instead of the failure.
        def setup(self):
            self._scenario = transaction.atomic()
            self._scenario.__enter__()
            caches["default"].clear()

        def teardown(self):
            transaction.set_rollback(True)
            self._scenario.__exit__(None, None, None)
            caches["default"].clear()
            super().teardown()

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Every call carries the valid token (get_call_kwargs), so the check that
            # invalid credentials are refused would misread it: test_flow covers 401s.
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=[schemathesis.checks.positive_data_acceptance, ignored_auth],
            )

    Workflow.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
