from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/my-data/", views.my_data, name="my_data"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation"),
]
