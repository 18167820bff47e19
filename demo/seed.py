"""Demo data for screenshots, manual testing and onboarding (`manage.py seed_demo`).

What the demo holds is data, in demo/data/: people, teams, and campaigns that each tell
a story step by step (announced, acknowledged, changed, closed…), every step with its
moment ("day -14 at 09:30") and the person who took it. The seed creates each campaign
and plays its steps through the services, as that person, so the timelines,
acknowledgements, due dates and outbox rows are what three weeks of real use leave.

History is dated after the fact. The services read the real clock, and the seed leaves
it alone: a step runs now, then every timestamp it wrote is moved back to the step's
moment by explicit UPDATEs (`_redate`). While a step runs, the campaign's launch and end
dates are moved forward by the same amount, so each rule that compares them with the
clock (announce before launch, no launch moved into the past, results only after launch,
due dates capped at launch) judges the step as it would have at its moment; the story's
own dates are written back at the end.

The demo accounts are created here and only here (never by a migration), all with the
password `DEMO_PASSWORD`. Idempotent: people, teams and memberships are fetched or
created, and a campaign whose title already exists is left alone.
"""

import re
import tomllib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import DatabaseError, models, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from campaigns import services
from campaigns.models import (
    Acknowledgement,
    Campaign,
    CampaignEvent,
    CampaignVersion,
    ChannelDefaultTeam,
    Feedback,
    Kpi,
    Stakeholder,
)
from campaigns.services.common import due_at
from notifications.models import Channel, Dispatch, Notification
from notifications.services import inbox_mark_read
from teams.models import Membership, Team
from teams.roles import MANAGER, MARKETER
from teams.services import roles_sync

__all__ = ["DATA_DIR", "DEMO_PASSWORD", "DemoDataError", "demo_load", "demo_seed"]

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_PASSWORD = "passerelle-demo"  # noqa: S105 - published on purpose: demo accounts only
# People and teams were there well before the first campaign.
JOINED_DAYS_AGO = 90


class DemoDataError(ValueError):
    """A demo data file says something the seed cannot play."""


# --- reading the data ---------------------------------------------------------------------

_DAY = re.compile(r"day ([+-]?\d+) at (\d{1,2}):(\d{2})")
_AGO = re.compile(r"(\d+(?:\.\d+)?) hours? ago")


def moment(text: str, *, now: datetime) -> datetime:
    """When a story's step happened: "day -14 at 09:30" (local time, days from today's
    date) or "3 hours ago"."""
    if match := _DAY.fullmatch(text):
        offset, hour, minute = (int(part) for part in match.groups())
        local = timezone.localtime(now)
        return datetime.combine(
            local.date() + timedelta(days=offset), time(hour, minute), tzinfo=local.tzinfo
        )
    if match := _AGO.fullmatch(text):
        return now - timedelta(hours=float(match[1]))
    raise DemoDataError(f"unreadable moment {text!r}: write 'day -14 at 09:30' or '3 hours ago'")


@dataclass(frozen=True, kw_only=True)
class Person:
    email: str
    full_name: str
    language: str = "fr"
    login: bool = False  # one of the documented logins (README)
    superuser: bool = False
    groups: Sequence[str] = ()
    teams: Mapping[str, str] = field(default_factory=dict)  # team slug → membership role


@dataclass(frozen=True, kw_only=True)
class Step:
    at: datetime
    by: str  # a key of people.toml
    action: str
    details: Mapping[str, Any]  # the action's own keys, e.g. {"note": …} for "ack"


def _kpi_input(name: str, value: Any) -> services.KpiInput:
    """A KPI of the demo data: a bare target is a count where higher is better."""
    if not isinstance(value, Mapping):
        return services.KpiInput(name=name, target=value)
    return services.KpiInput(
        name=name,
        target=None if value.get("target") is None else Decimal(str(value["target"])),
        unit=value.get("unit", Kpi.Unit.COUNT),
        direction=value.get("direction", Kpi.Direction.HIGHER),
    )


