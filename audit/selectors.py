"""Reading the audit log: a page at a time for the managers' page, or everything for CSV.

People are shown through their current name (looked up in one query per page), so a
person pseudonymised since reads as the pseudonym; other targets show the label taken
when the event was recorded, so a deleted team still reads right.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import AuditEvent
from core.cursors import Slot, cursor_read, cursor_write

PAGE_SIZE = 50
CSV_CHUNK = 500
CURSOR_SALT = "audit.events"
_CURSOR_SHAPE = (Slot.ID,)
PERSON_TYPE = get_user_model()._meta.label_lower
# Keys of `details` that hold a person's id, shown as that person's current name.
PERSON_KEYS = frozenset({"user_id"})


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor_id: int | None = None
    target_type: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor: str
    target: str
    details: list[tuple[str, str]]

    @property
    def via_admin(self) -> bool:
        return isinstance(self.event.details, dict) and self.event.details.get("via") == "admin"

    @property
    def type_label(self) -> str:
        return type_label(self.event.target_type) if self.event.target_type else ""


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_cursor: str | None
    restarted: bool  # a cursor was given but could not be read: this is the first page


def _filtered(filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.actor_id is not None:
        events = events.filter(actor_id=filters.actor_id)
    if filters.target_type:
        events = events.filter(target_type=filters.target_type)
    if filters.since is not None:
        events = events.filter(occurred_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(occurred_at__lt=filters.until)
    return events.select_related("actor").order_by("-id")


def type_label(target_type: str) -> str:
    """ "teams.team" → "team"; the raw text for a model that no longer exists."""
    try:
        model = apps.get_model(target_type)
    except (LookupError, ValueError):
        return target_type
    return str(model._meta.verbose_name)


def _person_ids(events: Iterable[AuditEvent]) -> set[int]:
    ids: set[int] = set()
    for event in events:
        if event.target_type == PERSON_TYPE and event.target_id is not None:
            ids.add(event.target_id)
        if isinstance(event.details, dict):
            ids.update(v for k, v in event.details.items() if k in PERSON_KEYS and type(v) is int)
    return ids


def _names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        u.pk: u.display_name for u in User.objects.filter(pk__in=ids).only("full_name", "email")
    }


def _person(names: dict[int, str], person_id: int) -> str:
    return names.get(person_id) or _("deleted person #%(id)s") % {"id": person_id}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "—"
    if value is None or value == "":
        return "—"
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    return str(value)


def _key_label(target_type: str, key: str) -> str:
    """A details key as a reader says it: the field's own name when it is one of the
    target's fields ("webhook_url" → "chat webhook URL"), else the key in words."""
    try:
        return str(apps.get_model(target_type)._meta.get_field(key).verbose_name)
    except (LookupError, ValueError, FieldDoesNotExist):
        return key.replace("_", " ")


def _details(event: AuditEvent, names: dict[int, str]) -> list[tuple[str, str]]:
    """The details as (what, how) pairs for reading: "role: member → lead"."""
    if not isinstance(event.details, dict):
        return [("", _text(event.details))]
    lines = []
    # The person first, then by name: PostgreSQL's jsonb keeps no order of its own.
    items = sorted(event.details.items(), key=lambda kv: (kv[0] not in PERSON_KEYS, kv[0]))
    for key, value in items:
        if key == "via":
            continue
        what = _key_label(event.target_type, key)
        if key in PERSON_KEYS and type(value) is int:
            lines.append((_("person"), _person(names, value)))
        elif isinstance(value, dict) and ("old" in value or "new" in value):
            if "old" in value:
                lines.append((what, f"{_text(value['old'])} → {_text(value.get('new'))}"))
            else:
                lines.append((what, _text(value["new"])))
        elif isinstance(value, dict) and value.get("changed"):
            lines.append((what, _("changed")))
        else:
            lines.append((what, _text(value)))
    return lines


def _rows(events: list[AuditEvent]) -> list[AuditRow]:
    names = _names(_person_ids(events))
    rows = []
    for event in events:
        if event.target_type == PERSON_TYPE and event.target_id is not None:
            target = _person(names, event.target_id)
        elif event.target_type:
            target = event.target_label or f"{type_label(event.target_type)} #{event.target_id}"
        else:
            target = "—"
        actor = event.actor.display_name if event.actor is not None else _("system")
        rows.append(AuditRow(event, actor, target, _details(event, names)))
    return rows


def audit_page(*, filters: AuditFilters, cursor: str = "", size: int = PAGE_SIZE) -> AuditPage:
    """One page of events, newest first, after `cursor` (a keyset on the id, the log's
    order of insertion).

    Two queries whatever the page: the events with their actors, then the names of the
    people they are about. A cursor that is forged or stale gives the first page."""
    events = _filtered(filters)
    position = cursor_read(cursor, salt=CURSOR_SALT, shape=_CURSOR_SHAPE) if cursor else None
    if position is not None:
        events = events.filter(id__lt=position[0])
    page = list(events[: size + 1])
    more = len(page) > size
    page = page[:size]
    next_cursor = None
    if more and page:
        next_cursor = cursor_write(salt=CURSOR_SALT, values=[page[-1].pk])
    return AuditPage(_rows(page), next_cursor, restarted=bool(cursor) and position is None)


def audit_rows_all(*, filters: AuditFilters) -> Iterator[AuditRow]:
    """Every event the filters keep, newest first, read in chunks (for the CSV download):
    two queries per chunk, memory bounded whatever the log's size."""
    chunk: list[AuditEvent] = []
    for event in _filtered(filters).iterator(chunk_size=CSV_CHUNK):
        chunk.append(event)
        if len(chunk) == CSV_CHUNK:
            yield from _rows(chunk)
            chunk = []
    if chunk:
        yield from _rows(chunk)


def audit_actors() -> QuerySet[User]:
    """The people who appear as the actor of at least one event."""
    acted = AuditEvent.objects.filter(actor__isnull=False).values("actor_id")
    return User.objects.filter(pk__in=acted).order_by("full_name", "email")


def audit_target_types() -> list[tuple[str, str]]:
    """The kinds of object the log has events about, as (value, label) choices."""
    types = (
        AuditEvent.objects.exclude(target_type="")
        .order_by("target_type")
        .values_list("target_type", flat=True)
        .distinct()
    )
    return sorted(((t, type_label(t)) for t in types), key=lambda choice: choice[1])
