from django.conf import settings
from django.http import HttpRequest


def passerelle(request: HttpRequest) -> dict[str, object]:
    match = getattr(request, "resolver_match", None)
    return {
        "signup_open": settings.PASSERELLE_SIGNUP_OPEN,
        # Which section of the navigation is current; error pages have no match.
        "nav_app": match.app_name if match else "",
        "nav_url_name": match.url_name if match else "",
    }
