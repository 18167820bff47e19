"""Outgoing webhooks for integrations (issue 17): the endpoints managers register, and the
outbox of signed messages sent to them (Standard Webhooks, https://www.standardwebhooks.com).

This app knows nothing of campaigns: callers hand `webhooks.services.webhook_event_publish`
an event type and plain JSON data, inside their own transaction.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core import bounds


class EventType(models.TextChoices):
    """What an endpoint may subscribe to. The values are the `type` of the message body,
    full-stop delimited as the standard recommends; they are part of the public contract
    and never change."""

    CAMPAIGN_CREATED = "campaign.created", _("A campaign was created")
    CAMPAIGN_ANNOUNCED = "campaign.announced", _("A campaign was announced")
    CAMPAIGN_CHANGED = "campaign.changed", _("A campaign changed")
    CAMPAIGN_ACKNOWLEDGED = "campaign.acknowledged", _("A campaign was acknowledged")
    CAMPAIGN_NOT_READY = "campaign.not_ready", _("A team said it is not ready")
    CAMPAIGN_DONE = "campaign.done", _("A campaign was marked as done")
    CAMPAIGN_CANCELLED = "campaign.cancelled", _("A campaign was cancelled")
    FEEDBACK_CREATED = "feedback.created", _("A message was posted on a campaign's thread")


# Sent only when a manager asks for it (the endpoint page's "Send a test message"),
# whatever the endpoint subscribed to. Not an EventType: nobody subscribes to it and no
# change in the app publishes it.
TEST_EVENT_TYPE = "webhook.test"
DELIVERY_EVENT_TYPES = [*EventType.choices, (TEST_EVENT_TYPE, _("A test message"))]


class DisabledReason(models.TextChoices):
    FAILING = "failing", _("deliveries kept failing")
    GONE = "gone", _("the receiver answered 410 Gone")


class WebhookEndpoint(models.Model):
    """A receiver's address, its signing secret and the event types it wants (none listed:
    every type). Disabled after its deliveries failed for WEBHOOKS_DISABLE_AFTER_HOURS
    without a success (or at once on "410 Gone"); a manager enables it again."""

    url = models.URLField(_("URL"), max_length=500)
    # Stored as given to the receiver, `whsec_` + base64: HMAC needs the secret itself,
    # so it cannot be hashed. Shown once, when it is made; the admin shows a prefix only.
    secret = models.CharField(_("signing secret"), max_length=100)
    # After a rotation, messages are signed with both secrets for a while (the standard's
    # zero-downtime rotation: the receiver tries each signature).
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    event_types = models.JSONField(_("events"), default=list, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(
        _("why it was disabled"), max_length=20, choices=DisabledReason.choices, blank=True
    )
    # The first failure of the current run of failures (None after a success), and the
    # latest: an endpoint is disabled when failures still happen more than the window
    # after the first, not for a single refusal long ago.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # The e-mail telling managers it was disabled: a worker's lease while it sends, then
    # when it went (the sweep sends it again if its task was lost).
    disabled_notice_claimed_at = models.DateTimeField(null=True, blank=True)
    disabled_notice_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(active=True, disabled_at__isnull=True)
                | Q(active=False, disabled_at__isnull=False),
                name="webhook_endpoint_disabled_at_iff_inactive",
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    def disabled_reason_text(self) -> str:
        """Why it was disabled, in a sentence of the active language."""
        if self.disabled_reason == DisabledReason.GONE:
            return str(_("The receiver answered “410 Gone”: it wants no more messages."))
        if self.disabled_reason == DisabledReason.FAILING:
            hours = settings.WEBHOOKS_DISABLE_AFTER_HOURS
            return ngettext(
                "Its deliveries kept failing for more than %(hours)s hour without a success.",
                "Its deliveries kept failing for more than %(hours)s hours without a success.",
                hours,
            ) % {"hours": hours}
        return ""

    @property
    def event_type_labels(self) -> list[str]:
        """The subscribed types in words, in the order of EventType (empty: every type)."""
        return [str(label) for value, label in EventType.choices if value in self.event_types]


class WebhookDelivery(models.Model):
    """The outbox: one message for one endpoint, written in the transaction of the change
    it reports, then claimed and sent by a Celery task (webhooks.tasks.webhook_deliver).
    Its `message_id` is the standard's `webhook-id`: the same on every attempt and on a
    resend, so receivers can drop duplicates."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    message_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=40, choices=DELIVERY_EVENT_TYPES)
    # The message's `data`; `type` and `timestamp` (occurred_at) complete the body.
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, validators=bounds.positive_smallint())
    next_attempt_at = models.DateTimeField()
    # When a task was last handed this row: the sweep queues again only what no task was
    # given recently (the broker was down, the message was lost).
    queued_at = models.DateTimeField(null=True, blank=True)
    # When the latest attempt started; while "sending", the worker's claim (the sweep
    # frees a row whose claim outlived the task's time limit).
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=bounds.positive_smallint()
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "delivered", "failed"]),
                name="webhook_delivery_status_valid",
            ),
        ]
        indexes = [
            # What the sweep reads every tick: rows waiting for an attempt.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_pending_idx",
            ),
            models.Index(
                fields=["last_attempt_at"],
                condition=Q(status="sending"),
                name="webhook_delivery_sending_idx",
            ),
            # An endpoint's delivery log, newest first, and its latest delivery.
            models.Index(
                fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_log_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.message_id
