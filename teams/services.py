"""Writes about teams and people: create and change teams, their members and leads,
invite people, give or take the marketer and manager roles, deactivate someone.

Every function checks teams.rules first, runs in one transaction and writes its audit
entry in it. Invitation e-mails are queued after the commit (accounts.tasks).
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import AuditAction
from audit.services import record_audit_event
from core.errors import DomainError, NotFound, PermissionRefused
from teams import rules
from teams.models import TEAM_SETTINGS_FIELDS, Membership, Team
from teams.roles import MANAGER, MARKETER, ROLE_PERMISSIONS, Actor


def roles_sync(*, using: str = "default") -> None:
    """Create the role groups and give each exactly its permissions. Idempotent."""
    with transaction.atomic(using=using):
        for group_name, perms in ROLE_PERMISSIONS.items():
            group, _created = Group.objects.using(using).get_or_create(name=group_name)
            wanted = []
            for perm in perms:
                app_label, codename = perm.split(".")
                permission = (
                    Permission.objects.using(using)
                    .filter(content_type__app_label=app_label, codename=codename)
                    .first()
                )
                if permission is not None:
                    wanted.append(permission)
            group.permissions.set(wanted)


# --- teams ------------------------------------------------------------------------------


def _validated(team: Team) -> None:
    try:
        team.full_clean()
    except ValidationError as error:
        raise DomainError.for_fields(error.message_dict) from None


def _free_slug(name: str) -> str:
    base = slugify(name)[:90] or "team"
    slug, n = base, 1
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def team_create(
    *, actor: User, data: Mapping[str, Any], request: HttpRequest | None = None
) -> Team:
    """A new team with the settings in `data` (TEAM_SETTINGS_FIELDS; others: defaults)."""
    rules.require_manage_people(Actor.of(actor))
    with transaction.atomic():
        team = Team(**{name: data[name] for name in TEAM_SETTINGS_FIELDS if name in data})
        team.slug = _free_slug(team.name)
        _validated(team)
        team.save()
        created = {
            name: {"new": getattr(team, name)} for name in TEAM_SETTINGS_FIELDS if name in data
        }
        webhook = created.pop("webhook_url", None)
        record_audit_event(
            actor=actor,
            action=AuditAction.TEAM_CREATED,
            target=team,
            details=created,
            request=request,
        )
        if webhook and webhook["new"]:
            record_audit_event(
                actor=actor,
                action=AuditAction.WEBHOOK_SET,
                target=team,
                details={"webhook_url": webhook},
                request=request,
            )
    return team


def _lock_team(team_id: int) -> Team:
    try:
        return Team.objects.select_for_update().get(pk=team_id)
    except Team.DoesNotExist:
        raise NotFound(_("This team does not exist.")) from None


def team_update(
    *, actor: User, team_id: int, data: Mapping[str, Any], request: HttpRequest | None = None
) -> Team:
    """Change a team's settings. A new chat webhook address is its repair (posting resumes);
    a new acknowledgement policy counts its pending campaigns again."""
    from campaigns.services import team_acknowledgements_recount
    from notifications.services import team_webhook_repaired

    with transaction.atomic():
        team = _lock_team(team_id)
        rules.require_manage_team(Actor.of(actor), team.pk)
        changes: dict[str, Any] = {}
        for name in TEAM_SETTINGS_FIELDS:
            if name in data and data[name] != getattr(team, name):
                changes[name] = {"old": getattr(team, name), "new": data[name]}
                setattr(team, name, data[name])
        if not changes:
            return team
        _validated(team)
        team.save(update_fields=list(changes))
        webhook = changes.pop("webhook_url", None)
        if changes:
            record_audit_event(
                actor=actor,
                action=AuditAction.TEAM_EDITED,
                target=team,
                details=changes,
                request=request,
            )
        if webhook is not None:
            old, new = webhook["old"], webhook["new"]
            action = (
                AuditAction.WEBHOOK_SET
                if not old
                else AuditAction.WEBHOOK_REMOVED
                if not new
                else AuditAction.WEBHOOK_CHANGED
            )
            record_audit_event(
                actor=actor,
                action=action,
                target=team,
                details={"webhook_url": webhook},
                request=request,
            )
            if new and team.webhook_broken_at:
                team_webhook_repaired(team_ids=[team.pk], actor=actor, request=request)
        if "ack_policy" in changes:
            team_acknowledgements_recount(team_ids=[team.pk])
    return team


# --- members and leads ----------------------------------------------------------------------


@dataclass(frozen=True)
class MemberAdded:
    membership: Membership
    invited: bool  # a new person: an invitation e-mail is on its way
    already_member: bool


def normalized_email(raw: str) -> str:
    """The address as accounts are matched by (lower case), or a DomainError on the field."""
    email = (raw or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError.for_fields(
            {"email": [_("Enter a valid e-mail address, such as sophie.martin@example.com.")]}
        ) from None
    return email


def _role(raw: str) -> str:
    if raw not in Membership.Role.values:
        raise DomainError.for_fields({"role": [_("Choose member or lead.")]})
    return raw


def team_member_add(
    *,
    actor: User,
    team_id: int,
    email: str,
    full_name: str = "",
    role: str = Membership.Role.MEMBER,
    request: HttpRequest | None = None,
) -> MemberAdded:
    """Put someone in the team by e-mail address: an existing account, or a new one that
    receives an invitation. Adding someone already in the team changes nothing."""
    email = normalized_email(email)
    role = _role(role)
    with transaction.atomic():
        team = _lock_team(team_id)
        rules.require_manage_team(Actor.of(actor), team.pk)
        person = User.objects.filter(email__iexact=email).first()
        invited = person is None
        if person is None:
            person = _person_invite(actor=actor, email=email, full_name=full_name, request=request)
        elif not person.is_active:
            raise DomainError(
                _("%(name)s is deactivated: a manager can reactivate them first.")
                % {"name": person.display_name}
            )
        membership, created = Membership.objects.get_or_create(
            team=team, user=person, defaults={"role": role}
        )
        if created:
            record_audit_event(
                actor=actor,
                action=AuditAction.MEMBERSHIP_ADDED,
                target=team,
                details={"user_id": person.pk, "role": role},
                request=request,
            )
    return MemberAdded(membership=membership, invited=invited, already_member=not created)


def team_member_set_role(
    *, actor: User, team_id: int, user_id: int, role: str, request: HttpRequest | None = None
) -> Membership:
    role = _role(role)
    with transaction.atomic():
        team = _lock_team(team_id)
        rules.require_manage_team(Actor.of(actor), team.pk)
        membership = _membership(team, user_id)
        if membership.role != role:
            old = membership.role
            membership.role = role
            membership.save(update_fields=["role"])
            record_audit_event(
                actor=actor,
                action=AuditAction.ROLE_CHANGED,
                target=team,
                details={"user_id": user_id, "role": {"old": old, "new": role}},
                request=request,
            )
    return membership


def team_member_remove(
    *, actor: User, team_id: int, user_id: int, request: HttpRequest | None = None
) -> None:
    """Take someone out of the team. Their acknowledgements stay in the history; "every
    member" campaigns that only waited for them are done now."""
    from campaigns.services import team_acknowledgements_recount

    with transaction.atomic():
        team = _lock_team(team_id)
        rules.require_manage_team(Actor.of(actor), team.pk)
        membership = _membership(team, user_id)
        role = membership.role
        membership.delete()
        record_audit_event(
            actor=actor,
            action=AuditAction.MEMBERSHIP_REMOVED,
            target=team,
            details={"user_id": user_id, "role": role},
            request=request,
        )
        team_acknowledgements_recount(team_ids=[team.pk])


