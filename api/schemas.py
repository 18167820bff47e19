"""The API's documents: what goes in and what comes out, as the OpenAPI schema states them.

Inputs are strict about shape (types, lengths, no unknown fields) and leave the domain's
rules (a launch date before announcing, a count that is whole…) to the services, which
answer with the same messages as the web forms."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator, ConfigDict, StringConstraints, model_validator

from campaigns.calendar import FIRST_YEAR, LAST_YEAR
from campaigns.models import Campaign, Feedback, Kpi
from teams.models import Membership

# Ids as the database holds them (bigint); a larger one would fail the query, not miss.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
# The choices of the models, as enums in the schema (one source: the TextChoices).
if TYPE_CHECKING:
    type Channel = str
    type Status = str
    type Unit = str
    type Direction = str
    type FeedbackTag = str
    type Role = str
else:
    Channel = Literal[tuple(Campaign.Channel.values)]
    Status = Literal[tuple(Campaign.Status.values)]
    Unit = Literal[tuple(Kpi.Unit.values)]
    Direction = Literal[tuple(Kpi.Direction.values)]
    FeedbackTag = Literal[tuple(Feedback.Tag.values)]
    Role = Literal[tuple(Membership.Role.values)]
Source = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
# One line of text without control characters (PostgreSQL refuses a NUL in any text).
ExternalId = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
]
SearchText = Annotated[str, StringConstraints(max_length=500, pattern=r"^[^\x00]*$")]


def _iso_moment(value: object) -> object:
    """ISO 8601 text only. Pydantic alone would read 0 or "1.5" as seconds since 1970: a
    client sending that for a date has a bug worth a 400, not a launch in 1970."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("write a date and time as ISO 8601 text, e.g. 2027-01-02T09:00:00+01:00")
    moment = datetime.fromisoformat(value)
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    # In UTC: the database need not know an offset such as -23:28 (PostgreSQL refuses it).
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment


def _figure(value: object) -> object:
    """A number or its text ("41.20"); never true/false, never "" or "NaN"."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("write a figure as a number, e.g. 41.2")
    try:
        figure = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except ArithmeticError:  # decimal.InvalidOperation: "" or "abc"
        figure = Decimal("NaN")
    if not figure.is_finite():
        raise ValueError("write a figure as a number, e.g. 41.2")
    return figure


Moment = Annotated[datetime, BeforeValidator(_iso_moment)]
Figure = Annotated[Decimal, BeforeValidator(_figure), Field(max_digits=12, decimal_places=2)]


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


class Strict(Schema):
    """A request body: no unknown field, and no type guessed (true is not 1, "3" is not 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: object) -> object:
        # As Django's form fields refuse it: PostgreSQL cannot store a NUL in text.
        if _has_nul(data):
            raise ValueError("text cannot contain a NUL character (\\x00)")
        return data


# --- out -------------------------------------------------------------------------------------


class PersonOut(Schema):
    id: int
    name: str


class TeamRef(Schema):
    id: int
    name: str
    slug: str


class ExternalRefOut(Schema):
    source: str
    external_id: str


class CampaignSummaryOut(Schema):
    id: int
    title: str
    channel: str
    status: str
    version: int = Field(description="Bumped when a material change reaches the teams again.")
    etag: str = Field(description="Send it back as If-Match to update without a lost update.")
    audience: str
    estimated_recipients: int
    launch_at: datetime | None
    ends_at: datetime | None
    owner: PersonOut
    teams_total: int
    teams_acknowledged: int
    external_ref: ExternalRefOut | None
    created_at: datetime
    updated_at: datetime
    url: str


class AcknowledgementOut(Schema):
    person: PersonOut
    at: datetime
    note: str


class NotReadyOut(Schema):
    reason: str
    at: datetime | None
    by: PersonOut | None
    reply: str
    replied_at: datetime | None


class StakeholderOut(Schema):
    team: TeamRef
    acknowledged: bool
    acknowledged_at: datetime | None
    acknowledged_by: PersonOut | None
    due_at: datetime | None
    overdue: bool
    members: int
    acknowledgements: list[AcknowledgementOut]
    not_ready: NotReadyOut | None


class KpiOut(Schema):
    id: int
    name: str
    unit: str
    direction: str
    target: Decimal | None
    actual: Decimal | None
    actual_source: str = Field(description='"" when a person typed it on the results page.')
    actual_recorded_at: datetime | None


class CampaignOut(CampaignSummaryOut):
    summary: str
    body: str
    objective: str
    announced_at: datetime | None
    done_at: datetime | None
    cancelled_at: datetime | None
    stakeholders: list[StakeholderOut]
    kpis: list[KpiOut]
    editors: list[PersonOut]


