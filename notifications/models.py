from typing import cast

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import bounds
from notifications.payload import CampaignPayload


class Kind(models.TextChoices):
    ANNOUNCED = "announced", _("Campaign announced")
    CHANGED = "changed", _("Campaign changed")
    REMINDER = "reminder", _("Reminder")
    ESCALATION = "escalation", _("Escalation")
    CANCELLED = "cancelled", _("Campaign cancelled")
    DONE = "done", _("Campaign done")
    FEEDBACK = "feedback", _("Feedback and notes")
    WEBHOOK_BROKEN = "webhook_broken", _("Team chat webhook broken")
    NOT_READY = "not_ready", _("A team is not ready")
    NOT_READY_REPLY = "not_ready_reply", _("Reply to your team's objection")


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    IN_APP = "in_app", _("In-app")
    WEBHOOK = "webhook", _("Team chat")


# People may switch any channel off, except e-mails for escalations to leads/managers.
# Here rather than in the services so that the e-mail transport (which the services
# import) can read it too: it offers no one-click unsubscribe for those.
MANDATORY = frozenset({(Kind.ESCALATION, Channel.EMAIL), (Kind.NOT_READY, Channel.EMAIL)})
# Sent at once even to people who read a daily digest: they hold something up.
IMMEDIATE = frozenset({Kind.ESCALATION, Kind.NOT_READY})


class FailureReason(models.TextChoices):
    """Why a message could not be delivered, in words its campaign's owner understands;
    `Notification.last_error` keeps the technical details for operators."""

    MAILBOX_UNAVAILABLE = "mailbox_unavailable", _("mailbox unavailable")
    ADDRESS_INVALID = "address_invalid", _("e-mail address not valid")
    MESSAGE_REFUSED = "message_refused", _("message refused by the mail server")
    BOUNCED = "bounced", _("bounced by the recipient's mail server")
    WEBHOOK_REFUSED = "webhook_refused", _("the team chat refused the message")
    WEBHOOK_GONE = "webhook_gone", _("the team chat webhook no longer exists")
    WEBHOOK_NOT_ALLOWED = "webhook_not_allowed", _("the team chat webhook address is not allowed")
    WEBHOOK_REMOVED = "webhook_removed", _("the team no longer has a chat webhook")
    GAVE_UP = "gave_up", _("could not be delivered for a day; the server kept failing")


