"""After launch: the actual value of each KPI, against its target."""

from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.models import Campaign, Kpi
from campaigns.rules import Action
from campaigns.services.common import EventKind, lock_campaign, record, require
from campaigns.services.editing import MAX_WHOLE_NUMBER
from core.errors import DomainError


def campaign_record_results(
    *, actor: User, campaign_id: int, actuals: Mapping[int, int | None]
) -> Campaign:
    """Record the actual value of some of the campaign's KPIs (by KPI id; None clears one).

    Its owner, co-editors or a manager, once the campaign has launched (announced or
    done, launch date past: campaigns.rules). One transaction with the campaign row
    locked; only values that change are written, and listed on one RESULTS timeline
    event. Idempotent: the same values again write nothing.
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
            if value is not None and value < 0:
                errors[f"kpi_{kpi_id}"] = [
                    _("%(kpi)s: the actual value cannot be negative.") % {"kpi": kpis[kpi_id].name}
                ]
            elif value is not None and value > MAX_WHOLE_NUMBER:
                errors[f"kpi_{kpi_id}"] = [
                    _("%(kpi)s: the actual value is too large.") % {"kpi": kpis[kpi_id].name}
                ]
        if errors:
            raise DomainError.for_fields(errors)
        changed = []
        changes = []
        for kpi in sorted(kpis.values(), key=lambda k: (k.position, k.pk)):
            if kpi.pk in actuals and actuals[kpi.pk] != kpi.actual:
                changes.append({"kpi": kpi.name, "before": kpi.actual, "after": actuals[kpi.pk]})
                kpi.actual = actuals[kpi.pk]
                changed.append(kpi)
        if changed:
            Kpi.objects.bulk_update(changed, ["actual"])
            record(campaign, actor, EventKind.RESULTS, {"results": changes})
    return campaign
