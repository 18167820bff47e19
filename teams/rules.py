"""Who may manage teams and people. The only place it is written.

- Managers create teams, manage every team, bring people in (invitations, CSV import),
  give or take the marketer and manager roles, and deactivate people.
- A team's leads manage their own team: its settings, its members and leads, and they
  invite people into it (a new account comes without any company role).
- Everyone signed in may read who holds which role and who is in which team (the people
  directory), so an advisor knows whom to ask.

Services call the `require_*` functions (refusals are domain errors, nothing changed);
views and templates only ask the `may_*` questions to show or hide a button.
"""

from django.utils.translation import gettext as _

from core.errors import PermissionRefused
from teams.roles import Actor


def may_manage_team(actor: Actor, team_id: int) -> bool:
    return actor.is_active and (actor.is_manager or team_id in actor.lead_team_ids)


def may_manage_people(actor: Actor) -> bool:
    """Create teams, invite or import people, change roles, deactivate someone."""
    return actor.is_active and actor.is_manager


def may_manage_some_team(actor: Actor) -> bool:
    return actor.is_active and (actor.is_manager or bool(actor.lead_team_ids))


def require_manage_team(actor: Actor, team_id: int) -> None:
    if not may_manage_team(actor, team_id):
        raise PermissionRefused(_("Only managers and the team's leads can change this team."))


def require_manage_people(actor: Actor) -> None:
    if not may_manage_people(actor):
        raise PermissionRefused(_("Only managers can do this."))
