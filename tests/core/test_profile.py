"""A person changes their own name, language and time zone; the app follows at once."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = reverse("accounts:profile")


def test_a_person_switches_to_french_and_new_york(client):
    person = UserFactory(full_name="Alice Advisor", language="en", time_zone="Europe/Paris")
    client.force_login(person)
    response = client.post(
        URL,
        {"full_name": "  Alice Martin ", "language": "fr", "time_zone": "America/New_York"},
        follow=True,
    )
    person.refresh_from_db()
    assert (person.full_name, person.language, person.time_zone) == (
        "Alice Martin",
        "fr",
        "America/New_York",
    )
    html = response.content.decode()
    assert "Votre profil a été enregistré." in html  # said in the language just chosen
    assert '<html lang="fr"' in html


def test_bad_values_are_explained_and_nothing_is_saved(client):
    person = UserFactory(full_name="Alice", language="en", time_zone="Europe/Paris")
    client.force_login(person)
    response = client.post(URL, {"full_name": "Alice", "language": "xx", "time_zone": "Mars/Base"})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"language", "time_zone"}
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert 'value="Alice"' in html  # what was typed stays
    person.refresh_from_db()
    assert (person.language, person.time_zone) == ("en", "Europe/Paris")


def test_the_service_refuses_an_unknown_time_zone():
    person = UserFactory(time_zone="Europe/Paris")
    with pytest.raises(ValidationError):
        services.profile_update(
            user=person,
            data=services.ProfileInput(full_name="X", language="fr", time_zone="Nowhere/City"),
        )
    person.refresh_from_db()
    assert person.time_zone == "Europe/Paris"


def test_anonymous_people_are_sent_to_log_in(client):
    assert client.get(URL).status_code == 302


def test_only_name_language_and_time_zone_can_be_changed(client):
    person = UserFactory(email="alice@example.test", language="en")
    client.force_login(person)
    client.post(
        URL,
        {
            "full_name": "Alice",
            "language": "fr",
            "time_zone": "Europe/Paris",
            "email": "boss@example.test",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )
    person.refresh_from_db()
    assert person.language == "fr"
    assert (person.email, person.is_staff, person.is_superuser) == (
        "alice@example.test",
        False,
        False,
    )


def test_a_half_valid_form_does_not_change_the_page_around_it(client):
    person = UserFactory(full_name="Alice", language="en", time_zone="Europe/Paris")
    client.force_login(person)
    response = client.post(URL, {"full_name": "Mallory", "language": "fr", "time_zone": "Mars"})
    assert response["Content-Language"] == "en"  # still the saved language
    html = response.content.decode()
    assert "<summary>Alice</summary>" in html  # the menu shows the saved name
