"""The CSV import of campaigns: HubSpot and Brevo exports read as they come, a preview that
writes nothing and says what each row would do (or what is wrong with it), a confirmation
that imports the valid rows, and a second import of the same file that changes nothing."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import imports, services
from campaigns.imports import Outcome
from campaigns.models import Campaign, CampaignEvent, ExternalReference, Stakeholder
from campaigns.services import CampaignInput, ImportItem
from teams.roles import Actor
from tests.factories import TeamFactory, make_marketer

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
Channel = Campaign.Channel

HUBSPOT = (
    "Campaign ID,Campaign name,Type,Send date,Lists,Number of recipients,Teams,Open rate\n"
    'HS-1,Winter sale,Regular email,2026-12-24 09:00,Active customers,"12,000",'
    "Conseillers clientèle,21%\n"
    "HS-2,SMS reminder,SMS,2026-12-26T10:30:00+01:00,VIP,350,,\n"
)
# Brevo in French: semicolons, a byte order mark, day-first dates, spaces in numbers.
BREVO = (
    "ID;Nom de la campagne;Canal;Date d’envoi;Liste(s);Destinataires;Taux d'ouverture\n"
    "7;Soldes d'hiver;E-mail;24/12/2026 09:00;Clients actifs;12 000;21,5 %\n"
    "8;Rappel SMS;sms;26/12/2026;Clients VIP;350;\n"
    "9;Salon de Lyon;Événement;15/01/2027 14h30;Prospects Rhône;1 200;\n"
).encode("utf-8-sig")


def _upload(client, content: bytes | str, *, name="export.csv", source="hubspot", channel=""):
    if isinstance(content, str):
        content = content.encode()
    return client.post(
        reverse("campaigns:import"),
        {
            "file": SimpleUploadedFile(name, content, content_type="text/csv"),
            "source": source,
            "channel": channel,
        },
    )


def _preview(client):
    page = client.get(reverse("campaigns:import_preview"))
    assert page.status_code == 200
    return page


def _confirm(client):
    page = _preview(client)
    return client.post(
        reverse("campaigns:import_confirm"),
        {"token": page.context["pending"].token, "digest": page.context["plan"].digest},
    )


def _import(client, content, **options):
    assert _upload(client, content, **options).status_code == 302
    done = _confirm(client)
    assert done.status_code == 302
    assert done["Location"] == reverse("campaigns:import")
    return client.get(done["Location"])


def _outcomes(page) -> list[str]:
    return [row.outcome for row in page.context["plan"].rows]


def _errors(page) -> dict[int, list[tuple[str, str]]]:
    return {
        row.number: [(e.column, e.message) for e in row.errors]
        for row in page.context["plan"].rows
        if row.errors
    }


@pytest.fixture
def signed_in(client, marketer):
    client.force_login(marketer)
    return client


# --- the happy paths ---------------------------------------------------------------------


def test_a_hubspot_export_is_previewed_then_imported(signed_in, marketer, support_team):
    assert _upload(signed_in, HUBSPOT).status_code == 302

    page = _preview(signed_in)
    assert _outcomes(page) == [Outcome.CREATE, Outcome.CREATE]
    html = page.content.decode()
    assert "Winter sale" in html
    assert "Open rate" in html  # listed among the ignored columns
    assert "Import 2 campaigns" in html
    # Nothing is written by the preview.
    assert not Campaign.objects.exists()
    assert not ExternalReference.objects.exists()
    assert not CampaignEvent.objects.exists()

    done = _confirm(signed_in)
    assert done.status_code == 302

    winter = Campaign.objects.get(external_reference__external_id="HS-1")
    assert winter.title == "Winter sale"
    assert winter.channel == Channel.EMAIL
    assert winter.launch_at == datetime(2026, 12, 24, 9, 0, tzinfo=PARIS)
    assert winter.audience == "Active customers"
    assert winter.estimated_recipients == 12_000
    assert winter.owner == marketer
    assert winter.status == Campaign.Status.DRAFT
    assert list(winter.stakeholders.values_list("team_id", flat=True)) == [support_team.pk]
    assert winter.external_reference.source == "hubspot"
    sms = Campaign.objects.get(external_reference__external_id="HS-2")
    assert sms.channel == Channel.SMS
    assert sms.launch_at == datetime(2026, 12, 26, 9, 30, tzinfo=UTC)
    report = signed_in.get(reverse("campaigns:import")).content.decode()
    assert "“export.csv” imported." in report
    assert "2 campaigns created" in report


def test_a_french_brevo_export_with_a_byte_order_mark(signed_in):
    _import(signed_in, BREVO, source="brevo")

    sale = Campaign.objects.get(external_reference__external_id="7")
    assert sale.external_reference.source == "brevo"
    assert sale.title == "Soldes d'hiver"
    assert sale.channel == Channel.EMAIL
    assert sale.launch_at == datetime(2026, 12, 24, 9, 0, tzinfo=PARIS)
    assert sale.audience == "Clients actifs"
    assert sale.estimated_recipients == 12_000
    reminder = Campaign.objects.get(external_reference__external_id="8")
    assert reminder.channel == Channel.SMS
    assert reminder.launch_at == datetime(2026, 12, 26, 0, 0, tzinfo=PARIS)
    fair = Campaign.objects.get(external_reference__external_id="9")
    assert fair.channel == Channel.EVENT
    assert fair.launch_at == datetime(2027, 1, 15, 14, 30, tzinfo=PARIS)
    assert fair.estimated_recipients == 1_200


def test_a_windows_1252_export(signed_in):
    text = "id;nom;canal;date d'envoi\n12;Journée portes ouvertes;Événement;2027-03-02 10:00\n"

    _import(signed_in, text.encode("cp1252"), source="crm")

    campaign = Campaign.objects.get(external_reference__source="crm")
    assert campaign.title == "Journée portes ouvertes"
    assert campaign.channel == Channel.EVENT


def test_naive_times_are_in_the_importing_persons_time_zone(signed_in, marketer):
    marketer.time_zone = "America/New_York"
    marketer.save()

    _import(signed_in, "id,name,channel,send date\n1,Promo,email,2026-12-24 09:00\n")

    launch = Campaign.objects.get().launch_at
    assert launch == datetime(2026, 12, 24, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def test_importing_the_same_file_again_changes_nothing(signed_in):
    _import(signed_in, BREVO, source="brevo")
    events = CampaignEvent.objects.count()
    assert _upload(signed_in, BREVO, source="brevo").status_code == 302

    page = _preview(signed_in)

    assert _outcomes(page) == [Outcome.UNCHANGED] * 3
    html = page.content.decode()
    assert "Nothing to import" in html
    assert "Import 3" not in html
    assert Campaign.objects.count() == 3
    assert CampaignEvent.objects.count() == events


def test_a_changed_row_updates_its_campaign_and_leaves_what_the_file_lacks(signed_in):
    _import(signed_in, BREVO, source="brevo")
    sale = Campaign.objects.get(external_reference__external_id="7")
    Campaign.objects.filter(pk=sale.pk).update(body="Talking points written in Passerelle.")
    changed = BREVO.decode("utf-8-sig").replace("24/12/2026 09:00", "27/12/2026 08:00")
    assert _upload(signed_in, changed.encode(), source="brevo").status_code == 302

    page = _preview(signed_in)

    assert _outcomes(page) == [Outcome.UPDATE, Outcome.UNCHANGED, Outcome.UNCHANGED]
    assert page.context["plan"].rows[0].changes == ("Launch date",)
    assert "Changes: Launch date" in page.content.decode()
    report = _confirm(signed_in)
    assert report.status_code == 302
    sale.refresh_from_db()
    assert sale.launch_at == datetime(2026, 12, 27, 8, 0, tzinfo=PARIS)
    assert sale.body == "Talking points written in Passerelle."
    assert Campaign.objects.count() == 3
    text = signed_in.get(reverse("campaigns:import")).content.decode()
    assert "0 campaigns created" in text
    assert "1 updated" in text
    assert "2 unchanged" in text


def test_rows_without_a_channel_take_the_one_chosen(signed_in):
    text = "id,name\n1,Promo\n"

    _upload(signed_in, text, channel=Channel.SMS)
    assert _outcomes(_preview(signed_in)) == [Outcome.CREATE]
    _upload(signed_in, text)
    page = _preview(signed_in)

    assert _outcomes(page) == [Outcome.ERROR]
    assert _errors(page) == {
        2: [("", "No channel: add a channel column, or choose one for rows without it.")]
    }


def test_new_campaigns_without_teams_get_their_channels_default_teams(signed_in, support_team):
    from campaigns.models import ChannelDefaultTeam

    ChannelDefaultTeam.objects.create(channel=Channel.SMS, team=support_team)

    _import(signed_in, "id,name,channel\n1,Rappel,SMS\n2,Promo,email\n")

    assert list(Stakeholder.objects.values_list("campaign__title", "team_id")) == [
        ("Rappel", support_team.pk)
    ]


def test_teams_are_found_by_name_or_slug_whatever_the_case(signed_in, support_team):
    sales = TeamFactory(name="Ventes", slug="ventes")

    _import(signed_in, 'id,name,channel,teams\n1,Promo,email,"CONSEILLERS; ventes"\n')

    assert set(Stakeholder.objects.values_list("team_id", flat=True)) == {
        support_team.pk,
        sales.pk,
    }


# --- what is wrong, row by row -------------------------------------------------------------

ERRORS = (
    "id,name,channel,send date,recipients,teams\n"
    "1,Bad date,email,31/02/2026 09:00,10,\n"
    "2,Bad channel,fax,2026-12-24,10,\n"
    "3,Negative,email,2026-12-24,-5,\n"
    "4,Huge,email,2026-12-24,2147483648,\n"
    "5,,email,2026-12-24,10,\n"
    "6,Not a number,email,2026-12-24,a few,\n"
    "7,Unknown team,email,2026-12-24,10,Ventes;Conseillers clientèle\n"
    "8,Fine,email,2026-12-24,10,\n"
    ",No id,email,2026-12-24,10,\n"
    "8,Twice,email,2026-12-24,10,\n"
)


def test_each_row_says_what_is_wrong_with_it(signed_in, support_team):
    assert _upload(signed_in, ERRORS).status_code == 302

    page = _preview(signed_in)

    assert _outcomes(page) == [Outcome.ERROR] * 7 + [Outcome.CREATE] + [Outcome.ERROR] * 2
    channels = "E-mail, SMS, Phone, Mail / print, Event, Webinar, Social media, Web, Other"
    assert _errors(page) == {
        2: [
            (
                "send date",
                "“31/02/2026 09:00” is not a date: write it as 2026-12-24 09:00 "
                "or 24/12/2026 09:00.",
            )
        ],
        3: [("channel", f"“fax” is not a channel: use one of {channels}.")],
        4: [("recipients", "Estimated recipients cannot be negative.")],
        5: [("recipients", "Estimated recipients must be at most 2,147,483,647.")],
        6: [("name", "The name is missing.")],
        7: [("recipients", "“a few” is not a whole number.")],
        8: [("teams", "Unknown team: “Ventes”.")],
        10: [("id", "The id is missing.")],
        11: [("id", "Row 9 has the same id: each campaign appears once in a file.")],
    }
    html = page.content.decode()
    assert "send date: “31/02/2026 09:00” is not a date" in html
    assert 'id="import-row-6"' in html
    assert "Import 1 campaign" in html


def test_only_the_valid_rows_are_imported(signed_in, support_team):
    _import(signed_in, ERRORS)

    assert list(Campaign.objects.values_list("title", flat=True)) == ["Fine"]
    report = signed_in.get(reverse("campaigns:import"))
    assert report.status_code == 200  # the report was shown once
    _upload(signed_in, ERRORS)
    assert _outcomes(_preview(signed_in))[7] == Outcome.UNCHANGED


def test_a_row_the_campaign_form_would_refuse_says_why(signed_in):
    text = "id,name,channel,send date\n1,Too early,email,1850-01-01 09:00\n"
    _upload(signed_in, text)

    page = _preview(signed_in)

    assert _errors(page) == {
        2: [("send date", "Launch date must be between the years 1900 and 2999.")]
    }


@pytest.mark.parametrize("moment", ["0001-01-01 00:00", "9999-12-31 23:59", "01/01/0001"])
def test_a_date_out_of_any_calendar_is_refused_without_a_server_error(signed_in, moment):
    _upload(signed_in, f"id,name,channel,send date\n1,Far,email,{moment}\n")

    page = _preview(signed_in)

    assert _errors(page) == {
        2: [("send date", "Launch date must be between the years 1900 and 2999.")]
    }


def test_an_audience_too_long_for_its_column_is_refused(signed_in):
    _upload(signed_in, f"id,name,channel,list\n1,Promo,email,{'x' * 301}\n")

    page = _preview(signed_in)

    assert _errors(page) == {2: [("list", "The audience must be at most 300 characters.")]}


def test_another_marketers_campaign_is_not_updated(signed_in, marketer):
    other = make_marketer()
    services.campaign_save_by_reference(
        actor=other,
        source="hubspot",
        external_id="1",
        data=CampaignInput(title="Theirs", channel=Channel.EMAIL),
    )
    _upload(signed_in, "id,name,channel\n1,Mine now,email\n")

    page = _preview(signed_in)

    assert _errors(page) == {
        2: [("", "Only the campaign's owner, its co-editors and managers can edit it.")]
    }


def test_a_closed_campaign_is_unchanged_when_the_row_is_and_refused_when_it_is_not(
    signed_in, marketer, bring_to, support_team
):
    _import(signed_in, "id,name,channel,teams\n1,Promo,email,Conseillers clientèle\n")
    campaign = Campaign.objects.get()
    bring_to(campaign, Campaign.Status.CANCELLED)

    _upload(signed_in, "id,name,channel,teams\n1,Promo,email,Conseillers clientèle\n")
    assert _outcomes(_preview(signed_in)) == [Outcome.UNCHANGED]
    _upload(signed_in, "id,name,channel,teams\n1,Promo 2,email,Conseillers clientèle\n")
    page = _preview(signed_in)

    assert _errors(page) == {2: [("", "This campaign is cancelled: it can no longer be edited.")]}


def test_a_row_refused_when_saved_is_reported_and_the_others_are_saved(marketer, bring_to):
    first = services.campaign_save_by_reference(
        actor=marketer,
        source="csv",
        external_id="1",
        data=CampaignInput(title="Promo", channel=Channel.EMAIL),
    )
    bring_to(first.campaign, Campaign.Status.CANCELLED)
    items = [
        ImportItem(
            row=2,
            title="Promo",
            external_id="1",
            data=CampaignInput(title="Promo bis", channel=Channel.EMAIL),
            fields=frozenset({"title"}),
        ),
        ImportItem(
            row=3,
            title="New",
            external_id="2",
            data=CampaignInput(title="New", channel=Channel.SMS),
            fields=frozenset({"title", "channel"}),
        ),
    ]

    outcome = services.campaigns_import(actor=marketer, source="csv", items=items)

    assert [(f.row, f.message) for f in outcome.failed] == [
        (2, "This campaign is cancelled: it can no longer be edited.")
    ]
    assert len(outcome.created) == 1
    assert Campaign.objects.get(pk=outcome.created[0]).title == "New"


# --- files that cannot be imported at all ---------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
            "This file is not a CSV file: it does not hold text.",
        ),
        (b"%PDF-1.7\n\x00\x01\x02stream", "This file is not a CSV file: it does not hold text."),
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            "This is an Excel workbook, not a CSV file: in Excel, save it as “CSV” and import "
            "that file.",
        ),
        (b"  \n\n", "The file is empty."),
        (b"id,name\n", "The file has no row under its headings."),
        (
            b"foo,bar\n1,2\n",
            "The first row must name the columns: none of its headings (foo, bar) is one this "
            "import reads, such as name, channel, send date or id.",
        ),
        (
            b"name,channel\nPromo,email\n",
            "The file has no id column (id, campaign id, external id): each campaign needs the "
            "id it has in its source, so that importing the file again updates it instead of "
            "creating it twice.",
        ),
        (
            b"id,channel\n1,email\n",
            "The file has no name column (name, campaign name, title, nom).",
        ),
        (b'id,name\n1,"never closed\n', "The file could not be read as CSV (row 2)."),
    ],
    ids=[
        "png",
        "pdf",
        "xlsx",
        "blank",
        "headings-only",
        "unknown-columns",
        "no-id",
        "no-name",
        "quote",
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_and_nothing_kept(signed_in, content, message):
    page = _upload(signed_in, content)

    assert page.status_code == 400
    assert page.context["form"].errors["file"] == [message]
    assert message.split(":")[0] in page.content.decode().replace("&#x27;", "'")
    assert "campaigns.import.pending" not in signed_in.session
    follow = signed_in.get(reverse("campaigns:import_preview"))
    assert follow.status_code == 302


def test_a_file_over_the_size_limit_is_refused(signed_in):
    line = b"1,A campaign with a rather long name to fill the file quickly,email\n"
    content = b"id,name,channel\n" + line * (imports.MAX_BYTES // len(line) + 1)

    page = _upload(signed_in, content)

    assert page.status_code == 400
    assert page.context["form"].errors["file"] == [
        "The file is larger than 2 MB: split it into smaller files."
    ]


def test_a_file_cut_off_while_it_arrives_says_the_same(signed_in, settings):
    settings.FILE_UPLOAD_MAX_BYTES = 1_000

    page = _upload(signed_in, b"id,name,channel\n" + b"1,Promo,email\n" * 200)

    assert page.status_code == 400
    assert page.context["form"].errors["file"] == [
        "The file is larger than 2 MB: split it into smaller files."
    ]


def test_a_file_over_the_row_limit_is_refused(signed_in):
    content = "id,name,channel\n" + "".join(f"{n},C{n},email\n" for n in range(1_001))

    page = _upload(signed_in, content)

    assert page.status_code == 400
    assert page.context["form"].errors["file"] == [
        "The file has more than 1,000 rows: split it into smaller files."
    ]


def test_a_file_at_the_row_limit_is_read(signed_in):
    content = "id,name,channel\n" + "".join(f"{n},C{n},email\n" for n in range(1_000))

    assert _upload(signed_in, content).status_code == 302


def test_the_source_is_a_slug(signed_in):
    page = _upload(signed_in, HUBSPOT, source="Hub Spot")

    assert page.status_code == 400
    assert page.context["form"].errors["source"]
    assert _upload(signed_in, HUBSPOT, source=" HubSpot ").status_code == 302
    assert _preview(signed_in).context["plan"].source == "hubspot"


# --- the confirmation -----------------------------------------------------------------------


def test_a_confirmation_of_an_older_preview_imports_nothing(signed_in):
    _upload(signed_in, HUBSPOT)
    old = _preview(signed_in)
    _upload(signed_in, BREVO, source="brevo")  # another file since, in another tab

    done = signed_in.post(
        reverse("campaigns:import_confirm"),
        {"token": old.context["pending"].token, "digest": old.context["plan"].digest},
        follow=True,
    )

    assert not Campaign.objects.exists()
    assert "This preview is no longer current" in done.content.decode()


def test_a_confirmation_without_an_upload_imports_nothing(signed_in):
    done = signed_in.post(reverse("campaigns:import_confirm"), {"token": "x", "digest": "y"})

    assert done.status_code == 302
    assert not Campaign.objects.exists()


def test_a_plan_that_changed_since_the_preview_is_shown_again(signed_in):
    _import(signed_in, "id,name,channel\n1,Promo,email\n")
    _upload(signed_in, "id,name,channel\n1,Promo de Noël,email\n")
    page = _preview(signed_in)
    assert _outcomes(page) == [Outcome.UPDATE]
    Campaign.objects.update(title="Promo de Noël")  # someone else did it meanwhile

    done = signed_in.post(
        reverse("campaigns:import_confirm"),
        {"token": page.context["pending"].token, "digest": page.context["plan"].digest},
    )

    assert done["Location"] == reverse("campaigns:import_preview")
    assert _outcomes(_preview(signed_in)) == [Outcome.UNCHANGED]


def test_a_broken_session_is_a_fresh_start(signed_in):
    session = signed_in.session
    session["campaigns.import.pending"] = {"token": "t", "text": "not base64 zlib"}
    session.save()

    assert signed_in.get(reverse("campaigns:import_preview")).status_code == 302


# --- who may import --------------------------------------------------------------------------


def test_an_advisor_may_not_import(client, advisor):
    client.force_login(advisor)

    assert client.get(reverse("campaigns:import")).status_code == 403
    assert _upload(client, HUBSPOT).status_code == 403
    assert client.get(reverse("campaigns:import_preview")).status_code == 403
    assert client.post(reverse("campaigns:import_confirm")).status_code == 403
    assert not Campaign.objects.exists()


def test_a_manager_updates_by_import_but_does_not_create(client, manager, marketer):
    services.campaign_save_by_reference(
        actor=marketer,
        source="csv",
        external_id="1",
        data=CampaignInput(title="Promo", channel=Channel.EMAIL),
    )
    client.force_login(manager)
    _upload(client, "id,name,channel\n1,Promo revue,email\n2,Nouvelle,email\n", source="csv")

    page = _preview(client)

    assert _outcomes(page) == [Outcome.UPDATE, Outcome.ERROR]
    assert _errors(page) == {3: [("", "Only marketers can create campaigns.")]}


def test_the_list_links_to_the_import_for_those_who_create_campaigns(
    client, marketer, manager, advisor
):
    url = reverse("campaigns:import")
    for person, shown in ((marketer, True), (manager, False), (advisor, False)):
        client.force_login(person)
        assert (url in client.get(reverse("campaigns:list")).content.decode()) is shown


def test_the_upload_page(signed_in):
    page = signed_in.get(reverse("campaigns:import"))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert "up to 2 MB and 1,000 rows" in html


# --- the preview's cost ----------------------------------------------------------------------


def _file(count: int) -> str:
    lines = ["id,name,channel,send date,teams"]
    lines += [
        f"{n},Campagne {n},email,2027-01-{n % 28 + 1:02d} 09:00,Conseillers" for n in range(count)
    ]
    return "\n".join(lines) + "\n"


def test_the_preview_costs_the_same_queries_whatever_the_rows(signed_in, marketer, support_team):
    # Half of each file is known already (with teams and co-editors to read), half is new.
    for n in range(0, 60, 2):
        services.campaign_save_by_reference(
            actor=marketer,
            source="csv",
            external_id=str(n),
            data=CampaignInput(
                title=f"Campagne {n}",
                channel=Channel.EMAIL,
                launch_at=timezone.now() + timedelta(days=5),
                team_ids=[support_team.pk],
            ),
        )
    counts = []
    for rows in (4, 60):
        _upload(signed_in, _file(rows), source="csv")
        with CaptureQueriesContext(connection) as queries:
            page = _preview(signed_in)
        assert len(page.context["plan"].rows) == rows
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert counts[1] <= 12


# --- reading cells ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-24", datetime(2026, 12, 24, tzinfo=PARIS)),
        ("2026-12-24 09:00", datetime(2026, 12, 24, 9, tzinfo=PARIS)),
        ("2026-12-24T09:00:30", datetime(2026, 12, 24, 9, 0, 30, tzinfo=PARIS)),
        ("2026-12-24T09:00:00Z", datetime(2026, 12, 24, 9, tzinfo=UTC)),
        ("2026-12-24 9:05", datetime(2026, 12, 24, 9, 5, tzinfo=PARIS)),
        ("24/12/2026 09:00", datetime(2026, 12, 24, 9, tzinfo=PARIS)),
        ("24/12/2026", datetime(2026, 12, 24, tzinfo=PARIS)),
        ("24.12.2026 9h30", datetime(2026, 12, 24, 9, 30, tzinfo=PARIS)),
        ("  24/12/2026   09:00 ", datetime(2026, 12, 24, 9, tzinfo=PARIS)),
        ("12/24/2026", None),
        ("31/02/2026", None),
        ("tomorrow", None),
        ("2026-12-24 25:00", None),
    ],
)
def test_moments(text, expected):
    assert imports.moment_of(text, PARIS) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12000", 12_000),
        ("12 000", 12_000),
        ("12\u202f000", 12_000),
        ("12,000", 12_000),
        ("12.000", 12_000),
        ("1,234,567", 1_234_567),
        ("1500.0", 1_500),
        ("-5", -5),
        ("12,5", None),
        ("1,2345", None),
        ("many", None),
        ("9" * 40, 2_147_483_648),
    ],
)
def test_whole_numbers(text, expected):
    assert imports.whole_number_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email", Channel.EMAIL),
        ("E-mail", Channel.EMAIL),
        ("EMAIL", Channel.EMAIL),
        ("Regular email", Channel.EMAIL),
        ("BATCH_EMAIL", Channel.EMAIL),
        ("Courriel", Channel.EMAIL),
        ("SMS", Channel.SMS),
        ("Campagne SMS", Channel.SMS),
        ("Téléphone", Channel.PHONE),
        ("mail", Channel.MAIL),
        ("Courrier / imprimé", Channel.MAIL),
        ("Événement", Channel.EVENT),
        ("Webinaire", Channel.WEBINAR),
        ("Réseaux sociaux", Channel.SOCIAL),
        ("push", Channel.OTHER),
        ("web", Channel.WEB),
        ("Autre", Channel.OTHER),
        ("fax", None),
        ("", None),
    ],
)
def test_channels(text, expected):
    assert imports.channel_of(text) == expected


def test_headings_in_english_and_french_whatever_their_case():
    columns, ignored = imports.columns_of(
        ["ID", "Nom de la campagne", "TYPE", "Date d’envoi", "Liste(s)", "Destinataires", "Clics"]
    )

    assert columns == {
        "external_id": 0,
        "title": 1,
        "channel": 2,
        "launch_at": 3,
        "audience": 4,
        "estimated_recipients": 5,
    }
    assert ignored == ["Clics"]


def test_the_more_specific_heading_wins():
    columns, ignored = imports.columns_of(["Type", "Channel", "Name", "Campaign name", "id"])

    assert columns["channel"] == 1
    assert columns["title"] == 3
    assert ignored == ["Type", "Name"]


def test_a_plan_reads_nothing_per_row(marketer, django_assert_max_num_queries):
    parsed = imports.parse(_file(30), tz=PARIS, teams={})

    with django_assert_max_num_queries(4):
        plan = imports.plan(
            parsed,
            actor=Actor.of(marketer),
            source="csv",
            known_team_ids=[],
            team_names={},
        )

    assert plan.with_errors == 30  # "Conseillers" is unknown to this parse
