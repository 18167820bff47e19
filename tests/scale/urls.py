"""URLs for the real-replica tests (test_replicas.py): the app's own, with the read-only
pages opted in to the replica as their views would be, plus small probe views.

The dashboards, the weekly feed (with its CSV export) and the subscription feeds are
wrapped in `reads_from_replica` here because this change does not edit their views; the
decorator only lets GET and HEAD through, so their POST views stay on the primary.
"""

import json

from django.db import router, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path
from django.views.decorators.http import require_GET, require_POST

from hub import urls
from hub.db_routing import reads_from_replica
from teams.models import Team

READ_ONLY_NAMESPACES = {"dashboards", "feed", "subscriptions"}


def _on_replica(resolver: URLResolver) -> URLResolver:
    patterns = [
        URLPattern(p.pattern, reads_from_replica(p.callback), p.default_args, p.name)
        for p in resolver.url_patterns
        if isinstance(p, URLPattern)
    ]
    return URLResolver(
        resolver.pattern, patterns, resolver.default_kwargs, resolver.app_name, resolver.namespace
    )


def _teams(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "teams": sorted(Team.objects.values_list("name", flat=True)),
            "read_from": router.db_for_read(Team),
        }
    )


replica_teams = require_GET(reads_from_replica(_teams))
primary_teams = require_GET(_teams)


@require_POST
def add_team(request: HttpRequest) -> HttpResponse:
    name = request.POST["name"]
    Team.objects.create(name=name, slug=name.lower().replace(" ", "-"))
    return HttpResponse(status=204)


@require_GET
@reads_from_replica
def reads_and_writes(request: HttpRequest) -> HttpResponse:
    """An opted-in view that also writes: where each of its statements was sent."""
    routes = {"plain read": Team.objects.all().db}
    Team.objects.count()
    with transaction.atomic():
        routes["read in a transaction"] = router.db_for_read(Team)
        Team.objects.count()
        routes["select_for_update"] = Team.objects.select_for_update().db
        list(Team.objects.select_for_update())
    team, _ = Team.objects.get_or_create(name="Written", slug="written")
    routes["write"] = router.db_for_write(Team)
    routes["read after the write"] = Team.objects.all().db
    Team.objects.filter(pk=team.pk).count()
    return HttpResponse(json.dumps(routes), content_type="application/json")


urlpatterns = [
    path("probe/teams/", replica_teams, name="replica_teams"),
    path("probe/teams/primary/", primary_teams, name="primary_teams"),
    path("probe/teams/add/", add_team, name="add_team"),
    path("probe/reads-and-writes/", reads_and_writes, name="reads_and_writes"),
    *(
        _on_replica(p) if isinstance(p, URLResolver) and p.namespace in READ_ONLY_NAMESPACES else p
        for p in urls.urlpatterns
    ),
]
