"""KPIs as marketers measure them: decimals, a unit (count, %, €) and a direction, so
unsubscribes at 274 % of their target read as bad news, not good."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from campaigns import selectors, services
from campaigns.kpis import kpi_number_parse, kpi_value_format
from campaigns.models import Campaign, Kpi
from campaigns.services import KpiInput
from core.errors import DomainError
from tests.factories import CampaignFactory, StakeholderFactory

pytestmark = pytest.mark.django_db

Unit = Kpi.Unit
Direction = Kpi.Direction


@pytest.mark.parametrize(
    ("typed", "language", "number"),
    [
        ("2.74", "en", Decimal("2.74")),
        ("2,74 %", "fr", Decimal("2.74")),
        ("2,74", "en", Decimal("2.74")),
        ("1 500", "fr", Decimal("1500")),
        ("1\u202f500,50 €", "fr", Decimal("1500.50")),
        ("1,500", "en", Decimal("1500")),
        ("1,500", "fr", Decimal("1.5")),
        ("€1,500.50", "en", Decimal("1500.50")),
        ("1.500,50", "fr", Decimal("1500.50")),
        ("", "en", None),
        ("  ", "fr", None),
    ],
)
def test_figures_are_read_as_people_type_them(typed, language, number):
    assert kpi_number_parse(typed, language=language) == number


@pytest.mark.parametrize("typed", ["beaucoup", "1e5", "2..5", "--1", "NaN", "Infinity"])
def test_anything_else_is_not_a_number(typed):
    with pytest.raises(ValueError, match="not a number"):
        kpi_number_parse(typed, language="en")


@pytest.mark.parametrize(
    ("value", "unit", "english", "french"),
    [
        (Decimal("2.74"), Unit.PERCENT, "2.74%", "2,74\u00a0%"),
        (Decimal("1500"), Unit.EUR, "€1,500", "1\u202f500\u00a0€"),
        (Decimal("1500.5"), Unit.EUR, "€1,500.50", "1\u202f500,50\u00a0€"),
        (Decimal("12000"), Unit.COUNT, "12,000", "12\u202f000"),
        (None, Unit.COUNT, "–", "–"),
    ],
)
def test_figures_are_shown_with_their_unit_in_each_language(value, unit, english, french):
    with translation.override("en"):
        assert kpi_value_format(value, unit) == english
    with translation.override("fr"):
        shown = kpi_value_format(value, unit)
    # Django's French thousands separator is a no-break space (narrow in recent versions).
    assert shown.replace("\u00a0", " ").replace("\u202f", " ") == french.replace(
        "\u00a0", " "
    ).replace("\u202f", " ")


class TestServiceRules:
    @pytest.mark.parametrize(
        ("kpi", "message"),
        [
            (
                KpiInput(name="Désinscriptions", target=Decimal("274"), unit=Unit.PERCENT),
                "Désinscriptions: a percentage is at most 100 (type 2.74 for 2.74 %, not 274).",
            ),
            (
                KpiInput(name="Commandes", target=Decimal("12.5"), unit=Unit.COUNT),
                "Commandes: a count is a whole number; choose % or € for a rate or an amount.",
            ),
            (
                KpiInput(name="CA", target=Decimal("12.555"), unit=Unit.EUR),
                "CA: the target has more than two decimals.",
            ),
            (
                KpiInput(name="CA", target=Decimal("10000000000"), unit=Unit.EUR),
                "CA: the target is too large.",
            ),
            (
                KpiInput(name="CA", target=Decimal(1), unit="kg"),
                "Choose a unit: count, percentage or euros.",
            ),
            (
                KpiInput(name="CA", target=Decimal(1), direction="sideways"),
                "Choose whether higher or lower is better.",
            ),
        ],
    )
    def test_bad_targets_are_refused_with_a_clear_message(self, kpi, message):
        assert services.kpis_validate([kpi]) == [message]

    def test_a_refused_kpi_saves_nothing(self, marketer, draft_campaign):
        data = services.CampaignInput(
            title=draft_campaign.title,
            channel=draft_campaign.channel,
            launch_at=draft_campaign.launch_at,
            team_ids=list(draft_campaign.stakeholders.values_list("team_id", flat=True)),
            kpis=[KpiInput(name="Taux", target=Decimal("274"), unit=Unit.PERCENT)],
        )
        with pytest.raises(DomainError):
            services.campaign_update(actor=marketer, campaign_id=draft_campaign.pk, data=data)
        assert not Kpi.objects.filter(campaign=draft_campaign).exists()


@pytest.fixture
def launched(marketer, support_team) -> Campaign:
    campaign = CampaignFactory(owner=marketer, launch_at=timezone.now() - timedelta(days=2))
    StakeholderFactory(campaign=campaign, team=support_team)
    services.campaign_announce(
        actor=marketer, campaign_id=campaign.pk, already_sent_reason="Annonce oubliée."
    )
    return Campaign.objects.get(pk=campaign.pk)


class TestResults:
    def test_lower_is_better_over_target_is_missed_and_under_is_met(self, launched):
        unsubscribes = Kpi(
            campaign=launched,
            name="Désinscriptions",
            unit=Unit.PERCENT,
            direction=Direction.LOWER,
            target=Decimal("1.00"),
            actual=Decimal("2.74"),
        )
        clicks = Kpi(campaign=launched, name="Clics", target=100, actual=Decimal(110))

        missed, met = selectors.KpiResult(unsubscribes), selectors.KpiResult(clicks)

        assert (missed.percent, missed.met) == (274, False)
        assert (met.percent, met.met) == (110, True)
        unsubscribes.actual = Decimal("0.40")
        assert selectors.KpiResult(unsubscribes).met is True
        clicks.actual = Decimal(90)
        assert selectors.KpiResult(clicks).met is False

    def test_page_shows_units_direction_and_red_for_off_target(
        self, client, marketer, launched, django_assert_max_num_queries
    ):
        Kpi.objects.create(
            campaign=launched,
            name="Désinscriptions",
            unit=Unit.PERCENT,
            direction=Direction.LOWER,
            target=Decimal("1"),
            actual=Decimal("2.74"),
        )
        Kpi.objects.create(
            campaign=launched, name="CA", unit=Unit.EUR, target=Decimal("15000"), position=1
        )
        client.force_login(marketer)

        with django_assert_max_num_queries(40):
            html = client.get(reverse("campaigns:detail", args=[launched.pk])).content.decode()

        assert "lower is better" in html
        assert "higher is better" in html
        assert "€15,000" in html
        assert 'value="2.74"' in html
        assert 'class="kpi-progress is-missed"' in html
        assert "274%" in html
        assert "off target" in html

    def test_results_typed_in_french_with_a_comma_are_stored_as_decimals(
        self, client, marketer, launched
    ):
        kpi = Kpi.objects.create(
            campaign=launched,
            name="Désinscriptions",
            unit=Unit.PERCENT,
            direction=Direction.LOWER,
            target=Decimal("1"),
        )
        marketer.language = "fr"
        marketer.save()
        client.force_login(marketer)

        with translation.override("fr"):
            client.post(
                reverse("campaigns:results", args=[launched.pk]),
                {f"kpi_{kpi.pk}": "2,74 %"},
                HTTP_ACCEPT_LANGUAGE="fr",
            )

        kpi.refresh_from_db()
        assert kpi.actual == Decimal("2.74")
        event = launched.events.get(kind="results")
        assert event.details["results"] == [
            {"kpi": "Désinscriptions", "unit": "percent", "before": None, "after": "2.74"}
        ]

    def test_a_rate_over_100_is_refused_next_to_its_field(self, client, marketer, launched):
        kpi = Kpi.objects.create(campaign=launched, name="Ouvertures", unit=Unit.PERCENT)
        client.force_login(marketer)

        response = client.post(
            reverse("campaigns:results", args=[launched.pk]), {f"kpi_{kpi.pk}": "274"}
        )

        assert response.status_code == 400
        assert "Ouvertures: a percentage is at most 100" in response.content.decode()
        kpi.refresh_from_db()
        assert kpi.actual is None


class TestForm:
    def _post(self, client, **rows):
        data = {
            "title": "Relance panier",
            "channel": "email",
            "audience": "Paniers abandonnés",
            "estimated_recipients": "1200",
            "launch_at": (timezone.localtime() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
            "ends_at": "",
            "summary": "",
            "body": "## Points clés",
            "objective": "",
            "defaults_channel": "",
            "kpis-TOTAL_FORMS": "2",
            "kpis-INITIAL_FORMS": "0",
            "kpis-MIN_NUM_FORMS": "0",
            "kpis-MAX_NUM_FORMS": "20",
            "kpis-0-name": "Désinscriptions",
            "kpis-0-unit": "percent",
            "kpis-0-direction": "lower",
            "kpis-1-name": "CA",
            "kpis-1-unit": "eur",
            "kpis-1-direction": "higher",
            "kpis-1-target": "15 000,50",
            **rows,
        }
        return client.post(reverse("campaigns:create"), data)

    def test_units_directions_and_decimal_targets_are_saved(self, client, marketer):
        client.force_login(marketer)

        response = self._post(client, **{"kpis-0-target": "0,5"})

        assert response.status_code == 302
        kpis = list(Kpi.objects.order_by("position"))
        assert [(k.name, k.unit, k.direction, k.target) for k in kpis] == [
            ("Désinscriptions", "percent", "lower", Decimal("0.50")),
            ("CA", "eur", "higher", Decimal("15000.50")),
        ]
        edit = client.get(reverse("campaigns:edit", args=[kpis[0].campaign_id])).content.decode()
        assert 'value="0.50"' in edit or 'value="0.5"' in edit
        assert '<option value="lower" selected>' in edit

    def test_a_rate_typed_as_274_is_refused_and_nothing_is_saved(self, client, marketer):
        client.force_login(marketer)

        response = self._post(client, **{"kpis-0-target": "274"})

        html = response.content.decode()
        assert response.status_code == 200
        assert "a percentage is at most 100" in html
        assert 'value="274"' in html
        assert not Campaign.objects.exists()