@dataclass(frozen=True, kw_only=True)
class Story:
    """One campaign: its fields as first typed in, its creation, then what people did."""

    owner: str
    fields: Mapping[str, Any]  # CampaignInput fields, with "teams" as slugs
    # name → target, or a table { target, unit, direction } (campaigns.models.Kpi)
    kpis: Mapping[str, Any]
    created: datetime
    steps: Sequence[Step]


@dataclass(frozen=True, kw_only=True)
class Demo:
    now: datetime  # what the moments are relative to
    people: Mapping[str, Person]
    teams: Mapping[str, Mapping[str, Any]]  # slug → Team fields
    channel_defaults: Mapping[str, Sequence[str]]  # channel → team slugs
    stories: Sequence[Story]

    @property
    def logins(self) -> list[str]:
        return [person.email for person in self.people.values() if person.login]


# The keys each step action takes besides at, by and action.
STEP_KEYS: dict[str, frozenset[str]] = {
    "announce": frozenset(),
    "ack": frozenset({"note"}),
    "edit": frozenset({"changes"}),
    "done": frozenset(),
    "override": frozenset({"reason"}),
    "cancel": frozenset({"reason"}),
    "results": frozenset({"actuals"}),
    "feedback": frozenset({"tag", "body"}),
}
_PLAIN_FIELDS = frozenset(
    {
        "title",
        "channel",
        "audience",
        "estimated_recipients",
        "summary",
        "objective",
        "teams",
        "editors",
    }
)
_DATE_FIELDS = ("launch_at", "ends_at")


def demo_load(data_dir: Path | None = None, *, now: datetime | None = None) -> Demo:
    """Read and check the data files (in DATA_DIR unless told), with moments relative to
    `now`. Writes nothing."""
    data_dir = data_dir or DATA_DIR
    now = now or timezone.now()

    def read(name: str) -> dict[str, Any]:
        with (data_dir / name).open("rb") as file:
            return tomllib.load(file)

    people = {
        key: _build(Person, table, f"person {key!r}")
        for key, table in read("people.toml")["people"].items()
    }
    teams_file = read("teams.toml")
    demo = Demo(
        now=now,
        people=people,
        teams=teams_file["teams"],
        channel_defaults=teams_file["channel_defaults"],
        stories=[
            _story(table, data_dir=data_dir, now=now)
            for table in read("campaigns.toml")["campaigns"]
        ],
    )
    _check(demo)
    return demo


def _build[T](cls: type[T], table: Mapping[str, Any], where: str) -> T:
    try:
        return cls(**table)
    except TypeError as error:
        raise DemoDataError(f"{where}: {error}") from None


def _fields(
    table: Mapping[str, Any], *, where: str, data_dir: Path, now: datetime
) -> dict[str, Any]:
    """A campaign's fields, or an edit's changes, as CampaignInput takes them."""
    fields: dict[str, Any] = {}
    for key, value in table.items():
        if key in _DATE_FIELDS:
            fields[key] = moment(value, now=now)
        elif key == "body_file":
            fields["body"] = (data_dir / "bodies" / value).read_text(encoding="utf-8")
        elif key in _PLAIN_FIELDS:
            fields[key] = value
        else:
            raise DemoDataError(f"{where}: unknown campaign field {key!r}")
    return fields


