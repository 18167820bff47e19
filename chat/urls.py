from django.urls import path

from chat import views

app_name = "chat"
urlpatterns = [
    path("slack/interactivity/", views.slack_interactivity, name="slack_interactivity"),
    path("mattermost/actions/", views.mattermost_action, name="mattermost_action"),
    path("mattermost/dialog/", views.mattermost_dialog, name="mattermost_dialog"),
    path("connect/<str:token>/", views.connect, name="connect"),
]
