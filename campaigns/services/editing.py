"""Writing a campaign: create, edit (with the version bump after announcement), duplicate."""

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import AuditAction
from audit.services import record_audit_event
from campaigns import rules
from campaigns.calendar import FIRST_YEAR, LAST_YEAR
from campaigns.changes import content_of, version_diff
from campaigns.kpis import unit_errors
from campaigns.models import Campaign, Kpi, Stakeholder
from campaigns.rules import Action
from campaigns.search import search_text_of
from campaigns.services.common import (
    EventKind,
    campaign_missing,
    chat_posts_touch,
    due_at,
    keep_version,
    lock_campaign,
    notify_teams,
    record,
    require,
)
from core.errors import DomainError
from core.text import has_control_characters, strip_bidi
from notifications.models import Kind as NotificationKind
from teams.models import Team
from teams.roles import Actor
from teams.selectors import marketers

_SCRIPT_TAG = re.compile(r"<\s*/?\s*script\b", re.IGNORECASE)
# The ceiling of a PositiveIntegerField on every database.
MAX_WHOLE_NUMBER = 2_147_483_647


# A KPI figure's ceiling (the column's 12 digits, 2 of them decimals).
MAX_KPI_VALUE = Decimal("9999999999.99")


@dataclass(frozen=True, kw_only=True)
class KpiInput:
    name: str
    target: Decimal | int | None = None
    unit: str = Kpi.Unit.COUNT
    direction: str = Kpi.Direction.HIGHER


def kpi_value_errors(
    value: Decimal | int | None, *, unit: str, kpi: str, actual: bool = False
) -> list[str]:
    """What is wrong with one KPI figure, its target or (`actual`) its actual value:
    negative, too large, more than two decimals, a count that is not whole, or a
    percentage over 100 (a rate typed as 274 for 2.74 %)."""
    if value is None:
        return []
    value = Decimal(value)
    values = {"kpi": kpi}
    if not value.is_finite():
        problem = "nan"
    elif value < 0:
        problem = "negative"
    elif value > MAX_KPI_VALUE:
        problem = "large"
    elif value != value.quantize(Decimal("0.01")):
        problem = "decimals"
    elif unit == Kpi.Unit.COUNT and value != value.to_integral_value():
        problem = "count"
    elif unit == Kpi.Unit.PERCENT and value > 100:
        problem = "percent"
    else:
        return []
    # One sentence per case and figure: translations need the whole sentence.
    texts = {
        ("nan", False): _("%(kpi)s: the target is not a number."),
        ("nan", True): _("%(kpi)s: the actual value is not a number."),
        ("negative", False): _("%(kpi)s: the target cannot be negative."),
        ("negative", True): _("%(kpi)s: the actual value cannot be negative."),
        ("large", False): _("%(kpi)s: the target is too large."),
        ("large", True): _("%(kpi)s: the actual value is too large."),
        ("decimals", False): _("%(kpi)s: the target has more than two decimals."),
        ("decimals", True): _("%(kpi)s: the actual value has more than two decimals."),
        ("count", False): _(
            "%(kpi)s: a count is a whole number; choose %% or € for a rate or an amount."
        ),
        ("count", True): _(
            "%(kpi)s: a count is a whole number; choose %% or € for a rate or an amount."
        ),
        ("percent", False): _(
            "%(kpi)s: a percentage is at most 100 (type 2.74 for 2.74 %%, not 274)."
        ),
        ("percent", True): _(
            "%(kpi)s: a percentage is at most 100 (type 2.74 for 2.74 %%, not 274)."
        ),
    }
    return [texts[problem, actual] % values]


@dataclass(frozen=True, kw_only=True)
class CampaignInput:
    """What a marketer types in: the same fields for create and update."""

    title: str
    channel: str
    audience: str = ""
    estimated_recipients: int | None = 0
    launch_at: datetime | None = None
    ends_at: datetime | None = None
    summary: str = ""
    body: str = ""
    objective: str = ""
    team_ids: Sequence[int] = ()
    kpis: Sequence[KpiInput] | None = None  # None leaves the KPIs as they are
    editor_ids: Sequence[int] | None = None  # None leaves the co-editors as they are


