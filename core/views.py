import hmac
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core import health as checks
from core import metrics as pipeline_metrics
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


@login_not_required
@never_cache
@require_GET
def health_live(request: HttpRequest) -> HttpResponse:
    """The process is up and answers: no dependency is touched, so a database or Redis
    outage never gets a healthy process restarted (a liveness probe)."""
    return JsonResponse({"status": "ok"})


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": checks.check_database,
    "broker": checks.check_broker,
}


@login_not_required
@never_cache
@require_GET
def health_ready(request: HttpRequest) -> HttpResponse:
    """The database and the Celery broker both answer, each within a short timeout:
    503 naming the one that did not (and only its name: errors are logged, since they
    carry host names)."""
    results = {}
    for name, check in READINESS_CHECKS.items():
        try:
            check()
        except Exception as error:  # any failure of a dependency means "not ready"
            logger.warning("readiness: %s unreachable: %r", name, error)
            results[name] = "unreachable"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    return JsonResponse(
        {"status": "ok" if ready else "error", "checks": results}, status=200 if ready else 503
    )


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics (core.metrics), for requests bearing METRICS_TOKEN. Without a
    token configured the page does not exist (404), so it is never public by mistake."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: the time taken must not tell how much of a guess was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = pipeline_metrics.exposition(request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Marketers and managers start on the campaign list; stakeholders on this week's feed."""
    if actor_of(request).writes_campaigns:
        return redirect("campaigns:list")
    return redirect("feed:this_week")
