"""Bad input: each refusal names the field, and through the pages the form comes back
with the message next to that field and nothing saved."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignEvent
from campaigns.services import CampaignInput
from core.errors import DomainError
from tests.factories import CampaignFactory, StakeholderFactory, campaign_state

pytestmark = pytest.mark.django_db

Status = Campaign.Status


def _input(**changes) -> CampaignInput:
    values = {
        "title": "Relance panier",
        "channel": Campaign.Channel.EMAIL,
        "launch_at": timezone.now() + timedelta(days=5),
    }
    values.update(changes)
    return CampaignInput(**values)


def _refused_announce(actor, campaign: Campaign, **kwargs) -> DomainError:
    before = campaign_state(campaign.pk)
    with pytest.raises(DomainError) as refused:
        services.campaign_announce(actor=actor, campaign_id=campaign.pk, **kwargs)
    assert campaign_state(campaign.pk) == before
    return refused.value


class TestAnnounceRules:
    def test_launch_date_missing(self, marketer, support_team):
        campaign = CampaignFactory(owner=marketer, launch_at=None)
        StakeholderFactory(campaign=campaign, team=support_team)

        error = _refused_announce(marketer, campaign)

        assert error.field_errors == {
            "launch_at": ["Launch date is required to announce a campaign."]
        }
        assert error.message == "Launch date is required to announce a campaign."

    def test_launch_date_in_the_past(self, marketer, support_team):
        campaign = CampaignFactory(owner=marketer, launch_at=timezone.now() - timedelta(days=1))
        StakeholderFactory(campaign=campaign, team=support_team)

        error = _refused_announce(marketer, campaign)

        assert list(error.field_errors) == ["launch_at"]
        assert "Launch date is in the past" in error.field_errors["launch_at"][0]

    def test_blank_already_sent_reason_does_not_count(self, marketer, support_team):
        campaign = CampaignFactory(owner=marketer, launch_at=timezone.now() - timedelta(days=1))
        StakeholderFactory(campaign=campaign, team=support_team)

        error = _refused_announce(marketer, campaign, already_sent_reason="   ")

        assert list(error.field_errors) == ["launch_at"]

    def test_past_launch_with_reason_is_announced_and_reason_recorded(self, marketer, support_team):
        campaign = CampaignFactory(owner=marketer, launch_at=timezone.now() - timedelta(days=1))
        StakeholderFactory(campaign=campaign, team=support_team)

        services.campaign_announce(
            actor=marketer,
            campaign_id=campaign.pk,
            already_sent_reason=" Sent by the agency before we were told. ",
        )

        campaign.refresh_from_db()
        assert campaign.status == Status.ANNOUNCED
        assert campaign.already_sent_reason == "Sent by the agency before we were told."
        event = campaign.events.get(kind=CampaignEvent.Kind.ANNOUNCED)
        assert event.details["already_sent_reason"] == "Sent by the agency before we were told."

    def test_reason_is_not_kept_when_launch_is_still_ahead(self, marketer, draft_campaign):
        services.campaign_announce(
            actor=marketer, campaign_id=draft_campaign.pk, already_sent_reason="Not needed"
        )

        campaign = Campaign.objects.get(pk=draft_campaign.pk)
        assert campaign.already_sent_reason == ""
        assert "already_sent_reason" not in campaign.events.get(kind="announced").details

    def test_no_stakeholder_team(self, marketer):
        campaign = CampaignFactory(owner=marketer)

        error = _refused_announce(marketer, campaign)

        assert error.field_errors == {
            "teams": ["Add at least one stakeholder team before announcing."]
        }

    def test_every_problem_reported_at_once(self, marketer):
        campaign = CampaignFactory(owner=marketer, launch_at=None)

        error = _refused_announce(marketer, campaign)

        assert set(error.field_errors) == {"launch_at", "teams"}

    def test_announced_campaign_keeps_its_teams_and_launch_date(self, marketer, draft_campaign):
        services.campaign_announce(actor=marketer, campaign_id=draft_campaign.pk)
        before = campaign_state(draft_campaign.pk)

        with pytest.raises(DomainError) as refused:
            services.campaign_update(
                actor=marketer,
                campaign_id=draft_campaign.pk,
                data=_input(title=draft_campaign.title, launch_at=None, team_ids=[]),
            )

        assert set(refused.value.field_errors) == {"launch_at", "teams"}
        assert campaign_state(draft_campaign.pk) == before


class TestInputRules:
    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            (
                {"estimated_recipients": -5},
                "estimated_recipients",
                "Estimated recipients cannot be negative.",
            ),
            (
                {"body": "Bonjour <script>alert('x')</script>"},
                "body",
                "Body must not contain <script> tags.",
            ),
            ({"body": "<SCRIPT src=//evil.test/x.js>"}, "body", "Body must not contain"),
            ({"summary": "< script>"}, "summary", "Summary must not contain"),
            ({"objective": "</script >"}, "objective", "Objective must not contain"),
            ({"title": "   "}, "title", "Title is required."),
            ({"channel": "pigeon"}, "channel", "Channel must be one of the listed channels."),
            (
                {"ends_at": timezone.now() + timedelta(days=1)},
                "ends_at",
                "End date must be after the launch date.",
            ),
            ({"team_ids": [987_654]}, "teams", "Unknown stakeholder team"),
        ],
    )
    def test_create_refuses_with_field_message(self, marketer, changes, field, message):
        with pytest.raises(DomainError) as refused:
            services.campaign_create(actor=marketer, data=_input(**changes))

        assert list(refused.value.field_errors) == [field]
        assert refused.value.field_errors[field][0].startswith(message)
        # The summary is the messages themselves: readable where no form shows it.
        assert refused.value.message.startswith(message)
        assert not Campaign.objects.exists()
        assert not CampaignEvent.objects.exists()

    def test_update_refuses_script_and_changes_nothing(self, marketer, draft_campaign):
        before = campaign_state(draft_campaign.pk)
        with pytest.raises(DomainError) as refused:
            services.campaign_update(
                actor=marketer,
                campaign_id=draft_campaign.pk,
                data=_input(body="<script>steal()</script>", estimated_recipients=-1),
            )
        assert set(refused.value.field_errors) == {"body", "estimated_recipients"}
        assert campaign_state(draft_campaign.pk) == before
        assert Campaign.objects.get(pk=draft_campaign.pk).body == draft_campaign.body

    def test_markdown_without_script_is_accepted(self, marketer):
        campaign = services.campaign_create(
            actor=marketer, data=_input(body="## Offre\n\n*-20 %* sur `TOUT`, voir <b>ici</b>.")
        )
        assert campaign.body.startswith("## Offre")


def _form_data(**changes) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Relance panier",
        "channel": "email",
        "audience": "Paniers abandonnés",
        "estimated_recipients": "1200",
        "launch_at": (timezone.localtime() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
        "summary": "",
        "body": "## Points clés",
        "objective": "",
    }
    data.update(changes)
    return data


def _field_error(html: str, field: str) -> str:
    """The error text shown inside the field's own block of the form."""
    block = re.search(rf'<div class="field" id="field-{field}">(.*?)</div>', html, re.S)
    assert block, f"no field block for {field}"
    error = re.search(r'<small class="field-error"[^>]*>(.*?)</small>', block.group(1), re.S)
    assert error, f"no error next to {field}"
    return error.group(1)


