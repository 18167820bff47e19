"""Writes to the campaign domain, one module per feature; each function owns its
transaction and enforces the rule book (campaigns.rules) before changing anything.

- `editing`: create, edit (version bump after announcement), duplicate
- `lifecycle`: announce, mark as done, override, cancel
- `acknowledgements`: acknowledge, withdraw
- `readiness`: a team's "not ready" and the owner's reply
- `snooze`: a person holding a campaign's reminders until a time
- `reminders`: reminders and escalations (beat), nudges
- `feedback`: the campaign's thread
- `results`: actual KPI values
- `attachments`: files
- `deliveries`: failed messages sent again by hand
- `references`: campaigns saved by a marketing tool's id (the CSV import, the API)

Callers use the names below (`services.campaign_announce(...)`).
"""

from campaigns.services.acknowledgements import (
    VIA_EMAIL_LINK,
    AcknowledgementResult,
    TeamAcknowledgement,
    campaign_acknowledge,
    campaign_acknowledgement_revoke,
    team_acknowledgements_recount,
)
from campaigns.services.attachments import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_TYPES,
    attachment_add,
    attachment_cut_off_error,
    attachment_remove,
)
from campaigns.services.common import notification_payload
from campaigns.services.deliveries import campaign_deliveries_retry
from campaigns.services.editing import (
    CampaignInput,
    KpiInput,
    campaign_create,
    campaign_duplicate,
    campaign_input_content,
    campaign_update,
    campaign_validate,
    campaigns_search_text_refresh,
    kpis_validate,
)
from campaigns.services.feedback import (
    FEEDBACK_MAX_LENGTH,
    feedback_mark_answered,
    feedback_post,
    mentioned_people,
)
from campaigns.services.launch_changes import launch_changes_purge
from campaigns.services.lifecycle import (
    campaign_announce,
    campaign_cancel,
    campaign_mark_done,
    campaign_override_done,
)
from campaigns.services.readiness import (
    NOT_READY_REASON_MAX_LENGTH,
    stakeholder_not_ready,
    stakeholder_not_ready_reply,
)
from campaigns.services.references import (
    UPDATABLE_FIELDS,
    ImportFailure,
    ImportItem,
    ImportOutcome,
    ReferenceSaved,
    campaign_save_by_reference,
    campaigns_import,
    input_over_campaign,
    reference_errors,
)
from campaigns.services.reminders import (
    NudgeAllOutcome,
    campaigns_send_due_reminders_and_escalations,
    stakeholder_nudge,
    stakeholder_nudge_all,
)
from campaigns.services.results import campaign_record_results
from campaigns.services.snooze import (
    IN_TWO_WORKING_HOURS,
    NEXT_WORKING_DAY,
    SNOOZE_CHOICES,
    Snoozed,
    reminders_snooze,
    reminders_snooze_cancel,
)

__all__ = [
    "ATTACHMENT_MAX_BYTES",
    "ATTACHMENT_TYPES",
    "FEEDBACK_MAX_LENGTH",
    "IN_TWO_WORKING_HOURS",
    "NEXT_WORKING_DAY",
    "NOT_READY_REASON_MAX_LENGTH",
    "SNOOZE_CHOICES",
    "UPDATABLE_FIELDS",
    "VIA_EMAIL_LINK",
    "AcknowledgementResult",
    "CampaignInput",
    "ImportFailure",
    "ImportItem",
    "ImportOutcome",
    "KpiInput",
    "NudgeAllOutcome",
    "ReferenceSaved",
    "Snoozed",
    "TeamAcknowledgement",
    "attachment_add",
    "attachment_cut_off_error",
    "attachment_remove",
    "campaign_acknowledge",
    "campaign_acknowledgement_revoke",
    "campaign_announce",
    "campaign_cancel",
    "campaign_create",
    "campaign_deliveries_retry",
    "campaign_duplicate",
    "campaign_input_content",
    "campaign_mark_done",
    "campaign_override_done",
    "campaign_record_results",
    "campaign_save_by_reference",
    "campaign_update",
    "campaign_validate",
    "campaigns_import",
    "campaigns_search_text_refresh",
    "campaigns_send_due_reminders_and_escalations",
    "feedback_mark_answered",
    "feedback_post",
    "input_over_campaign",
    "kpis_validate",
    "launch_changes_purge",
    "mentioned_people",
    "notification_payload",
    "reference_errors",
    "reminders_snooze",
    "reminders_snooze_cancel",
    "stakeholder_not_ready",
    "stakeholder_not_ready_reply",
    "stakeholder_nudge",
    "stakeholder_nudge_all",
    "team_acknowledgements_recount",
]
