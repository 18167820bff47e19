import logging
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core import bounds
from core.text import NameField
from core.working_time import WorkingCalendar
from teams.validators import (
    validate_holiday_country,
    validate_time_zone,
    validate_webhook_url,
    validate_working_days,
)

logger = logging.getLogger(__name__)


# The columns a team's working calendar is made of (Team.working_calendar).
WORKING_CALENDAR_FIELDS = (
    "time_zone",
    "working_days",
    "work_starts_at",
    "work_ends_at",
    "holiday_country",
    "holiday_subdivision",
)

# What a team's settings form edits (the slug stays: links keep working after a rename).
TEAM_SETTINGS_FIELDS = (
    "name",
    "kind",
    "ack_policy",
    "ack_deadline_hours",
    "reminder_hours_before",
    *WORKING_CALENDAR_FIELDS,
    "webhook_url",
    "webhook_format",
    "slack_channel_id",
    "mattermost_channel_id",
    "language",
)


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
        _("acknowledgement deadline (working hours)"),
        default=48,
        help_text=_(
            "Working hours after an announcement by which the team must have acknowledged."
        ),
        validators=bounds.hours(),
    )
    reminder_hours_before = models.PositiveIntegerField(
        _("reminder (working hours before the deadline)"),
        default=12,
        help_text=_(
            "Members who have not acknowledged get a reminder this many working hours "
            "before the due date."
        ),
        validators=bounds.hours(),
    )
    # Working time: due dates, reminders and escalations count only these hours, so a
    # Friday-evening announcement is not escalated on Saturday (core.working_time).
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Europe/Paris",
        validators=[validate_time_zone],
        help_text=_("The time zone of the team's working hours, such as Europe/Paris."),
    )
    working_days = models.CharField(
        _("working days"),
        max_length=7,
        default="12345",
        validators=[validate_working_days],
        help_text=_("Days of the week, Monday 1 to Sunday 7: 12345 is Monday to Friday."),
    )
    work_starts_at = models.TimeField(_("working day starts at"), default=time(9))
    work_ends_at = models.TimeField(
        _("working day ends at"),
        default=time(18),
        help_text=_("00:00 means midnight at the end of the day."),
    )
    holiday_country = models.CharField(
        _("public holidays of"),
        max_length=3,
        blank=True,
        default="FR",
        validators=[validate_holiday_country],
        help_text=_(
            "Country code (FR, BE, DE…): its public holidays are not working days. Empty for none."
        ),
    )
    holiday_subdivision = models.CharField(
        _("region for public holidays"),
        max_length=10,
        blank=True,
        help_text=_("Optional, for regional holidays: 57 for Moselle, 971 for Guadeloupe…"),
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
    # With the Slack app installed (settings.SLACK_BOT_TOKEN), where it posts the team's
    # announcements, with buttons (chat/slack.py); the webhook is then not used.
    slack_channel_id = models.CharField(
        _("Slack channel ID"),
        max_length=20,
        blank=True,
        validators=[
            RegexValidator(
                r"^[CG][A-Z0-9]{6,19}$",
                _("A Slack channel ID looks like C0123ABCD (channel details, at the bottom)."),
            )
        ],
        help_text=_("With the Passerelle Slack app: announcements come with buttons."),
    )
    # With the Mattermost bot (settings.MATTERMOST_BOT_TOKEN): where it posts, instead of
    # the incoming webhook, so it can update its posts in place.
    mattermost_channel_id = models.CharField(
        _("Mattermost channel ID"),
        max_length=26,
        blank=True,
        validators=[
            RegexValidator(
                r"^[a-z0-9]{26}$",
                _("A Mattermost channel ID is 26 lowercase letters and digits (View Info)."),
            )
        ],
        help_text=_("With the Passerelle Mattermost bot: posts are updated in place."),
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
            models.CheckConstraint(condition=~Q(working_days=""), name="team_has_working_days"),
            models.CheckConstraint(
                condition=Q(work_ends_at__gt=F("work_starts_at")) | Q(work_ends_at=time(0)),
                name="team_working_day_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The fields that only make sense together: the hours, and a region of the country."""
        super().clean()
        errors: dict[str, str] = {}
        ends, starts = self.work_ends_at, self.work_starts_at
        if ends is not None and starts is not None and ends != time(0) and ends <= starts:
            errors["work_ends_at"] = str(_("The working day must end after it starts."))
        if self.holiday_subdivision and not self.holiday_country:
            errors["holiday_subdivision"] = str(_("Choose the country of this region first."))
        elif self.holiday_subdivision and not errors:
            try:
                self.working_calendar(strict=True)
            except ValueError:
                errors["holiday_subdivision"] = str(
                    _("This country has no region with the code “%(code)s”.")
                    % {"code": self.holiday_subdivision}
                )
        if errors:
            raise ValidationError(errors)

    def working_calendar(self, *, strict: bool = False) -> WorkingCalendar:
        """The team's working days, hours and holidays, for core.working_time.

        A row that breaks the rules (written around the form) falls back to the default
        calendar with a warning rather than stopping every due date and sweep; `strict`
        raises ValueError instead (for validation)."""
        try:
            return WorkingCalendar(
                time_zone=self.time_zone,
                weekdays=frozenset(int(day) for day in self.working_days if day.isdigit()),
                starts=self.work_starts_at,
                ends=self.work_ends_at,
                holiday_country=self.holiday_country,
                holiday_subdivision=self.holiday_subdivision,
            )
        except ValueError:
            if strict:
                raise
            logger.warning("Team %s has an unusable working calendar: default used", self.pk)
            return WorkingCalendar()


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
