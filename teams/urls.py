from django.urls import path

from teams import views

app_name = "teams"
urlpatterns = [
    path("people/", views.directory, name="directory"),
    path("people/import/", views.people_import, name="import"),
    path("people/<int:pk>/", views.person_detail, name="person"),
    path("people/<int:pk>/roles/", views.person_roles, name="person_roles"),
    path("people/<int:pk>/active/", views.person_active, name="person_active"),
    path("people/<int:pk>/invite/", views.person_invite_again, name="person_invite"),
    path("teams/new/", views.team_create, name="create"),
    path("teams/<slug:slug>/", views.team_detail, name="detail"),
    path("teams/<slug:slug>/settings/", views.team_edit, name="edit"),
    path("teams/<slug:slug>/members/", views.team_member_add, name="member_add"),
    path(
        "teams/<slug:slug>/members/<int:user_id>/role/",
        views.team_member_role,
        name="member_role",
    ),
    path(
        "teams/<slug:slug>/members/<int:user_id>/remove/",
        views.team_member_remove,
        name="member_remove",
    ),
]
