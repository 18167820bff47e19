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
]
