from django.http import HttpRequest

# Set at login (dashboards.signals) and refreshed by the overview
# itself, so rendering the nav link costs no query on any page.
NAV_SESSION_KEY = "dashboards:can_view"


def dashboard(request: HttpRequest) -> dict[str, object]:
    """`can_view_dashboard` for the "Dashboard" nav link (managers and team leads).

    Read from the session rather than asked of the database on every page: a person who
    becomes a lead sees the link at their next login, or as soon as they open the
    dashboard's URL."""
    session = getattr(request, "session", None)
    return {"can_view_dashboard": bool(session and session.get(NAV_SESSION_KEY))}


def remember_dashboard_access(request: HttpRequest, *, allowed: bool) -> None:
    session = getattr(request, "session", None)
    if session is not None and session.get(NAV_SESSION_KEY) != allowed:
        session[NAV_SESSION_KEY] = allowed
