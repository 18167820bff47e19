"""The API end to end through a real token: a marketing tool creates a campaign,
announces it, an advisor acknowledges, the tool reads who acknowledged and pushes
results; every refusal is a problem document with the right status."""

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Campaign
from tests.api.conftest import campaign_body

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_create_announce_acknowledge_and_read_back(api_as, marketer, advisor, support_team):
    tool = api_as(marketer)
    created = tool.post("/campaigns", campaign_body([support_team.pk]))
    assert created.status_code == 201, created.content
    campaign = created.json()
    assert campaign["status"] == "draft"
    assert created["Location"].endswith(f"/api/v1/campaigns/{campaign['id']}")
    assert created["ETag"] == campaign["etag"]
    assert [s["team"]["id"] for s in campaign["stakeholders"]] == [support_team.pk]

    announced = tool.post(f"/campaigns/{campaign['id']}/announce")
    assert announced.status_code == 200, announced.content
    assert announced.json()["status"] == "announced"

    acknowledged = api_as(advisor).post(
        f"/campaigns/{campaign['id']}/teams/{support_team.pk}/acknowledge", {"note": "Lu."}
    )
    assert acknowledged.status_code == 200, acknowledged.content

    read = tool.get(f"/campaigns/{campaign['id']}").json()
    [team] = read["stakeholders"]
    assert team["acknowledged"] is True
    assert team["acknowledged_by"]["name"] == "Alice Advisor"
    assert [a["note"] for a in team["acknowledgements"]] == ["Lu."]
    assert read["teams_acknowledged"] == read["teams_total"] == 1

    done = tool.post(f"/campaigns/{campaign['id']}/mark-done")
    assert done.status_code == 200
    assert Campaign.objects.get(pk=campaign["id"]).status == Campaign.Status.DONE


def test_no_token_is_401_and_a_bad_one_too(client, api_as, marketer):
    for response in (
        client.get("/api/v1/campaigns"),
        client.get("/api/v1/campaigns", headers={"Authorization": "Bearer psl_nope_nope"}),
    ):
        assert response.status_code == 401
        assert response["Content-Type"] == PROBLEM
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401


def test_a_read_token_cannot_write(api_as, marketer, support_team):
    reader = api_as(marketer, scope="read")
    assert reader.get("/campaigns").status_code == 200
    refused = reader.post("/campaigns", campaign_body([support_team.pk]))
    assert refused.status_code == 403
    assert "only read" in refused.json()["detail"]
    assert not Campaign.objects.exists()


def test_a_revoked_or_expired_token_is_refused(api_as, marketer):
    tool = api_as(marketer)
    assert tool.get("/me").status_code == 200
    with time_machine.travel(timezone.now() + timezone.timedelta(days=31)):
        assert tool.get("/me").status_code == 401
    from api.services import api_token_revoke

    api_token_revoke(actor=marketer, token_id=tool.token.pk)
    assert tool.get("/me").status_code == 401


def test_me_says_who_and_how(api_as, advisor, support_team):
    me = api_as(advisor, scope="read").get("/me").json()
    assert me["name"] == "Alice Advisor"
    assert me["teams"] == [
        {
            "team": {"id": support_team.pk, "name": support_team.name, "slug": "conseillers"},
            "role": "member",
        }
    ]
    assert me["scope"] == "read"
    assert me["is_marketer"] is False


def test_bad_input_is_a_400_with_field_errors_and_nothing_written(api_as, marketer, support_team):
    tool = api_as(marketer)
    response = tool.post(
        "/campaigns",
        campaign_body([support_team.pk], channel="pigeon", estimated_recipients=2**40),
    )
    assert response.status_code == 400
    problem = response.json()
    assert response["Content-Type"] == PROBLEM
    assert set(problem["errors"]) == {"channel", "estimated_recipients"}
    assert not Campaign.objects.exists()
    # The domain's own rules answer with the web form's words.
    rules = tool.post("/campaigns", campaign_body([support_team.pk], title="  "))
    assert rules.status_code == 400
    assert "title" in rules.json()["errors"]


