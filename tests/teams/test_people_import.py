"""Importing people from CSV: a preview of every row before anything is saved, clear
errors per row (malformed file, unknown team, duplicates, bad addresses), nothing saved
while any row is wrong, and the same file imported twice changes nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Invitation, User
from audit.models import AuditAction, AuditEvent
from teams.imports import Outcome, people_import_apply, people_import_check
from teams.models import Membership
from tests.factories import MembershipFactory, TeamFactory, UserFactory, make_manager

pytestmark = pytest.mark.django_db

GOOD = (
    "email,name,team,role\n"
    "sophie.martin@example.com,Sophie Martin,Conseillers clientèle,lead\n"
    "paul.durand@example.com,Paul Durand,Conseillers clientèle,member\n"
    "paul.durand@example.com,Paul Durand,Ventes,\n"
)


@pytest.fixture
def teams():
    return TeamFactory(name="Conseillers clientèle"), TeamFactory(name="Ventes")


@pytest.fixture
def manager_client(client):
    manager = make_manager()
    client.force_login(manager)
    client.manager = manager
    return client


def _upload(client, text: str, name: str = "people.csv", encoding: str = "utf-8"):
    upload = SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")
    return client.post(reverse("teams:import"), {"file": upload})


def test_the_preview_says_what_each_row_would_do_and_saves_nothing(manager_client, teams):
    response = _upload(manager_client, GOOD)
    assert response.status_code == 200
    content = response.content.decode()
    assert "4 changes are ready to import." not in content  # three rows, three changes
    assert "3 changes are ready to import." in content
    assert content.count("new person, invited") == 2
    assert "added to the team" in content
    assert (
        not User.objects.filter(email__endswith="@example.com")
        .exclude(pk=manager_client.manager.pk)
        .exists()
    )


def test_confirming_imports_exactly_the_preview(
    manager_client, teams, django_capture_on_commit_callbacks
):
    preview = _upload(manager_client, GOOD).content.decode()
    content = preview.split('name="content"')[1].split(">", 1)[1].split("</textarea>")[0]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = manager_client.post(
            reverse("teams:import"),
            {"confirm": "1", "content": content.replace("&#x27;", "'"), "send_invitations": "on"},
        )
    assert response.status_code == 302
    sophie = User.objects.get(email="sophie.martin@example.com")
    paul = User.objects.get(email="paul.durand@example.com")
    assert (sophie.full_name, sophie.has_usable_password()) == ("Sophie Martin", False)
    assert Membership.objects.get(user=sophie).role == "lead"
    assert set(paul.teams.values_list("name", flat=True)) == {"Conseillers clientèle", "Ventes"}
    assert Invitation.objects.count() == 2
    assert len(callbacks) == 1  # the invitations are queued after the commit
    event = AuditEvent.objects.get(action=AuditAction.PEOPLE_IMPORTED)
    assert sorted(event.details["created_user_ids"]) == sorted([sophie.pk, paul.pk])


def test_the_same_file_again_changes_nothing(teams):
    manager = make_manager()
    people_import_apply(actor=manager, text=GOOD, send_invitations=True)
    counts = (User.objects.count(), Membership.objects.count(), Invitation.objects.count())

    check = people_import_check(GOOD)
    again = people_import_apply(actor=manager, text=GOOD, send_invitations=True)

    assert {row.outcome for row in check.rows} == {Outcome.UNCHANGED}
    assert again.invitation_ids == []
    assert (User.objects.count(), Membership.objects.count(), Invitation.objects.count()) == counts
    assert AuditEvent.objects.filter(action=AuditAction.PEOPLE_IMPORTED).count() == 1


def test_a_changed_role_is_the_only_change(teams):
    person = UserFactory(email="paul.durand@example.com", full_name="Paul Durand")
    MembershipFactory(team=teams[0], user=person, role="member")
    check = people_import_check(
        "email,team,role\npaul.durand@example.com,Conseillers clientèle,lead\n"
    )
    assert [row.outcome for row in check.rows] == [Outcome.ROLE_CHANGED]
    people_import_apply(actor=make_manager(), text=check_text(check), send_invitations=False)
    assert Membership.objects.get(user=person).role == "lead"


def check_text(check) -> str:
    rows = [f"{r.email},{r.team_name},{r.role}" for r in check.rows]
    return "email,team,role\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "The submitted file is empty."),
        ("name;role\nSophie;lead\n", "missing: email, team"),
        ("email,team\n\x00\x01binary", "This is not a CSV file"),
    ],
    ids=["empty", "no-columns", "binary"],
)
def test_a_malformed_file_is_refused_with_a_reason(manager_client, teams, text, error):
    response = _upload(manager_client, text)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert User.objects.count() == 1


def test_each_wrong_row_says_why_and_nothing_is_saved(manager_client, teams):
    text = (
        "email;nom;équipe;rôle\n"  # French headings, semicolons
        "sophie.martin@example.com;Sophie Martin;Conseillers clientèle;lead\n"
        "pas-une-adresse;X;Ventes;member\n"
        "paul@example.com;Paul;Marketing;member\n"
        "sophie.martin@example.com;Sophie Martin;Conseillers clientèle;lead\n"
        "anne@example.com;Anne;Ventes;boss\n"
        "sophie.martin@example.com;Sophie M.;Ventes;member\n"
    )
    response = _upload(manager_client, text)
    assert response.status_code == 400
    content = response.content.decode()
    assert "5 rows have errors" in content
    assert "“pas-une-adresse” is not an e-mail address." in content
    assert "There is no team named “Marketing”" in content
    assert "Line 2 already puts this person in this team." in content
    assert "The role must be member or lead, not “boss”." in content
    assert "Line 2 gives this person another name (“Sophie Martin”)." in content
    assert 'name="confirm"' not in content
    from core.errors import DomainError

    with pytest.raises(DomainError, match="Nothing was imported: 5 rows have errors"):
        people_import_apply(actor=manager_client.manager, text=text, send_invitations=True)
    assert User.objects.count() == 1


def test_an_excel_file_in_windows_latin_1_is_read(manager_client, teams):
    text = "email,name,team\nzoe@example.com,Zoé Lefèvre,Ventes\n"
    response = _upload(manager_client, text, encoding="cp1252")
    assert "Zoé Lefèvre" in response.content.decode()


def test_a_deactivated_person_is_not_brought_back_by_a_file(teams):
    UserFactory(email="gone@example.com", is_active=False)
    check = people_import_check("email,team\ngone@example.com,Ventes\n")
    assert check.rows[0].errors == ["gone@example.com is deactivated: reactivate them first."]


def test_only_managers_import(client, teams):
    lead = MembershipFactory(team=teams[0], role="lead").user
    client.force_login(lead)
    assert _upload(client, GOOD).status_code == 403
    from core.errors import PermissionRefused

    with pytest.raises(PermissionRefused):
        people_import_apply(actor=lead, text=GOOD, send_invitations=False)


def test_five_thousand_rows_in_a_constant_number_of_queries(teams, django_assert_max_num_queries):
    names = ("Conseillers clientèle", "Ventes")
    rows = [f"advisor{n}@example.com,Conseiller {n},{names[n % 2]},member" for n in range(5000)]
    text = "email,name,team,role\n" + "\n".join(rows) + "\n"
    manager = make_manager()
    # Bulk writes: about 30 queries for 5,000 people (batches of 1,000), not 5,000+.
    with django_assert_max_num_queries(40):
        result = people_import_apply(actor=manager, text=text, send_invitations=True)
    assert result.check.counts[Outcome.NEW_PERSON] == 5000
    assert Membership.objects.count() == 5000
    assert len(result.invitation_ids) == 5000


def test_a_blank_role_keeps_a_lead_a_lead(teams):
    person = UserFactory(email="nathalie@example.com")
    MembershipFactory(team=teams[0], user=person, role="lead")
    check = people_import_check("email,team,role\nnathalie@example.com,Conseillers clientèle,\n")
    assert [row.outcome for row in check.rows] == [Outcome.UNCHANGED]


def test_an_address_stored_with_capitals_is_the_same_person(teams):
    person = UserFactory(email="Paul.Durand@Example.com")
    check = people_import_check("email,team\npaul.durand@example.com,Ventes\n")
    assert [row.outcome for row in check.rows] == [Outcome.ADDED]
    assert check.rows[0].person == person


def test_a_name_is_one_line_bidi_controls_dropped_line_breaks_refused(teams):
    check = people_import_check(
        "email,name,team\n"
        "alice@example.com,Alice\u202e Martin,Ventes\n"
        '"bob@example.com","Bob\nBcc: all@example.com",Ventes\n'
    )

    alice, bob = check.rows
    assert (alice.name, alice.errors) == ("Alice Martin", [])
    assert bob.errors == ["A name must fit on one line, without tabs or control characters."]
    assert check.errors == 1