class Dispatch(models.Model):
    """One event to tell people about, and what to say: a plain-data snapshot of the
    campaign (title, dates, talking points…), stored once however many people it reaches,
    so delivery needs no campaign model and shows what was true when the event happened."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="dispatches"
    )
    campaign_version = models.PositiveIntegerField(validators=bounds.positive_int4())
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who it is for, as committed with the change that caused it: people by id, the
    # active members of teams (read when the dispatch is expanded), teams' chat webhooks,
    # and what makes this occurrence of the event distinct (see dedupe_key).
    user_ids = models.JSONField(default=list)
    member_team_ids = models.JSONField(default=list)
    webhook_team_ids = models.JSONField(default=list)
    occurrence = models.CharField(max_length=100, blank=True)
    # When its outbox rows were written; until then the sweep expands it (a large
    # audience is expanded by a task, after the change committed).
    expanded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(expanded_at__isnull=True),
                name="dispatch_unexpanded_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.campaign_version}:{self.kind}"


class Notification(models.Model):
    """The outbox: one row per message to deliver, written in the same transaction as the
    change that caused it, then claimed and delivered by Celery workers."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        HELD = "held", _("Held for digest")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    team = models.ForeignKey(
        "teams.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="notifications"
    )
    campaign_version = models.PositiveIntegerField(validators=bounds.positive_int4())
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0, validators=bounds.positive_smallint())
    last_error = models.TextField(blank=True)
    failure_reason = models.CharField(max_length=30, choices=FailureReason.choices, blank=True)
    next_attempt_at = models.DateTimeField()
    # Transient failures are retried until this is NOTIFICATIONS_RETRY_WINDOW old; a
    # manual retry starts a new window.
    window_started_at = models.DateTimeField(null=True, blank=True)
    # A worker's lease on a row it is sending: claimed, then renewed while the batch is
    # sent (a heartbeat). A lease older than NOTIFICATIONS_LEASE_SECONDS belonged to a
    # worker that died: the sweep gives the row back.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The e-mail provider's id of the message, to match its bounce reports (anymail).
    provider_message_id = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # campaign:version:kind:recipient:channel[:occurrence] – a retried task or a second
    # announce cannot insert the same message twice.
    dedupe_key = models.CharField(max_length=200, unique=True)
    dispatch = models.ForeignKey(Dispatch, on_delete=models.CASCADE, related_name="notifications")

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(recipient__isnull=False) & Q(team__isnull=True))
                | (Q(recipient__isnull=True) & Q(team__isnull=False) & Q(channel="webhook")),
                name="notification_one_addressee",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed", "held"]),
                name="notification_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="notification_pending_idx",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="sending"),
                name="notification_sending_idx",
            ),
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(channel="in_app"),
                name="notification_inbox_idx",
            ),
            # The inbox folds a campaign's earlier notices under its latest: each row of a
            # page looks up the newer and older ones about the same campaign here.
            models.Index(
                fields=["recipient", "campaign", "-created_at"],
                condition=Q(channel="in_app"),
                name="notification_inbox_thread_idx",
            ),
            models.Index(fields=["campaign", "status"], name="notification_campaign_idx"),
            # The unread badge counts only these, however many notices a person has read.
            models.Index(
                fields=["recipient"],
                condition=Q(channel="in_app", read_at__isnull=True),
                name="notification_unread_idx",
            ),
            # The provider's bounce reports name its message id (services.bounces); only
            # e-mails sent through an API backend have one.
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="notification_provider_id_idx",
            ),
            # What /metrics reads at each scrape (core.metrics), so it never scans the
            # table: held rows (the digests' query uses it too), failures by reason
            # (index-only), and rows workers delivered, by time, for the latency figure.
            models.Index(
                fields=["recipient"], condition=Q(status="held"), name="notification_held_idx"
            ),
            models.Index(
                fields=["channel", "failure_reason"],
                condition=Q(status="failed"),
                name="notification_failed_idx",
            ),
            models.Index(
                fields=["sent_at"],
                condition=Q(status="sent", claimed_at__isnull=False),
                name="notification_delivered_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.dedupe_key

    @property
    def payload(self) -> CampaignPayload:
        # Written only by notifications_enqueue, from a CampaignPayload.
        return cast("CampaignPayload", self.dispatch.payload)


class Preference(models.Model):
    """A person's opt-out of one channel for one kind; no row means the channel is on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="preference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}/{self.channel}={self.enabled}"


class DeliverySettings(models.Model):
    """Per-person delivery choices that are not per kind."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delivery_settings"
    )
    # None: the person never chose, so the default applies: on for someone who switched
    # off immediate e-mails for announced or changed campaigns (see services).
    daily_digest = models.BooleanField(
        _("daily digest instead of immediate e-mails"),
        null=True,
        blank=True,
        default=None,
        help_text=_(
            "Escalations are always sent at once. Left empty, it is on for people who "
            "switched off e-mails for announced or changed campaigns."
        ),
    )
    weekly_preview = models.BooleanField(
        _("Monday e-mail about the week ahead"),
        default=True,
        help_text=_("What launches this week for your teams, on Monday morning."),
    )

    class Meta:
        verbose_name = _("delivery settings")
        verbose_name_plural = _("delivery settings")

    def __str__(self) -> str:
        return f"{self.user_id} digest={self.daily_digest}"


class DigestRun(models.Model):
    """Marks a digest as sent for a person and period, so a second beat tick sends nothing."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=30)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "period"], name="digest_run_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period}"


class SubscriptionToken(models.Model):
    """The secret in a person's calendar and feed addresses (launches of their teams).

    Calendar apps and feed readers fetch without a session, so the URL itself is the
    credential: a capability URL, like a calendar's "secret address". The token is stored
    as is rather than hashed because the person must be able to copy the address again
    from their preferences page whenever they add a new device; a hash would mean showing
    it once and regenerating to see it again. 256 random bits make it unguessable, it
    only grants read access to launch dates and summaries, and regenerating it (which
    replaces the row's token) revokes every old address at once.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscription_token"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("subscription token")
        verbose_name_plural = _("subscription tokens")

    def __str__(self) -> str:
        return f"{self.user_id} subscription"