def _story(table: Mapping[str, Any], *, data_dir: Path, now: datetime) -> Story:
    table = dict(table)
    where = f"campaign {table.get('title')!r}"
    try:
        owner, created = table.pop("owner"), moment(table.pop("created"), now=now)
    except KeyError as error:
        raise DemoDataError(f"{where}: {error.args[0]!r} is missing") from None
    steps = []
    for raw in table.pop("steps", []):
        step = dict(raw)
        at, by, action = step.pop("at"), step.pop("by"), step.pop("action")
        if action not in STEP_KEYS or not set(step) <= STEP_KEYS[action]:
            raise DemoDataError(f"{where}: cannot play {raw!r}")
        if "changes" in step:
            step["changes"] = _fields(step["changes"], where=where, data_dir=data_dir, now=now)
        steps.append(Step(at=moment(at, now=now), by=by, action=action, details=step))
    kpis = table.pop("kpis", {})
    return Story(
        owner=owner,
        fields={"teams": [], **_fields(table, where=where, data_dir=data_dir, now=now)},
        kpis=kpis,
        created=created,
        steps=steps,
    )


def _check(demo: Demo) -> None:
    """Fail before writing anything on a name that points nowhere or a step out of order."""
    problems = []
    for key, person in demo.people.items():
        problems += [
            f"person {key!r}: unknown role {name!r}"
            for name in person.groups
            if name not in (MARKETER, MANAGER)
        ]
        problems += [
            f"person {key!r}: unknown team {slug!r}"
            for slug in person.teams
            if slug not in demo.teams
        ]
    for channel, slugs in demo.channel_defaults.items():
        problems += [
            f"channel {channel!r}: unknown team {slug!r}"
            for slug in slugs
            if slug not in demo.teams
        ]
    for story in demo.stories:
        where = f"campaign {story.fields.get('title')!r}"
        problems += [
            f"{where}: unknown team {slug!r}"
            for slug in story.fields["teams"]
            if slug not in demo.teams
        ]
        if story.owner not in demo.people:
            problems.append(f"{where}: unknown owner {story.owner!r}")
        problems += [
            f"{where}: unknown co-editor {key!r}"
            for key in story.fields.get("editors", [])
            if key not in demo.people
        ]
        previous = story.created
        for step in story.steps:
            if step.by not in demo.people:
                problems.append(f"{where}: unknown person {step.by!r}")
            if not previous < step.at <= demo.now:
                problems.append(
                    f"{where}: {step.action} at {step.at:%Y-%m-%d %H:%M} is "
                    "not after the step before, or not in the past"
                )
            previous = step.at
    if problems:
        raise DemoDataError("; ".join(problems))


# --- seeding ------------------------------------------------------------------------------


def demo_foreign_accounts(demo: Demo, *, sample: int = 3) -> tuple[int, list[str]]:
    """How many accounts are not demo people, and the e-mails of the first few.

    Any such account means the database holds someone's real data: the seed would add a
    superuser with a public password to it, and runstack would serve it with DEBUG on.
    A read only; a database not migrated yet has no accounts at all."""
    demo_emails = [person.email.lower() for person in demo.people.values()]
    others = (
        User.objects.annotate(email_lower=Lower("email"))
        .exclude(email_lower__in=demo_emails)
        .order_by("pk")
    )
    try:
        return others.count(), list(others.values_list("email", flat=True)[:sample])
    except DatabaseError:  # no accounts table yet: a brand-new database
        return 0, []


def demo_seed(demo: Demo | None = None) -> dict[str, int]:
    """Create the demo teams, people and campaigns (read from DATA_DIR unless given);
    return how many of each were created.

    One transaction: the seed lands whole or not at all; outbox deliveries are queued on
    commit like any other change. Idempotent: a second run creates nothing.
    """
    demo = demo or demo_load()
    joined = demo.now - timedelta(days=JOINED_DAYS_AGO)
    with transaction.atomic():
        roles_sync()
        events_before = CampaignEvent.objects.count()
        notifications_before = Notification.objects.count()
        teams, teams_created = _seed_teams(demo.teams, joined=joined)
        channel_defaults_created = _seed_channel_defaults(demo.channel_defaults, teams)
        users, users_created, memberships_created = _seed_people(demo.people, teams, joined=joined)
        campaigns_created = 0
        for story in demo.stories:
            if not Campaign.objects.filter(title=story.fields["title"]).exists():
                _play(story, users=users, teams=teams)
                campaigns_created += 1
        escalations = 0
        if campaigns_created:
            # What beat would do within minutes: remind and escalate overdue teams, so
            # the inboxes of leads and managers show it from the start.
            sweep = services.campaigns_send_due_reminders_and_escalations()
            escalations = sweep["reminders"] + sweep["escalations"]
        return {
            "teams": teams_created,
            "channel_defaults": channel_defaults_created,
            "users": users_created,
            "memberships": memberships_created,
            "campaigns": campaigns_created,
            "campaigns_existing": len(demo.stories) - campaigns_created,
            "events": CampaignEvent.objects.count() - events_before,
            "notifications": Notification.objects.count() - notifications_before,
            "reminders_and_escalations": escalations,
        }


