"""record_audit_event, and an entry from each service that changes something the audit
log tracks, written in the same transaction as the change."""

import pytest
from django.db import transaction
from django.test import RequestFactory

from api.services import api_token_create, api_token_revoke
from audit.models import AuditAction, AuditEvent
from audit.services import REDACTED, record_audit_event, redact_url, target_label_of
from campaigns.models import Campaign
from campaigns.services import campaign_override_done, campaign_update
from notifications.services import team_webhook_repaired
from notifications.subscriptions import (
    subscription_token_get_or_create,
    subscription_token_regenerate,
)
from teams.models import Team
from teams.services import person_set_active
from tests.factories import (
    MembershipFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
    campaign_input,
    make_manager,
    make_marketer,
)
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks.models import DisabledReason
from webhooks.services import endpoint_disable, webhook_endpoint_enable

pytestmark = pytest.mark.django_db


def entries(action=None):
    events = AuditEvent.objects.order_by("id")
    return list(events.filter(action=action) if action else events)


# --- the service itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded", "logged"),
    [("198.51.100.7", "198.51.100.7"), ("not an address", None)],
)
def test_behind_a_proxy_the_entry_names_the_client_not_the_proxy(settings, forwarded, logged):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", headers={"x-forwarded-for": forwarded}
    )
    with transaction.atomic():
        event = record_audit_event(
            actor=UserFactory(),
            action=AuditAction.TEAM_CREATED,
            target=TeamFactory(),
            request=request,
        )
    event.refresh_from_db()
    assert event.ip == logged


def test_an_entry_records_who_what_about_what_and_from_where():
    actor, team = UserFactory(), TeamFactory(name="Ventes")
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    with transaction.atomic():
        event = record_audit_event(
            actor=actor,
            action=AuditAction.TEAM_EDITED,
            target=team,
            details={"kind": {"old": "other", "new": "sales"}},
            request=request,
        )
    event.refresh_from_db()
    assert event.occurred_at is not None
    assert (event.actor, event.action, event.ip) == (actor, "team_edited", "203.0.113.9")
    assert (event.target_type, event.target_id, event.target_label) == (
        "teams.team",
        team.pk,
        "Ventes",
    )
    assert event.details == {"kind": {"old": "other", "new": "sales"}}


@pytest.mark.django_db(transaction=True)
def test_an_entry_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="transaction"):
        record_audit_event(actor=None, action=AuditAction.TEAM_CREATED)
    assert entries() == []


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="team_renamed"), transaction.atomic():
        record_audit_event(actor=None, action="team_renamed")
    assert entries() == []


def test_secrets_are_never_kept_and_urls_keep_only_scheme_and_host():
    with transaction.atomic():
        event = record_audit_event(
            actor=None,
            action=AuditAction.WEBHOOK_CHANGED,
            details={
                "webhook_url": {
                    "old": "https://hooks.slack.com/services/T0/B0/s3cr3t",
                    "new": "https://[2001:db8::1]:8443/hooks/abc?token=zzz",
                },
                "password": "hunter2",
                "token": "abcdef",
                "nested": {"api_key": "k", "client_secret": "s", "fine": 3},
            },
        )
    assert event.details == {
        "webhook_url": {"old": "https://hooks.slack.com", "new": "https://[2001:db8::1]"},
        "password": REDACTED,
        "token": REDACTED,
        "nested": {"api_key": REDACTED, "client_secret": REDACTED, "fine": 3},
    }
    assert "s3cr3t" not in str(AuditEvent.objects.values_list("details", flat=True).get())


@pytest.mark.parametrize("url", ["not a url", "https://", "http://[::1"])
def test_an_unreadable_url_is_redacted_whole(url):
    assert redact_url(url) == REDACTED


def test_a_label_never_names_a_person():
    person = UserFactory(full_name="Alice Martin", email="alice@example.com")
    membership = MembershipFactory(user=person, team=TeamFactory(name="Ventes"))
    assert target_label_of(person) == ""
    assert "Alice" not in target_label_of(membership)
    assert target_label_of(membership) == f"membership #{membership.pk}"
    assert target_label_of(membership.team) == "Ventes"


class ChangeFailed(Exception):
    pass


def _rename_then_fail(team: Team) -> None:
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).update(name="Renamed")
        record_audit_event(actor=None, action=AuditAction.TEAM_EDITED, target=team)
        raise ChangeFailed  # after its entry was written


def test_a_rolled_back_change_leaves_no_entry():
    team = TeamFactory(name="Ventes")
    with pytest.raises(ChangeFailed):
        _rename_then_fail(team)
    assert Team.objects.get(pk=team.pk).name == "Ventes"
    assert entries() == []


# --- each service wired ----------------------------------------------------------------


def test_overriding_the_acknowledgement_check_is_recorded():
    manager = make_manager()
    pending = TeamFactory(name="Conseillers")
    campaign = announced_campaign(teams=[pending], title="Soldes d'hiver")

    campaign_override_done(actor=manager, campaign_id=campaign.pk, reason="Launch moved up")

    [event] = entries(AuditAction.DONE_OVERRIDDEN)
    assert event.actor == manager
    assert (event.target_type, event.target_id, event.target_label) == (
        "campaigns.campaign",
        campaign.pk,
        "Soldes d'hiver",
    )
    assert event.details == {"reason": "Launch moved up", "pending_teams": ["Conseillers"]}


