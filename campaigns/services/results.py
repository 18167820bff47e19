"""After launch: the actual value of each KPI, against its target."""

from collections.abc import Mapping
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.kpis import kpi_number_text
from campaigns.models import Campaign, Kpi
from campaigns.rules import Action
from campaigns.services.common import EventKind, lock_campaign, record, require
from campaigns.services.editing import kpi_value_errors
from core.errors import DomainError


def campaign_record_results(
    *,
    actor: User,
    campaign_id: int,
    actuals: Mapping[int, Decimal | int | None],
    source: str = "",
) -> Campaign:
    """Record the actual value of some of the campaign's KPIs (by KPI id; None clears one).

    Its owner, co-editors or a manager, once the campaign has launched (announced or
    done, launch date past: campaigns.rules). One transaction with the campaign row
    locked; only values that change are written, and listed on one RESULTS timeline
    event. Idempotent: the same values again write nothing. `source` names the tool that
    pushed the figures (the API's `PUT …/results`); "" is a person on the results form.
    """
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        require(Action.RECORD_RESULTS, actor, campaign)
        kpis = {kpi.pk: kpi for kpi in Kpi.objects.select_for_update().filter(campaign=campaign)}
        if unknown := sorted(set(actuals) - set(kpis)):
            raise DomainError(
                _("Unknown indicator(s) for this campaign: %(ids)s.") % {"ids": unknown},
                code="unknown_kpi",
            )
        errors: dict[str, list[str]] = {}
        for kpi_id, value in actuals.items():
            kpi = kpis[kpi_id]
            if messages := kpi_value_errors(value, unit=kpi.unit, kpi=kpi.name, actual=True):
                errors[f"kpi_{kpi_id}"] = messages
        if errors:
            raise DomainError.for_fields(errors)
        changed = []
        changes = []
        now = timezone.now()
        for kpi in sorted(kpis.values(), key=lambda k: (k.position, k.pk)):
            after = _two_decimals(actuals.get(kpi.pk))
            if kpi.pk in actuals and after != kpi.actual:
                # The timeline keeps figures as text (JSON has no decimals) with their unit.
                changes.append(
                    {
                        "kpi": kpi.name,
                        "unit": kpi.unit,
                        "before": kpi_number_text(kpi.actual),
                        "after": kpi_number_text(after),
                    }
                )
                kpi.actual = after
                kpi.actual_source = source
                kpi.actual_recorded_at = now
                changed.append(kpi)
        if changed:
            Kpi.objects.bulk_update(changed, ["actual", "actual_source", "actual_recorded_at"])
            details: dict[str, object] = {"results": changes}
            if source:
                details["source"] = source
            record(campaign, actor, EventKind.RESULTS, details)
    return campaign


def _two_decimals(value: Decimal | int | None) -> Decimal | None:
    """As the column stores it, so "the same value again" compares equal (900 = 900.00)."""
    return None if value is None else Decimal(value).quantize(Decimal("0.01"))
