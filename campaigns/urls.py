from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/announce/", views.campaign_announce, name="announce"),
    path("<int:pk>/done/", views.campaign_mark_done, name="mark_done"),
    path("<int:pk>/override-done/", views.campaign_override_done, name="override_done"),
    path("<int:pk>/cancel/", views.campaign_cancel, name="cancel"),
    path("<int:pk>/acknowledge/", views.campaign_acknowledge, name="acknowledge"),
    path(
        "<int:pk>/acknowledge/<int:team_id>/withdraw/",
        views.campaign_acknowledgement_revoke,
        name="acknowledgement_revoke",
    ),
    path("ack/<str:token>/", views.acknowledge_link, name="acknowledge_link"),
    path("<int:pk>/live/", views.campaign_live, name="live"),
    path("<int:pk>/feedback/", views.campaign_feedback_post, name="feedback"),
    path("<int:pk>/results/", views.campaign_results_record, name="results"),
    # the marketer workspace: launch calendar, contact-pressure warning for the form
    path("calendar/", views.campaign_calendar, name="calendar"),
    path("contact-pressure/", views.campaign_contact_pressure, name="contact_pressure"),
    # the campaign form: inline checks, preview, channel defaults, KPI rows, files, copies
    path("new/validate/", views.campaign_form_validate, name="validate"),
    path("<int:pk>/validate/", views.campaign_form_validate, name="validate"),
    path("new/channel-teams/", views.campaign_form_channel_teams, name="channel_teams"),
    path("<int:pk>/channel-teams/", views.campaign_form_channel_teams, name="channel_teams"),
    path("preview/", views.campaign_form_preview, name="preview"),
    path("kpi-row/", views.campaign_form_kpi_row, name="kpi_row"),
    path("<int:pk>/attachments/", views.attachment_add, name="attachment_add"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("attachments/<int:pk>/remove/", views.attachment_remove, name="attachment_remove"),
    path("<int:pk>/duplicate/", views.campaign_duplicate, name="duplicate"),
]
