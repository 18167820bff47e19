from django.urls import path

from campaigns.views import (
    acknowledgements,
    attachments,
    browse,
    feedback,
    form,
    imports,
    lifecycle,
    page,
    results,
)

app_name = "campaigns"
urlpatterns = [
    path("", browse.campaign_list, name="list"),
    path("calendar/", browse.campaign_calendar, name="calendar"),
    path("search/", browse.campaign_search, name="search"),
    # the CSV import: upload, preview, confirm
    path("import/", imports.campaign_import, name="import"),
    path("import/preview/", imports.campaign_import_preview, name="import_preview"),
    path("import/confirm/", imports.campaign_import_confirm, name="import_confirm"),
    path("<int:pk>/", page.campaign_detail, name="detail"),
    path("<int:pk>/live/", page.campaign_live, name="live"),
    # the campaign's life
    path("<int:pk>/announce/", lifecycle.campaign_announce, name="announce"),
    path(
        "<int:pk>/announce/confirm/",
        lifecycle.campaign_announce_confirm,
        name="announce_confirm",
    ),
    path("<int:pk>/done/", lifecycle.campaign_mark_done, name="mark_done"),
    path("<int:pk>/override-done/", lifecycle.campaign_override_done, name="override_done"),
    path("<int:pk>/cancel/", lifecycle.campaign_cancel, name="cancel"),
    path("<int:pk>/duplicate/", lifecycle.campaign_duplicate, name="duplicate"),
    path(
        "<int:pk>/deliveries/retry/",
        lifecycle.campaign_deliveries_retry,
        name="deliveries_retry",
    ),
    # acknowledgements
    path("<int:pk>/acknowledge/", acknowledgements.campaign_acknowledge, name="acknowledge"),
    path(
        "<int:pk>/acknowledge/<int:team_id>/withdraw/",
        acknowledgements.campaign_acknowledgement_revoke,
        name="acknowledgement_revoke",
    ),
    path("ack/<str:token>/", acknowledgements.acknowledge_link, name="acknowledge_link"),
    path("<int:pk>/acknowledge/open/", acknowledgements.acknowledge_open, name="acknowledge_open"),
    path("<int:pk>/not-ready/<int:team_id>/", acknowledgements.team_not_ready, name="not_ready"),
    path("<int:pk>/snooze/", acknowledgements.reminders_snooze, name="snooze"),
    path(
        "<int:pk>/snooze/cancel/",
        acknowledgements.reminders_snooze_cancel,
        name="snooze_cancel",
    ),
    path(
        "<int:pk>/not-ready/<int:team_id>/reply/",
        acknowledgements.team_not_ready_reply,
        name="not_ready_reply",
    ),
    # the reverse flow and the results
    path("<int:pk>/feedback/", feedback.campaign_feedback_post, name="feedback"),
    path(
        "<int:pk>/feedback/<int:feedback_id>/answered/",
        feedback.feedback_mark_answered,
        name="feedback_answered",
    ),
    path("<int:pk>/results/", results.campaign_results_record, name="results"),
    # the campaign form: inline checks, preview, channel defaults, KPI rows, contact pressure
    path("new/", form.campaign_create, name="create"),
    path("<int:pk>/edit/", form.campaign_edit, name="edit"),
    path("new/validate/", form.campaign_form_validate, name="validate"),
    path("<int:pk>/validate/", form.campaign_form_validate, name="validate"),
    path("new/channel-teams/", form.campaign_form_channel_teams, name="channel_teams"),
    path("<int:pk>/channel-teams/", form.campaign_form_channel_teams, name="channel_teams"),
    path("preview/", form.campaign_form_preview, name="preview"),
    path("kpi-row/", form.campaign_form_kpi_row, name="kpi_row"),
    path("contact-pressure/", form.campaign_contact_pressure, name="contact_pressure"),
    # files
    path("<int:pk>/attachments/", attachments.attachment_add, name="attachment_add"),
    path("attachments/<int:pk>/", attachments.attachment_download, name="attachment"),
    path("attachments/<int:pk>/remove/", attachments.attachment_remove, name="attachment_remove"),
]
