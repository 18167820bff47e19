from django.urls import path

from api import views

app_name = "api_pages"
urlpatterns = [
    path("profile/api-tokens/", views.tokens, name="tokens"),
    path("profile/api-tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("dashboard/integrations/", views.integrations, name="integrations"),
]
