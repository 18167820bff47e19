"""Roles, and the person as the rules see them.

A role is a Django group holding permissions (synced after `migrate`, see
teams.services.roles_sync); team membership and leadership come from `Membership`.
Everyone with neither role is a stakeholder: they read what was announced to them and
acknowledge for their teams. `Actor` gathers what the rule books (campaigns.rules) need
to know about a person, read once per request.
"""

from collections.abc import Iterable
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser

if TYPE_CHECKING:
    from accounts.models import User

MARKETER = "Marketer"
MANAGER = "Manager"


class Perm(StrEnum):
    """Every permission the code checks, by name; nowhere else is one spelled out."""

    VIEW_CAMPAIGN = "campaigns.view_campaign"
    ADD_CAMPAIGN = "campaigns.add_campaign"
    CHANGE_CAMPAIGN = "campaigns.change_campaign"
    ANNOUNCE_CAMPAIGN = "campaigns.announce_campaign"
    CLOSE_CAMPAIGN = "campaigns.close_campaign"
    OVERRIDE_DONE = "campaigns.override_done_campaign"
    VIEW_DASHBOARD = "campaigns.view_dashboard"
    VIEW_TEAM = "teams.view_team"
    ADD_TEAM = "teams.add_team"
    CHANGE_TEAM = "teams.change_team"
    VIEW_MEMBERSHIP = "teams.view_membership"
    ADD_MEMBERSHIP = "teams.add_membership"
    CHANGE_MEMBERSHIP = "teams.change_membership"
    DELETE_MEMBERSHIP = "teams.delete_membership"


ROLE_PERMISSIONS: dict[str, list[Perm]] = {
    MARKETER: [
        Perm.VIEW_CAMPAIGN,
        Perm.ADD_CAMPAIGN,
        Perm.CHANGE_CAMPAIGN,
        Perm.ANNOUNCE_CAMPAIGN,
        Perm.CLOSE_CAMPAIGN,
    ],
    MANAGER: [
        Perm.VIEW_CAMPAIGN,
        Perm.CLOSE_CAMPAIGN,
        Perm.OVERRIDE_DONE,
        Perm.VIEW_DASHBOARD,
        Perm.VIEW_TEAM,
        Perm.ADD_TEAM,
        Perm.CHANGE_TEAM,
        Perm.VIEW_MEMBERSHIP,
        Perm.ADD_MEMBERSHIP,
        Perm.CHANGE_MEMBERSHIP,
        Perm.DELETE_MEMBERSHIP,
    ],
}

# The permission that makes someone a marketer (writes campaigns) or a manager (oversees
# every team, overrides the acknowledgement check). Superusers hold every permission, so both.
MARKETER_PERM = Perm.ADD_CAMPAIGN
MANAGER_PERM = Perm.OVERRIDE_DONE


class Actor:
    """A person as the rules see them: signed in and active or not, their roles, their
    teams. Each is read on first use and kept (roles through `has_perm`'s cache, teams in
    one query), so a page pays only for what its rules ask: a published campaign's page
    needs no roles to be seen."""

    def __init__(self, user: "User | None" = None) -> None:
        self._user = user

    @classmethod
    def anonymous(cls) -> "Actor":
        return cls(None)

    @classmethod
    def of(cls, user: "User | AnonymousUser | Any") -> "Actor":
        """The person behind `user`. Not remembered on the user object, whose teams may
        change while it lives; a request keeps its own (core.http.actor_of)."""
        if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
            return cls.anonymous()
        return cls(user)

    def __repr__(self) -> str:
        return f"Actor(user_id={self.user_id})"

    @property
    def user_id(self) -> int | None:
        return self._user.pk if self._user is not None else None

    @property
    def is_authenticated(self) -> bool:
        return self._user is not None

    @property
    def is_active(self) -> bool:
        return self._user is not None and bool(self._user.is_active)

    @property
    def name(self) -> str:
        return self._user.display_name if self._user is not None else ""

    @cached_property
    def is_marketer(self) -> bool:
        return self._user is not None and self.is_active and self._user.has_perm(MARKETER_PERM)

    @cached_property
    def is_manager(self) -> bool:
        return self._user is not None and self.is_active and self._user.has_perm(MANAGER_PERM)

    @property
    def writes_campaigns(self) -> bool:
        """Marketers, and managers who may change any campaign (see campaigns.rules)."""
        return self.is_marketer or self.is_manager

    def know_memberships(self, rows: Iterable[tuple[int, str]]) -> None:
        """Their teams and their role in each, as (team id, role), read by a caller in a
        query it ran anyway (core.pages): the first rule that asks needs no query."""
        self.__dict__["_memberships"] = tuple(rows)

    @cached_property
    def _memberships(self) -> tuple[tuple[int, str], ...]:
        if self._user is None:
            return ()
        from teams.models import Membership

        rows = Membership.objects.filter(user_id=self._user.pk).values_list("team_id", "role")
        return tuple(rows)

    @cached_property
    def team_ids(self) -> frozenset[int]:
        return frozenset(team_id for team_id, _role in self._memberships)

    @cached_property
    def lead_team_ids(self) -> frozenset[int]:
        from teams.models import Membership

        return frozenset(
            team_id for team_id, role in self._memberships if role == Membership.Role.LEAD
        )
