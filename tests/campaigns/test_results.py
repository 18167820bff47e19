"""Recording results after launch: the service's rules and its timeline event, and target
against actual on the campaign page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignEvent, Kpi
from core.errors import DomainError, PermissionRefused
from tests.factories import (
    CampaignFactory,
    StakeholderFactory,
    announced_campaign,
    make_marketer,
)

pytestmark = pytest.mark.django_db

Status = Campaign.Status
EventKind = CampaignEvent.Kind


def _with_kpis(campaign: Campaign) -> tuple[Kpi, Kpi]:
    return (
        Kpi.objects.create(campaign=campaign, name="Commandes", target=1200, position=0),
        Kpi.objects.create(campaign=campaign, name="Désinscriptions", target=None, position=1),
    )


@pytest.fixture
def launched(marketer, support_team) -> Campaign:
    """Announced after it went out two days ago."""
    campaign = CampaignFactory(owner=marketer, launch_at=timezone.now() - timedelta(days=2))
    StakeholderFactory(campaign=campaign, team=support_team)
    services.campaign_announce(
        actor=marketer, campaign_id=campaign.pk, already_sent_reason="Annonce oubliée."
    )
    return Campaign.objects.get(pk=campaign.pk)


def _results_events(campaign: Campaign):
    return CampaignEvent.objects.filter(campaign=campaign, kind=EventKind.RESULTS)


class TestRecord:
    def test_writes_actuals_and_one_event_with_the_changes(self, launched, marketer):
        orders, unsubscribes = _with_kpis(launched)

        services.campaign_record_results(
            actor=marketer, campaign_id=launched.pk, actuals={orders.pk: 900, unsubscribes.pk: 12}
        )

        orders.refresh_from_db()
        unsubscribes.refresh_from_db()
        assert (orders.actual, unsubscribes.actual) == (900, 12)
        (event,) = _results_events(launched)
        assert event.actor == marketer
        assert event.version == launched.version
        assert event.details == {
            "results": [
                {"kpi": "Commandes", "unit": "count", "before": None, "after": "900"},
                {"kpi": "Désinscriptions", "unit": "count", "before": None, "after": "12"},
            ]
        }

    def test_only_changed_values_are_recorded(self, launched, marketer):
        orders, unsubscribes = _with_kpis(launched)
        actuals = {orders.pk: 900, unsubscribes.pk: 12}
        services.campaign_record_results(actor=marketer, campaign_id=launched.pk, actuals=actuals)

        services.campaign_record_results(actor=marketer, campaign_id=launched.pk, actuals=actuals)
        assert _results_events(launched).count() == 1  # same values: nothing to record

        services.campaign_record_results(
            actor=marketer, campaign_id=launched.pk, actuals={orders.pk: 950, unsubscribes.pk: 12}
        )
        latest = _results_events(launched).last()
        assert latest.details == {
            "results": [{"kpi": "Commandes", "unit": "count", "before": "900", "after": "950"}]
        }

    def test_none_clears_a_value(self, launched, marketer):
        orders, _ = _with_kpis(launched)
        services.campaign_record_results(
            actor=marketer, campaign_id=launched.pk, actuals={orders.pk: 10}
        )

        services.campaign_record_results(
            actor=marketer, campaign_id=launched.pk, actuals={orders.pk: None}
        )

        orders.refresh_from_db()
        assert orders.actual is None

    def test_co_editors_and_managers_may_record_and_once_done_too(
        self, launched, marketer, manager, advisor
    ):
        orders, _ = _with_kpis(launched)
        services.campaign_acknowledge(actor=advisor, campaign_id=launched.pk)
        services.campaign_mark_done(actor=marketer, campaign_id=launched.pk)
        co_editor = make_marketer()
        launched.editors.add(co_editor)

        services.campaign_record_results(
            actor=co_editor, campaign_id=launched.pk, actuals={orders.pk: 1300}
        )
        services.campaign_record_results(
            actor=manager, campaign_id=launched.pk, actuals={orders.pk: 1310}
        )

        assert Kpi.objects.get(pk=orders.pk).actual == 1310

    def test_refused_before_launch(self, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        orders, _ = _with_kpis(campaign)

        with pytest.raises(DomainError) as refused:
            services.campaign_record_results(
                actor=marketer, campaign_id=campaign.pk, actuals={orders.pk: 5}
            )

        assert refused.value.code == "not_launched"
        assert refused.value.message == "Results can be recorded once the campaign has launched."
        assert Kpi.objects.get(pk=orders.pk).actual is None
        assert not _results_events(campaign).exists()

    def test_refused_on_a_draft_or_cancelled_campaign(self, marketer):
        draft = CampaignFactory(owner=marketer, launch_at=timezone.now() - timedelta(days=1))
        cancelled = CampaignFactory(
            owner=marketer, launch_at=timezone.now() - timedelta(days=1), status=Status.CANCELLED
        )
        for campaign in (draft, cancelled):
            orders, _ = _with_kpis(campaign)
            with pytest.raises(DomainError) as refused:
                services.campaign_record_results(
                    actor=marketer, campaign_id=campaign.pk, actuals={orders.pk: 5}
                )
            assert refused.value.code == "results_closed"

    @pytest.mark.parametrize("role", ["advisor", "another_marketer"])
    def test_refused_to_anyone_but_the_owner_co_editors_and_managers(self, launched, role, request):
        orders, _ = _with_kpis(launched)
        actor = make_marketer() if role == "another_marketer" else request.getfixturevalue(role)

        with pytest.raises(PermissionRefused) as refused:
            services.campaign_record_results(
                actor=actor, campaign_id=launched.pk, actuals={orders.pk: 5}
            )

        assert refused.value.message == (
            "Only the campaign's owner, its co-editors and managers can record its results."
        )
        assert Kpi.objects.get(pk=orders.pk).actual is None

    def test_negative_value_is_refused_field_by_field(self, launched, marketer):
        orders, unsubscribes = _with_kpis(launched)

        with pytest.raises(DomainError) as refused:
            services.campaign_record_results(
                actor=marketer,
                campaign_id=launched.pk,
                actuals={orders.pk: 900, unsubscribes.pk: -1},
            )

        assert refused.value.field_errors == {
            f"kpi_{unsubscribes.pk}": ["Désinscriptions: the actual value cannot be negative."]
        }
        assert Kpi.objects.get(pk=orders.pk).actual is None  # all or nothing
        assert not _results_events(launched).exists()

    def test_value_too_large_for_the_column(self, launched, marketer):
        orders, _ = _with_kpis(launched)

        with pytest.raises(DomainError) as refused:
            services.campaign_record_results(
                actor=marketer, campaign_id=launched.pk, actuals={orders.pk: 10**10}
            )

        assert refused.value.field_errors == {
            f"kpi_{orders.pk}": ["Commandes: the actual value is too large."]
        }

    def test_another_campaigns_kpi_is_refused(self, launched, marketer):
        other = _with_kpis(CampaignFactory(owner=marketer))[0]

        with pytest.raises(DomainError) as refused:
            services.campaign_record_results(
                actor=marketer, campaign_id=launched.pk, actuals={other.pk: 5}
            )

        assert refused.value.code == "unknown_kpi"
        assert Kpi.objects.get(pk=other.pk).actual is None


class TestKpiResults:
    def test_percentage_of_target_and_a_capped_bar(self, launched):
        rows = [
            Kpi(campaign=launched, name="a", target=1200, actual=900),
            Kpi(campaign=launched, name="b", target=35, actual=42),
            Kpi(campaign=launched, name="c", target=None, actual=3),
            Kpi(campaign=launched, name="d", target=0, actual=3),
            Kpi(campaign=launched, name="e", target=10, actual=None),
        ]
        results = [selectors.KpiResult(kpi) for kpi in rows]

        assert [r.percent for r in results] == [75, 120, None, None, None]
        assert [r.bar for r in results] == [75, 100, 0, 0, 0]


class TestPage:
    def _url(self, campaign: Campaign) -> str:
        return reverse("campaigns:results", args=[campaign.pk])

    def test_target_against_actual(self, client, launched, marketer):
        orders, unsubscribes = _with_kpis(launched)
        Kpi.objects.filter(pk=orders.pk).update(actual=900)
        Kpi.objects.create(campaign=launched, name="Ouvertures", target=350, actual=420, position=2)
        client.force_login(marketer)

        html = client.get(reverse("campaigns:detail", args=[launched.pk])).content.decode()

        results = html[html.index('id="results"') : html.index('id="feedback"')]
        assert "1,200" in results
        assert f'name="kpi_{orders.pk}" value="900"' in results
        assert f'name="kpi_{unsubscribes.pk}" value=""' in results
        assert "75%" in results
        assert '<rect class="kpi-bar-fill" width="75"' in results
        assert "120%" in results
        assert '<rect class="kpi-bar-fill" width="100"' in results  # capped
        assert "kpi-progress is-met" in results
        assert "Save results" in results

    def test_stakeholders_read_results_without_a_form(self, client, launched, advisor):
        orders, _ = _with_kpis(launched)
        Kpi.objects.filter(pk=orders.pk).update(actual=1500)
        client.force_login(advisor)

        html = client.get(reverse("campaigns:detail", args=[launched.pk])).content.decode()

        results = html[html.index('id="results"') : html.index('id="feedback"')]
        assert "1,500" in results
        assert "125%" in results
        assert "<input" not in results
        assert "Save results" not in results

    def test_marketer_is_told_results_come_after_launch(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        _with_kpis(campaign)
        client.force_login(marketer)

        html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

        results = html[html.index('id="results"') : html.index('id="feedback"')]
        assert "Results can be recorded once the campaign has launched." in results
        assert "<input" not in results

    def test_htmx_post_returns_the_results_and_the_timeline(self, client, launched, marketer):
        orders, unsubscribes = _with_kpis(launched)
        client.force_login(marketer)

        response = client.post(
            self._url(launched),
            {f"kpi_{orders.pk}": "900", f"kpi_{unsubscribes.pk}": ""},
            HTTP_HX_REQUEST="true",
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert html.lstrip().startswith('<article id="results"')
        assert "Results saved." in html
        assert "75%" in html
        assert '<article id="timeline" aria-labelledby="timeline-title" hx-swap-oob="true">' in html
        assert "Commandes: – → 900" in html
        assert Kpi.objects.get(pk=orders.pk).actual == 900

    def test_plain_post_redirects_to_the_results(self, client, launched, marketer):
        orders, _ = _with_kpis(launched)
        client.force_login(marketer)

        response = client.post(self._url(launched), {f"kpi_{orders.pk}": "900"})

        assert response.status_code == 302
        assert response.url == reverse("campaigns:detail", args=[launched.pk]) + "#results"
        assert "Results saved." in client.get(response.url).content.decode()

    def test_refusals_come_back_next_to_the_field(self, client, launched, marketer):
        orders, unsubscribes = _with_kpis(launched)
        client.force_login(marketer)

        response = client.post(
            self._url(launched),
            {f"kpi_{orders.pk}": "beaucoup", f"kpi_{unsubscribes.pk}": "-4"},
            HTTP_HX_REQUEST="true",
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert "Enter a number, e.g. 2.74 or 1500." in html
        assert 'value="beaucoup"' in html
        assert Kpi.objects.get(pk=orders.pk).actual is None

        response = client.post(
            self._url(launched), {f"kpi_{orders.pk}": "10", f"kpi_{unsubscribes.pk}": "-4"}
        )

        html = response.content.decode()
        assert response.status_code == 400
        assert "Désinscriptions: the actual value cannot be negative." in html
        assert f'id="kpi_{unsubscribes.pk}" name="kpi_{unsubscribes.pk}" value="-4"' in html
        assert 'aria-invalid="true"' in html
        assert Kpi.objects.get(pk=orders.pk).actual is None

    def test_before_launch_the_refusal_is_explained(self, client, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        orders, _ = _with_kpis(campaign)
        client.force_login(marketer)

        response = client.post(
            self._url(campaign), {f"kpi_{orders.pk}": "3"}, HTTP_HX_REQUEST="true"
        )

        assert "Results can be recorded once the campaign has launched." in (
            response.content.decode()
        )
        assert Kpi.objects.get(pk=orders.pk).actual is None

    def test_stakeholder_gets_403(self, client, launched, advisor):
        orders, _ = _with_kpis(launched)
        client.force_login(advisor)

        response = client.post(self._url(launched), {f"kpi_{orders.pk}": "3"})

        assert response.status_code == 403
        assert Kpi.objects.get(pk=orders.pk).actual is None
