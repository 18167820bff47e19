"""Whether the nav shows "Dashboard" and "Integrations" is decided once, at login, not on
every page."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from dashboards.context_processors import (
    remember_dashboard_access,
    remember_integrations_access,
)
from dashboards.selectors import user_can_view_dashboard
from teams.roles import Actor


@receiver(user_logged_in, dispatch_uid="dashboards.remember_access_at_login")
def remember_access_at_login(
    sender: type, request: HttpRequest | None, user: User, **kwargs: object
) -> None:
    if request is not None:
        remember_dashboard_access(request, allowed=user_can_view_dashboard(user=user))
        remember_integrations_access(request, allowed=Actor.of(user).is_manager)