def test_a_refused_override_leaves_no_entry():
    campaign = announced_campaign()
    with pytest.raises(Exception, match="Reason"):
        campaign_override_done(actor=make_manager(), campaign_id=campaign.pk, reason=" ")
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.ANNOUNCED
    assert entries() == []


def test_creating_a_subscription_address_is_recorded_once():
    person = UserFactory()
    token = subscription_token_get_or_create(user=person)
    subscription_token_get_or_create(user=person)  # read, not created: no second entry

    [event] = entries()
    assert (event.action, event.actor, event.target_type, event.target_id) == (
        AuditAction.TOKEN_CREATED,
        person,
        "accounts.user",
        person.pk,
    )
    assert event.target_label == ""
    assert token.token not in str(event.details)


def test_a_new_subscription_address_revokes_the_old_one():
    person = UserFactory()
    old = subscription_token_get_or_create(user=person).token
    new = subscription_token_regenerate(user=person).token

    actions = [e.action for e in entries()]
    assert actions == [
        AuditAction.TOKEN_CREATED,
        AuditAction.TOKEN_REVOKED,
        AuditAction.TOKEN_CREATED,
    ]
    assert all(e.actor == person and e.target_id == person.pk for e in entries())
    assert old not in str(list(AuditEvent.objects.values()))
    assert new not in str(list(AuditEvent.objects.values()))


def test_marking_a_webhook_repaired_is_recorded_per_broken_team():
    admin = UserFactory()
    broken = TeamFactory(
        name="Ventes",
        webhook_url="https://hooks.example.com/services/secret",
        webhook_broken_at="2026-12-01T10:00:00Z",
        webhook_broken_reason="HTTP 410",
    )
    working = TeamFactory(name="Support")

    repaired = team_webhook_repaired(team_ids=[broken.pk, working.pk], actor=admin)
    team_webhook_repaired(team_ids=[broken.pk], actor=admin)  # nothing left to repair

    assert repaired == 1
    [event] = entries()
    assert (event.action, event.actor, event.target_id, event.target_label) == (
        AuditAction.WEBHOOK_REPAIRED,
        admin,
        broken.pk,
        "Ventes",
    )
    assert event.details["broken_reason"] == "HTTP 410"
    assert "secret" not in str(event.details)


def test_co_editors_given_or_taken_are_recorded_by_id():
    """Being a co-editor opens a draft: granting it is an access change."""

    owner = make_marketer()
    colleague, other = make_marketer(), make_marketer()
    campaign = announced_campaign(owner=owner, title="Soldes d'hiver")

    campaign_update(
        actor=owner,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, editor_ids=[colleague.pk, other.pk]),
    )
    campaign_update(
        actor=owner, campaign_id=campaign.pk, data=campaign_input(campaign, editor_ids=[other.pk])
    )
    # The same co-editors again: nothing changed, nothing recorded.
    campaign_update(
        actor=owner, campaign_id=campaign.pk, data=campaign_input(campaign, editor_ids=[other.pk])
    )

    given, taken = entries(AuditAction.CAMPAIGN_EDITORS_CHANGED)
    assert (given.actor, given.target_id, given.target_label) == (
        owner,
        campaign.pk,
        "Soldes d'hiver",
    )
    assert given.details == {"added": sorted([colleague.pk, other.pk]), "removed": []}
    assert taken.details == {"added": [], "removed": [colleague.pk]}


def test_revoking_an_api_token_is_recorded_once():

    person = UserFactory()
    made = api_token_create(actor=person, name="Tableur", scope="read", expires_in_days=30)

    api_token_revoke(actor=person, token_id=made.token.pk)
    api_token_revoke(actor=person, token_id=made.token.pk)  # idempotent

    [event] = entries(AuditAction.API_TOKEN_REVOKED)
    assert (event.actor, event.target_id) == (person, made.token.pk)
    assert made.secret not in str(event.details)


def test_reactivating_a_person_is_recorded():

    manager, person = make_manager(), UserFactory()
    person_set_active(actor=manager, user_id=person.pk, active=False)

    person_set_active(actor=manager, user_id=person.pk, active=True)

    [event] = entries(AuditAction.PERSON_REACTIVATED)
    assert (event.actor, event.target_id) == (manager, person.pk)


def test_enabling_an_outgoing_webhook_again_is_recorded():

    manager = make_manager()
    endpoint = WebhookEndpointFactory(url="https://crm.example.com/hook?key=s3cret")
    endpoint_disable(endpoint_id=endpoint.pk, reason=DisabledReason.FAILING)

    webhook_endpoint_enable(actor=manager, endpoint_id=endpoint.pk)

    [event] = entries(AuditAction.WEBHOOK_ENDPOINT_ENABLED)
    assert (event.actor, event.target_id) == (manager, endpoint.pk)
    assert "s3cret" not in str(event.details) + event.target_label