def campaign_validate(
    data: CampaignInput,
    *,
    campaign: Campaign | None = None,
    known_team_ids: Collection[int] | None = None,
) -> dict[str, list[str]]:
    """Every rule on what a marketer typed, as {field: [messages]}; empty means valid.

    Read-only. campaign_create and campaign_update refuse with these errors, and the
    campaign form runs the same function to show them next to each field as the marketer
    types (campaigns.forms), so a rule lives here once. With `campaign`, the rules of
    editing that campaign are added (an announced campaign keeps teams and a launch date).
    `known_team_ids`, the ids of every team, saves the team query when the caller read
    them already (the CSV import checks thousands of rows against one read).
    """
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not data.title.strip():
        add("title", _("Title is required."))
    elif len(data.title) > 200:
        add("title", _("Title must be at most 200 characters."))
    elif has_control_characters(data.title.strip()):
        add("title", _("The title must fit on one line, without tabs or control characters."))
    if len(strip_bidi(data.audience).strip()) > 300:
        # The form's field says so itself; an import or the API would reach the column.
        add("audience", _("The audience must be at most 300 characters."))
    elif has_control_characters(data.audience.strip()):
        add(
            "audience",
            _("The audience must fit on one line, without tabs or control characters."),
        )
    if data.channel not in Campaign.Channel.values:
        add("channel", _("Channel must be one of the listed channels."))
    if data.estimated_recipients is None:
        add("estimated_recipients", _("Estimated recipients is required (0 if unknown)."))
    elif data.estimated_recipients < 0:
        add("estimated_recipients", _("Estimated recipients cannot be negative."))
    elif data.estimated_recipients > MAX_WHOLE_NUMBER:
        add(
            "estimated_recipients",
            _("Estimated recipients must be at most %(max)s.") % {"max": f"{MAX_WHOLE_NUMBER:,}"},
        )
    for name, label, moment in (
        ("launch_at", _("Launch date"), data.launch_at),
        ("ends_at", _("End date"), data.ends_at),
    ):
        if moment is not None and not FIRST_YEAR <= moment.year <= LAST_YEAR:
            add(
                name,
                _("%(field)s must be between the years %(first)s and %(last)s.")
                % {"field": label, "first": FIRST_YEAR, "last": LAST_YEAR},
            )
    if data.launch_at and data.ends_at and data.ends_at < data.launch_at:
        add("ends_at", _("End date must be after the launch date."))
    for name, label, value in (
        ("summary", _("Summary"), data.summary),
        ("body", _("Body"), data.body),
        ("objective", _("Objective"), data.objective),
    ):
        if _SCRIPT_TAG.search(value or ""):
            add(name, _("%(field)s must not contain <script> tags.") % {"field": label})
    if data.team_ids:
        if known_team_ids is not None:
            found = {pk for pk in data.team_ids if pk in known_team_ids}
        else:
            found = set(Team.objects.filter(pk__in=data.team_ids).values_list("pk", flat=True))
        if missing := set(data.team_ids) - found:
            add("teams", _("Unknown stakeholder team(s): %(ids)s.") % {"ids": sorted(missing)})
    if data.editor_ids:
        found = set(marketers().filter(pk__in=data.editor_ids).values_list("pk", flat=True))
        if set(data.editor_ids) - found:
            add("editors", _("Co-editors must be active marketers."))
    if data.kpis:
        for message in kpis_validate(data.kpis):
            add("kpis", message)
    if campaign is not None:
        for name, messages in _edit_rules(campaign, data, now=timezone.now()).items():
            for message in messages:
                add(name, message)
    return errors


