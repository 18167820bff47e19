"""After launch: recording the actual value of each KPI."""

import re
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import services
from campaigns.kpis import kpi_number_parse
from campaigns.models import Campaign
from campaigns.views.page import detail_context, results_rows
from core.errors import DomainError
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest

_KPI_FIELD = re.compile(r"kpi_(\d{1,18})")


@require_POST
def campaign_results_record(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    actuals: dict[int, Decimal | None] = {}
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for key in request.POST:
        if not (match := _KPI_FIELD.fullmatch(key)):
            continue
        values[key] = request.POST.get(key, "").strip()
        try:
            actuals[int(match[1])] = kpi_number_parse(values[key])
        except ValueError:
            errors[key] = [_("Enter a number, e.g. 2.74 or 1500.")]
    try:
        if errors:
            raise DomainError.for_fields(errors)
        services.campaign_record_results(actor=request.user, campaign_id=pk, actuals=actuals)
    except DomainError as error:
        context = detail_context(
            request, pk, results_error="" if error.field_errors else error.message
        )
        campaign = context["campaign"]
        assert isinstance(campaign, Campaign)
        context["results"] = results_rows(campaign, values, error.field_errors)
        if wants_fragment(request):
            return render(request, "campaigns/partials/results_response.html", context)
        return render(request, "campaigns/detail.html", context, status=400)
    if wants_fragment(request):
        context = detail_context(request, pk, results_saved=True)
        return render(request, "campaigns/partials/results_response.html", context)
    messages.success(request, _("Results saved."))
    return HttpResponseRedirect(reverse("campaigns:detail", args=[pk]) + "#results")