def test_not_json_is_a_400(api_as, marketer):
    response = api_as(marketer).client.post(
        "/api/v1/campaigns", data=b"{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM


def test_a_refused_transition_is_409_with_the_rule_books_words(api_as, marketer, support_team):
    tool = api_as(marketer)
    campaign = tool.post("/campaigns", campaign_body([support_team.pk])).json()
    refused = tool.post(f"/campaigns/{campaign['id']}/mark-done")
    assert refused.status_code == 409
    assert refused.json()["detail"]
    assert Campaign.objects.get(pk=campaign["id"]).status == Campaign.Status.DRAFT


def test_someone_elses_draft_is_404_and_an_advisor_cannot_create(
    api_as, marketer, advisor, support_team
):
    campaign = api_as(marketer).post("/campaigns", campaign_body([support_team.pk])).json()
    advisor_api = api_as(advisor)
    assert advisor_api.get(f"/campaigns/{campaign['id']}").status_code == 404
    assert advisor_api.post("/campaigns", campaign_body([support_team.pk])).status_code == 403


def test_if_match_refuses_a_stale_update(api_as, marketer, support_team):
    tool = api_as(marketer)
    campaign = tool.post("/campaigns", campaign_body([support_team.pk])).json()
    path = f"/campaigns/{campaign['id']}"
    first = tool.patch(path, {"title": "Vœux 2027 (v2)"}, **{"If-Match": campaign["etag"]})
    assert first.status_code == 200, first.content
    assert first["ETag"] != campaign["etag"]
    stale = tool.patch(path, {"title": "Écrasé"}, **{"If-Match": campaign["etag"]})
    assert stale.status_code == 412
    assert stale["ETag"] == first["ETag"]
    assert Campaign.objects.get(pk=campaign["id"]).title == "Vœux 2027 (v2)"
    # Only the fields sent change.
    assert first.json()["audience"] == "Clients actifs"


def test_results_pushed_by_a_tool_keep_their_source(api_as, marketer, support_team):
    tool = api_as(marketer)
    campaign = tool.post(
        "/campaigns",
        campaign_body(
            [support_team.pk], launch_at=(timezone.now() + timezone.timedelta(hours=1)).isoformat()
        ),
    ).json()
    tool.post(f"/campaigns/{campaign['id']}/announce")
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=2)):
        pushed = tool.put(
            f"/campaigns/{campaign['id']}/results",
            {"source": "hubspot", "results": [{"name": "ouvertures", "actual": "41.20"}]},
        )
    assert pushed.status_code == 200, pushed.content
    [kpi] = pushed.json()["kpis"]
    assert kpi["actual"] == "41.20"
    assert kpi["actual_source"] == "hubspot"
    assert kpi["actual_recorded_at"]
    unknown = tool.put(
        f"/campaigns/{campaign['id']}/results",
        {"source": "hubspot", "results": [{"name": "clics", "actual": 3}]},
    )
    assert unknown.status_code == 400
    assert "Ouvertures" in unknown.json()["errors"]["results.0"][0]


def test_a_nul_character_anywhere_is_a_400_not_a_500(api_as, marketer, advisor, support_team):
    """PostgreSQL refuses a NUL in any text: every way in must say so first."""
    from tests.factories import announced_campaign

    tool = api_as(marketer)
    assert tool.get("/campaigns/by-ref/hubspot/a\x00b").status_code in (400, 404)
    assert tool.get("/campaigns", q="a\x00", cursor="\x00").status_code == 400
    for field in ("title", "summary", "body", "objective", "audience"):
        sent = tool.post("/campaigns", campaign_body([support_team.pk], **{field: "a\x00b"}))
        assert sent.status_code == 400, (field, sent.content)
    campaign = announced_campaign(teams=[support_team])
    member = api_as(advisor)
    path = f"/campaigns/{campaign.pk}"
    for response in (
        member.post(f"{path}/feedback", {"body": "a\x00b"}),
        member.post(f"{path}/teams/{support_team.pk}/not-ready", {"reason": "a\x00b"}),
        member.post(f"{path}/teams/{support_team.pk}/acknowledge", {"note": "a\x00b"}),
    ):
        assert response.status_code == 400, response.content
    assert not Campaign.objects.exclude(pk=campaign.pk).exists()


def test_a_team_is_overdue_only_while_the_campaign_waits_for_it(api_as, manager, support_team):
    from campaigns import services
    from tests.factories import announced_campaign

    campaign = announced_campaign(teams=[support_team])
    api = api_as(manager, scope="read")
    with time_machine.travel(timezone.now() + timezone.timedelta(days=20)):
        [team] = api.get(f"/campaigns/{campaign.pk}").json()["stakeholders"]
        assert team["overdue"] is True
        services.campaign_override_done(actor=manager, campaign_id=campaign.pk, reason="Vu")
        [team] = api.get(f"/campaigns/{campaign.pk}").json()["stakeholders"]
        assert team["overdue"] is False  # done: nobody waits any more