def _seed_teams(
    specs: Mapping[str, Mapping[str, Any]], *, joined: datetime
) -> tuple[dict[str, Team], int]:
    teams: dict[str, Team] = {}
    created: list[int] = []
    for slug, spec in specs.items():
        team, was_created = Team.objects.get_or_create(slug=slug, defaults=dict(spec))
        teams[slug] = team
        if was_created:
            created.append(team.pk)
    Team.objects.filter(pk__in=created).update(created_at=joined)
    return teams, len(created)


def _seed_channel_defaults(defaults: Mapping[str, Sequence[str]], teams: Mapping[str, Team]) -> int:
    """Add the missing default teams per channel; existing ones are left as they are."""
    created = 0
    for channel, slugs in defaults.items():
        for slug in slugs:
            _default, was_created = ChannelDefaultTeam.objects.get_or_create(
                channel=channel, team=teams[slug]
            )
            created += was_created
    return created


def _seed_people(
    people: Mapping[str, Person], teams: Mapping[str, Team], *, joined: datetime
) -> tuple[dict[str, User], int, int]:
    groups = {group.name: group for group in Group.objects.filter(name__in=[MARKETER, MANAGER])}
    # One hash for everyone: the password is public anyway, and hashing it fifteen times
    # would make the seed take seconds for nothing.
    password = make_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    users_created = 0
    memberships_created: list[int] = []
    for key, person in people.items():
        user, created = User.objects.get_or_create(
            email=person.email,
            defaults={
                "full_name": person.full_name,
                "language": person.language,
                "password": password,
                "is_staff": person.superuser,
                "is_superuser": person.superuser,
                "date_joined": joined,
            },
        )
        users_created += created
        # Without a verified address allauth would ask for a confirmation e-mail at login.
        EmailAddress.objects.get_or_create(
            user=user, email=person.email, defaults={"primary": True, "verified": True}
        )
        user.groups.add(*(groups[name] for name in person.groups))
        for slug, role in person.teams.items():
            membership, created = Membership.objects.get_or_create(
                team=teams[slug], user=user, defaults={"role": role}
            )
            if created:
                memberships_created.append(membership.pk)
        users[key] = user
    Membership.objects.filter(pk__in=memberships_created).update(joined_at=joined)
    return users, users_created, len(memberships_created)


def _play(story: Story, *, users: Mapping[str, User], teams: Mapping[str, Team]) -> None:
    """Create one campaign and play its story; each step runs now and is then re-dated."""
    fields = dict(story.fields)
    # Co-editors are people's keys in the data, ids for the services.
    fields["editor_ids"] = [users[key].pk for key in fields.pop("editors", [])]
    shift = timezone.now() - story.created
    campaign = services.campaign_create(
        actor=users[story.owner],
        data=_input(
            fields,
            teams=teams,
            shift=shift,
            kpis=[_kpi_input(name, value) for name, value in story.kpis.items()],
        ),
    )
    _redate(campaign.pk, before={}, shift=shift)
    for step in story.steps:
        shift = timezone.now() - step.at
        Campaign.objects.filter(pk=campaign.pk).update(**_dates(fields, shift))
        before = _stamps(campaign.pk)
        if step.action == "edit":
            fields = {**fields, **step.details["changes"]}
        _do(
            step,
            campaign_id=campaign.pk,
            actor=users[step.by],
            fields=fields,
            teams=teams,
            shift=shift,
        )
        _redate(campaign.pk, before=before, shift=shift)
        _redue(campaign.pk, before=before, at=step.at, launch_at=_dates(fields, timedelta()))
    Campaign.objects.filter(pk=campaign.pk).update(**_dates(fields, timedelta()))


