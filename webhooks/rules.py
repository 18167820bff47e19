"""Who may manage outgoing webhooks: managers only. The only place it is written.

An endpoint receives every campaign's title, dates, names of the people who act on it and
the thread's messages, so registering one is a decision for someone who oversees every
team. Services call `require_manage_webhooks`; views ask `may_manage_webhooks`.
"""

from django.utils.translation import gettext as _

from core.errors import PermissionRefused
from teams.roles import Actor


def may_manage_webhooks(actor: Actor) -> bool:
    return actor.is_active and actor.is_manager


def require_manage_webhooks(actor: Actor) -> None:
    if not may_manage_webhooks(actor):
        raise PermissionRefused(_("Only managers can manage webhooks."))
