"""Every admin add, change and delete goes to the audit log.

core.admin_site.PasserelleAdminSite mixes `AuditedModelAdmin` into every ModelAdmin it
registers, so a model registered later is audited without anyone remembering to. The
entries are written where the admin writes its own history (log_addition, log_change,
log_deletions, and save_formset for inline rows), inside the admin's transaction; bulk
actions run in one transaction here so "delete selected" and its entries commit together.

Changes the rest of the app cares about get their own action (a team's webhook, a
membership, a person's roles); anything else is "added/changed/deleted in the admin".
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models, router, transaction
from django.forms import BaseForm
from django.forms.models import BaseModelFormSet
from django.http import HttpRequest

from accounts.models import User
from audit.models import AuditAction, AuditEvent
from audit.services import record_audit_event

_FORMS = "_audit_admin_forms"

# On a person, only these fields keep their values in the log; any other (name, e-mail,
# password) is recorded as changed, without its value.
PERSON_VALUE_FIELDS = frozenset(
    {"is_active", "is_staff", "is_superuser", "groups", "user_permissions", "language", "time_zone"}
)
# A person's privileges: changing one is a role change.
PERSON_ROLE_FIELDS = frozenset({"is_staff", "is_superuser", "groups", "user_permissions"})


@dataclass
class Entry:
    action: AuditAction
    target: models.Model
    details: dict[str, Any] = field(default_factory=dict)
    target_label: str | None = None


def _as_names(value: Any) -> Any:
    """Groups and permissions read better by name than by id (they are not people)."""
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        items = list(value)
        if items and all(isinstance(v, models.Model) for v in items):
            return sorted(str(v) for v in items)
        return items
    return value


def form_changes(form: BaseForm | None, obj: models.Model, *, adding: bool) -> dict[str, Any]:
    """Field → {"old", "new"} for what the form changed (only "new" when adding). Values
    of a person's private fields are left out; secrets and URLs are cleaned later by
    record_audit_event."""
    if form is None:
        return {}
    person = isinstance(obj, get_user_model())
    changes: dict[str, Any] = {}
    for name in form.changed_data:
        if name not in form.cleaned_data:
            continue
        if person and name not in PERSON_VALUE_FIELDS:
            changes[name] = {"changed": True}
            continue
        new = _as_names(form.cleaned_data[name])
        if adding:
            changes[name] = {"new": new}
        else:
            old = form.initial.get(name)
            if person and name in {"groups", "user_permissions"} and old is not None:
                old = _as_names(_related(obj, name, old))
            changes[name] = {"old": _as_names(old), "new": new}
    return changes


def _related(obj: models.Model, name: str, old: Any) -> Any:
    """The initial value of a many-to-many field as objects (forms may hold ids)."""
    ids = [v.pk if isinstance(v, models.Model) else v for v in old]
    model = obj._meta.get_field(name).related_model
    assert isinstance(model, type)
    assert issubclass(model, models.Model)
    return list(model._default_manager.filter(pk__in=ids))


def _webhook_entry(team: models.Model, change: dict[str, Any]) -> Entry:
    old, new = change.get("old") or "", change.get("new") or ""
    if not old:
        action = AuditAction.WEBHOOK_SET
    elif not new:
        action = AuditAction.WEBHOOK_REMOVED
    else:
        action = AuditAction.WEBHOOK_CHANGED
    return Entry(action, team, {"webhook_url": change})


def describe(kind: str, obj: models.Model, form: BaseForm | None) -> list[Entry]:
    """The audit entries for one object the admin added, changed or is about to delete."""
    from teams.models import Membership, Team

    adding = kind == "add"
    changes = form_changes(form, obj, adding=adding)
    generic = {
        "add": AuditAction.ADMIN_ADDED,
        "change": AuditAction.ADMIN_CHANGED,
        "delete": AuditAction.ADMIN_DELETED,
    }[kind]
    if isinstance(obj, Team):
        if kind == "delete":
            members = list(obj.memberships.values_list("user_id", flat=True))
            return [Entry(AuditAction.TEAM_DELETED, obj, {"members": members})]
        entries = []
        webhook = changes.pop("webhook_url", None)
        if adding or changes:
            entries.append(
                Entry(AuditAction.TEAM_CREATED if adding else AuditAction.TEAM_EDITED, obj, changes)
            )
        if webhook is not None:
            entries.append(_webhook_entry(obj, webhook))
        return entries
    if isinstance(obj, Membership):
        # Shown on the team, with the person by id (displayed through their current name).
        team = obj.team
        person = {"user_id": obj.user_id, "membership_id": obj.pk}
        if kind == "add":
            return [Entry(AuditAction.MEMBERSHIP_ADDED, team, person | {"role": obj.role})]
        if kind == "delete":
            return [Entry(AuditAction.MEMBERSHIP_REMOVED, team, person | {"role": obj.role})]
        action = AuditAction.ROLE_CHANGED if "role" in changes else generic
        return [Entry(action, team, person | changes)]
    if isinstance(obj, get_user_model()):
        if kind == "change" and PERSON_ROLE_FIELDS & changes.keys():
            roles = {k: v for k, v in changes.items() if k in PERSON_ROLE_FIELDS}
            others = {k: v for k, v in changes.items() if k not in PERSON_ROLE_FIELDS}
            entries = [Entry(AuditAction.ROLE_CHANGED, obj, roles)]
            if others:
                entries.append(Entry(generic, obj, others))
            return entries
        return [Entry(generic, obj, changes)]
    from campaigns.models import Acknowledgement

    if isinstance(obj, Acknowledgement) and kind == "add":
        return [Entry(AuditAction.ACK_RECORDED, obj, changes)]
    return [Entry(generic, obj, changes)]


def _message_fields(message: Any) -> list[str]:
    """The field names in an admin change message (used when no form was seen)."""
    names: list[str] = []
    if isinstance(message, list):
        for part in message:
            if isinstance(part, dict) and "changed" in part and "name" not in part["changed"]:
                names.extend(str(n) for n in part["changed"].get("fields", []))
    return names


class AuditedModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records every add, change and delete made through this ModelAdmin."""

    def _record(self, request: HttpRequest, entries: Iterable[Entry]) -> None:
        user = getattr(request, "user", None)
        actor = user if isinstance(user, User) else None
        # Already inside the admin's transaction; a savepoint, or its own transaction for
        # the rare admin view that saves without one (the password form).
        with transaction.atomic(using=router.db_for_write(AuditEvent)):
            for entry in entries:
                record_audit_event(
                    actor=actor,
                    action=entry.action,
                    target=entry.target,
                    target_label=entry.target_label,
                    details={"via": "admin"} | entry.details,
                    request=request,
                )

    def _form_for(self, request: HttpRequest, obj: models.Model) -> BaseForm | None:
        forms: dict[int, BaseForm] = getattr(request, _FORMS, {})
        return forms.pop(id(obj), None)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # log_addition/log_change only get the object: keep its form until then.
        forms: dict[int, BaseForm] = getattr(request, _FORMS, {})
        forms[id(obj)] = form
        setattr(request, _FORMS, forms)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if not isinstance(formset, BaseModelFormSet):
            super().save_formset(request, form, formset, change)
            return
        # Described before saving: a deleted row loses its id.
        deletions = [
            entry
            for inline_form in formset.deleted_forms
            if inline_form.instance.pk is not None
            for entry in describe("delete", inline_form.instance, None)
        ]
        super().save_formset(request, form, formset, change)
        form_of = {id(f.instance): f for f in formset.forms}
        entries = list(deletions)
        for obj in formset.new_objects:
            entries += describe("add", obj, form_of.get(id(obj)))
        for obj, _fields in formset.changed_objects:
            entries += describe("change", obj, form_of.get(id(obj)))
        self._record(request, entries)

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        result = super().log_addition(request, obj, message)
        self._record(request, describe("add", obj, self._form_for(request, obj)))
        return result

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        result = super().log_change(request, obj, message)
        form = self._form_for(request, obj)
        entries = describe("change", obj, form)
        if form is None:
            fields = _message_fields(message)
            entries = [Entry(AuditAction.ADMIN_CHANGED, obj, {"fields": fields})]
        self._record(request, entries)
        return result

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # Called before the deletion, inside delete_view's transaction or the action's
        # (response_action below): the entries commit only if the rows are deleted.
        self._record(request, [e for obj in queryset for e in describe("delete", obj, None)])
        return super().log_deletions(request, queryset)

    def response_action(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().response_action(request, *args, **kwargs)


def audited(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:  # type: ignore[type-arg]
    """`admin_class` with auditing mixed in (itself if it already has it)."""
    if issubclass(admin_class, AuditedModelAdmin):
        return admin_class
    return type(
        admin_class.__name__,
        (AuditedModelAdmin, admin_class),
        {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
    )
