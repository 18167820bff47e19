"""Reads of the campaign domain; each keeps a constant number of queries."""

from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, Q, QuerySet

from accounts.models import User
from campaigns.models import Acknowledgement, Campaign, CampaignEvent, Feedback, Stakeholder
from teams.models import Membership, Team

Status = Campaign.Status


def campaign_list(*, status: str | None = None) -> QuerySet[Campaign]:
    """Campaigns with owner and acknowledgement progress ("2/3 teams") annotated."""
    campaigns = Campaign.objects.select_related("owner").annotate(
        team_count=Count("stakeholders", distinct=True),
        acknowledged_team_count=Count(
            "stakeholders",
            filter=Q(stakeholders__acknowledged_version=F("version")),
            distinct=True,
        ),
    )
    if status:
        campaigns = campaigns.filter(status=status)
    return campaigns.order_by(F("launch_at").desc(nulls_first=True), "-id")


def campaign_detail(*, campaign_id: int) -> Campaign:
    """One campaign with everything its page shows, in a fixed number of queries."""
    acknowledgements = Acknowledgement.objects.filter(revoked_at__isnull=True).select_related(
        "user"
    )
    return (
        Campaign.objects.select_related("owner")
        .prefetch_related(
            Prefetch(
                "stakeholders",
                queryset=Stakeholder.objects.select_related("team", "acknowledged_by")
                .prefetch_related(Prefetch("acknowledgements", queryset=acknowledgements))
                .order_by("team__name"),
            ),
            Prefetch(
                "events",
                queryset=CampaignEvent.objects.select_related("actor").order_by(
                    "-created_at", "-id"
                ),
            ),
            "kpis",
            "attachments",
            Prefetch("feedback", queryset=Feedback.objects.select_related("author")),
        )
        .get(pk=campaign_id)
    )


@dataclass(frozen=True)
class ActionState:
    """Whether a button may be used, and if not, why (shown beside the disabled button)."""

    allowed: bool
    reason: str = ""


def campaign_actions(*, campaign: Campaign, user: User) -> dict[str, ActionState]:
    """What `user` may do to `campaign` now. Mirrors the rules in services, which still
    enforce them: this only explains a disabled button. Expects campaign_detail()."""
    from django.utils.translation import gettext as _

    status = campaign.status
    stakeholders = list(campaign.stakeholders.all())
    pending = [s.team.name for s in stakeholders if s.acknowledged_version != campaign.version]
    actions: dict[str, ActionState] = {}

    def state(perm: str, ok_status: set[str], extra_reason: str = "") -> ActionState:
        if not user.has_perm(perm):
            return ActionState(False, _("Your role does not allow this."))
        if status not in ok_status:
            return ActionState(
                False,
                _("Not possible for a %(status)s campaign.")
                % {"status": campaign.get_status_display().lower()},
            )
        if extra_reason:
            return ActionState(False, extra_reason)
        return ActionState(True)

    announce_reason = ""
    if not stakeholders:
        announce_reason = _("Add at least one stakeholder team first.")
    elif campaign.launch_at is None:
        announce_reason = _("Set a launch date first.")
    actions["edit"] = state("campaigns.change_campaign", {Status.DRAFT, Status.ANNOUNCED})
    actions["announce"] = state("campaigns.announce_campaign", {Status.DRAFT}, announce_reason)
    actions["mark_done"] = state(
        "campaigns.close_campaign",
        {Status.ANNOUNCED},
        _("Waiting for %(teams)s") % {"teams": ", ".join(pending)} if pending else "",
    )
    actions["override_done"] = state(
        "campaigns.override_done_campaign",
        {Status.ANNOUNCED},
        _("Every team has acknowledged: use Mark as done.") if not pending else "",
    )
    actions["cancel"] = state("campaigns.close_campaign", {Status.DRAFT, Status.ANNOUNCED})
    return actions


def stakeholders_for_user(*, campaign: Campaign, user: User) -> list[Stakeholder]:
    """The campaign's stakeholder rows of teams the user belongs to (from campaign_detail)."""
    team_ids = set(Membership.objects.filter(user=user).values_list("team_id", flat=True))
    return [s for s in campaign.stakeholders.all() if s.team_id in team_ids]


def user_acknowledged(*, stakeholder: Stakeholder, user: User, version: int) -> bool:
    return any(
        a.user_id == user.pk and a.version == version for a in stakeholder.acknowledgements.all()
    )


def teams_for_form() -> QuerySet[Team]:
    return Team.objects.order_by("name")
