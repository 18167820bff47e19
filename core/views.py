import logging

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from core.http import AuthenticatedHttpRequest, actor_of

logger = logging.getLogger(__name__)


@login_not_required
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Liveness and database reachability, for load balancers and compose health checks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not healthy"
        # Logged, not shown: the error names hosts and users to anyone who asks.
        logger.exception("health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok"})


def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Marketers and managers start on the campaign list; stakeholders on this week's feed."""
    if actor_of(request).writes_campaigns:
        return redirect("campaigns:list")
    return redirect("feed:this_week")
