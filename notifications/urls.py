from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("unread/", views.unread_badge, name="unread_badge"),
    path("read/", views.mark_read, name="mark_all_read"),
    path("<int:pk>/read/", views.mark_read, name="mark_read"),
    path("preferences/", views.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("subscriptions/create/", views.subscriptions_create, name="subscriptions_create"),
    path(
        "subscriptions/regenerate/",
        views.subscriptions_regenerate,
        name="subscriptions_regenerate",
    ),
]
