"""The audit log: an append-only record of every security-relevant change.

Rows are only ever inserted (audit.services.record_audit_event). Python refuses an
update or a delete of a saved event (the model, its queryset); on PostgreSQL a trigger
refuses them too (migration 0002), so a raw SQL session cannot rewrite history either.
The one change allowed is the database's own `SET NULL` on `actor` when a person is
deleted: the event stays, only the link to the deleted person goes.
"""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Someone tried to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        # The deletion collector sets `actor` to NULL through QuerySet.update when a
        # person is deleted (on_delete=SET_NULL): the only update the trigger allows too.
        if set(kwargs) <= {"actor", "actor_id"} and all(v is None for v in kwargs.values()):
            return super().update(**kwargs)
        raise AppendOnlyError("Audit events cannot be changed.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class AuditAction(models.TextChoices):
    """What happened. Stored as the value; the label is shown."""

    MEMBERSHIP_ADDED = "membership_added", _("Membership added")
    MEMBERSHIP_REMOVED = "membership_removed", _("Membership removed")
    ROLE_CHANGED = "role_changed", _("Role changed")
    TEAM_CREATED = "team_created", _("Team created")
    TEAM_EDITED = "team_edited", _("Team edited")
    TEAM_DELETED = "team_deleted", _("Team deleted")
    WEBHOOK_SET = "webhook_set", _("Chat webhook set")
    WEBHOOK_CHANGED = "webhook_changed", _("Chat webhook changed")
    WEBHOOK_REMOVED = "webhook_removed", _("Chat webhook removed")
    WEBHOOK_REPAIRED = "webhook_repaired", _("Chat webhook marked as repaired")
    TOKEN_CREATED = "token_created", _("Subscription address created")
    TOKEN_REVOKED = "token_revoked", _("Subscription address revoked")
    DONE_OVERRIDDEN = "done_overridden", _("Acknowledgements overridden (done by a manager)")
    CAMPAIGN_EDITORS_CHANGED = "campaign_editors_changed", _("Campaign co-editors changed")
    ACK_RECORDED = "ack_recorded", _("Acknowledgement recorded for someone else")
    ADMIN_ADDED = "admin_added", _("Added in the admin")
    ADMIN_CHANGED = "admin_changed", _("Changed in the admin")
    ADMIN_DELETED = "admin_deleted", _("Deleted in the admin")
    PERSONAL_DATA_EXPORTED = "personal_data_exported", _("Personal data exported")
    PERSON_ERASED = "person_erased", _("Person erased")
    PERSON_INVITED = "person_invited", _("Person invited")
    PERSON_DEACTIVATED = "person_deactivated", _("Person deactivated")
    PERSON_REACTIVATED = "person_reactivated", _("Person reactivated")
    PEOPLE_IMPORTED = "people_imported", _("People imported from a file")
    API_TOKEN_CREATED = "api_token_created", _("API token created")
    API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked")
    WEBHOOK_ENDPOINT_ADDED = "webhook_endpoint_added", _("Outgoing webhook added")
    WEBHOOK_ENDPOINT_CHANGED = "webhook_endpoint_changed", _("Outgoing webhook changed")
    WEBHOOK_ENDPOINT_ENABLED = "webhook_endpoint_enabled", _("Outgoing webhook enabled again")
    WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated", _("Outgoing webhook secret renewed")
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint_deleted", _("Outgoing webhook deleted")


class AuditEvent(models.Model):
    Action = AuditAction

    occurred_at = models.DateTimeField(_("when"), db_default=Now(), db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("what"), max_length=40, choices=Action.choices)
    # The changed object as "app_label.model" and its id (it may be gone since). People
    # are never named here: a person target is shown through its current name, so a later
    # pseudonymisation shows the pseudonym; other targets keep a label snapshot, so a
    # deleted team still reads right.
    target_type = models.CharField(_("target type"), max_length=100, blank=True)
    target_id = models.BigIntegerField(_("target id"), null=True, blank=True)
    target_label = models.CharField(_("target"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects: ClassVar[models.Manager["AuditEvent"]] = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        # Newest first is the order of insertion: the id is the log's sequence. (Paging
        # on the timestamp would need it compared exactly as stored, which SQLite's
        # text timestamps from the database clock do not allow.)
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["action", "-id"], name="audit_action_newest"),
            models.Index(fields=["actor", "-id"], name="audit_actor_newest"),
            models.Index(fields=["target_type", "-id"], name="audit_target_type_newest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AuditAction.values),
                name="audit_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} #{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events cannot be deleted.")