class TestThroughThePages:
    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"estimated_recipients": "-3"}, "estimated_recipients", "cannot be negative"),
            (
                {"body": "Hello <script>alert(1)</script>"},
                "body",
                "must not contain &lt;script&gt;",
            ),
            ({"title": ""}, "title", "Title is required."),
            ({"launch_at": "next tuesday"}, "launch_at", "Enter a valid date/time."),
        ],
    )
    def test_create_form_comes_back_with_the_error_next_to_the_field(
        self, client, marketer, support_team, changes, field, message
    ):
        client.force_login(marketer)
        data = _form_data(teams=[support_team.pk], **changes)

        response = client.post(reverse("campaigns:create"), data)

        assert response.status_code == 200
        html = response.content.decode()
        assert message in _field_error(html, field)
        assert Campaign.objects.count() == 0
        # What was typed is still there.
        assert 'value="Paniers abandonnés"' in html

    def test_edit_form_comes_back_with_the_error(self, client, marketer, draft_campaign):
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:edit", args=[draft_campaign.pk]),
            _form_data(body="<script>x()</script>"),
        )

        assert response.status_code == 200
        assert "Body must not contain" in _field_error(response.content.decode(), "body")
        assert Campaign.objects.get(pk=draft_campaign.pk).body == draft_campaign.body

    def test_removing_every_team_from_an_announced_campaign_is_refused(
        self, client, marketer, draft_campaign
    ):
        services.campaign_announce(actor=marketer, campaign_id=draft_campaign.pk)
        client.force_login(marketer)

        response = client.post(reverse("campaigns:edit", args=[draft_campaign.pk]), _form_data())

        assert response.status_code == 200
        html = response.content.decode()
        assert re.search(
            r'class="field-error" id="id_teams_error">An announced campaign needs at least one',
            html,
        )
        assert draft_campaign.stakeholders.count() == 1

    def test_valid_create_saves_a_draft(self, client, marketer, support_team):
        client.force_login(marketer)

        response = client.post(reverse("campaigns:create"), _form_data(teams=[support_team.pk]))

        campaign = Campaign.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("campaigns:detail", args=[campaign.pk])
        assert campaign.status == Status.DRAFT
        assert list(campaign.teams.all()) == [support_team]

    def test_announce_without_launch_date_explains_on_the_page(
        self, client, marketer, support_team
    ):
        campaign = CampaignFactory(owner=marketer, launch_at=None)
        StakeholderFactory(campaign=campaign, team=support_team)
        client.force_login(marketer)

        response = client.post(reverse("campaigns:announce", args=[campaign.pk]), follow=True)

        assert response.status_code == 200
        assert "Launch date is required to announce a campaign." in response.content.decode()
        assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT

    def test_announce_without_team_explains_on_the_page(self, client, marketer):
        campaign = CampaignFactory(owner=marketer)
        client.force_login(marketer)

        response = client.post(reverse("campaigns:announce", args=[campaign.pk]), follow=True)

        assert "Add at least one stakeholder team before announcing." in response.content.decode()
        assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT

    def test_announce_after_launch_needs_the_reason(self, client, marketer, support_team):
        campaign = CampaignFactory(owner=marketer, launch_at=timezone.now() - timedelta(hours=2))
        StakeholderFactory(campaign=campaign, team=support_team)
        client.force_login(marketer)
        url = reverse("campaigns:announce", args=[campaign.pk])

        page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
        assert "the next step asks why it is announced only now" in page
        # Asked once: in the confirmation, not also beside the button that opens it.
        assert 'name="already_sent_reason"' not in page
        confirm = reverse("campaigns:announce_confirm", args=[campaign.pk])
        assert 'name="already_sent_reason"' in client.get(confirm).content.decode()

        response = client.post(url, {"already_sent": "on", "already_sent_reason": ""}, follow=True)
        assert "Give the reason for announcing after launch." in response.content.decode()
        response = client.post(url, follow=True)
        assert "Launch date is in the past." in response.content.decode()
        assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT

        client.post(url, {"already_sent": "on", "already_sent_reason": "The agency sent it early."})

        campaign.refresh_from_db()
        assert campaign.status == Status.ANNOUNCED
        assert campaign.already_sent_reason == "The agency sent it early."


