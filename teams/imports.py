"""Bringing people in from a CSV file: e-mail, name, team, role.

`people_import_check` reads the file and says, row by row, what would happen or what is
wrong, without writing anything (the preview). `people_import_apply` checks the same file
again inside one transaction and applies it only when no row is wrong, so what is saved is
what the preview showed, or nothing. Importing the same file again changes nothing: every
row then reads "unchanged".
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Invitation, User
from audit.models import AuditAction
from audit.services import record_audit_event
from core.errors import DomainError
from core.text import ONE_LINE_MESSAGE, has_control_characters, strip_bidi
from teams import rules
from teams.models import Membership, Team
from teams.roles import Actor

# Under Django's DATA_UPLOAD_MAX_MEMORY_SIZE: the checked file is posted back as text.
IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_ROWS = 20_000

# Header names people write, in English and French, for each column.
_COLUMNS = {
    "email": {"email", "e-mail", "mail", "courriel", "adresse e-mail", "e-mail address"},
    "name": {"name", "full name", "nom", "nom complet"},
    "team": {"team", "équipe", "equipe"},
    "role": {"role", "rôle"},
}
_ROLES = {
    "": Membership.Role.MEMBER,
    "member": Membership.Role.MEMBER,
    "membre": Membership.Role.MEMBER,
    "lead": Membership.Role.LEAD,
    "responsable": Membership.Role.LEAD,
}


class Outcome(StrEnum):
    NEW_PERSON = "new_person"
    ADDED = "added"
    ROLE_CHANGED = "role_changed"
    UNCHANGED = "unchanged"
    ERROR = "error"


OUTCOME_LABELS = {
    Outcome.NEW_PERSON: gettext_lazy("new person, invited"),
    Outcome.ADDED: gettext_lazy("added to the team"),
    Outcome.ROLE_CHANGED: gettext_lazy("role changed"),
    Outcome.UNCHANGED: gettext_lazy("unchanged"),
    Outcome.ERROR: gettext_lazy("not imported"),
}


@dataclass
class ImportRow:
    line: int
    email: str
    name: str
    team_name: str
    role: str
    outcome: Outcome = Outcome.UNCHANGED
    errors: list[str] = field(default_factory=list)
    team: Team | None = None
    person: User | None = None

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS[self.outcome])


@dataclass
class ImportCheck:
    rows: list[ImportRow]
    file_errors: list[str]

    @property
    def errors(self) -> int:
        return len(self.file_errors) + sum(1 for row in self.rows if row.errors)

    @property
    def counts(self) -> Counter[Outcome]:
        return Counter(row.outcome for row in self.rows)

    @property
    def changes(self) -> int:
        return sum(1 for row in self.rows if row.outcome not in (Outcome.UNCHANGED, Outcome.ERROR))


def decode_upload(raw: bytes) -> str:
    """The file's text: UTF-8 (with or without the mark spreadsheets add), else Windows
    Latin-1, which is what Excel writes in France. DomainError when too big."""
    if len(raw) > IMPORT_MAX_BYTES:
        raise DomainError(
            _("The file is larger than %(mb)d MB: split it in several files.")
            % {"mb": IMPORT_MAX_BYTES // (1024 * 1024)}
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def people_import_check(text: str) -> ImportCheck:
    """What importing `text` would do, row by row. Three queries, whatever its length."""
    if "\x00" in text:
        return ImportCheck([], [_("This is not a CSV file (it holds binary data).")])
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return ImportCheck([], [_("The file is empty: the first row must name the columns.")])
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
        raw_rows = list(reader)
    except csv.Error as error:
        return ImportCheck(
            [], [_("The file could not be read as CSV: %(error)s") % {"error": error}]
        )
    positions: dict[str, int] = {}
    for index, heading in enumerate(header):
        for column, headings in _COLUMNS.items():
            if heading in headings and column not in positions:
                positions[column] = index
    missing = [column for column in ("email", "team") if column not in positions]
    if missing:
        return ImportCheck(
            [],
            [
                _("The first row must name the columns: email, name, team, role (missing: %(m)s).")
                % {"m": ", ".join(missing)}
            ],
        )
    if len(raw_rows) > IMPORT_MAX_ROWS:
        return ImportCheck(
            [],
            [_("The file has more than %(n)d rows: split it.") % {"n": IMPORT_MAX_ROWS}],
        )

    def cell(values: list[str], column: str) -> str:
        index = positions.get(column)
        return values[index].strip() if index is not None and index < len(values) else ""

    rows = [
        ImportRow(
            line=number,
            email=cell(values, "email").lower(),
            # Bidi controls dropped as the forms drop them; other control characters
            # are the row's error (_check_row).
            name=strip_bidi(cell(values, "name")),
            team_name=cell(values, "team"),
            role=cell(values, "role").lower(),
        )
        for number, values in enumerate(raw_rows, start=2)
        if any(v.strip() for v in values)
    ]
    teams = {team.name.casefold(): team for team in Team.objects.all()}
    emails = {row.email for row in rows if row.email}
    # Matched whatever the case of the stored address (an account made in the admin).
    people: dict[str, User] = {
        person.email.lower(): person
        for person in User.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=emails)
        .only("pk", "email", "full_name", "is_active", "erased_at")
    }
    memberships = {
        (m.team_id, m.user_id): m.role
        for m in Membership.objects.filter(user_id__in=[p.pk for p in people.values()]).only(
            "team_id", "user_id", "role"
        )
    }
    seen: dict[tuple[str, int], int] = {}
    names: dict[str, tuple[str, int]] = {}
    new_people: set[str] = set()
    for row in rows:
        _check_row(row, teams=teams, people=people, memberships=memberships, seen=seen, names=names)
        if row.outcome == Outcome.NEW_PERSON:
            if row.email in new_people:
                row.outcome = Outcome.ADDED  # created on an earlier row
            new_people.add(row.email)
    return ImportCheck(rows, [])


def _check_row(
    row: ImportRow,
    *,
    teams: dict[str, Team],
    people: dict[str, User],
    memberships: dict[tuple[int, int], str],
    seen: dict[tuple[str, int], int],
    names: dict[str, tuple[str, int]],
) -> None:
    try:
        validate_email(row.email)
    except ValidationError:
        row.errors.append(
            _("“%(email)s” is not an e-mail address.") % {"email": row.email}
            if row.email
            else _("The e-mail address is missing.")
        )
    row.team = teams.get(row.team_name.casefold())
    if row.team is None:
        row.errors.append(
            _("There is no team named “%(team)s”: create it first, or fix the name.")
            % {"team": row.team_name}
            if row.team_name
            else _("The team is missing.")
        )
    if row.role not in _ROLES:
        row.errors.append(
            _("The role must be member or lead, not “%(role)s”.") % {"role": row.role}
        )
    if len(row.name) > 150:
        row.errors.append(_("The name is longer than 150 characters."))
    if has_control_characters(row.name):
        row.errors.append(str(ONE_LINE_MESSAGE))
    if row.team is not None and row.email:
        first = seen.setdefault((row.email, row.team.pk), row.line)
        if first != row.line:
            row.errors.append(
                _("Line %(line)d already puts this person in this team.") % {"line": first}
            )
    if row.name and row.email:
        other = names.setdefault(row.email, (row.name, row.line))
        if other[0] != row.name:
            row.errors.append(
                _("Line %(line)d gives this person another name (“%(name)s”).")
                % {"line": other[1], "name": other[0]}
            )
    row.person = people.get(row.email)
    if row.person is not None and (not row.person.is_active or row.person.erased_at):
        row.errors.append(
            _("%(email)s is deactivated: reactivate them first.") % {"email": row.email}
        )
    if row.errors:
        row.outcome = Outcome.ERROR
        return
    assert row.team is not None
    role = _ROLES[row.role]
    if row.person is None:
        row.outcome = Outcome.NEW_PERSON
    else:
        held = memberships.get((row.team.pk, row.person.pk))
        if held is None:
            row.outcome = Outcome.ADDED
        elif row.role and held != role:  # a blank role keeps the one they have
            row.outcome = Outcome.ROLE_CHANGED
        else:
            row.outcome = Outcome.UNCHANGED


@dataclass(frozen=True)
class ImportResult:
    check: ImportCheck
    invitation_ids: list[int]


def people_import_apply(
    *, actor: User, text: str, send_invitations: bool, request: HttpRequest | None = None
) -> ImportResult:
    """Apply the file if every row is right (DomainError otherwise, nothing saved): new
    people get an account without a role and, if asked, an invitation; people are put in
    their teams with their role. One audit entry names every person and team touched.
    Bulk writes: 5,000 rows take a few seconds."""
    from allauth.account.models import EmailAddress

    from accounts.tasks import invitations_queue

    rules.require_manage_people(Actor.of(actor))
    with transaction.atomic():
        # Teams locked: a team renamed or deleted meanwhile cannot slip under the check.
        list(Team.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        check = people_import_check(text)
        if check.errors:
            raise DomainError(
                _("Nothing was imported: %(n)d rows have errors. Fix them and check again.")
                % {"n": check.errors}
            )
        # A person on several rows is created once, with the name of the first row.
        new_people: dict[str, User] = {}
        unusable = make_password(None)
        for row in check.rows:
            if row.outcome == Outcome.NEW_PERSON and row.email not in new_people:
                new_people[row.email] = User(
                    email=row.email,
                    full_name=row.name,
                    password=unusable,
                    language=settings.LANGUAGE_CODE,
                )
        User.objects.bulk_create(new_people.values(), batch_size=1000)
        created = {p.email: p for p in User.objects.filter(email__in=list(new_people))}
        EmailAddress.objects.bulk_create(
            [
                EmailAddress(user=person, email=email, primary=True, verified=False)
                for email, person in created.items()
            ],
            batch_size=1000,
        )
        added, changed = [], []
        for row in check.rows:
            person = row.person or created[row.email]
            assert row.team is not None
            role = _ROLES[row.role]
            if row.outcome in (Outcome.NEW_PERSON, Outcome.ADDED):
                added.append(Membership(team=row.team, user=person, role=role))
            elif row.outcome == Outcome.ROLE_CHANGED:
                changed.append((row.team.pk, person.pk, role))
        Membership.objects.bulk_create(added, batch_size=1000)
        # One read and batched updates, not a query per changed row.
        new_roles = {(team_id, user_id): role for team_id, user_id, role in changed}
        to_change = list(Membership.objects.filter(user_id__in={user for _team, user in new_roles}))
        for membership in to_change:
            membership.role = new_roles.get(
                (membership.team_id, membership.user_id), membership.role
            )
        Membership.objects.bulk_update(to_change, ["role"], batch_size=1000)
        invitations = (
            Invitation.objects.bulk_create(
                [Invitation(user=person, invited_by=actor) for person in created.values()],
                batch_size=1000,
            )
            if send_invitations
            else []
        )
        if check.changes:
            record_audit_event(
                actor=actor,
                action=AuditAction.PEOPLE_IMPORTED,
                details={
                    "created_user_ids": sorted(p.pk for p in created.values()),
                    "added": sorted([m.team_id, m.user_id, m.role] for m in added),
                    "role_changed": sorted([t, u, r] for t, u, r in changed),
                    "rows": len(check.rows),
                },
                request=request,
            )
        invitation_ids = [i.pk for i in invitations]
        if invitation_ids:
            transaction.on_commit(lambda: invitations_queue(invitation_ids))
    return ImportResult(check=check, invitation_ids=invitation_ids)
