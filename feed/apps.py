from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedConfig(AppConfig):
    """What went out and what is coming, for stakeholders: the weekly feed, the Monday
    "week ahead" e-mail, and the Atom and iCalendar subscriptions. Reads campaigns; writes
    nothing of its own but acknowledgements, through campaigns.services."""

    name = "feed"
    verbose_name = _("Weekly feed")
