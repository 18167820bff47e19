from django.conf import settings
from django.http import HttpRequest

from core import fragments, pages


def passerelle(request: HttpRequest) -> dict[str, object]:
    match = getattr(request, "resolver_match", None)
    kept = (
        # A page to be kept holds placeholders, swapped for each reader's own (core.pages).
        {"csrf_token": fragments.CSRF_PLACEHOLDER, "csp_nonce": pages.NONCE_PLACEHOLDER}
        if pages.keeping(request)
        else {}
    )
    return {
        **kept,
        "signup_open": settings.PASSERELLE_SIGNUP_OPEN,
        "sso_only": settings.SSO_ONLY,
        # Which section of the navigation is current; error pages have no match.
        "nav_app": match.app_name if match else "",
        "nav_url_name": match.url_name if match else "",
    }
