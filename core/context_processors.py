from django.conf import settings
from django.http import HttpRequest


def passerelle(request: HttpRequest) -> dict[str, object]:
    return {"signup_open": settings.PASSERELLE_SIGNUP_OPEN}