class TestMarkdownIsSanitised:
    BODY = (
        "## Offre\n\n"
        "<script>alert('body')</script>\n\n"
        "<ScRiPt src='https://evil.test/x.js'></ScRiPt>\n\n"
        "<img src=x onerror=\"alert('img')\">\n\n"
        "[clic](javascript:alert('link'))\n\n"
        '<a href="https://example.com" onclick="alert(\'a\')">site</a>\n\n'
        "- point **gras**"
    )

    def test_detail_page_never_renders_script(self, client, marketer):
        # Written straight to the database: older rows, the admin or an import may hold
        # anything, and the page must still be safe.
        campaign = CampaignFactory(owner=marketer, body=self.BODY)
        client.force_login(marketer)

        html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

        prose = re.search(r'<div class="prose">(.*?)</div>', html, re.S).group(1)
        lowered = prose.lower()
        assert "<script" not in lowered
        assert "onerror" not in lowered
        assert "onclick" not in lowered
        assert "javascript:" not in lowered
        assert "<h2>Offre</h2>" in prose
        assert "<strong>gras</strong>" in prose
        assert 'href="https://example.com"' in prose
        # Outside the vendored htmx tag and the page script (static/js/app.js), the page
        # has no script element at all.
        assert html.lower().count("<script") == 2
        assert html.lower().count("<script src=") == 2
