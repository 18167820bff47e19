from django.urls import path

from feed import subscription_views

app_name = "subscriptions"
urlpatterns = [
    path("<str:token>/launches.atom", subscription_views.launches_atom, name="atom"),
    path("<str:token>/launches.ics", subscription_views.launches_ical, name="ical"),
]
