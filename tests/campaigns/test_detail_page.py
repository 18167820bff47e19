"""The campaign page: everything about the campaign in one place, buttons the rules forbid
shown disabled with the reason, the live panels htmx polls, and a query count that does
not grow with teams, acknowledgements, messages or KPIs."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import Attachment, Campaign, CampaignEvent, Feedback, Kpi
from campaigns.views.page import launch_countdown
from teams.models import Team
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    announced_campaign,
    campaign_input,
    make_marketer,
    team_with_members,
)

pytestmark = pytest.mark.django_db

Status = Campaign.Status
DETAIL_MAX_QUERIES = 17
# session, user, campaign, stakeholders, acknowledgements, co-editors, tally, 2 permissions,
# the viewer's teams, thread and its replies, timeline
LIVE_MAX_QUERIES = 13


@dataclass
class Button:
    disabled: bool
    reason: str


class _Buttons(HTMLParser):
    """Each <button>'s label, whether it is disabled, and the text it is described by."""

    def __init__(self) -> None:
        super().__init__()
        self.buttons: list[tuple[str, bool, str]] = []
        self.texts: dict[str, str] = {}
        self._open: list[tuple[str, list]] = []  # (id or "", text parts) per open element
        self._button: dict | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "button":
            self._button = {
                "text": [],
                "disabled": "disabled" in attributes,
                "describedby": attributes.get("aria-describedby") or "",
            }
        if tag not in {"input", "br", "img", "meta", "link"}:
            self._open.append((tag, attributes.get("id") or "", []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            b = self._button
            self.buttons.append(("".join(b["text"]).strip(), b["disabled"], b["describedby"]))
            self._button = None
        while self._open:
            open_tag, element_id, parts = self._open.pop()
            if element_id:
                self.texts[element_id] = " ".join("".join(parts).split())
            if self._open:
                self._open[-1][2].extend(parts)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"].append(data)
        if self._open:
            self._open[-1][2].append(data)


def buttons(html: str) -> dict[str, Button]:
    parser = _Buttons()
    parser.feed(html)
    found = {}
    for label, disabled, describedby in parser.buttons:
        found[" ".join(label.split())] = Button(disabled, parser.texts.get(describedby, ""))
    return found


def page(client, user, campaign: Campaign) -> str:
    client.force_login(user)
    response = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert response.status_code == 200
    return response.content.decode()


def live(client, campaign: Campaign, **params):
    return client.get(reverse("campaigns:live", args=[campaign.pk]), params, HTTP_HX_REQUEST="true")


def _launched(owner, teams, **kwargs) -> Campaign:
    campaign = CampaignFactory(owner=owner, launch_at=timezone.now() - timedelta(days=2), **kwargs)
    for team in teams:
        StakeholderFactory(campaign=campaign, team=team)
    services.campaign_announce(
        actor=owner, campaign_id=campaign.pk, already_sent_reason="Parti avant l'annonce."
    )
    return Campaign.objects.get(pk=campaign.pk)


class TestEverythingInOnePlace:
    def test_shows_the_campaign_its_teams_thread_and_timeline(
        self, client, marketer, advisor, support_team
    ):
        sales, (seller,) = team_with_members(1, name="Ventes")
        campaign = announced_campaign(
            owner=marketer,
            teams=[support_team, sales],
            title="Carte de vœux",
            audience="Clients actifs depuis 2024",
            estimated_recipients=40_000,
            summary="Nos vœux à toute la base.",
            body="## Points clés\n\n- **Aucune** offre\n\n<img src=x onerror=alert(1)>",
            objective="Fidéliser.",
            ends_at=timezone.now() + timedelta(days=10),
        )
        Kpi.objects.create(campaign=campaign, name="Taux d'ouverture", target=40, actual=None)
        Attachment.objects.create(
            campaign=campaign,
            file="campaigns/x/visuel.png",
            original_name="visuel.png",
            content_type="image/png",
            size=2048,
        )
        services.campaign_acknowledge(
            actor=seller, campaign_id=campaign.pk, note="On relaiera en boutique."
        )
        services.feedback_post(
            actor=advisor, campaign_id=campaign.pk, tag="question", body="Un code promo ?"
        )
        services.feedback_post(
            actor=advisor, campaign_id=campaign.pk, tag="negative", body="Client agacé."
        )

        html = page(client, marketer, campaign)

        assert "Carte de vœux" in html
        assert "Nos vœux à toute la base." in html
        assert "Clients actifs depuis 2024" in html
        assert "40,000" in html
        assert "<strong>Aucune</strong>" in html  # body rendered…
        assert "onerror" not in html  # …and sanitised
        assert "Taux d&#x27;ouverture" in html
        assert "visuel.png" in html
        assert 'class="status status-announced"' in html
        assert "Version 1" in html
        assert "launches in 3 days" in html
        assert "1 of 2 teams acknowledged" in html
        stakeholders = html[html.index('id="stakeholders"') :]
        assert f"{seller.display_name}, " in stakeholders  # who…
        assert "(version 1)" in stakeholders  # …which version
        assert "On relaiera en boutique." in stakeholders  # the note
        assert "Pending" in stakeholders
        thread = html[html.index('id="feedback-list"') :]
        assert thread.index("Un code promo ?") < thread.index("Client agacé.")
        assert "Question" in thread
        assert "Negative reaction" in thread
        tally = html[html.index('id="feedback-tally"') : html.index("</section>")]
        assert '<strong class="tally-count">1</strong> <span>Negative</span>' in tally
        assert '<strong class="tally-count">1</strong> <span>Question</span>' in tally
        assert '<strong class="tally-count">0</strong> <span>Positive</span>' in tally
        timeline = html[html.index('id="timeline"') :]
        assert "Announced" in timeline
        assert "Team acknowledged" in timeline
        assert "Client agacé." not in timeline  # the thread is not the timeline

    def test_a_team_that_acknowledged_an_older_version_says_so(
        self, client, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        services.campaign_update(
            actor=marketer, campaign_id=campaign.pk, data=campaign_input(campaign, audience="VIP")
        )

        html = page(client, marketer, campaign)

        assert "Version 2" in html
        assert "Had acknowledged version 1" in html
        assert "0 of 1 team acknowledged" in html

    def test_every_member_team_counts_its_members(self, client, marketer):
        team, (first, _second) = team_with_members(2, ack_policy=Team.AckPolicy.EVERY_MEMBER)
        campaign = announced_campaign(owner=marketer, teams=[team])
        services.campaign_acknowledge(actor=first, campaign_id=campaign.pk, note="Lu.")

        html = page(client, marketer, campaign)

        assert "1 of 2 members" in html
        assert first.display_name in html

    def test_overdue_team_is_flagged(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        campaign.stakeholders.update(due_at=timezone.now() - timedelta(hours=1))

        assert "Overdue" in page(client, marketer, campaign)

    def test_draft_has_no_tally_and_no_thread_form(self, client, marketer, draft_campaign):
        html = page(client, marketer, draft_campaign)

        assert "What customers say" not in html
        assert 'id="feedback-form"' not in html
        assert "Messages can be posted once the campaign is announced." in html
        assert "Not yet told" in html


class TestLaunchCountdown:
    PARIS = ZoneInfo("Europe/Paris")

    @pytest.mark.parametrize(
        ("launch", "expected"),
        [
            (datetime(2027, 3, 13, 9, 0), "launches in 3 days"),
            (datetime(2027, 3, 11, 8, 0), "launches tomorrow"),
            (datetime(2027, 3, 10, 18, 0), "launches in 8 hours"),
            (datetime(2027, 3, 10, 10, 20), "launches in 20 minutes"),
            (datetime(2027, 3, 10, 10, 0, 20), "launching now"),
            (datetime(2027, 3, 10, 9, 59), "launched 1 minute ago"),
            (datetime(2027, 3, 10, 1, 0), "launched 9 hours ago"),
            (datetime(2027, 3, 9, 23, 0), "launched yesterday"),
            (datetime(2027, 3, 8, 12, 0), "launched 2 days ago"),
        ],
    )
    def test_says_how_far_launch_is(self, launch, expected):
        now = datetime(2027, 3, 10, 10, 0, tzinfo=self.PARIS)
        campaign = Campaign(launch_at=launch.replace(tzinfo=self.PARIS), status=Status.ANNOUNCED)

        with timezone.override(self.PARIS):
            assert launch_countdown(campaign, now=now) == expected

    def test_nothing_without_a_launch_date_or_once_cancelled(self):
        now = timezone.now()
        assert launch_countdown(Campaign(launch_at=None), now=now) == ""
        cancelled = Campaign(launch_at=now, status=Status.CANCELLED)
        assert launch_countdown(cancelled, now=now) == ""


class TestButtons:
    """Buttons are shown disabled with the reason the rules give, not hidden."""

    def test_marketer_draft_without_teams_or_date(self, client, marketer):
        no_team = CampaignFactory(owner=marketer)
        no_date = CampaignFactory(owner=marketer, launch_at=None)
        StakeholderFactory(campaign=no_date)

        announce = buttons(page(client, marketer, no_team))["Announce"]
        assert announce == Button(True, "Add at least one stakeholder team before announcing.")
        announce = buttons(page(client, marketer, no_date))["Announce"]
        assert announce == Button(True, "Launch date is required to announce a campaign.")

    def test_marketer_draft_ready(self, client, marketer, draft_campaign):
        found = buttons(page(client, marketer, draft_campaign))

        assert found["Announce"] == Button(False, "")
        assert found["Cancel campaign"] == Button(False, "")
        assert "Mark as done" not in found

    def test_advisor_sees_only_what_their_role_can_do(
        self, client, marketer, advisor, support_team
    ):
        announced = announced_campaign(owner=marketer, teams=[support_team])

        found = buttons(page(client, advisor, announced))
        assert found["Acknowledge"] == Button(False, "")
        never = ("Announce", "Mark as done", "Cancel campaign", "Override and mark as done")
        assert [name for name in never if name in found] == []
        assert "Duplicate" not in found
        assert "Your role does not allow this." not in page(client, advisor, announced)

    def test_another_marketer_sees_the_owners_buttons_disabled_with_the_rule(
        self, client, marketer, support_team
    ):
        announced = announced_campaign(owner=marketer, teams=[support_team])
        rule = "Only the campaign's owner, its co-editors and managers can"

        found = buttons(page(client, make_marketer(), announced))
        assert found["Mark as done"] == Button(True, f"{rule} mark it as done.")
        assert found["Cancel campaign"] == Button(True, f"{rule} cancel it.")
        assert found["Duplicate"].disabled is False
        assert "Override and mark as done" not in found  # managers only

    def test_an_advisor_cannot_open_a_draft(self, client, advisor, draft_campaign):
        client.force_login(advisor)
        response = client.get(reverse("campaigns:detail", args=[draft_campaign.pk]))
        assert response.status_code == 404

    def test_marketer_waits_for_the_teams(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])

        found = buttons(page(client, marketer, campaign))

        assert found["Mark as done"] == Button(
            True, "Waiting for Conseillers clientèle to acknowledge version 1."
        )
        assert found["Cancel campaign"] == Button(False, "")
        assert "Override and mark as done" not in found

    def test_manager_may_override_while_teams_are_pending(
        self, client, marketer, manager, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])

        html = page(client, manager, campaign)
        found = buttons(html)

        assert found["Mark as done"] == Button(
            True, "Waiting for Conseillers clientèle to acknowledge version 1."
        )
        assert found["Override and mark as done"] == Button(False, "")
        override = html[html.index('id="override-details"') :]
        override = override[: override.index("</details>")]
        assert 'name="reason"' in override
        assert "required" in override

    def test_manager_override_is_pointless_once_everyone_acknowledged(
        self, client, marketer, manager, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)

        found = buttons(page(client, manager, campaign))

        assert found["Mark as done"] == Button(False, "")
        assert found["Override and mark as done"] == Button(
            True, "Every team has acknowledged: use Mark as done."
        )

    def test_closed_campaigns_offer_no_transition(self, client, marketer, draft_campaign, bring_to):
        done = bring_to(draft_campaign, Status.DONE)
        cancelled = CampaignFactory(owner=marketer, status=Status.CANCELLED)

        for campaign, note in ((done, "Done on"), (cancelled, "Cancelled on")):
            html = page(client, marketer, campaign)
            found = buttons(html)
            assert note in html
            for label in (
                "Announce",
                "Mark as done",
                "Cancel campaign",
                "Override and mark as done",
                "Acknowledge",
            ):
                assert label not in found


class TestLivePanels:
    def test_htmx_gets_out_of_band_fragments_not_a_page(
        self, client, marketer, support_team, django_assert_max_num_queries
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(marketer)

        with django_assert_max_num_queries(LIVE_MAX_QUERIES):
            response = live(client, campaign, state="stale", v=1)

        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert "<body" not in html
        for element in (
            "campaign-summary",
            "feedback-tally",
            "campaign-actions",
            "stakeholders",
            "feedback-list",
            "timeline",
            "campaign-live-state",
        ):
            assert f'id="{element}"' in html
        assert html.count('hx-swap-oob="true"') == 7
        assert "Waiting for Conseillers clientèle" in html
        assert "no-store" in response["Cache-Control"]

    def test_the_page_polls_only_while_announced(self, client, marketer, advisor, bring_to):
        draft = CampaignFactory(owner=marketer)
        StakeholderFactory(campaign=draft, team=advisor.memberships.get().team)
        assert 'hx-trigger="every' not in page(client, marketer, draft)

        announced = bring_to(draft, Status.ANNOUNCED)
        html = page(client, marketer, announced)
        url = reverse("campaigns:live", args=[announced.pk])
        assert f'hx-get="{url}?v=1"' in html
        assert 'hx-trigger="every 10s"' in html
        assert 'hx-include="#campaign-live-state"' in html

        done = bring_to_done(marketer, announced)
        assert 'hx-trigger="every' not in page(client, marketer, done)

    def test_poll_interval_is_a_setting(self, client, marketer, support_team, settings):
        settings.CAMPAIGN_PAGE_POLL_SECONDS = 2
        campaign = announced_campaign(owner=marketer, teams=[support_team])

        assert 'hx-trigger="every 2s"' in page(client, marketer, campaign)

    def test_nothing_changed_means_an_empty_answer(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        state = _state_on_page(page(client, marketer, campaign))

        response = live(client, campaign, state=state, v=1)

        assert response.status_code == 204
        assert response.content == b""

    def test_an_acknowledgement_enables_mark_as_done(self, client, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        state = _state_on_page(page(client, marketer, campaign))
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk, note="Prêts.")

        response = live(client, campaign, state=state, v=1)

        html = response.content.decode()
        assert response.status_code == 200
        assert buttons(html)["Mark as done"] == Button(False, "")
        assert "Prêts." in html
        assert "1 of 1 team acknowledged" in html
        assert "Team acknowledged" in html  # the timeline follows too
        assert "Updated: 1 of 1 team acknowledged." in html  # said to screen readers
        assert _state_on_page(html) != state
        assert 'id="campaign-live-notice"' not in html

    def test_a_new_reaction_updates_the_tally_and_thread(
        self, client, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        state = _state_on_page(page(client, marketer, campaign))
        services.feedback_post(
            actor=advisor, campaign_id=campaign.pk, tag="positive", body="Ravis !"
        )

        html = live(client, campaign, state=state, v=1).content.decode()

        assert '<strong class="tally-count">1</strong> <span>Positive</span>' in html
        assert "Ravis !" in html

    def test_polling_stops_once_the_campaign_is_done(self, client, marketer, advisor, bring_to):
        draft = CampaignFactory(owner=marketer)
        StakeholderFactory(campaign=draft, team=advisor.memberships.get().team)
        announced = bring_to(draft, Status.ANNOUNCED)
        state = _state_on_page(page(client, marketer, announced))
        bring_to_done(marketer, announced)

        response = live(client, announced, state=state, v=1)

        assert response.status_code == 286  # htmx: stop polling
        html = response.content.decode()
        assert "Done on" in html
        assert "Mark as done" not in html
        # Even with an unchanged fingerprint, a closed campaign still stops the polling.
        assert live(client, announced, state=_state_on_page(html), v=1).status_code == 286

    def test_a_material_change_asks_to_reload(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        state = _state_on_page(page(client, marketer, campaign))
        services.campaign_update(
            actor=marketer, campaign_id=campaign.pk, data=campaign_input(campaign, audience="VIP")
        )

        html = live(client, campaign, state=state, v=1).content.decode()

        assert 'id="campaign-live-notice" hx-swap-oob="innerHTML"' in html
        assert "This campaign changed since you opened this page (now version 2)." in html

    def test_without_htmx_it_is_the_page(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(marketer)

        response = client.get(reverse("campaigns:live", args=[campaign.pk]))

        assert response.status_code == 302
        assert response.url == reverse("campaigns:detail", args=[campaign.pk])

    def test_unknown_campaign_is_404(self, client, marketer):
        client.force_login(marketer)
        response = client.get(reverse("campaigns:live", args=[999_999]), HTTP_HX_REQUEST="true")
        assert response.status_code == 404

    def test_needs_a_login(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])

        response = live(client, campaign)

        assert response.status_code == 302
        assert "/accounts/login/" in response.url


def bring_to_done(marketer, campaign: Campaign) -> Campaign:
    services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
    return Campaign.objects.get(pk=campaign.pk)


def _state_on_page(html: str) -> str:
    start = html.index('id="campaign-live-state"')
    value = html[html.index('value="', start) + len('value="') :]
    return value[: value.index('"')]


class TestQueryCount:
    """1 vs 6 teams, acknowledgements (with notes), messages and KPIs: same query count."""

    def _campaign(self, owner, size: int) -> Campaign:
        teams, members = [], []
        for _ in range(size):
            team, (member,) = team_with_members(1)
            teams.append(team)
            members.append(member)
        campaign = announced_campaign(owner=owner, teams=teams)
        for index, member in enumerate(members):
            services.campaign_acknowledge(
                actor=member, campaign_id=campaign.pk, note=f"Note {index}"
            )
            services.feedback_post(
                actor=member,
                campaign_id=campaign.pk,
                tag=Feedback.Tag.values[index % 5],
                body=f"Message {index}",
            )
            Kpi.objects.create(campaign=campaign, name=f"KPI {index}", target=10, actual=index)
        return campaign

    @pytest.mark.parametrize("role", ["marketer", "advisor", "manager"])
    def test_detail_page(self, client, role, request, marketer, django_assert_max_num_queries):
        user = request.getfixturevalue(role)
        small, big = self._campaign(marketer, 1), self._campaign(marketer, 6)
        if role == "advisor":
            for campaign in (small, big):
                MembershipFactory(team=campaign.stakeholders.first().team, user=user)
        client.force_login(user)

        counts = []
        for campaign in (small, big):
            with django_assert_max_num_queries(DETAIL_MAX_QUERIES) as queries:
                response = client.get(reverse("campaigns:detail", args=[campaign.pk]))
            assert response.status_code == 200
            counts.append(len(queries))

        assert counts[0] == counts[1]
        html = response.content.decode()
        assert html.count("pill-ok") == 6
        assert "Note 5" in html
        assert "Message 5" in html
        assert "KPI 5" in html

    def test_live_endpoint(self, client, marketer, django_assert_max_num_queries):
        small, big = self._campaign(marketer, 1), self._campaign(marketer, 6)
        client.force_login(marketer)

        counts = []
        for campaign in (small, big):
            with django_assert_max_num_queries(LIVE_MAX_QUERIES) as queries:
                response = live(client, campaign, state="stale", v=1)
            assert response.status_code == 200
            counts.append(len(queries))
            # Nothing changed: session, user, campaign, stakeholders, acknowledgements, tally.
            with django_assert_max_num_queries(6):
                state = _state_on_page(response.content.decode())
                assert live(client, campaign, state=state, v=1).status_code == 204

        assert counts[0] == counts[1]
        assert response.content.decode().count("pill-ok") == 6


class TestLongThreadAndTimeline:
    """A busy campaign gathers hundreds of messages and events: the page shows the latest
    and offers the rest, with the same number of queries."""

    @pytest.fixture
    def busy(self, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        Feedback.objects.bulk_create(
            Feedback(campaign=campaign, author=advisor, tag="question", body=f"Question {i}")
            for i in range(60)
        )
        CampaignEvent.objects.bulk_create(
            CampaignEvent(campaign=campaign, actor=marketer, kind="edited", version=1)
            for _ in range(30)
        )
        return campaign

    def test_the_latest_messages_and_events_first(self, client, marketer, busy):
        html = page(client, marketer, busy)
        assert html.count('class="thread-item') == selectors.THREAD_LATEST
        assert "Question 59" in html
        assert 'thread-body">Question 9<' not in html
        # The oldest unanswered questions head the page, linked into the whole thread.
        assert '<a href="?thread=all#feedback-' in html
        assert "and 50 more" in html
        assert "Show the 10 earlier messages" in html
        assert html.count('<li class="timeline-') == selectors.TIMELINE_LATEST
        assert "Show the whole timeline" in html

    def test_the_whole_thread_and_timeline_on_demand(self, client, marketer, busy):
        client.force_login(marketer)
        url = reverse("campaigns:detail", args=[busy.pk])
        html = client.get(url, {"thread": "all", "timeline": "all"}).content.decode()
        assert html.count('class="thread-item') == 60
        assert "earlier messages" not in html
        assert html.count('<li class="timeline-') == busy.events.count()
        assert "thread=all&amp;timeline=all" in html  # the live poll keeps both open

    def test_same_queries_with_300_messages(self, client, marketer, busy, advisor):
        client.force_login(marketer)
        url = reverse("campaigns:detail", args=[busy.pk])

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            return len(queries)

        before = count()
        Feedback.objects.bulk_create(
            Feedback(campaign=busy, author=advisor, tag="positive", body="Bien reçu")
            for _ in range(240)
        )
        assert count() == before