def _membership(team: Team, user_id: int) -> Membership:
    membership = Membership.objects.filter(team=team, user_id=user_id).first()
    if membership is None:
        raise NotFound(_("This person is not in the team."))
    return membership


# --- people ---------------------------------------------------------------------------------


def _person_invite(
    *, actor: User, email: str, full_name: str = "", request: HttpRequest | None = None
) -> User:
    """For team_member_add, which checked who may: a new account for `email`, without a
    password and without any role, and its invitation e-mail queued after the commit
    (the link sets a password, or the person signs in with the company's single
    sign-on). Inside the caller's transaction."""
    from allauth.account.models import EmailAddress

    from accounts.models import Invitation
    from accounts.tasks import invitations_queue

    email = normalized_email(email)
    person = User(email=email, full_name=(full_name or "").strip()[:150])
    person.set_unusable_password()
    try:
        person.full_clean(exclude=["password"])
    except ValidationError as error:
        raise DomainError.for_fields(error.message_dict) from None
    person.save()
    EmailAddress.objects.create(user=person, email=email, primary=True, verified=False)
    invitation = Invitation.objects.create(user=person, invited_by=actor)
    record_audit_event(
        actor=actor, action=AuditAction.PERSON_INVITED, target=person, request=request
    )
    transaction.on_commit(lambda: invitations_queue([invitation.pk]))
    return person