def _dates(fields: Mapping[str, Any], shift: timedelta) -> dict[str, datetime | None]:
    """The launch and end dates, moved by `shift` (in UTC: a move is a duration, not a
    number of wall-clock hours, across a change of daylight saving time too)."""
    dates = {name: fields.get(name) for name in _DATE_FIELDS}
    return {name: value and value.astimezone(UTC) + shift for name, value in dates.items()}


def _input(
    fields: Mapping[str, Any],
    *,
    teams: Mapping[str, Team],
    shift: timedelta,
    kpis: Sequence[services.KpiInput] | None = None,
) -> services.CampaignInput:
    values = {name: value for name, value in fields.items() if name != "teams"}
    return services.CampaignInput(
        **(values | _dates(fields, shift)),
        team_ids=[teams[slug].pk for slug in fields["teams"]],
        kpis=kpis,
    )


def _do(
    step: Step,
    *,
    campaign_id: int,
    actor: User,
    fields: Mapping[str, Any],
    teams: Mapping[str, Team],
    shift: timedelta,
) -> None:
    details = step.details
    match step.action:
        case "announce":
            services.campaign_announce(actor=actor, campaign_id=campaign_id)
        case "ack":
            services.campaign_acknowledge(
                actor=actor, campaign_id=campaign_id, note=details.get("note", "")
            )
            # Whoever acknowledges has read the announcement in their inbox.
            unread = Notification.objects.filter(
                recipient=actor, campaign_id=campaign_id, channel=Channel.IN_APP, read_at=None
            )
            for notification_id in unread.values_list("pk", flat=True):
                inbox_mark_read(user=actor, notification_id=notification_id)
        case "edit":
            data = _input(fields, teams=teams, shift=shift)
            services.campaign_update(actor=actor, campaign_id=campaign_id, data=data)
        case "done":
            services.campaign_mark_done(actor=actor, campaign_id=campaign_id)
        case "override":
            services.campaign_override_done(
                actor=actor, campaign_id=campaign_id, reason=details["reason"]
            )
        case "cancel":
            services.campaign_cancel(actor=actor, campaign_id=campaign_id, reason=details["reason"])
        case "results":
            kpi_ids = dict(Kpi.objects.filter(campaign_id=campaign_id).values_list("name", "pk"))
            services.campaign_record_results(
                actor=actor,
                campaign_id=campaign_id,
                actuals={
                    kpi_ids[name]: Decimal(str(value)) for name, value in details["actuals"].items()
                },
            )
        case "feedback":
            services.feedback_post(
                actor=actor, campaign_id=campaign_id, tag=details["tag"], body=details["body"]
            )


# --- re-dating what a step wrote ---------------------------------------------------------

# Every timestamp the services write, per model, and the lookup to one campaign's rows.
# Launch and end dates are not here: `_play` sets them itself.
_STAMPED: tuple[tuple[type[models.Model], str, tuple[str, ...]], ...] = (
    (Campaign, "pk", ("created_at", "updated_at", "announced_at", "done_at", "cancelled_at")),
    (Stakeholder, "campaign", ("due_at", "acknowledged_at")),
    (Acknowledgement, "stakeholder__campaign", ("created_at", "revoked_at")),
    (CampaignEvent, "campaign", ("created_at",)),
    (CampaignVersion, "campaign", ("launch_at", "ends_at", "created_at")),
    (Feedback, "campaign", ("created_at",)),
    (Dispatch, "campaign", ("created_at",)),
    (Notification, "campaign", ("created_at", "next_attempt_at", "sent_at", "read_at")),
)
# The campaign's dates in a dispatch's payload, the snapshot its notices are written from.
_PAYLOAD_DATES = ("launch_at", "ends_at", "due_at")

