"""The API's contract, generated from the rule book's own table (tests/campaigns/
test_rule_book.py): for every campaign state and every relation to the campaign, each
operation succeeds exactly when the specification says, and a refusal has the status its
kind calls for (401 signed out, 404 not visible, 403 not this person, 409 not now) and
changes nothing.

Every operation of the OpenAPI schema must be listed in OPERATIONS, with the rule book
action it answers to or the test that covers it: a new operation without a rule fails."""

from collections.abc import Callable

import pytest
from django.db import transaction
from django.test import Client

from api import services as api_services
from api.main import api
from campaigns import rules
from campaigns.rules import Action
from teams.roles import Actor
from tests.campaigns.test_rule_book import (
    RELATIONS,
    STATES,
    World,
    build_world,
    expected,
    snapshot,
    visible,
)

pytestmark = pytest.mark.django_db

# (method, path template) → the rule book action, or where the operation is tested.
CAMPAIGN_OPERATIONS: dict[tuple[str, str], Action] = {
    ("GET", "/api/v1/campaigns/{campaign_id}"): Action.VIEW,
    ("GET", "/api/v1/campaigns/{campaign_id}/feedback"): Action.VIEW,
    ("PATCH", "/api/v1/campaigns/{campaign_id}"): Action.EDIT,
    ("POST", "/api/v1/campaigns/{campaign_id}/announce"): Action.ANNOUNCE,
    ("POST", "/api/v1/campaigns/{campaign_id}/mark-done"): Action.MARK_DONE,
    ("POST", "/api/v1/campaigns/{campaign_id}/override-done"): Action.OVERRIDE_DONE,
    ("POST", "/api/v1/campaigns/{campaign_id}/cancel"): Action.CANCEL,
    ("POST", "/api/v1/campaigns/{campaign_id}/teams/{team_id}/acknowledge"): Action.ACKNOWLEDGE,
    ("POST", "/api/v1/campaigns/{campaign_id}/teams/{team_id}/withdraw"): Action.WITHDRAW,
    ("POST", "/api/v1/campaigns/{campaign_id}/teams/{team_id}/not-ready"): Action.SAY_NOT_READY,
    ("POST", "/api/v1/campaigns/{campaign_id}/feedback"): Action.POST_FEEDBACK,
    ("PUT", "/api/v1/campaigns/{campaign_id}/results"): Action.RECORD_RESULTS,
}
OTHER_OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/campaigns"): "visible_q, test_list_shows_what_the_rule_book_lets_see",
    ("POST", "/api/v1/campaigns"): "require_can_create, test_flow",
    ("PUT", "/api/v1/campaigns/by-ref/{source}/{external_id}"): "EDIT/create, test_references",
    ("GET", "/api/v1/campaigns/by-ref/{source}/{external_id}"): "VIEW, test_references",
    ("GET", "/api/v1/me"): "any signed-in person, test_flow",
    ("GET", "/api/v1/teams"): "any signed-in person, test_people",
    ("GET", "/api/v1/teams/{team_id}"): "managers and members, test_people",
    ("POST", "/api/v1/teams/{team_id}/members"): "teams.rules (managers), test_people",
    ("PUT", "/api/v1/teams/{team_id}/members/{user_id}"): "teams.rules, test_people",
    ("DELETE", "/api/v1/teams/{team_id}/members/{user_id}"): "teams.rules, test_people",
    ("GET", "/api/v1/feed"): "visible_q, test_people",
    ("GET", "/api/v1/inbox"): "the person's own, test_people",
}


def test_every_operation_has_a_rule():
    schema = api.get_openapi_schema()
    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert operations == set(CAMPAIGN_OPERATIONS) | set(OTHER_OPERATIONS)


def _bodies(world: World) -> dict[Action, dict[str, object]]:
    kpi = world.campaign.kpis.get()
    return {
        Action.EDIT: {"title": "Nouveau titre"},
        Action.ANNOUNCE: {"already_sent_reason": "Déjà parti"},
        Action.OVERRIDE_DONE: {"reason": "Confirmé par téléphone"},
        Action.SAY_NOT_READY: {"reason": "Stock absent"},
        Action.POST_FEEDBACK: {"tag": "question", "body": "Les clients demandent le code."},
        Action.RECORD_RESULTS: {"source": "hubspot", "results": [{"kpi_id": kpi.pk, "actual": 42}]},
    }


def _client(person: object) -> Client:
    if not getattr(person, "is_authenticated", False):
        return Client()
    made = api_services.api_token_create(
        actor=person, name="contract", scope="write", expires_in_days=30
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {made.secret}")


def _refusal_status(action: Action, world: World, state: str, relation: str, person) -> int:
    if relation == "anonymous":
        return 401
    if not visible(state, relation):
        return 404
    decision = rules.decide(
        action,
        Actor.of(person),
        rules.facts_of(world.campaign),
        team_id=world.team_a_id,
    )
    return 403 if decision.kind == "permission" else 409


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("state", STATES)
def test_each_operation_as_each_relation_in_each_state(state, relation):
    world = build_world(state)
    person = world.people[relation]
    client = _client(person)
    bodies = _bodies(world)
    disagreements = []
    for (method, template), action in CAMPAIGN_OPERATIONS.items():
        path = template.format(campaign_id=world.campaign.pk, team_id=world.team_a_id)
        send: Callable[..., object] = getattr(client, method.lower())
        with transaction.atomic():
            before = snapshot(world.campaign.pk)
            if method == "GET":
                response = send(path)
            else:
                response = send(path, data=bodies.get(action, {}), content_type="application/json")
            changed = snapshot(world.campaign.pk) != before
            transaction.set_rollback(True)
        wanted = expected(action, state, relation)
        succeeded = response.status_code < 300
        if wanted != succeeded:
            disagreements.append(
                f"{method} {template}: spec {wanted}, API {response.status_code} "
                f"{response.content[:200]!r}"
            )
        elif not succeeded:
            want_status = _refusal_status(action, world, state, relation, person)
            if response.status_code != want_status:
                disagreements.append(
                    f"{method} {template}: refused with {response.status_code}, "
                    f"expected {want_status}"
                )
            if response["Content-Type"] != "application/problem+json":
                disagreements.append(f"{method} {template}: refusal not a problem document")
            if changed:
                disagreements.append(f"{method} {template}: refused but changed something")
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("state", ["draft", "announced", "cancelled_draft"])
def test_list_shows_what_the_rule_book_lets_see(state, relation):
    world = build_world(state)
    response = _client(world.people[relation]).get("/api/v1/campaigns", {"limit": 100})
    if relation == "anonymous":
        assert response.status_code == 401
        return
    listed = {item["id"] for item in response.json()["items"]}
    assert (world.campaign.pk in listed) == visible(state, relation)
