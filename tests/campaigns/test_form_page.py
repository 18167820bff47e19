"""The new / edit campaign form: every rule shown next to its field, on submit and as each
field is left (htmx), the Markdown preview, default teams per channel, KPI rows, and who
may use any of it. Nothing is ever saved from a refused or preview-only post."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from campaigns import services
from campaigns.models import Campaign, CampaignEvent, ChannelDefaultTeam, Kpi
from tests.factories import CampaignFactory, StakeholderFactory, TeamFactory, announced_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # Messages are compared word for word; a request earlier in the run may have left
    # another language active in this thread.
    with translation.override("en"):
        yield


HTMX = {"HTTP_HX_REQUEST": "true"}


def _local(delta: timedelta) -> str:
    return (timezone.localtime() + delta).strftime("%Y-%m-%dT%H:%M")


def _kpi_rows(rows: list[tuple[str, str]], *, initial: int = 0, delete=()) -> dict[str, str]:
    data = {
        "kpis-TOTAL_FORMS": str(len(rows)),
        "kpis-INITIAL_FORMS": str(initial),
        "kpis-MIN_NUM_FORMS": "0",
        "kpis-MAX_NUM_FORMS": "20",
    }
    for index, (name, target) in enumerate(rows):
        data[f"kpis-{index}-name"] = name
        data[f"kpis-{index}-target"] = target
        if index in delete:
            data[f"kpis-{index}-DELETE"] = "on"
    return data


def _form_data(kpis=(("", ""), ("", "")), **changes) -> dict[str, object]:
    """What the page posts: every field, the KPI rows (two blank by default)."""
    data: dict[str, object] = {
        "title": "Relance panier",
        "channel": "email",
        "audience": "Paniers abandonnés",
        "estimated_recipients": "1200",
        "launch_at": _local(timedelta(days=5)),
        "ends_at": "",
        "summary": "",
        "body": "## Points clés",
        "objective": "",
        "defaults_channel": "",
        **_kpi_rows(list(kpis)),
    }
    data.update(changes)
    return data


def _field_block(html: str, field: str) -> str:
    block = re.search(rf'<div class="field" id="field-{field}"[^>]*>(.*?)</div>', html, re.S)
    assert block, f"no field block for {field}"
    return block.group(1)


def _field_error(html: str, field: str) -> str:
    error = re.search(
        r'<small class="field-error" id="id_[\w-]+_error">(.*?)</small>',
        _field_block(html, field),
        re.S,
    )
    assert error, f"no error next to {field}"
    return error.group(1)


def _nothing_saved() -> None:
    assert not Campaign.objects.exists()
    assert not CampaignEvent.objects.exists()
    assert not Kpi.objects.exists()


@pytest.fixture
def logged_in_marketer(client, marketer):
    client.force_login(marketer)
    return client


# Bad input in one field, the field, and the start of the message shown next to it.
# Form rules (what the browser can get wrong) and service rules (campaign_validate) alike.
FIELD_ERRORS = [
    ({"title": ""}, "title", "Title is required."),
    ({"title": "   "}, "title", "Title is required."),
    ({"title": "x" * 201}, "title", "Ensure this value has at most 200 characters"),
    ({"channel": ""}, "channel", "Channel is required."),
    ({"channel": "pigeon"}, "channel", "Select a valid choice."),
    ({"estimated_recipients": "-3"}, "estimated_recipients", "Estimated recipients cannot be"),
    ({"estimated_recipients": "lots"}, "estimated_recipients", "Estimated recipients must be a"),
    ({"launch_at": "next tuesday"}, "launch_at", "Enter a valid date/time."),
    ({"ends_at": "2020-13-45T99:99"}, "ends_at", "Enter a valid date/time."),
    ({"ends_at": _local(timedelta(days=1))}, "ends_at", "End date must be after the launch date."),
    ({"summary": "<script>x()</script>"}, "summary", "Summary must not contain &lt;script&gt;"),
    ({"body": "Hi <SCRIPT src=x>"}, "body", "Body must not contain &lt;script&gt;"),
    ({"objective": "</script >"}, "objective", "Objective must not contain &lt;script&gt;"),
]

# The channel is checked when it changes, by the channel-teams endpoint (TestChannelDefaults).
INLINE_ERRORS = [case for case in FIELD_ERRORS if case[1] != "channel"]


class TestPage:
    def test_no_field_cuts_a_long_paste_silently(self, logged_in_marketer):
        """The browser truncates at maxlength without a word; the form's own check says
        "at most 200 characters" and keeps what was typed (FIELD_ERRORS)."""
        html = logged_in_marketer.get(reverse("campaigns:create")).content.decode()

        assert 'name="title"' in html
        assert "maxlength" not in html

    def test_new_form_has_its_sections_fields_and_two_empty_kpi_rows(self, logged_in_marketer):
        html = logged_in_marketer.get(reverse("campaigns:create")).content.decode()

        for heading in (
            "What",
            "Who and when",
            "What customers receive",
            "Objective",
            "Stakeholder teams",
            "Attachments",
        ):
            assert re.search(rf'<h2 class="h4" id="[\w-]+">{heading}</h2>', html), heading
        for label in (
            "Title",
            "Channel",
            "Audience",
            "Estimated recipients",
            "Launch date",
            "End date",
            "Summary",
            "Body",
            "Objective",
        ):
            assert re.search(rf'<label for="id_\w+">{label}[ <]', html), label
        assert 'name="kpis-TOTAL_FORMS" value="2"' in html
        assert 'name="kpis-1-name"' in html
        assert 'name="kpis-2-name"' not in html
        # Each field is checked as it is left.
        assert re.search(
            r'<input type="number" name="estimated_recipients"[^>]*'
            r'hx-post="/campaigns/new/validate/\?field=estimated_recipients"',
            html,
        )
        assert 'hx-trigger="blur changed"' in html
        assert 'hx-target="#field-estimated_recipients"' in html
        # The contact-pressure warning has its placeholder after the dates.
        assert 'id="contact-pressure"' in html
        assert html.index('id="field-launch_at"') < html.index('id="contact-pressure"')
        # Files come once the draft exists.
        assert 'name="then" value="attachments"' in html

    def test_edit_form_shows_the_saved_kpis_teams_and_the_upload_form(
        self, logged_in_marketer, draft_campaign, support_team
    ):
        Kpi.objects.create(campaign=draft_campaign, name="Rendez-vous pris", target=120)
        html = logged_in_marketer.get(
            reverse("campaigns:edit", args=[draft_campaign.pk])
        ).content.decode()

        assert 'value="Rendez-vous pris"' in html
        assert 'name="kpis-0-target" value="120"' in html
        assert 'name="kpis-TOTAL_FORMS" value="3"' in html
        assert re.search(rf'value="{support_team.pk}"[^>]*checked', html)
        assert f'hx-post="/campaigns/{draft_campaign.pk}/validate/?field=title"' in html
        assert 'enctype="multipart/form-data"' in html
        assert f'"campaign": "{draft_campaign.pk}"' in html  # contact pressure excludes itself


class TestSubmit:
    @pytest.mark.parametrize(("changes", "field", "message"), FIELD_ERRORS)
    def test_create_comes_back_with_the_error_next_to_the_field(
        self, logged_in_marketer, changes, field, message
    ):
        response = logged_in_marketer.post(reverse("campaigns:create"), _form_data(**changes))

        assert response.status_code == 200
        html = response.content.decode()
        assert _field_error(html, field).startswith(message)
        assert f'aria-describedby="id_{field}_error"' in html or f"id_{field}_error" in html
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', html) or re.search(
            rf'aria-invalid="true"[^>]*name="{field}"', html
        )
        assert "Nothing was saved." in html
        _nothing_saved()

    @pytest.mark.parametrize(("changes", "field", "message"), FIELD_ERRORS)
    def test_edit_comes_back_with_the_error_and_changes_nothing(
        self, logged_in_marketer, draft_campaign, changes, field, message
    ):
        before = Campaign.objects.values().get(pk=draft_campaign.pk)

        response = logged_in_marketer.post(
            reverse("campaigns:edit", args=[draft_campaign.pk]), _form_data(**changes)
        )

        assert response.status_code == 200
        assert _field_error(response.content.decode(), field).startswith(message)
        assert Campaign.objects.values().get(pk=draft_campaign.pk) == before
        assert not draft_campaign.events.exists()

    def test_every_problem_shows_at_once_form_and_service_rules_together(self, logged_in_marketer):
        response = logged_in_marketer.post(
            reverse("campaigns:create"),
            _form_data(
                title="",
                launch_at="not a date",
                body="<script>x</script>",
                estimated_recipients="-1",
                kpis=[("Clics", "-5")],
            ),
        )

        html = response.content.decode()
        assert _field_error(html, "title") == "Title is required."
        assert _field_error(html, "launch_at") == "Enter a valid date/time."
        assert _field_error(html, "body").startswith("Body must not contain")
        assert _field_error(html, "estimated_recipients").startswith("Estimated recipients")
        assert "KPI targets cannot be negative." in html
        # The summary at the top links each message to its field.
        assert '<a href="#id_title">Title</a>: Title is required.' in html
        _nothing_saved()

    def test_unknown_team_is_refused(self, logged_in_marketer):
        response = logged_in_marketer.post(
            reverse("campaigns:create"), _form_data(teams=["987654"])
        )

        html = response.content.decode()
        assert re.search(r'id="id_teams_error">Select a valid choice\. 987654', html)
        _nothing_saved()

    @pytest.mark.parametrize(
        ("rows", "message"),
        [
            ([("Clics", "10"), ("clics ", "20")], "Two KPIs have the same name."),
            ([("", "120")], "Each KPI needs a name."),
            ([("Clics", "-1")], "KPI targets cannot be negative."),
            ([("Clics", "beaucoup")], "Enter a number, e.g. 2.74 or 1500."),
            ([("x" * 101, "1")], "Ensure this value has at most 100 characters"),
        ],
    )
    def test_kpi_rows_are_checked(self, logged_in_marketer, rows, message):
        response = logged_in_marketer.post(reverse("campaigns:create"), _form_data(kpis=rows))

        assert response.status_code == 200
        assert message in response.content.decode()
        _nothing_saved()

    def test_announced_campaign_keeps_a_team_and_a_future_launch(
        self, logged_in_marketer, marketer, draft_campaign
    ):
        services.campaign_announce(actor=marketer, campaign_id=draft_campaign.pk)
        before = Campaign.objects.values().get(pk=draft_campaign.pk)

        response = logged_in_marketer.post(
            reverse("campaigns:edit", args=[draft_campaign.pk]),
            _form_data(launch_at=_local(-timedelta(days=1))),
        )

        html = response.content.decode()
        assert "An announced campaign needs at least one stakeholder team." in html
        assert _field_error(html, "launch_at") == (
            "Launch date cannot be moved into the past after announcement."
        )
        assert Campaign.objects.values().get(pk=draft_campaign.pk) == before

    def test_valid_create_saves_the_draft_with_teams_and_kpis(
        self, logged_in_marketer, support_team
    ):
        response = logged_in_marketer.post(
            reverse("campaigns:create"),
            _form_data(
                teams=[support_team.pk],
                kpis=[("Rendez-vous pris", "120"), ("", ""), ("Devis signés", "")],
            ),
        )

        campaign = Campaign.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("campaigns:detail", args=[campaign.pk])
        assert list(campaign.teams.all()) == [support_team]
        assert list(campaign.kpis.values_list("name", "target", "position")) == [
            ("Rendez-vous pris", 120, 0),
            ("Devis signés", None, 1),
        ]

    def test_save_and_add_files_goes_to_the_edit_page(self, logged_in_marketer):
        response = logged_in_marketer.post(
            reverse("campaigns:create"), _form_data(then="attachments")
        )

        campaign = Campaign.objects.get()
        assert response.url == reverse("campaigns:edit", args=[campaign.pk]) + "#attachments"

    def test_enter_in_a_field_saves_rather_than_previews(self, logged_in_marketer):
        # The first submit button of the form is a hidden Save: browsers press it on Enter.
        html = logged_in_marketer.get(reverse("campaigns:create")).content.decode()
        form = html[html.index('id="campaign-form"') :]
        first_button = re.search(r"<button[^>]*>", form).group(0)
        assert 'type="submit"' in first_button
        assert "name=" not in first_button


class TestKpiRows:
    def test_update_renames_removes_and_adds(self, logged_in_marketer, draft_campaign):
        Kpi.objects.create(campaign=draft_campaign, name="Clics", target=10, position=0)
        Kpi.objects.create(campaign=draft_campaign, name="Ventes", target=5, actual=3, position=1)
        Kpi.objects.create(campaign=draft_campaign, name="Appels", target=7, position=2)
        data = _form_data(title=draft_campaign.title)
        data.update(
            _kpi_rows(
                [("Clics", "15"), ("Ventes", "5"), ("Appels", "7"), ("Rendez-vous", "120")],
                initial=3,
                delete={2},
            )
        )

        response = logged_in_marketer.post(
            reverse("campaigns:edit", args=[draft_campaign.pk]), data
        )

        assert response.status_code == 302
        assert list(draft_campaign.kpis.values_list("name", "target", "actual")) == [
            ("Clics", 15, None),
            ("Ventes", 5, 3),  # the recorded result stays
            ("Rendez-vous", 120, None),
        ]

    def test_emptying_every_row_removes_every_kpi(self, logged_in_marketer, draft_campaign):
        Kpi.objects.create(campaign=draft_campaign, name="Clics", target=10)
        data = _form_data(title=draft_campaign.title)
        data.update(_kpi_rows([("", ""), ("", ""), ("", "")], initial=1))

        logged_in_marketer.post(reverse("campaigns:edit", args=[draft_campaign.pk]), data)

        assert not draft_campaign.kpis.exists()

    def test_a_post_without_kpi_rows_leaves_the_kpis_alone(
        self, logged_in_marketer, draft_campaign
    ):
        Kpi.objects.create(campaign=draft_campaign, name="Clics", target=10)
        data = {k: v for k, v in _form_data().items() if not k.startswith("kpis-")}

        response = logged_in_marketer.post(
            reverse("campaigns:edit", args=[draft_campaign.pk]), data
        )

        assert response.status_code == 302
        assert list(draft_campaign.kpis.values_list("name", flat=True)) == ["Clics"]

    def test_add_a_kpi_without_javascript_shows_one_more_row_and_saves_nothing(
        self, logged_in_marketer
    ):
        response = logged_in_marketer.post(
            reverse("campaigns:create"),
            _form_data(title="", kpis=[("Clics", "10"), ("", "")], add_kpi="1"),
        )

        html = response.content.decode()
        assert 'name="kpis-TOTAL_FORMS" value="3"' in html
        assert 'name="kpis-2-name"' in html
        assert 'value="Clics"' in html
        assert 'class="field-error"' not in html  # not checked: nothing was submitted yet
        _nothing_saved()

    def test_add_a_kpi_with_htmx_answers_one_row_and_the_new_count(self, logged_in_marketer):
        response = logged_in_marketer.get(
            reverse("campaigns:kpi_row"), {"kpis-TOTAL_FORMS": "3"}, **HTMX
        )

        html = response.content.decode()
        assert "<html" not in html
        assert 'name="kpis-3-name"' in html
        assert 'name="kpis-3-DELETE"' in html
        assert "autofocus" in html
        assert re.search(
            r'<input type="hidden" name="kpis-TOTAL_FORMS" value="4" '
            r'id="id_kpis-TOTAL_FORMS" hx-swap-oob="true">',
            html,
        )

    def test_kpi_row_limit_and_bad_input(self, logged_in_marketer):
        url = reverse("campaigns:kpi_row")
        assert logged_in_marketer.get(url, {"kpis-TOTAL_FORMS": "20"}, **HTMX).status_code == 204
        assert logged_in_marketer.get(url, {"kpis-TOTAL_FORMS": "x"}, **HTMX).status_code == 400


class TestInlineValidation:
    """The validate endpoint answers the field's block only, with the submit's message."""

    @pytest.mark.parametrize(("changes", "field", "message"), INLINE_ERRORS)
    def test_each_field_comes_back_with_its_error(
        self, logged_in_marketer, changes, field, message
    ):
        url = reverse("campaigns:validate") + f"?field={field}"

        response = logged_in_marketer.post(url, _form_data(**changes), **HTMX)

        assert response.status_code == 200
        html = response.content.decode()
        assert html.startswith(f'<div class="field" id="field-{field}">')
        assert "<html" not in html
        assert "<form" not in html
        assert _field_error(html, field).startswith(message)
        assert 'aria-invalid="true"' in html
        assert f'hx-post="/campaigns/new/validate/?field={field}"' in html  # still wired
        _nothing_saved()

    @pytest.mark.parametrize(("changes", "field", "message"), INLINE_ERRORS)
    def test_the_same_message_as_a_submit(self, logged_in_marketer, changes, field, message):
        data = _form_data(**changes)
        inline = logged_in_marketer.post(
            reverse("campaigns:validate") + f"?field={field}", data, **HTMX
        )
        submitted = logged_in_marketer.post(reverse("campaigns:create"), data)

        assert _field_error(inline.content.decode(), field) == _field_error(
            submitted.content.decode(), field
        )

    def test_a_valid_field_comes_back_without_error(self, logged_in_marketer):
        response = logged_in_marketer.post(
            reverse("campaigns:validate") + "?field=estimated_recipients",
            _form_data(estimated_recipients="40000", title=""),  # other fields are not shown
            **HTMX,
        )

        html = response.content.decode()
        assert 'value="40000"' in html
        assert "field-error" not in html
        assert "aria-invalid" not in html

    def test_the_edit_rules_apply_to_an_announced_campaign(
        self, logged_in_marketer, marketer, draft_campaign
    ):
        services.campaign_announce(actor=marketer, campaign_id=draft_campaign.pk)
        url = reverse("campaigns:validate", args=[draft_campaign.pk])

        launch = logged_in_marketer.post(
            url + "?field=launch_at", _form_data(launch_at=_local(-timedelta(hours=1))), **HTMX
        )
        teams = logged_in_marketer.post(url + "?field=teams", _form_data(), **HTMX)

        assert "cannot be moved into the past" in _field_error(launch.content.decode(), "launch_at")
        assert teams.content.decode().strip().startswith('<div id="teams-errors"')
        assert (
            'class="field-error" id="id_teams_error">An announced campaign needs at least one'
            in teams.content.decode()
        )

    def test_kpi_rows_answer_their_error_list(self, logged_in_marketer):
        response = logged_in_marketer.post(
            reverse("campaigns:validate") + "?field=kpis",
            _form_data(kpis=[("Clics", "1"), ("CLICS", "2"), ("Ventes", "x")]),
            **HTMX,
        )

        html = response.content.decode()
        assert html.strip().startswith('<div id="kpi-errors"')
        assert "Two KPIs have the same name." in html
        assert "Target: Enter a number, e.g. 2.74 or 1500." in html

    def test_unknown_field_is_a_bad_request(self, logged_in_marketer):
        url = reverse("campaigns:validate") + "?field=owner"
        assert logged_in_marketer.post(url, _form_data(), **HTMX).status_code == 400

    def test_get_is_not_allowed(self, logged_in_marketer):
        url = reverse("campaigns:validate") + "?field=title"
        assert logged_in_marketer.get(url, **HTMX).status_code == 405


class TestPreview:
    BODY = "## Offre\n\n- **-20 %** sur tout\n\n<script>alert(1)</script>"

    def test_htmx_preview_answers_the_sanitised_html_only(self, logged_in_marketer):
        response = logged_in_marketer.post(
            reverse("campaigns:preview"), {"body": self.BODY}, **HTMX
        )

        html = response.content.decode()
        assert html.strip().startswith('<section id="body-preview"')
        assert "hidden" not in html.split(">", 1)[0]
        assert "<h2>Offre</h2>" in html
        assert "<strong>-20 %</strong>" in html
        assert "<script" not in html.lower()
        assert "<html" not in html

    def test_htmx_preview_of_nothing_says_so(self, logged_in_marketer):
        response = logged_in_marketer.post(reverse("campaigns:preview"), {"body": "  "}, **HTMX)

        assert "Nothing to preview yet" in response.content.decode()

    def test_preview_without_javascript_shows_the_form_and_saves_nothing(self, logged_in_marketer):
        response = logged_in_marketer.post(
            reverse("campaigns:create"), _form_data(title="", body=self.BODY, preview="1")
        )

        assert response.status_code == 200
        html = response.content.decode()
        assert '<section id="body-preview" class="cf-preview" aria-live="polite"' in html
        preview = html[html.index('id="body-preview"') :]
        assert "<h2>Offre</h2>" in preview
        assert "Nothing was saved yet." in html
        # Shown again as typed, unchecked: a half-written form is not covered in errors.
        assert "&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in html
        assert 'class="field-error"' not in html
        _nothing_saved()

    def test_preview_on_the_edit_page_changes_nothing(self, logged_in_marketer, draft_campaign):
        before = Campaign.objects.values().get(pk=draft_campaign.pk)

        response = logged_in_marketer.post(
            reverse("campaigns:edit", args=[draft_campaign.pk]),
            _form_data(body="## Nouveau", preview="1"),
        )

        assert response.status_code == 200
        assert "<h2>Nouveau</h2>" in response.content.decode()
        assert Campaign.objects.values().get(pk=draft_campaign.pk) == before

    def test_the_page_hides_the_empty_preview(self, logged_in_marketer):
        html = logged_in_marketer.get(reverse("campaigns:create")).content.decode()
        assert re.search(r'<section id="body-preview"[^>]* hidden>', html)


class TestChannelDefaults:
    @pytest.fixture
    def teams(self):
        names = ("Communication", "Conseillers clientèle", "Ventes", "Marketing")
        teams = {name: TeamFactory(name=name) for name in names}
        for channel, defaults in {
            "email": ("Ventes", "Conseillers clientèle"),
            "sms": ("Conseillers clientèle",),
        }.items():
            for name in defaults:
                ChannelDefaultTeam.objects.create(channel=channel, team=teams[name])
        return teams

    @staticmethod
    def _checked(html: str) -> set[int]:
        return {int(pk) for pk in re.findall(r'value="(\d+)"[^>]*checked', html)}

    def test_choosing_a_channel_checks_its_default_teams(self, logged_in_marketer, teams):
        response = logged_in_marketer.get(
            reverse("campaigns:channel_teams"), {"channel": "email"}, **HTMX
        )

        html = response.content.decode()
        assert html.strip().startswith('<fieldset id="teams-fieldset"')
        assert "<html" not in html
        assert self._checked(html) == {teams["Ventes"].pk, teams["Conseillers clientèle"].pk}
        assert "Checked for E-mail: Conseillers clientèle, Ventes." in html
        assert 'name="defaults_channel" value="email"' in html
        # The channel field comes along, out of band, without error.
        assert '<div class="field" id="field-channel" hx-swap-oob="true">' in html
        assert "field-error" not in _field_block(html, "channel")

    def test_changing_channel_swaps_defaults_and_keeps_the_marketers_choices(
        self, logged_in_marketer, teams
    ):
        response = logged_in_marketer.get(
            reverse("campaigns:channel_teams"),
            {
                "channel": "sms",
                "defaults_channel": "email",
                # email's defaults, plus Marketing picked by hand
                "teams": [
                    teams["Ventes"].pk,
                    teams["Conseillers clientèle"].pk,
                    teams["Marketing"].pk,
                ],
            },
            **HTMX,
        )

        assert self._checked(response.content.decode()) == {
            teams["Conseillers clientèle"].pk,
            teams["Marketing"].pk,
        }

    def test_a_channel_without_defaults_says_so(self, logged_in_marketer, teams):
        response = logged_in_marketer.get(
            reverse("campaigns:channel_teams"), {"channel": "web"}, **HTMX
        )

        html = response.content.decode()
        assert "No default teams for Web: choose them below." in html
        assert self._checked(html) == set()

    def test_an_unknown_channel_reaches_no_query(self, logged_in_marketer, teams):
        # PostgreSQL refuses a NUL in a query's text (the fuzzer's find): an unknown
        # channel checks no default team, and the form says it is not a choice.
        response = logged_in_marketer.get(
            reverse("campaigns:channel_teams"),
            {"channel": "email\x00", "defaults_channel": "sms\x00"},
            **HTMX,
        )
        assert response.status_code == 200
        assert self._checked(response.content.decode()) == set()

    def test_blank_channel_comes_back_with_its_error(self, logged_in_marketer, teams):
        response = logged_in_marketer.get(
            reverse("campaigns:channel_teams"), {"channel": ""}, **HTMX
        )

        assert _field_error(response.content.decode(), "channel") == "Channel is required."

    def test_edit_page_shows_what_was_saved_not_the_defaults(
        self, logged_in_marketer, marketer, teams
    ):
        campaign = CampaignFactory(owner=marketer, channel="email")
        StakeholderFactory(campaign=campaign, team=teams["Marketing"])

        html = logged_in_marketer.get(reverse("campaigns:edit", args=[campaign.pk])).content
        fieldset = html.decode()[html.decode().index('id="teams-fieldset"') :]

        assert self._checked(fieldset.split("</fieldset>")[0]) == {teams["Marketing"].pk}
        assert 'name="defaults_channel" value="email"' in fieldset

    def test_changing_the_channel_on_edit_applies_the_new_defaults(
        self, logged_in_marketer, marketer, teams
    ):
        campaign = CampaignFactory(owner=marketer, channel="email")
        response = logged_in_marketer.get(
            reverse("campaigns:channel_teams", args=[campaign.pk]),
            {
                "channel": "sms",
                "defaults_channel": "email",
                "teams": [teams["Ventes"].pk, teams["Marketing"].pk],
            },
            **HTMX,
        )

        html = response.content.decode()
        assert self._checked(html) == {teams["Conseillers clientèle"].pk, teams["Marketing"].pk}
        assert f'hx-post="/campaigns/{campaign.pk}/validate/?field=teams"' in html

    def test_the_demo_seed_sets_the_defaults_once(self):
        from demo.seed import demo_seed

        demo_seed()
        first = set(ChannelDefaultTeam.objects.values_list("channel", "team__name"))
        demo_seed()

        assert ChannelDefaultTeam.objects.count() == len(first)
        assert first == {
            ("email", "Ventes"),
            ("email", "Conseillers clientèle"),
            ("sms", "Conseillers clientèle"),
            ("phone", "Ventes"),
            ("phone", "Conseillers clientèle"),
            ("event", "Ventes"),
            ("event", "Communication"),
            ("webinar", "Ventes"),
            ("webinar", "Communication"),
            ("mail", "Conseillers clientèle"),
            ("mail", "Communication"),
            ("social", "Communication"),
            ("web", "Communication"),
        }


class TestPermissions:
    """An advisor can read announced campaigns, not write them: every writing endpoint
    says 403; a draft they cannot even see says 404."""

    @pytest.fixture
    def as_advisor(self, client, advisor):
        client.force_login(advisor)
        return client

    @pytest.fixture
    def draft_campaign(self, marketer, support_team):
        # Announced: the advisor sees it, so the refusals are about writing it.
        return announced_campaign(owner=marketer, teams=[support_team])

    def test_a_draft_is_not_found(self, as_advisor, marketer):
        draft = CampaignFactory(owner=marketer)
        for url in (
            reverse("campaigns:edit", args=[draft.pk]),
            reverse("campaigns:channel_teams", args=[draft.pk]) + "?channel=email",
        ):
            assert as_advisor.get(url).status_code == 404
        for url in (
            reverse("campaigns:validate", args=[draft.pk]) + "?field=title",
            reverse("campaigns:duplicate", args=[draft.pk]),
        ):
            assert as_advisor.post(url, _form_data()).status_code == 404

    def test_new_and_edit(self, as_advisor, draft_campaign):
        before = Campaign.objects.values().get(pk=draft_campaign.pk)
        for url in (
            reverse("campaigns:create"),
            reverse("campaigns:edit", args=[draft_campaign.pk]),
        ):
            assert as_advisor.get(url).status_code == 403
            assert as_advisor.post(url, _form_data(title="Hijacked")).status_code == 403
            assert as_advisor.post(url, _form_data(preview="1")).status_code == 403
        assert Campaign.objects.count() == 1
        assert Campaign.objects.values().get(pk=draft_campaign.pk) == before

    @pytest.mark.parametrize("method", ["post", "get"])
    def test_form_endpoints(self, as_advisor, draft_campaign, method):
        pk = draft_campaign.pk
        posts = [
            reverse("campaigns:validate") + "?field=title",
            reverse("campaigns:validate", args=[pk]) + "?field=title",
            reverse("campaigns:preview"),
        ]
        gets = [
            reverse("campaigns:channel_teams") + "?channel=email",
            reverse("campaigns:channel_teams", args=[pk]) + "?channel=email",
            reverse("campaigns:kpi_row") + "?kpis-TOTAL_FORMS=2",
        ]
        for url in posts if method == "post" else gets:
            response = getattr(as_advisor, method)(url, _form_data() if method == "post" else {})
            assert response.status_code == 403, url

    def test_duplicate_and_attachment_upload(self, as_advisor, draft_campaign, settings, tmp_path):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path)},
            },
        }
        from django.core.files.uploadedfile import SimpleUploadedFile

        duplicate = as_advisor.post(reverse("campaigns:duplicate", args=[draft_campaign.pk]))
        upload = as_advisor.post(
            reverse("campaigns:attachment_add", args=[draft_campaign.pk]),
            {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.7 x", "application/pdf")},
        )

        assert duplicate.status_code == 403
        assert upload.status_code == 403
        assert Campaign.objects.count() == 1
        assert not draft_campaign.attachments.exists()
        assert not list(tmp_path.iterdir())

    def test_anonymous_is_sent_to_log_in(self, client):
        response = client.post(reverse("campaigns:preview"), {"body": "x"})
        assert response.status_code == 302
        assert "/accounts/login/" in response.url
