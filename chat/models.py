"""What the two-way chat integrations keep: the messages posted (to update them in place),
who a chat user is in Passerelle, and each click or form received (its audit and replay
guard)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    SLACK = "slack", "Slack"
    MATTERMOST = "mattermost", "Mattermost"


class ChatPost(models.Model):
    """An announcement posted by the Slack app in a team's channel. `stale_since` is the
    update's outbox: set in the transaction of any change the message shows (an
    acknowledgement, "not ready", a new version, the campaign closed), cleared by the
    worker that re-rendered it; the sweep picks up what a lost task left."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="chat_posts"
    )
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="chat_posts")
    version = models.PositiveIntegerField()
    channel_id = models.CharField(max_length=50)
    message_ts = models.CharField(max_length=50)
    # The announcement as posted (Block Kit), to which each update appends the state.
    blocks = models.JSONField(default=list)
    text = models.TextField(blank=True)
    posted_at = models.DateTimeField(auto_now_add=True)
    stale_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("chat message")
        verbose_name_plural = _("chat messages")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "channel_id", "message_ts"], name="chat_post_unique"
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "team"], name="chat_post_campaign_idx"),
            models.Index(
                fields=["stale_since"],
                condition=Q(stale_since__isnull=False),
                name="chat_post_stale_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.channel_id}:{self.message_ts}"


class ChatIdentity(models.Model):
    """A chat user known to be this person: matched by the e-mail address the platform
    verified, or connected once by the person through a signed link."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    workspace_id = models.CharField(max_length=50, blank=True)
    external_user_id = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_identities"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("chat identity")
        verbose_name_plural = _("chat identities")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "workspace_id", "external_user_id"],
                name="chat_identity_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_user_id} → {self.user_id}"


class ChatAction(models.Model):
    """One click or form received from a chat platform, once its signature was checked.

    The fingerprint is unique: the same signed request received twice (a replay, or the
    platform's own retry) is refused and recorded nothing. Slack's actions are carried
    out by a worker (the endpoint must answer within 3 s): pending until then."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")

    platform = models.CharField(max_length=20, choices=Platform.choices)
    fingerprint = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    outcome = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("chat action")
        verbose_name_plural = _("chat actions")
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(status="pending"),
                name="chat_action_pending_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.kind} {self.status}"