Stamps = dict[type[models.Model], dict[int, tuple[datetime | None, ...]]]


def _stamps(campaign_id: int) -> Stamps:
    """The timestamps of one campaign's rows, by model and primary key."""
    return {
        model: {
            pk: tuple(values)
            for pk, *values in model._default_manager.filter(**{lookup: campaign_id}).values_list(
                "pk", *names
            )
        }
        for model, lookup, names in _STAMPED
    }


def _redate(campaign_id: int, *, before: Stamps, shift: timedelta) -> None:
    """Move back by `shift` every timestamp written since `before`: those of new rows,
    and those that changed. Comparing with `before`, rather than with the step's start,
    matters for due dates: an earlier step's due date, once re-dated, may still lie ahead
    of the real clock, and must not be moved twice."""
    after = _stamps(campaign_id)
    for model, _lookup, names in _STAMPED:
        moved: defaultdict[tuple[str, ...], list[int]] = defaultdict(list)
        for pk, values in after[model].items():
            was = before.get(model, {}).get(pk, (None,) * len(names))
            changed = tuple(
                name
                for name, value, old in zip(names, values, was, strict=True)
                if value is not None and value != old
            )
            if changed:
                moved[changed].append(pk)
        for changed, pks in moved.items():
            model._default_manager.filter(pk__in=pks).update(
                **{name: F(name) - shift for name in changed}
            )
    new_dispatches = Dispatch.objects.filter(campaign_id=campaign_id).exclude(
        pk__in=before.get(Dispatch, {})
    )
    for pk, payload in new_dispatches.values_list("pk", "payload"):
        dated: dict[str, Any] = {
            name: (datetime.fromisoformat(payload[name]) - shift).isoformat()
            for name in _PAYLOAD_DATES
            if payload.get(name)
        }
        if payload.get("diff"):
            dated["diff"] = _redated_changes(payload["diff"], shift)
        Dispatch.objects.filter(pk=pk).update(payload=payload | dated)
    new_events = CampaignEvent.objects.filter(campaign_id=campaign_id).exclude(
        pk__in=before.get(CampaignEvent, {})
    )
    for pk, details in new_events.filter(details__has_key="changes").values_list("pk", "details"):
        changes = _redated_changes(details["changes"], shift)
        CampaignEvent.objects.filter(pk=pk).update(details=details | {"changes": changes})


def _redated_changes(changes: list[dict[str, Any]], shift: timedelta) -> list[dict[str, Any]]:
    """A new version's changes (campaigns.changes) with their dates moved back by `shift`."""

    def moved(value: str | None) -> str | None:
        return value and (datetime.fromisoformat(value) - shift).isoformat()

    return [
        change | {"before": moved(change["before"]), "after": moved(change["after"])}
        if change["kind"] == "moment"
        else change
        for change in changes
    ]


def _redue(
    campaign_id: int, *, before: Stamps, at: datetime, launch_at: Mapping[str, datetime | None]
) -> None:
    """Due dates set by a step, computed again from the step's own instant: they count
    the team's working hours, so moving them back by a number of clock hours (as
    `_redate` does) could land one on a weekend night."""
    previous = before.get(Stakeholder, {})
    for stakeholder in Stakeholder.objects.filter(campaign_id=campaign_id).select_related("team"):
        was = previous.get(stakeholder.pk, (None,))[0]
        if stakeholder.due_at is None or stakeholder.due_at == was:
            continue
        stakeholder.due_at = due_at(stakeholder.team, now=at, launch_at=launch_at["launch_at"])
        stakeholder.save(update_fields=["due_at"])