class CampaignPageOut(Schema):
    items: list[CampaignSummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class FeedbackOut(Schema):
    id: int
    campaign_id: int
    author: PersonOut
    tag: str
    body: str
    created_at: datetime
    parent_id: int | None
    answered_at: datetime | None
    replies: list["FeedbackOut"] = []


class ThreadOut(Schema):
    messages: list[FeedbackOut]
    earlier: int = Field(description="Older messages not listed.")


class MembershipOut(Schema):
    team: TeamRef
    role: str


class MeOut(Schema):
    id: int
    name: str
    email: str
    is_marketer: bool
    is_manager: bool
    teams: list[MembershipOut]
    token: str | None = Field(description="The token's name; null for a browser session.")
    scope: str = Field(description='"read" or "write".')


class MemberOut(Schema):
    person: PersonOut
    email: str
    role: str


class TeamOut(TeamRef):
    ack_policy: str
    ack_deadline_hours: int
    members: list[MemberOut]


class FeedItemOut(Schema):
    campaign: CampaignSummaryOut
    launch_day: str
    i_acknowledged: bool
    my_teams_pending: list[TeamRef]


class FeedOut(Schema):
    week: str
    items: list[FeedItemOut]
    next_cursor: str | None


class InboxItemOut(Schema):
    id: int
    kind: str
    campaign_id: int | None
    campaign_title: str
    created_at: datetime
    unread: bool
    earlier: int = Field(description="Earlier notices about the same campaign, folded.")


class InboxOut(Schema):
    items: list[InboxItemOut]
    next_cursor: str | None
    unread: int


# --- in --------------------------------------------------------------------------------------


class KpiIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    target: Figure | None = None
    unit: Unit = "count"
    direction: Direction = "higher"


class ExternalRefIn(Strict):
    source: Source
    external_id: ExternalId


# Something other than blanks: the schema says what it can of the form's rules.
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
IsoWeek = Annotated[str, StringConstraints(pattern=r"^20[2-9][0-9]-W(0[1-9]|[1-4][0-9]|5[0-3])$")]
Email = Annotated[
    str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]


class CampaignIn(Strict):
    title: Title
    channel: Channel
    audience: Annotated[str, StringConstraints(max_length=300)] = ""
    estimated_recipients: Annotated[int, Field(ge=0, le=2_147_483_647)] = 0
    launch_at: Moment | None = None
    ends_at: Moment | None = None
    summary: Annotated[str, StringConstraints(max_length=20_000)] = ""
    body: Annotated[str, StringConstraints(max_length=100_000)] = ""
    objective: Annotated[str, StringConstraints(max_length=20_000)] = ""
    team_ids: Annotated[list[Id], Field(max_length=200)] = []
    kpis: Annotated[list[KpiIn], Field(max_length=50)] | None = Field(
        default=None, description="null leaves the KPIs as they are (on update)."
    )
    editor_ids: Annotated[list[Id], Field(max_length=50)] | None = None


class CampaignCreateIn(CampaignIn):
    external_ref: ExternalRefIn | None = Field(
        default=None,
        description="Where the campaign comes from; unique. To create or update by it, "
        "use PUT /campaigns/by-ref/{source}/{external_id}.",
    )


class CampaignPatchIn(Strict):
    """Only the fields sent change."""

    title: Title | None = None
    channel: Channel | None = None
    audience: Annotated[str, StringConstraints(max_length=300)] | None = None
    estimated_recipients: Annotated[int, Field(ge=0, le=2_147_483_647)] | None = None
    launch_at: Moment | None = None
    ends_at: Moment | None = None
    summary: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    body: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    objective: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    team_ids: Annotated[list[Id], Field(max_length=200)] | None = None
    kpis: Annotated[list[KpiIn], Field(max_length=50)] | None = None
    editor_ids: Annotated[list[Id], Field(max_length=50)] | None = None


class AnnounceIn(Strict):
    already_sent_reason: Annotated[str, StringConstraints(max_length=2000)] = Field(
        default="", description="Required when the launch date is already past."
    )


class ReasonIn(Strict):
    reason: Annotated[str, StringConstraints(max_length=2000)] = ""


class AcknowledgeIn(Strict):
    note: Annotated[str, StringConstraints(max_length=2000)] = ""
    version: Id | None = Field(
        default=None, description="Acknowledge only if the campaign is still at this version."
    )


class NotReadyIn(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ResultIn(Strict):
    kpi_id: Id | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description="The KPI's name, when its id is not known."
    )
    actual: Figure | None


class ResultsIn(Strict):
    source: Source = Field(description='The tool the figures come from, e.g. "hubspot".')
    results: Annotated[list[ResultIn], Field(min_length=1, max_length=50)]


class FeedbackIn(Strict):
    body: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    tag: FeedbackTag = "message"
    parent_id: Id | None = None


class MemberIn(Strict):
    email: Email
    full_name: Annotated[str, StringConstraints(max_length=150)] = ""
    role: Role = "member"


class MemberRoleIn(Strict):
    role: Role
