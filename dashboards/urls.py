from django.urls import path

from dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("teams/<slug:slug>/", views.team_detail, name="team"),
    path("teams/<slug:slug>/nudge/", views.team_nudge, name="team_nudge"),
    path("teams/<slug:slug>/nudge-all/", views.team_nudge_all, name="team_nudge_all"),
]