def person_invite_again(*, actor: User, user_id: int, request: HttpRequest | None = None) -> User:
    """Send a new invitation to someone who has not signed in yet (the previous link
    may have expired or been lost)."""
    from accounts.models import Invitation
    from accounts.tasks import invitations_queue

    with transaction.atomic():
        person = _lock_person(user_id)
        actor_seen = Actor.of(actor)
        if not (
            rules.may_manage_people(actor_seen)
            or person.memberships.filter(team_id__in=actor_seen.lead_team_ids).exists()
        ):
            raise PermissionRefused(_("Only managers and the person's team leads can do this."))
        if not person.awaits_first_sign_in or not person.is_active:
            raise DomainError(_("%(name)s already signed in.") % {"name": person.display_name})
        invitation = Invitation.objects.create(user=person, invited_by=actor)
        record_audit_event(
            actor=actor,
            action=AuditAction.PERSON_INVITED,
            target=person,
            details={"again": True},
            request=request,
        )
        transaction.on_commit(lambda: invitations_queue([invitation.pk]))
    return person


def _lock_person(user_id: int) -> User:
    try:
        return User.objects.select_for_update().get(pk=user_id, erased_at__isnull=True)
    except User.DoesNotExist:
        raise NotFound(_("This person does not exist.")) from None


def person_set_active(
    *, actor: User, user_id: int, active: bool, request: HttpRequest | None = None
) -> User:
    """Deactivate someone (they stop receiving notices and cannot sign in; their history
    stays, and "every member" campaigns stop waiting for them), or reactivate them."""
    from campaigns.services import team_acknowledgements_recount

    rules.require_manage_people(Actor.of(actor))
    if user_id == actor.pk and not active:
        raise DomainError(_("You cannot deactivate yourself."))
    with transaction.atomic():
        person = _lock_person(user_id)
        if person.is_active == active:
            return person
        person.is_active = active
        person.save(update_fields=["is_active"])
        dropped = 0 if active else _undelivered_notices_drop(person)
        record_audit_event(
            actor=actor,
            action=AuditAction.PERSON_REACTIVATED if active else AuditAction.PERSON_DEACTIVATED,
            target=person,
            details={"undelivered_notices_dropped": dropped} if dropped else None,
            request=request,
        )
        if not active:
            team_acknowledgements_recount(
                team_ids=list(person.memberships.values_list("team_id", flat=True))
            )
    return person


def _undelivered_notices_drop(person: User) -> int:
    """A deactivated person receives nothing more: the messages still waiting for them in
    the outbox (queued, held for a digest) are dropped. Those already delivered, in-app
    notices included, stay in the history."""
    from notifications.models import Notification

    waiting = Notification.objects.filter(
        recipient=person,
        status__in=[Notification.Status.PENDING, Notification.Status.HELD],
    )
    dropped, _by_model = waiting.delete()
    return dropped


def person_set_roles(
    *,
    actor: User,
    user_id: int,
    roles: Collection[str],
    request: HttpRequest | None = None,
) -> User:
    """Give someone exactly these company-wide roles (MARKETER, MANAGER); team leads are
    set on the team. A manager cannot take their own manager role away (someone must
    remain who can give it back)."""
    rules.require_manage_people(Actor.of(actor))
    wanted = set(roles)
    if not wanted <= {MARKETER, MANAGER}:
        raise DomainError.for_fields({"roles": [_("Choose among marketer and manager.")]})
    if user_id == actor.pk and MANAGER not in wanted:
        raise DomainError(_("You cannot take away your own manager role."))
    with transaction.atomic():
        person = _lock_person(user_id)
        groups = {g.name: g for g in Group.objects.filter(name__in=[MARKETER, MANAGER])}
        held = set(
            person.groups.filter(name__in=[MARKETER, MANAGER]).values_list("name", flat=True)
        )
        if held == wanted:
            return person
        for name in wanted - held:
            person.groups.add(groups[name])
        for name in held - wanted:
            person.groups.remove(groups[name])
        record_audit_event(
            actor=actor,
            action=AuditAction.ROLE_CHANGED,
            target=person,
            details={"groups": {"old": sorted(held), "new": sorted(wanted)}},
            request=request,
        )
    return person
