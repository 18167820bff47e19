"""Idempotency-Key: a retried POST gets the first answer, a reused key with another body
is refused, and external references make hourly syncs create nothing twice."""

import threading

import pytest
from django.db import connection

from api.models import IdempotentRequest
from campaigns.models import Campaign, Feedback
from tests.api.conftest import campaign_body
from tests.factories import announced_campaign

pytestmark = pytest.mark.django_db


def test_a_replayed_post_returns_the_first_answer_and_creates_once(api_as, marketer, support_team):
    tool = api_as(marketer)
    body = campaign_body([support_team.pk])
    first = tool.post("/campaigns", body, **{"Idempotency-Key": "sync-42"})
    again = tool.post("/campaigns", body, **{"Idempotency-Key": "sync-42"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Campaign.objects.count() == 1


def test_the_same_key_with_another_body_is_422(api_as, marketer, support_team):
    tool = api_as(marketer)
    tool.post("/campaigns", campaign_body([support_team.pk]), **{"Idempotency-Key": "k1"})
    other = tool.post(
        "/campaigns", campaign_body([support_team.pk], title="Autre"), **{"Idempotency-Key": "k1"}
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Campaign.objects.count() == 1


def test_keys_belong_to_their_caller(api_as, marketer, support_team):
    body = campaign_body([support_team.pk])
    api_as(marketer).post("/campaigns", body, **{"Idempotency-Key": "shared"})
    api_as(marketer).post("/campaigns", body, **{"Idempotency-Key": "shared"})  # another token
    assert Campaign.objects.count() == 2


def test_a_refusal_is_replayed_but_a_server_error_is_not_kept(api_as, marketer, support_team):
    tool = api_as(marketer)
    campaign = tool.post("/campaigns", campaign_body([support_team.pk])).json()
    done = tool.post(f"/campaigns/{campaign['id']}/mark-done", **{"Idempotency-Key": "d1"})
    assert done.status_code == 409
    assert (
        tool.post(f"/campaigns/{campaign['id']}/mark-done", **{"Idempotency-Key": "d1"}).json()
        == done.json()
    )


def test_a_feedback_retry_posts_one_message(api_as, advisor, support_team):
    campaign = announced_campaign(teams=[support_team])
    tool = api_as(advisor)
    for _ in range(3):
        response = tool.post(
            f"/campaigns/{campaign.pk}/feedback",
            {"body": "Un client demande le code promo.", "tag": "question"},
            **{"Idempotency-Key": "q-1"},
        )
        assert response.status_code == 201
    assert Feedback.objects.count() == 1


def test_an_unusable_key_is_a_400(api_as, marketer, support_team):
    response = api_as(marketer).post(
        "/campaigns", campaign_body([support_team.pk]), **{"Idempotency-Key": "x" * 300}
    )
    assert response.status_code == 400
    assert not Campaign.objects.exists()


def test_answers_are_forgotten_after_a_day(api_as, marketer, support_team):
    import time_machine
    from django.utils import timezone

    from api.services import idempotent_requests_purge

    api_as(marketer).post(
        "/campaigns", campaign_body([support_team.pk]), **{"Idempotency-Key": "a"}
    )
    assert idempotent_requests_purge() == 0
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=25)):
        assert idempotent_requests_purge() == 1
    assert not IdempotentRequest.objects.exists()


def test_an_external_reference_upsert_run_twice_makes_one_campaign(api_as, marketer, support_team):
    tool = api_as(marketer)
    body = campaign_body([support_team.pk])
    first = tool.put("/campaigns/by-ref/hubspot/123", body)
    assert first.status_code == 201, first.content
    second = tool.put("/campaigns/by-ref/hubspot/123", body)
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["etag"] == first.json()["etag"]  # the same values change nothing
    assert first.json()["external_ref"] == {"source": "hubspot", "external_id": "123"}
    changed = tool.put("/campaigns/by-ref/hubspot/123", {**body, "title": "Vœux (corrigé)"})
    assert changed.json()["title"] == "Vœux (corrigé)"
    assert Campaign.objects.count() == 1
    assert tool.get("/campaigns/by-ref/hubspot/123").json()["id"] == first.json()["id"]
    assert tool.get("/campaigns/by-ref/hubspot/999").status_code == 404
    taken = tool.post(
        "/campaigns", {**body, "external_ref": {"source": "hubspot", "external_id": "123"}}
    )
    assert taken.status_code == 409


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_request_sent_at_once_create_one_campaign(api_as, marketer, support_team):
    """The second copy waits on the key's unique index until the first commits, then
    replays its answer."""
    tool = api_as(marketer)
    body = campaign_body([support_team.pk])
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def send() -> None:
        try:
            barrier.wait()
            statuses.append(
                tool.post("/campaigns", body, **{"Idempotency-Key": "race"}).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 201]
    assert Campaign.objects.count() == 1
