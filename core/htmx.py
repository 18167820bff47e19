from django.http import HttpRequest


def wants_fragment(request: HttpRequest) -> bool:
    """True when htmx asked for a piece of the page rather than a boosted full page."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not htmx.boosted
