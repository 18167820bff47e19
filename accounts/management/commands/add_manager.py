"""The first manager of a new installation, without the admin:

    uv run python manage.py add_manager claire.fontaine@example.com --name "Claire Fontaine"

Creates the account (or gives the manager role to an existing one) and prints a one-time
link to choose a password or sign in with single sign-on. From there, the manager creates
the teams and brings everyone in at /people/.
"""

from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from accounts.invitations import invitation_token_make
from accounts.models import User
from audit.models import AuditAction
from audit.services import record_audit_event
from core.errors import DomainError
from notifications.messages import absolute_url
from teams.roles import MANAGER
from teams.services import normalized_email, roles_sync


class Command(BaseCommand):
    help = "Create a manager (or make someone one) and print their sign-in link."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="", help="their full name, for a new account")

    def handle(self, *args: Any, email: str, name: str, **options: Any) -> None:
        try:
            email = normalized_email(email)
        except DomainError as error:
            raise CommandError(error.message) from None
        roles_sync()
        with transaction.atomic():
            person = User.objects.filter(email__iexact=email).first()
            if person is None:
                person = User(email=email, full_name=name.strip()[:150])
                person.set_unusable_password()
                person.save()
            person.groups.add(Group.objects.get(name=MANAGER))
            record_audit_event(
                actor=None,
                action=AuditAction.ROLE_CHANGED,
                target=person,
                details={"groups": {"added": [MANAGER]}, "by": "manage.py add_manager"},
            )
        self.stdout.write(f"{person.email} is a manager.")
        if person.awaits_first_sign_in:
            link = absolute_url(
                reverse("accounts:invitation", args=[invitation_token_make(person)])
            )
            self.stdout.write(f"Their sign-in link (one use): {link}")
