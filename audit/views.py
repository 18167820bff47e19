"""The managers' audit page: thin, over audit.selectors."""

from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from audit import selectors
from audit.forms import AuditFilterForm
from core.htmx import wants_fragment
from core.http import AuthenticatedHttpRequest
from core.xlsx_export import table_download
from dashboards.selectors import dashboard_scope


def _require_manager(request: AuthenticatedHttpRequest) -> None:
    # The dashboards' rule: managers see every team; team leads (a scope of their own
    # teams) and everyone else may not read the log.
    scope = dashboard_scope(user=request.user)
    if scope is None or not scope.is_everything:
        raise PermissionDenied(_("Only managers can read the audit log."))


def _table(export_format: str, filters: selectors.AuditFilters) -> HttpResponseBase:
    header = [_("When"), _("Who"), _("What"), _("About"), _("Target"), _("Details"), _("IP")]

    def rows() -> Iterator[list[object]]:
        for row in selectors.audit_rows_all(filters=filters):
            event = row.event
            yield [
                event.occurred_at.replace(microsecond=0),
                row.actor,
                event.get_action_display(),
                selectors.type_label(event.target_type) if event.target_type else "",
                row.target,
                "; ".join(f"{what}: {how}" if what else how for what, how in row.details),
                event.ip or "",
            ]

    return table_download(
        export_format, "passerelle-audit-log", header, rows(), sheet_title=_("Audit log")
    )


@require_GET
@vary_on_headers("HX-Request")
def audit_log(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """Every audit event, newest first, a page at a time, with filters; `?format=csv`
    (or `xlsx`) downloads every event the filters keep. An htmx request gets only the rows."""
    _require_manager(request)
    form = AuditFilterForm(request.GET)
    form.is_valid()  # invalid fields are shown with their error and left out
    filters = form.to_filters(tz=timezone.get_current_timezone())
    export_format = request.GET.get("format", "")
    if export_format in {"csv", "xlsx"}:
        return _table(export_format, filters)
    cursor = request.GET.get("after", "")
    page = selectors.audit_page(filters=filters, cursor=cursor)
    query = request.GET.copy()
    for key in ("after", "format"):
        query.pop(key, None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    if wants_fragment(request):
        # "Show more" appends rows; a change of the filters replaces the results.
        partial = "rows" if cursor and not page.restarted else "results"
        return render(request, f"audit/log.html#{partial}", context)
    return render(request, "audit/log.html", context)
