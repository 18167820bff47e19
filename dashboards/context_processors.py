from django.http import HttpRequest

# Set at login (dashboards.signals) and refreshed by the pages they lead to, so rendering
# the nav's links costs no query on any page.
NAV_SESSION_KEY = "dashboards:can_view"
NAV_INTEGRATIONS_KEY = "api:can_set_up_integrations"


def dashboard(request: HttpRequest) -> dict[str, object]:
    """`can_view_dashboard` for the "Dashboard" nav link (managers and team leads), and
    `can_set_up_integrations` for the "Integrations" one (managers only: a lead shown it
    met a refusal).

    Read from the session rather than asked of the database on every page: a person who
    becomes a lead or a manager sees the link at their next login, or as soon as they
    open the page's URL."""
    session = getattr(request, "session", None)
    return {
        "can_view_dashboard": bool(session and session.get(NAV_SESSION_KEY)),
        "can_set_up_integrations": bool(session and session.get(NAV_INTEGRATIONS_KEY)),
    }


def _remember(request: HttpRequest, key: str, allowed: bool) -> None:
    session = getattr(request, "session", None)
    if session is not None and session.get(key) != allowed:
        session[key] = allowed


def remember_dashboard_access(request: HttpRequest, *, allowed: bool) -> None:
    _remember(request, NAV_SESSION_KEY, allowed)


def remember_integrations_access(request: HttpRequest, *, allowed: bool) -> None:
    _remember(request, NAV_INTEGRATIONS_KEY, allowed)