def kpis_validate(kpis: Sequence[KpiInput]) -> list[str]:
    """The rules on a campaign's KPI rows, for the form's KPI rows (see campaign_validate)."""
    messages = []
    names = [k.name.strip().lower() for k in kpis]
    if any(not n for n in names):
        messages.append(_("Each KPI needs a name."))
    elif len(set(names)) != len(names):
        messages.append(_("Two KPIs have the same name."))
    if any(k.target is not None and k.target < 0 for k in kpis):
        messages.append(_("KPI targets cannot be negative."))
    for kpi in kpis:
        messages.extend(unit_errors(kpi.unit, kpi.direction))
        if kpi.target is None or kpi.target >= 0:
            messages.extend(kpi_value_errors(kpi.target, unit=kpi.unit, kpi=kpi.name.strip()))
    return messages


def _edit_rules(campaign: Campaign, data: CampaignInput, *, now: datetime) -> dict[str, list[str]]:
    """Editing an announced campaign: the teams were told a date, so it keeps a launch date
    (not moved into the past) and at least one team."""
    errors: dict[str, list[str]] = {}
    if not campaign.phase.awaiting_acknowledgement:
        return errors
    if not data.team_ids:
        errors["teams"] = [_("An announced campaign needs at least one stakeholder team.")]
    if data.launch_at is None:
        errors["launch_at"] = [_("An announced campaign needs a launch date.")]
    elif data.launch_at != campaign.launch_at and data.launch_at < now:
        errors["launch_at"] = [_("Launch date cannot be moved into the past after announcement.")]
    return errors


def _sync_stakeholders(
    campaign: Campaign, team_ids: Sequence[int], *, now: datetime
) -> tuple[list[int], list[int]]:
    current = set(campaign.stakeholders.values_list("team_id", flat=True))
    wanted = set(team_ids)
    added, removed = sorted(wanted - current), sorted(current - wanted)
    if removed:
        campaign.stakeholders.filter(team_id__in=removed).delete()
    if added:
        teams = Team.objects.filter(pk__in=added)
        told = campaign.phase.awaiting_acknowledgement
        Stakeholder.objects.bulk_create(
            Stakeholder(
                campaign=campaign,
                team=team,
                due_at=due_at(team, now=now, launch_at=campaign.launch_at) if told else None,
            )
            for team in teams
        )
    return added, removed


def _sync_editors(
    campaign: Campaign, editor_ids: Sequence[int], actor: User
) -> tuple[list[int], list[int]]:
    """Co-editors as `editor_ids` say. Being one opens the campaign while it is a draft
    and lets one change it, so a change is an access grant: it goes to the audit log
    (people by id, as the log names nobody) besides the timeline."""
    current = set(campaign.editors.values_list("pk", flat=True))
    wanted = set(editor_ids) - {campaign.owner_id}
    added, removed = sorted(wanted - current), sorted(current - wanted)
    if removed:
        campaign.editors.remove(*removed)
    if added:
        campaign.editors.add(*added)
    if added or removed:
        record_audit_event(
            actor=actor,
            action=AuditAction.CAMPAIGN_EDITORS_CHANGED,
            target=campaign,
            target_label=campaign.title,
            details={"added": added, "removed": removed},
        )
    return added, removed


