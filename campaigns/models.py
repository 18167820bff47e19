import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Now
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core import bounds

if TYPE_CHECKING:
    from campaigns.rules import Phase

# Campaigns without a launch date sort as if they launched at the end of time: after every
# dated campaign in ascending order, before them in descending order. The list paginates
# with a row comparison on (sort key, id), and a NULL inside a row comparison would make
# it unknown, hence a COALESCE rather than NULLS FIRST/LAST.
UNDATED_SORTS_AS = datetime(9999, 1, 1, tzinfo=UTC)


def launch_sort_key() -> Coalesce:
    """The list's sort key; the expression indexes in Campaign.Meta are built on it."""
    return Coalesce("launch_at", Value(UNDATED_SORTS_AS, output_field=models.DateTimeField()))


class CampaignStatus(models.TextChoices):
    """A campaign's life; which moves and actions each status allows is campaigns.rules."""

    DRAFT = "draft", _("Draft")
    ANNOUNCED = "announced", _("Announced")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class CampaignChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    MAIL = "mail", _("Mail / print")
    EVENT = "event", _("Event")
    WEBINAR = "webinar", _("Webinar")
    SOCIAL = "social", _("Social media")
    WEB = "web", _("Web")
    OTHER = "other", _("Other")


class Campaign(models.Model):
    Status = CampaignStatus
    Channel = CampaignChannel

    # What a marketer writes: the form's fields, the services' input (CampaignInput).
    CONTENT_FIELDS = (
        "title",
        "channel",
        "audience",
        "estimated_recipients",
        "launch_at",
        "ends_at",
        "summary",
        "body",
        "objective",
    )
    # Changing one of these after announcement changes what customers receive, so the
    # stakeholder teams must acknowledge again (see campaigns.services.campaign_update).
    MATERIAL_FIELDS = ("launch_at", "audience", "body", "channel")
    # A campaign's dates: what a copy (campaign_duplicate) leaves out.
    DATE_FIELDS = ("launch_at", "ends_at")

    title = models.CharField(_("title"), max_length=200)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    audience = models.CharField(
        _("audience"),
        max_length=300,
        blank=True,
        help_text=_("Segment or list the campaign targets."),
    )
    estimated_recipients = models.PositiveIntegerField(
        _("estimated recipients"), default=0, validators=bounds.positive_int4()
    )
    launch_at = models.DateTimeField(_("launch date"), null=True, blank=True)
    ends_at = models.DateTimeField(_("end date"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_campaigns",
        verbose_name=_("owner"),
    )
    summary = models.TextField(_("summary"), blank=True)
    body = models.TextField(
        _("body"),
        blank=True,
        help_text=_("Markdown: what customers received, talking points and FAQ for advisors."),
    )
    objective = models.TextField(_("objective"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    version = models.PositiveIntegerField(
        _("version"), default=1, validators=bounds.positive_int4()
    )
    already_sent_reason = models.TextField(
        _("reason for announcing after launch"),
        blank=True,
        help_text=_("Set when a campaign is announced after it already went out."),
    )
    done_override_reason = models.TextField(_("override reason"), blank=True)
    announced_at = models.DateTimeField(_("announced at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    teams = models.ManyToManyField(
        "teams.Team",
        through="Stakeholder",
        related_name="campaigns",
        verbose_name=_("stakeholder teams"),
    )
    # The text search document (campaigns.search), stored so a search reads it instead of
    # stemming every candidate's body again. PostgreSQL keeps it current with a trigger
    # (migrations 0009, 0013), whatever writes the row; on SQLite it stays empty.
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    # SQLite's stand-in for it: the same fields and the owner's name, casefolded, without
    # accents (campaigns.search.search_text_of), written by the editing services.
    search_text = models.TextField(blank=True, default="", editable=False)
    # Raised by the database whenever the campaign or anything shown with it changes
    # (migration 0016): kept pages (core/pages.py) compare it instead of rendering again.
    revision = models.PositiveBigIntegerField(default=0, editable=False)
    # Marketers who may change the campaign as its owner does (see campaigns.rules).
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="coedited_campaigns",
        blank=True,
        verbose_name=_("co-editors"),
        help_text=_("Other marketers who may edit, announce and close this campaign."),
    )

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-launch_at", "-id"]
        permissions = [
            ("announce_campaign", _("Can announce a campaign")),
            ("close_campaign", _("Can mark a campaign done or cancel it")),
            ("override_done_campaign", _("Can mark a campaign done without every acknowledgement")),
            ("view_dashboard", _("Can view acknowledgement dashboards")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CampaignStatus.values), name="campaign_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=CampaignChannel.values), name="campaign_channel_valid"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="campaign_version_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(launch_at__isnull=True)
                | Q(ends_at__gte=F("launch_at")),
                name="campaign_ends_after_launch",
            ),
            models.CheckConstraint(
                condition=~Q(status=CampaignStatus.ANNOUNCED) | Q(launch_at__isnull=False),
                name="campaign_announced_has_launch",
            ),
        ]
        indexes = [
            models.Index(fields=["launch_at", "id"], name="campaign_launch_idx"),
            # The launches everybody but marketers and managers may see (rules.private_q,
            # negated; tests/campaigns/test_indexes.py holds the two equal): an advisor's
            # calendar counts them from this index alone, not from every row of the month.
            models.Index(
                fields=["launch_at", "id"],
                condition=~(
                    Q(status=CampaignStatus.DRAFT)
                    | Q(status=CampaignStatus.CANCELLED, announced_at__isnull=True)
                ),
                name="campaign_launch_visible_idx",
            ),
            models.Index(fields=["status", "launch_at"], name="campaign_status_launch_idx"),
            models.Index(fields=["owner", "status"], name="campaign_owner_status_idx"),
            # The campaign list's keyset pages, unfiltered and by each equality filter.
            models.Index(launch_sort_key(), F("id"), name="campaign_list_idx"),
            models.Index(F("status"), launch_sort_key(), F("id"), name="campaign_list_status_idx"),
            models.Index(
                F("channel"), launch_sort_key(), F("id"), name="campaign_list_channel_idx"
            ),
            models.Index(F("owner"), launch_sort_key(), F("id"), name="campaign_list_owner_idx"),
            # The dashboard's period: campaigns announced between two dates.
            models.Index(fields=["announced_at"], name="campaign_announced_idx"),
            # Subscriptions' "still running" slice: the few campaigns ending after a date.
            models.Index(
                fields=["ends_at"], condition=Q(ends_at__isnull=False), name="campaign_ends_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("campaigns:detail", args=[self.pk])

    @property
    def phase(self) -> "Phase":
        """Where the campaign is in its life, as pages show it (see campaigns.rules)."""
        from campaigns.rules import phase_of

        return phase_of(self.status, announced=self.announced_at is not None)


# Where a reference comes from: a lowercase slug ("hubspot", "brevo", "csv").
REFERENCE_SOURCE_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*\Z"
# How pages name the sources they know; any other shows as its slug.
REFERENCE_SOURCE_NAMES = {
    "hubspot": "HubSpot",
    "brevo": "Brevo",
    "mailchimp": "Mailchimp",
    "salesforce": "Salesforce",
    "csv": "CSV",
}


class ExternalReference(models.Model):
    """The campaign a marketing tool knows under its own id: importing or pushing the
    same (source, id) again updates that campaign instead of creating another one
    (campaigns.services.campaign_save_by_reference). Written once, in the transaction
    that creates its campaign, and never changed: the campaign's revision covers it."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="external_reference"
    )
    source = models.CharField(
        _("source"),
        max_length=40,
        validators=[RegexValidator(REFERENCE_SOURCE_PATTERN)],
        help_text=_("The tool the campaign comes from, as a lowercase slug: hubspot, brevo…"),
    )
    external_id = models.CharField(_("id in the source"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("external reference")
        verbose_name_plural = _("external references")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="external_reference_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"

    @property
    def source_name(self) -> str:
        return REFERENCE_SOURCE_NAMES.get(self.source, self.source)


# A KPI's figures: up to 9,999,999,999.99.
KPI_MAX_DIGITS = 12


class Kpi(models.Model):
    """One objective measure of a campaign: a target set up front, the actual recorded
    later, in a unit (a count, a percentage, euros) and with a direction: most figures
    are better higher, some (unsubscribes, complaints, cost per lead) lower."""

    class Unit(models.TextChoices):
        COUNT = "count", _("Count")
        PERCENT = "percent", _("% (rate)")
        EUR = "eur", _("€ (amount)")

    class Direction(models.TextChoices):
        HIGHER = "higher", _("Higher is better")
        LOWER = "lower", _("Lower is better")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="kpis")
    name = models.CharField(_("indicator"), max_length=100)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.COUNT)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.HIGHER
    )
    # Two decimals: rates (2.74 %) and amounts (12.50 €); the service checks the bounds.
    target = models.DecimalField(
        _("target"), max_digits=KPI_MAX_DIGITS, decimal_places=2, null=True, blank=True
    )
    actual = models.DecimalField(
        _("actual"), max_digits=KPI_MAX_DIGITS, decimal_places=2, null=True, blank=True
    )
    # Where the actual came from: a person on the results form (""), or the marketing tool
    # that pushed it through the API ("hubspot"), and when it was last recorded.
    actual_source = models.CharField(_("results source"), max_length=40, blank=True)
    actual_recorded_at = models.DateTimeField(_("results recorded at"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0, validators=bounds.positive_smallint())

    class Meta:
        verbose_name = _("KPI")
        verbose_name_plural = _("KPIs")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="kpi_unique_name"),
            models.CheckConstraint(
                condition=Q(unit__in=["count", "percent", "eur"]), name="kpi_unit_valid"
            ),
            models.CheckConstraint(
                condition=Q(direction__in=["higher", "lower"]), name="kpi_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(target__isnull=True) | Q(target__gte=0), name="kpi_target_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(actual__isnull=True) | Q(actual__gte=0), name="kpi_actual_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


def stakeholder_pending_q() -> Q:
    """A stakeholder row whose team owes its campaign's current version: never
    acknowledged, or acknowledged a version before a material change. The one rule the
    reminders, the dashboard figures and the team page all count by."""
    return Q(acknowledged_version__isnull=True) | ~Q(acknowledged_version=F("campaign__version"))


def stakeholder_overdue_q(now: datetime) -> Q:
    """Pending on an announced campaign whose due date is at or before `now`."""
    from campaigns.rules import AWAITING, status_q  # the rule book imports this module

    return status_q(AWAITING, "campaign__") & Q(due_at__lte=now) & stakeholder_pending_q()


class StakeholderQuerySet(models.QuerySet["Stakeholder"]):
    def pending(self) -> "StakeholderQuerySet":
        return self.filter(stakeholder_pending_q())

    def overdue(self, now: datetime) -> "StakeholderQuerySet":
        return self.filter(stakeholder_overdue_q(now))


class Stakeholder(models.Model):
    """A team concerned by a campaign, and whether it has acknowledged the current version."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="stakeholders")
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="stakeholdings")
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    # The team counts as acknowledged when this equals the campaign's version.
    acknowledged_version = models.PositiveIntegerField(
        null=True, blank=True, validators=bounds.positive_int4()
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The versions the reminder and the escalation went out for: beat only looks at teams
    # with something left to send, so its work does not grow with every late team.
    reminded_version = models.PositiveIntegerField(
        null=True, blank=True, validators=bounds.positive_int4()
    )
    escalated_version = models.PositiveIntegerField(
        null=True, blank=True, validators=bounds.positive_int4()
    )
    # The team's open "not ready" answer (set while it holds the campaign's closure), and
    # the owner's reply to it. Cleared when the team acknowledges; the timeline keeps
    # every objection and reply.
    not_ready_reason = models.TextField(_("why the team is not ready"), blank=True)
    not_ready_at = models.DateTimeField(null=True, blank=True)
    not_ready_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    not_ready_reply = models.TextField(_("reply to the team"), blank=True)
    not_ready_replied_at = models.DateTimeField(null=True, blank=True)
    not_ready_replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = StakeholderQuerySet.as_manager()

    class Meta:
        verbose_name = _("stakeholder team")
        verbose_name_plural = _("stakeholder teams")
        ordering = ["team__name"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "team"], name="stakeholder_unique_team")
        ]
        indexes = [
            models.Index(fields=["team", "due_at"], name="stakeholder_team_due_idx"),
            # The dashboard's 12-week trends, every team at once, by due date.
            models.Index(fields=["due_at"], name="stakeholder_due_idx"),
            # The dashboard counts the open "not ready" answers and their age.
            models.Index(
                fields=["not_ready_at"],
                condition=Q(not_ready_at__isnull=False),
                name="stakeholder_not_ready_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team} – {self.campaign}"

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_version == self.campaign.version

    @property
    def is_not_ready(self) -> bool:
        return self.not_ready_at is not None

    def is_overdue(self, now: datetime) -> bool:
        """stakeholder_overdue_q for one row already read (with its campaign)."""
        from campaigns.rules import AWAITING  # the rule book imports this module

        return (
            self.campaign.status in AWAITING
            and self.due_at is not None
            and self.due_at <= now
            and not self.is_acknowledged
        )

    @property
    def objector_name(self) -> str:
        """Who said the team is not ready."""
        return self.not_ready_by.display_name if self.not_ready_by else str(_("a former member"))

    @property
    def replier_name(self) -> str:
        """Who answered the team's "not ready"."""
        if self.not_ready_replied_by is None:
            return str(_("a former member"))
        return self.not_ready_replied_by.display_name

    @property
    def acknowledger_name(self) -> str:
        # The person may have been deleted since (SET_NULL): the acknowledgement stands.
        if self.acknowledged_by is None:
            return str(_("a former member"))
        return self.acknowledged_by.display_name


class Acknowledgement(models.Model):
    """One person's acknowledgement of one version, for one of their teams."""

    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    # PROTECT: deleting a person must never silently erase who acknowledged what (the
    # dashboards and timelines count these rows); accounts.services.person_erase replaces
    # the person's name and e-mail by a pseudonym instead.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="acknowledgements"
    )
    version = models.PositiveIntegerField(validators=bounds.positive_int4())
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stakeholder", "user", "version"],
                condition=Q(revoked_at__isnull=True),
                name="ack_unique_live_per_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} v{self.version}"


class CampaignEvent(models.Model):
    """The campaign's timeline. Append-only: services add rows, nothing edits them."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        ANNOUNCED = "announced", _("Announced")
        VERSION_BUMPED = "version_bumped", _("Changed after announcement")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ACK_REVOKED = "ack_revoked", _("Acknowledgement withdrawn")
        TEAM_ACKNOWLEDGED = "team_acknowledged", _("Team acknowledged")
        NOT_READY = "not_ready", _("Team not ready")
        NOT_READY_REPLIED = "not_ready_replied", _("Replied to a team not ready")
        DONE = "done", _("Marked as done")
        DONE_OVERRIDDEN = "done_overridden", _("Marked as done by override")
        DUPLICATED = "duplicated", _("Duplicated from another campaign")
        CANCELLED = "cancelled", _("Cancelled")
        RESULTS = "results", _("Results recorded")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    version = models.PositiveIntegerField(validators=bounds.positive_int4())
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["campaign", "created_at"], name="event_campaign_time_idx"),
            # The dashboard counts and lists one kind (overrides) over a period.
            models.Index(fields=["kind", "created_at"], name="event_kind_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind} v{self.version}"


class CampaignVersion(models.Model):
    """What one announced version told the teams: the brief's fields (Campaign.CONTENT_FIELDS)
    as they were when it was announced or re-announced after a material change, kept
    current by title or summary fixes while the version is the current one, and frozen
    once a newer version supersedes it. Written only by the services (announce, update),
    in the transaction of the change; the campaign page, the "changed" notices and the
    acknowledgement page show the difference between two of them (campaigns.changes)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(validators=bounds.positive_int4())
    title = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=CampaignChannel.choices)
    audience = models.CharField(max_length=300, blank=True)
    estimated_recipients = models.PositiveIntegerField(default=0, validators=bounds.positive_int4())
    launch_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True)
    objective = models.TextField(blank=True)
    announced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("announced version")
        verbose_name_plural = _("announced versions")
        ordering = ["campaign", "version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="campaign_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} v{self.version}"


class ChannelDefaultTeam(models.Model):
    """A team pre-selected as stakeholder when a campaign uses this channel (editable)."""

    channel = models.CharField(_("channel"), max_length=20, choices=Campaign.Channel.choices)
    team = models.ForeignKey(
        "teams.Team",
        on_delete=models.CASCADE,
        related_name="default_for_channels",
        verbose_name=_("team"),
    )

    class Meta:
        verbose_name = _("default stakeholder team")
        verbose_name_plural = _("default stakeholder teams")
        ordering = ["channel", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "team"], name="channel_default_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.team}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    # A random prefix: names stay readable and two uploads of "email.pdf" never collide.
    return f"campaigns/{instance.campaign_id}/{uuid.uuid4().hex[:12]}-{filename}"


class Attachment(models.Model):
    """A file that shows what customers received (the e-mail as PDF, a visual…).

    Stored through Django's storage API, so an S3-compatible storage works in production;
    served only to logged-in people through a view, never from a public media URL."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(validators=bounds.positive_int4())
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class Feedback(models.Model):
    """The reverse flow: questions, answers and what customers say, on one campaign."""

    class Tag(models.TextChoices):
        MESSAGE = "message", _("Message")
        QUESTION = "question", pgettext_lazy("feedback type", "Question")
        POSITIVE = "positive", _("Positive reaction")
        NEUTRAL = "neutral", _("Neutral reaction")
        NEGATIVE = "negative", _("Negative reaction")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="feedback")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("author"),
    )
    tag = models.CharField(_("type"), max_length=20, choices=Tag.choices, default=Tag.MESSAGE)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(auto_now_add=True)
    # A reply belongs to one message of the thread (one level: replies are not replied to).
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    # The channel it was posted through, when not the campaign's page ("slack", …).
    via = models.CharField(max_length=20, blank=True)
    # A question is answered once its owner (a co-editor, a manager) or its asker says so.
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tag__in=["message", "question", "positive", "neutral", "negative"]),
                name="feedback_tag_valid",
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "created_at"], name="feedback_campaign_idx"),
            models.Index(fields=["parent", "created_at"], name="feedback_replies_idx"),
            # The unanswered questions at the top of the page, the inbox and the digest.
            models.Index(
                fields=["campaign", "created_at"],
                condition=Q(tag="question", parent__isnull=True, answered_at__isnull=True),
                name="feedback_unanswered_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_tag_display()}: {self.body[:40]}"

    @property
    def is_open_question(self) -> bool:
        return self.tag == self.Tag.QUESTION and self.parent_id is None and not self.answered_at


class ReminderSnooze(models.Model):
    """One person's reminders about one campaign, held until a time (at most their team's
    due date: escalations never wait). A reminder due meanwhile is owed (`owed_version`)
    and sent when the snooze ends, if the team still has not acknowledged."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_snoozes"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="reminder_snoozes"
    )
    until = models.DateTimeField(_("reminders snoozed until"))
    owed_version = models.PositiveIntegerField(
        null=True, blank=True, validators=bounds.positive_int4()
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("snoozed reminder")
        verbose_name_plural = _("snoozed reminders")
        constraints = [
            models.UniqueConstraint(fields=["user", "campaign"], name="reminder_snooze_unique")
        ]
        indexes = [
            models.Index(
                fields=["until"],
                condition=Q(owed_version__isnull=False),
                name="reminder_snooze_owed_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.campaign_id} until {self.until:%Y-%m-%d %H:%M}"


class LaunchChange(models.Model):
    """A change to which campaigns launch when, for whom: a campaign created or deleted,
    its launch moved, its status changed, or its announcement set or cleared (what the
    rule book's visibility reads). Written by database triggers (migration 0024), so
    every writer counts; read by a kept calendar (core/pages.py) as its stamp, the count
    and sum of the rows' ids, which any committed change moves; purged after a few
    minutes (campaigns.services.launch_changes_purge)."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("launch change")
        verbose_name_plural = _("launch changes")

    def __str__(self) -> str:
        return f"launch change {self.pk}"
