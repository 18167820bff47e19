"""anymail's webhook URLs, answering 404 for a provider that is not configured.

anymail mounts a tracking and an inbound URL for every provider it knows, and each view
reads its provider's settings (a signing key, boto3 for Amazon SES) when a request
arrives: for every provider Passerelle is not set up with, any request was a 500. Such a
URL now answers "not found", like any URL that leads nowhere; a configured provider's
webhooks are untouched (docs/EMAIL.md).
"""

import functools
from collections.abc import Callable
from typing import Any

from anymail.exceptions import AnymailConfigurationError, AnymailImproperlyInstalled
from anymail.urls import app_name as anymail_app_name
from anymail.urls import urlpatterns as anymail_urlpatterns
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern

app_name = anymail_app_name


def _not_found_unless_configured(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (AnymailConfigurationError, AnymailImproperlyInstalled):
            raise Http404("This e-mail provider is not configured.") from None

    return wrapper


urlpatterns = [
    URLPattern(
        entry.pattern,
        _not_found_unless_configured(entry.callback),
        entry.default_args,
        entry.name,
    )
    for entry in anymail_urlpatterns
    if isinstance(entry, URLPattern)
]
