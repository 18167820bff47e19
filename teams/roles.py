"""Roles are Django groups holding permissions; everyone else is a stakeholder."""

MARKETER = "Marketer"
MANAGER = "Manager"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    MARKETER: [
        "campaigns.view_campaign",
        "campaigns.add_campaign",
        "campaigns.change_campaign",
        "campaigns.announce_campaign",
        "campaigns.close_campaign",
    ],
    MANAGER: [
        "campaigns.view_campaign",
        "campaigns.close_campaign",
        "campaigns.override_done_campaign",
        "campaigns.view_dashboard",
        "teams.view_team",
        "teams.add_team",
        "teams.change_team",
        "teams.view_membership",
        "teams.add_membership",
        "teams.change_membership",
        "teams.delete_membership",
    ],
}
