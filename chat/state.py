"""What a chat message says about its campaign now, for the team it was posted to."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Stakeholder
from core.when import time_short
from notifications.chat_text import chat_escape
from teams.models import Team


@dataclass(frozen=True)
class Target:
    """What a chat button answers for: one version of a campaign, for one team."""

    campaign_id: int
    version: int
    team_id: int


def state_lines(
    *, campaign_id: int, version: int, team_id: int, escape: Callable[[str], str]
) -> tuple[list[str], bool]:
    """What the message says now about its campaign and its team, in the active
    language, and whether its buttons still work: read fresh from the database. What
    people typed (a reason, a reply, their names) goes through `escape`, the chat
    format's (notifications.chat_text): it reaches a whole channel and must not ping it,
    link elsewhere or restyle the message; the sentence around it is ours."""
    campaign = Campaign.objects.get(pk=campaign_id)
    stakeholder = (
        Stakeholder.objects.select_related(
            "team", "acknowledged_by", "not_ready_by", "not_ready_replied_by"
        )
        .filter(campaign_id=campaign_id, team_id=team_id)
        .first()
    )
    lines: list[str] = []
    if version < campaign.version:
        lines.append(
            _("Superseded: version %(version)s was announced since, see the newer message.")
            % {"version": campaign.version}
        )
        return lines, False
    if campaign.status == Campaign.Status.CANCELLED:
        return [_("✖ Cancelled: this campaign will not reach customers.")], False
    if stakeholder is None:
        return [_("This team is no longer a stakeholder of the campaign.")], False
    if stakeholder.acknowledged_version == campaign.version and stakeholder.acknowledged_at:
        lines.append(
            _("✓ Acknowledged by %(who)s, %(when)s")
            % {
                "who": escape(stakeholder.acknowledger_name),
                "when": time_short(stakeholder.acknowledged_at),
            }
        )
    elif stakeholder.not_ready_at is not None:
        lines.append(
            _("⚠ Not ready: “%(reason)s” (%(who)s, %(when)s)")
            % {
                "reason": escape(stakeholder.not_ready_reason),
                "who": escape(stakeholder.objector_name),
                "when": time_short(stakeholder.not_ready_at),
            }
        )
        if stakeholder.not_ready_replied_at is not None:
            lines.append(
                _("↳ %(who)s replied: %(reply)s")
                % {
                    "who": escape(stakeholder.replier_name),
                    "reply": escape(stakeholder.not_ready_reply),
                }
            )
    if campaign.status == Campaign.Status.DONE:
        lines.append(_("Done: every stakeholder team has been told."))
        return lines, False
    return lines, True


def state_text(target: Target) -> str:
    """The state as one Mattermost text, in the team's language (its attachment)."""
    team = Team.objects.filter(pk=target.team_id).first()
    with translation.override(team.language if team else None):
        lines, _actionable = state_lines(
            campaign_id=target.campaign_id,
            version=target.version,
            team_id=target.team_id,
            escape=chat_escape("mattermost"),
        )
    return "\n".join(lines)
