"""A campaign's revision (migration 0016): the database raises it whenever the campaign
or anything shown with it is written, by any code path, and it never goes back."""

from collections.abc import Callable

import pytest
from django.db.models import F

from campaigns.models import (
    Acknowledgement,
    Attachment,
    Campaign,
    CampaignEvent,
    CampaignVersion,
    Feedback,
    Kpi,
    Stakeholder,
)
from tests.factories import (
    CampaignFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
    make_marketer,
)

pytestmark = pytest.mark.django_db


def revision(campaign: Campaign) -> int:
    return Campaign.objects.values_list("revision", flat=True).get(pk=campaign.pk)


@pytest.fixture
def campaign() -> Campaign:
    return announced_campaign(teams=[TeamFactory()])


def _kpi(c: Campaign) -> Kpi:
    return Kpi.objects.create(campaign=c, name="Taux d'ouverture")


def _stakeholder(c: Campaign) -> Stakeholder:
    return StakeholderFactory(campaign=c, team=TeamFactory())


def _event(c: Campaign) -> CampaignEvent:
    return CampaignEvent.objects.create(campaign=c, kind=CampaignEvent.Kind.EDITED, version=1)


def _version(c: Campaign) -> CampaignVersion:
    return CampaignVersion.objects.create(
        campaign=c, version=99, title=c.title, channel=c.channel, launch_at=c.launch_at
    )


def _attachment(c: Campaign) -> Attachment:
    return Attachment.objects.create(
        campaign=c, file="a.pdf", original_name="a.pdf", content_type="application/pdf", size=1
    )


def _feedback(c: Campaign) -> Feedback:
    return Feedback.objects.create(campaign=c, author=UserFactory(), body="Question ?")


def _acknowledgement(c: Campaign) -> Acknowledgement:
    return Acknowledgement.objects.create(
        stakeholder=c.stakeholders.first(), user=UserFactory(), version=c.version
    )


CHILDREN: list[tuple[str, Callable[[Campaign], object], dict[str, object]]] = [
    ("KPI", _kpi, {"name": "Clics"}),
    ("stakeholder team", _stakeholder, {"due_at": None}),
    ("timeline event", _event, {"details": {"why": "test"}}),
    ("announced version", _version, {"version": 100}),
    ("attachment", _attachment, {"original_name": "b.pdf"}),
    ("thread message", _feedback, {"body": "Réponse."}),
    ("acknowledgement", _acknowledgement, {"note": "Lu."}),
]


@pytest.mark.parametrize(("what", "create", "change"), CHILDREN, ids=[c[0] for c in CHILDREN])
def test_writing_a_row_shown_with_the_campaign_raises_its_revision(campaign, what, create, change):
    before = revision(campaign)
    row = create(campaign)
    created = revision(campaign)
    assert created > before
    type(row).objects.filter(pk=row.pk).update(**change)
    updated = revision(campaign)
    assert updated > created
    type(row).objects.filter(pk=row.pk).delete()
    assert revision(campaign) > updated


def test_moving_a_row_to_another_campaign_raises_both(campaign):
    other = CampaignFactory()
    kpi = _kpi(campaign)
    before = revision(campaign), revision(other)
    Kpi.objects.filter(pk=kpi.pk).update(campaign=other)
    assert revision(campaign) > before[0]
    assert revision(other) > before[1]


def test_co_editors_raise_it(campaign):
    before = revision(campaign)
    campaign.editors.add(make_marketer())
    assert revision(campaign) > before


def test_any_update_of_the_campaign_raises_it_once(campaign):
    before = revision(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(title="Autre titre")
    assert revision(campaign) == before + 1


def test_a_save_of_an_instance_read_earlier_does_not_take_it_back(campaign):
    stale = Campaign.objects.get(pk=campaign.pk)
    for _ in range(3):
        Feedback.objects.create(campaign=campaign, author=UserFactory(), body="Encore ?")
    raised = revision(campaign)
    stale.title = "Titre corrigé"
    stale.save()
    assert revision(campaign) > raised


def test_a_bulk_write_raises_it(campaign):
    before = revision(campaign)
    Stakeholder.objects.filter(campaign=campaign).update(due_at=F("due_at"))
    assert revision(campaign) > before


def test_renaming_a_person_raises_the_campaigns_that_show_them(campaign):
    author = UserFactory(full_name="Alice Avant")
    Feedback.objects.create(campaign=campaign, author=author, body="Une question.")
    elsewhere = announced_campaign(teams=[TeamFactory()])
    before = revision(campaign), revision(elsewhere)
    author.full_name = "Alice Après"
    author.save()
    assert revision(campaign) > before[0]
    assert revision(elsewhere) == before[1]
    author.last_login = author.date_joined
    author.save()  # nothing shown changed
    assert revision(campaign) == before[0] + 1
