"""Campaigns saved by a marketing tool's id (ExternalReference): created once, updated
through the same service as the form after that, idempotent, and race-safe."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignEvent, ExternalReference
from campaigns.services import CampaignInput
from core.errors import DomainError, NotFound, PermissionRefused
from notifications.models import Kind as NotificationKind
from notifications.models import Notification
from tests.factories import CampaignFactory, TeamFactory, make_marketer

pytestmark = pytest.mark.django_db

Status = Campaign.Status
EventKind = CampaignEvent.Kind


def _input(**changes) -> CampaignInput:
    values = {
        "title": "Soldes d'hiver",
        "channel": Campaign.Channel.EMAIL,
        "audience": "Clients actifs",
        "estimated_recipients": 12_000,
        "launch_at": timezone.now() + timedelta(days=10),
        "summary": "Jusqu'à -50 %.",
    }
    values.update(changes)
    return CampaignInput(**values)


def _save(actor, data: CampaignInput, *, source="hubspot", external_id="1042", fields=None):
    return services.campaign_save_by_reference(
        actor=actor, source=source, external_id=external_id, data=data, fields=fields
    )


def test_first_save_creates_the_campaign_and_its_reference(marketer, support_team):
    saved = _save(marketer, _input(team_ids=[support_team.pk]))

    assert saved.created
    assert saved.changed
    campaign = Campaign.objects.get()
    assert saved.campaign.pk == campaign.pk
    assert campaign.title == "Soldes d'hiver"
    assert campaign.owner == marketer
    assert campaign.status == Status.DRAFT
    assert list(campaign.stakeholders.values_list("team_id", flat=True)) == [support_team.pk]
    reference = ExternalReference.objects.get()
    assert (reference.campaign_id, reference.source, reference.external_id) == (
        campaign.pk,
        "hubspot",
        "1042",
    )
    assert selectors.campaign_id_by_reference(source="hubspot", external_id="1042") == campaign.pk
    assert selectors.campaign_id_by_reference(source="brevo", external_id="1042") is None


def test_saving_the_same_values_again_changes_and_records_nothing(marketer, support_team):
    data = _input(team_ids=[support_team.pk])
    first = _save(marketer, data)
    events = CampaignEvent.objects.count()

    again = _save(marketer, data, external_id="  1042 ")  # the same id, blanks aside

    assert not again.created
    assert not again.changed
    assert again.campaign.pk == first.campaign.pk
    assert Campaign.objects.count() == 1
    assert ExternalReference.objects.count() == 1
    assert CampaignEvent.objects.count() == events


def test_the_same_id_from_another_source_is_another_campaign(marketer):
    _save(marketer, _input(), source="hubspot")
    _save(marketer, _input(), source="brevo")

    assert Campaign.objects.count() == 2


def test_an_update_through_the_reference_changes_the_campaign(marketer):
    first = _save(marketer, _input())

    saved = _save(marketer, _input(title="Soldes d'hiver 2027", estimated_recipients=15_000))

    assert not saved.created
    assert saved.changed
    campaign = Campaign.objects.get(pk=first.campaign.pk)
    assert campaign.title == "Soldes d'hiver 2027"
    assert campaign.estimated_recipients == 15_000
    assert campaign.events.filter(kind=EventKind.EDITED).count() == 1


def test_an_update_after_announcement_bumps_the_version_and_tells_the_teams(
    marketer, advisor, support_team
):
    first = _save(marketer, _input(team_ids=[support_team.pk]))
    services.campaign_announce(actor=marketer, campaign_id=first.campaign.pk)
    services.campaign_acknowledge(actor=advisor, campaign_id=first.campaign.pk)
    later = timezone.now() + timedelta(days=12)

    saved = _save(marketer, _input(team_ids=[support_team.pk], launch_at=later))

    assert saved.changed
    campaign = Campaign.objects.get(pk=first.campaign.pk)
    assert campaign.version == 2
    assert campaign.launch_at == later
    assert campaign.stakeholders.get().acknowledged_version == 1  # owed again
    assert campaign.events.filter(kind=EventKind.VERSION_BUMPED).exists()
    assert Notification.objects.filter(campaign=campaign, kind=NotificationKind.CHANGED).exists()


def test_an_update_limited_to_some_fields_keeps_the_others(marketer, support_team):
    first = _save(marketer, _input(team_ids=[support_team.pk]))
    Campaign.objects.filter(pk=first.campaign.pk).update(body="Written in Passerelle.")

    saved = _save(
        marketer,
        CampaignInput(title="Nouveau titre", channel=""),
        fields={"title"},
    )

    assert saved.changed
    campaign = Campaign.objects.get(pk=first.campaign.pk)
    assert campaign.title == "Nouveau titre"
    assert campaign.body == "Written in Passerelle."
    assert campaign.channel == Campaign.Channel.EMAIL
    assert campaign.audience == "Clients actifs"
    assert list(campaign.stakeholders.values_list("team_id", flat=True)) == [support_team.pk]


@pytest.mark.parametrize("status", [Status.DONE, Status.CANCELLED])
def test_a_closed_campaign_refuses_with_its_domain_error(marketer, bring_to, status, support_team):
    first = _save(marketer, _input(team_ids=[support_team.pk]))
    bring_to(first.campaign, status)
    events = CampaignEvent.objects.count()

    with pytest.raises(DomainError) as refused:
        _save(marketer, _input(team_ids=[support_team.pk], title="Trop tard"))

    assert refused.value.code == "not_editable"
    assert "can no longer be edited" in refused.value.message
    assert Campaign.objects.get(pk=first.campaign.pk).title == "Soldes d'hiver"
    assert CampaignEvent.objects.count() == events


@pytest.mark.parametrize(
    ("source", "external_id", "field"),
    [
        ("HubSpot", "1", "source"),
        ("", "1", "source"),
        ("hub spot", "1", "source"),
        ("hubspot!", "1", "source"),
        ("-hubspot", "1", "source"),
        ("x" * 41, "1", "source"),
        ("hubspot", "", "external_id"),
        ("hubspot", "   ", "external_id"),
        ("hubspot", "x" * 201, "external_id"),
        ("hubspot", "12\n34", "external_id"),
    ],
)
def test_an_invalid_reference_is_refused_with_a_message(marketer, source, external_id, field):
    with pytest.raises(DomainError) as refused:
        _save(marketer, _input(), source=source, external_id=external_id)

    assert list(refused.value.field_errors) == [field]
    assert refused.value.message
    assert not Campaign.objects.exists()
    assert not ExternalReference.objects.exists()


def test_the_source_message_says_what_a_source_looks_like(marketer):
    with pytest.raises(DomainError) as refused:
        _save(marketer, _input(), source="HubSpot")

    assert refused.value.field_errors["source"] == [
        "The source must be a lowercase word of at most 40 letters, digits, hyphens or "
        "underscores, such as “hubspot”."
    ]


def test_an_invalid_campaign_creates_neither_campaign_nor_reference(marketer):
    with pytest.raises(DomainError) as refused:
        _save(marketer, _input(title="", estimated_recipients=-3))

    assert set(refused.value.field_errors) == {"title", "estimated_recipients"}
    assert not Campaign.objects.exists()
    assert not ExternalReference.objects.exists()


def test_an_audience_longer_than_its_column_is_refused_before_the_database(marketer):
    with pytest.raises(DomainError) as refused:
        _save(marketer, _input(audience="x" * 301))

    assert refused.value.field_errors == {
        "audience": ["The audience must be at most 300 characters."]
    }


def test_only_marketers_create_campaigns_by_reference(advisor, manager):
    for person in (advisor, manager):
        with pytest.raises(PermissionRefused):
            _save(person, _input())

    assert not Campaign.objects.exists()


def test_another_marketers_campaign_is_not_theirs_to_update(marketer):
    _save(marketer, _input())
    other = make_marketer()

    with pytest.raises(PermissionRefused):
        _save(other, _input(title="Pas à moi"))


def test_a_stakeholder_cannot_learn_of_a_draft_through_its_reference(marketer, advisor):
    _save(marketer, _input())

    with pytest.raises(NotFound):
        _save(advisor, _input(title="?"))


def test_a_manager_updates_any_campaign_by_reference(marketer, manager):
    first = _save(marketer, _input())

    saved = _save(manager, _input(title="Revu par la direction"))

    assert saved.changed
    assert Campaign.objects.get(pk=first.campaign.pk).title == "Revu par la direction"


def test_the_reference_goes_with_its_campaign(marketer):
    first = _save(marketer, _input())

    Campaign.objects.filter(pk=first.campaign.pk).delete()

    assert not ExternalReference.objects.exists()
    assert _save(marketer, _input()).created


def test_the_campaign_page_names_where_it_comes_from(client, marketer):
    first = _save(marketer, _input())
    plain = CampaignFactory(owner=marketer)
    client.force_login(marketer)

    page = client.get(reverse("campaigns:detail", args=[first.campaign.pk])).content.decode()
    other = client.get(reverse("campaigns:detail", args=[plain.pk])).content.decode()

    assert "From HubSpot · id 1042" in page
    assert "campaign-reference" not in other


def test_an_unknown_source_is_shown_as_its_slug(client, marketer):
    first = _save(marketer, _input(), source="crm-maison", external_id="A-7")
    client.force_login(marketer)

    page = client.get(reverse("campaigns:detail", args=[first.campaign.pk])).content.decode()

    assert "From crm-maison · id A-7" in page


def test_the_reference_costs_the_campaign_page_no_query(client, marketer):
    with_reference = _save(marketer, _input()).campaign
    without = CampaignFactory(owner=marketer)
    client.force_login(marketer)
    counts = []
    for campaign in (with_reference, without):
        url = reverse("campaigns:detail", args=[campaign.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]


# --- two first saves at once, on PostgreSQL ---------------------------------------------------

TIMEOUT = 10.0


class _Worker(threading.Thread):
    """Runs `target` on its own database connection and keeps its result or error."""

    def __init__(self, target, name: str) -> None:
        super().__init__(daemon=True, name=name)
        self._target_fn = target
        self.pid: int | None = None
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.result = self._target_fn()
        except BaseException as error:
            self.error = error
        finally:
            connection.close()


def _wait_until_blocked(waiter: _Worker, *, by: _Worker) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if waiter.pid is not None and by.pid is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [by.pid, waiter.pid])
                if cursor.fetchone()[0]:
                    return
        if waiter.error is not None or not waiter.is_alive():
            pytest.fail(f"{waiter.name} finished without waiting: {waiter.error!r}")
        time.sleep(0.02)
    pytest.fail(f"{waiter.name} was not blocked by {by.name} within {TIMEOUT}s")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_first_saves_at_once_create_one_campaign():
    marketer = make_marketer()
    team = TeamFactory()
    data = _input(team_ids=[team.pk])
    saved_first, release = threading.Event(), threading.Event()

    def first_save_held_open():
        with transaction.atomic():
            saved = _save(marketer, data)
            saved_first.set()
            if not release.wait(TIMEOUT):
                raise TimeoutError("the test never let the first save commit")
        return saved

    first = _Worker(first_save_held_open, "first")
    second = _Worker(lambda: _save(marketer, data), "second")
    try:
        first.start()
        assert saved_first.wait(TIMEOUT), first.error
        second.start()
        # Its reference waits on the first's, not yet committed, in the unique index.
        _wait_until_blocked(second, by=first)
    finally:
        release.set()
        first.join(TIMEOUT)
        second.join(TIMEOUT)

    assert first.error is None, first.error
    assert second.error is None, second.error
    assert first.result.created
    assert not second.result.created
    assert not second.result.changed
    assert second.result.campaign.pk == first.result.campaign.pk
    assert Campaign.objects.count() == 1
    assert ExternalReference.objects.count() == 1
    # The loser's campaign was rolled back with its timeline.
    assert CampaignEvent.objects.filter(kind=EventKind.CREATED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_first_saves_at_once_create_one_campaign():
    marketer = make_marketer()
    data = _input()
    start = threading.Barrier(4, timeout=TIMEOUT)

    def save():
        start.wait()
        return _save(marketer, data, external_id="race")

    workers = [_Worker(save, f"save-{n}") for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(TIMEOUT)

    assert [w.error for w in workers] == [None] * 4
    assert sum(w.result.created for w in workers) == 1
    assert len({w.result.campaign.pk for w in workers}) == 1
    assert Campaign.objects.count() == 1