def _sync_kpis(campaign: Campaign, kpis: Sequence[KpiInput]) -> None:
    """Only what differs is written: a sync job saving the same KPIs every hour must not
    touch the rows (each write bumps the campaign's revision, its ETag)."""
    current = {kpi.name: kpi for kpi in campaign.kpis.all()}
    keep = []
    for position, item in enumerate(kpis):
        values = {
            "target": item.target,
            "unit": item.unit,
            "direction": item.direction,
            "position": position,
        }
        kpi = current.get(item.name.strip())
        if kpi is None:
            kpi = Kpi.objects.create(campaign=campaign, name=item.name.strip(), **values)
        elif any(getattr(kpi, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(kpi, name, value)
            kpi.save(update_fields=list(values))
        keep.append(kpi.pk)
    if {kpi.pk for kpi in current.values()} - set(keep):
        campaign.kpis.exclude(pk__in=keep).delete()


def _content(data: CampaignInput) -> dict[str, object]:
    """The campaign's own fields (Campaign.CONTENT_FIELDS) from the input, cleaned as
    they are stored: bidi controls (a right-to-left override reversing part of a title)
    stripped from the title, audience and summary, which every list, e-mail and chat
    message shows."""
    content: dict[str, object] = {name: getattr(data, name) for name in Campaign.CONTENT_FIELDS}
    content.update(
        title=strip_bidi(data.title).strip(),
        audience=strip_bidi(data.audience).strip(),
        summary=strip_bidi(data.summary),
        estimated_recipients=data.estimated_recipients or 0,
    )
    return content


def campaign_input_content(data: CampaignInput) -> dict[str, object]:
    """The campaign's own fields as campaign_create and campaign_update would store them,
    to tell without writing whether an input changes a campaign (the CSV import's
    preview)."""
    return _content(data)


def _search_text(content: dict[str, object], owner: User) -> str:
    """SQLite's search column (campaigns.search) for these fields and owner."""
    return search_text_of(
        title=str(content["title"]),
        summary=str(content["summary"]),
        audience=str(content["audience"]),
        body=str(content["body"]),
        owner_name=owner.display_name,
    )


def campaigns_search_text_refresh(*, owner: User) -> int:
    """Write the search column again on every campaign `owner` owns, after their name
    changed (a rename, an erasure: the old name must stop finding them). PostgreSQL's
    search document follows by trigger; this column is the embedded database's. Runs in
    the caller's transaction; returns how many campaigns it rewrote."""
    campaigns = list(
        Campaign.objects.filter(owner=owner).only("title", "summary", "audience", "body")
    )
    for campaign in campaigns:
        campaign.search_text = _search_text(
            {
                "title": campaign.title,
                "summary": campaign.summary,
                "audience": campaign.audience,
                "body": campaign.body,
            },
            owner,
        )
    Campaign.objects.bulk_update(campaigns, ["search_text"], batch_size=500)
    return len(campaigns)


def campaign_create(*, actor: User, data: CampaignInput) -> Campaign:
    """Create a draft with its stakeholder teams and co-editors, owned by the actor (a
    marketer). One transaction; nothing is notified yet. Not idempotent."""
    rules.require_can_create(Actor.of(actor))
    if errors := campaign_validate(data):
        raise DomainError.for_fields(errors)
    with transaction.atomic():
        content = _content(data)
        campaign = Campaign.objects.create(
            owner=actor, search_text=_search_text(content, actor), **content
        )
        _sync_stakeholders(campaign, data.team_ids, now=timezone.now())
        if data.editor_ids:
            _sync_editors(campaign, data.editor_ids, actor)
        if data.kpis:
            _sync_kpis(campaign, data.kpis)
        record(campaign, actor, EventKind.CREATED, {"title": campaign.title})
    return campaign


def campaign_update(*, actor: User, campaign_id: int, data: CampaignInput) -> Campaign:
    """Edit a draft or announced campaign (its owner, co-editors or a manager).

    One transaction with the campaign row locked. After announcement a material change
    (launch date, audience, body, channel) bumps the version: every team's
    acknowledgement no longer matches, due dates restart and the teams get a "changed"
    notice, queued after commit, that says what changed (fields before → after, the body
    as the passages that changed). The new version's content is kept (CampaignVersion);
    other edits after announcement update the current version's. Saving the same values
    again changes nothing and records nothing.
    """
    if errors := campaign_validate(data):
        raise DomainError.for_fields(errors)
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        require(Action.EDIT, actor, campaign)
        told = campaign.phase.awaiting_acknowledgement
        if errors := _edit_rules(campaign, data, now=timezone.now()):
            raise DomainError.for_fields(errors)
        new_values = _content(data)
        before = content_of(campaign)
        changed = [name for name, value in new_values.items() if getattr(campaign, name) != value]
        for name in changed:
            setattr(campaign, name, new_values[name])
        campaign.search_text = _search_text(new_values, campaign.owner)
        material = [name for name in changed if name in Campaign.MATERIAL_FIELDS]
        now = timezone.now()
        if told and material:
            campaign.version += 1
        if changed:  # the same values again write nothing (nor bump the revision, the ETag)
            campaign.save()
        added, removed = _sync_stakeholders(campaign, data.team_ids, now=now)
        editors_added, editors_removed = (
            _sync_editors(campaign, data.editor_ids, actor)
            if data.editor_ids is not None
            else ([], [])
        )
        if data.kpis is not None:
            _sync_kpis(campaign, data.kpis)
        if changed or added or removed or editors_added or editors_removed:
            details: dict[str, object] = {
                "fields": changed,
                "teams_added": added,
                "teams_removed": removed,
            }
            if editors_added or editors_removed:
                details["editors_added"] = _names(editors_added)
                details["editors_removed"] = _names(editors_removed)
            record(campaign, actor, EventKind.EDITED, details)
        if told and changed:
            keep_version(campaign, actor)
        if told and material:
            stakeholders = list(campaign.stakeholders.select_related("team"))
            for stakeholder in stakeholders:
                stakeholder.due_at = due_at(stakeholder.team, now=now, launch_at=campaign.launch_at)
            Stakeholder.objects.bulk_update(stakeholders, ["due_at"])
            # The previous version's content is the campaign's before this edit (its
            # CampaignVersion is kept equal to it), so no read is needed.
            diff = version_diff(before, content_of(campaign))
            record(campaign, actor, EventKind.VERSION_BUMPED, {"fields": material, "changes": diff})
            chat_posts_touch(campaign)  # their buttons now answer for an older version
            unchanged_teams = [s.team_id for s in stakeholders if s.team_id not in added]
            notify_teams(
                campaign,
                unchanged_teams,
                kind=NotificationKind.CHANGED,
                changes=material,
                diff=diff,
            )
        if told and added:
            notify_teams(campaign, added, kind=NotificationKind.ANNOUNCED)
    return campaign


def _names(user_ids: Sequence[int]) -> list[str]:
    return [user.display_name for user in User.objects.filter(pk__in=user_ids)]


def campaign_duplicate(*, actor: User, campaign_id: int) -> Campaign:
    """A new draft with another campaign's content, KPI targets and stakeholder teams (next
    year's greeting card), owned by the actor, at version 1, without dates, results,
    attachments, co-editors or history; its timeline starts with a "duplicated" event
    naming the source. One transaction; nobody is notified. Not idempotent: each call
    makes a copy.
    """
    with transaction.atomic():
        try:
            source = Campaign.objects.select_related("owner").get(pk=campaign_id)
        except Campaign.DoesNotExist:
            raise campaign_missing() from None
        require(Action.DUPLICATE, actor, source)
        copy_of = _("%(title)s (copy)")
        max_length = Campaign._meta.get_field("title").max_length or 200
        room = max_length - len(copy_of % {"title": ""})
        content = {
            name: getattr(source, name)
            for name in Campaign.CONTENT_FIELDS
            if name not in Campaign.DATE_FIELDS
        }
        content["title"] = copy_of % {"title": source.title[:room].rstrip()}
        copy = Campaign.objects.create(
            owner=actor, search_text=_search_text(content, actor), **content
        )
        Stakeholder.objects.bulk_create(
            Stakeholder(campaign=copy, team_id=team_id)
            for team_id in source.stakeholders.values_list("team_id", flat=True)
        )
        Kpi.objects.bulk_create(
            Kpi(
                campaign=copy,
                name=kpi.name,
                target=kpi.target,
                unit=kpi.unit,
                direction=kpi.direction,
                position=kpi.position,
            )
            for kpi in source.kpis.all()
        )
        record(
            copy,
            actor,
            EventKind.DUPLICATED,
            {"source_id": source.pk, "source_title": source.title},
        )
    return copy
