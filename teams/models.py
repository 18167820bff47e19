from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import bounds
from core.text import NameField
from teams.validators import validate_webhook_url


class Team(models.Model):
    class Kind(models.TextChoices):
        SALES = "sales", _("Sales")
        SUPPORT = "support", _("Support")
        COMMUNICATION = "communication", _("Communication")
        MARKETING = "marketing", _("Marketing")
        OTHER = "other", _("Other")

    class AckPolicy(models.TextChoices):
        ANY_MEMBER = "any", _("Any member acknowledges for the team")
        EVERY_MEMBER = "every", _("Every member must acknowledge")

    class WebhookFormat(models.TextChoices):
        SLACK = "slack", _("Slack")
        MATTERMOST = "mattermost", _("Mattermost")
        MSTEAMS = "msteams", _("Microsoft Teams")

    name = NameField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    ack_deadline_hours = models.PositiveIntegerField(
        _("acknowledgement deadline (hours)"),
        default=48,
        help_text=_("Hours after an announcement by which the team must have acknowledged."),
        validators=bounds.hours(),
    )
    reminder_hours_before = models.PositiveIntegerField(
        _("reminder (hours before the deadline)"),
        default=12,
        help_text=_(
            "Members who have not acknowledged get a reminder this long before the due date."
        ),
        validators=bounds.hours(),
    )
    ack_policy = models.CharField(
        _("acknowledgement policy"),
        max_length=10,
        choices=AckPolicy.choices,
        default=AckPolicy.ANY_MEMBER,
    )
    webhook_url = models.URLField(
        _("chat webhook URL"),
        blank=True,
        max_length=500,
        validators=[validate_webhook_url],
        help_text=_(
            "Incoming-webhook URL of the team's chat channel (Slack, Mattermost or Teams)."
        ),
    )
    # Set when the chat answered that the webhook is gone (HTTP 404/410): nothing more is
    # posted to it until someone gives the team a working URL.
    webhook_broken_at = models.DateTimeField(_("chat webhook broken since"), null=True, blank=True)
    webhook_broken_reason = models.CharField(
        _("why the chat webhook is broken"), max_length=300, blank=True
    )
    webhook_format = models.CharField(
        _("chat webhook format"),
        max_length=20,
        choices=WebhookFormat.choices,
        default=WebhookFormat.SLACK,
    )
    # The chat channel is shared, so its messages follow the team, not each reader.
    language = models.CharField(
        _("chat language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("Language of the messages posted to the team's chat channel."),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Membership",
        related_name="teams",
        verbose_name=_("members"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["sales", "support", "communication", "marketing", "other"]),
                name="team_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(ack_policy__in=["any", "every"]), name="team_ack_policy_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        LEAD = "lead", _("Lead")

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user"),
            models.CheckConstraint(
                condition=Q(role__in=["member", "lead"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.team})"
