from django.urls import path

from feed import views

app_name = "feed"
urlpatterns = [
    path("", views.feed_week, name="this_week"),
    path("acknowledge/<int:pk>/", views.feed_acknowledge, name="acknowledge"),
    path("campaign/<int:pk>/body/", views.feed_item_body, name="body"),
    path("<str:week>/", views.feed_week, name="week"),
    path("<str:week>/export.csv", views.feed_export, name="export"),
    path(
        "<str:week>/export.xlsx",
        views.feed_export,
        {"export_format": "xlsx"},
        name="export_xlsx",
    ),
]
