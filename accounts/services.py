"""Writes on a person's account: their own profile, and an administrator's erasure of
their personal data (docs/PRIVACY.md)."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from typing import Any, TypeVar

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import personal_data_of
from api.models import ApiToken
from audit.models import AuditAction
from audit.services import record_audit_event
from campaigns.models import (
    Acknowledgement,
    Campaign,
    CampaignEvent,
    Feedback,
    ReminderSnooze,
    Stakeholder,
)
from campaigns.services import campaigns_search_text_refresh
from chat.models import ChatIdentity
from chat.services import chat_posts_touch
from core.errors import DomainError, PermissionRefused
from notifications.models import (
    DeliverySettings,
    Dispatch,
    Notification,
    Preference,
    SubscriptionToken,
)
from webhooks.models import WebhookDelivery


def personal_data_export(
    *, person: User, export_format: str, request: HttpRequest | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Everything Passerelle holds about `person` (accounts.selectors.personal_data_of),
    with the export written to the audit log in the same transaction: a download of
    personal data is a security-relevant event even when it is one's own."""
    with transaction.atomic():
        data = personal_data_of(person=person)
        record_audit_event(
            actor=person,
            action=AuditAction.PERSONAL_DATA_EXPORTED,
            target=person,
            details={"format": export_format, "sections": sorted(data)},
            request=request,
        )
    return data


@dataclass(frozen=True)
class ProfileInput:
    full_name: str
    language: str
    time_zone: str


PROFILE_FIELDS = ("full_name", "language", "time_zone")


def profile_update(*, user: User, data: ProfileInput) -> User:
    """Save the name, language and time zone a person reads the app in. The model's
    choices are the rule (languages offered, IANA time zones): anything else raises
    ValidationError and nothing is saved."""
    user.full_name = data.full_name.strip()
    user.language = data.language
    user.time_zone = data.time_zone
    others = [field.name for field in User._meta.fields if field.name not in PROFILE_FIELDS]
    user.clean_fields(exclude=others)
    renamed = User.objects.filter(pk=user.pk).exclude(full_name=user.full_name).exists()
    with transaction.atomic():
        user.save(update_fields=list(PROFILE_FIELDS))
        if renamed:
            campaigns_search_text_refresh(owner=user)
    return user


# --- erasure (docs/PRIVACY.md) ---------------------------------------------------------

# Stored, not shown through gettext: the rows are read by people in every language, and
# a pseudonym must stay the same whoever reads it.
PSEUDONYM = "Former member #{id}"
ERASED_EMAIL = "erased-{id}@erased.invalid"
REMOVED_TEXT = "[removed at the person's request]"
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class ErasureReport:
    """What person_erase changed; `erased` is False when the person already was."""

    erased: bool
    pseudonym: str
    sessions_ended: int = 0
    dispatches_rewritten: int = 0
    events_rewritten: int = 0
    webhook_messages_rewritten: int = 0
    notes_removed: int = 0
    feedback_removed: int = 0
    not_ready_texts_removed: int = 0


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: text


def _replace_in(value: Any, replacements: Sequence[tuple[str, str]]) -> Any:
    """`value` (a JSON payload) with every occurrence of each old text replaced, as a
    whole word: a short name ("Ann") must not rewrite a campaign's "Announcement"."""
    if isinstance(value, str):
        for old, new in replacements:
            # A function, so a backslash in the new text is never read as a group.
            value = re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", _constant(new), value)
        return value
    if isinstance(value, list):
        return [_replace_in(item, replacements) for item in value]
    if isinstance(value, dict):
        return {key: _replace_in(item, replacements) for key, item in value.items()}
    return value


def _sessions_end(person: User) -> int:
    """Delete the person's sessions from a database session store (the default). Other
    stores cannot be searched by user; there the unusable password ends them anyway, as
    Django checks each session's password hash on every request."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return 0
    model = store.get_model_class()
    theirs = [
        session.pk
        for session in model.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get(SESSION_KEY)) == str(person.pk)
    ]
    model.objects.filter(pk__in=theirs).delete()
    return len(theirs)


def person_erase(*, actor: User, person: User, remove_text: bool) -> ErasureReport:
    """Replace everything that identifies `person` by a stable pseudonym, in one
    transaction: name ("Former member #<id>"), e-mail (`erased-<id>@erased.invalid`,
    allauth's addresses too), an unusable password, deactivated, sessions ended, feed
    and calendar token revoked, notification settings dropped, and their name and e-mail
    rewritten in notification payloads, delivery errors and timeline details. With
    `remove_text`, their acknowledgement notes and feedback text become REMOVED_TEXT
    (also where payloads and timelines quote them).

    What stays, under the pseudonym: acknowledgements (who acknowledged which version
    when, so counts, dashboards and timelines stay correct), feedback rows, owned
    campaigns and memberships. Superusers only; nobody erases themselves. Idempotent: a
    person erased already is left as is (`erased=False`)."""
    if not (actor.is_active and actor.is_superuser):
        raise PermissionRefused(_("Only a superuser may erase a person's data."))
    if actor.pk == person.pk:
        raise DomainError(_("You cannot erase your own account; ask another superuser."))
    pseudonym = PSEUDONYM.format(id=person.pk)
    with transaction.atomic():
        person = User.objects.select_for_update().get(pk=person.pk)
        if person.erased_at is not None:
            return ErasureReport(erased=False, pseudonym=person.full_name)
        old_names = {person.display_name, person.full_name.strip()} - {""}
        old_emails = {person.email} | set(
            EmailAddress.objects.filter(user=person).values_list("email", flat=True)
        )
        erased_email = ERASED_EMAIL.format(id=person.pk)
        # Longest first: an e-mail whose local part is the name is replaced whole.
        replacements = sorted(
            [(email, erased_email) for email in old_emails]
            + [(name, pseudonym) for name in old_names],
            key=lambda pair: -len(pair[0]),
        )
        _campaigns_showing_locked(person)
        report = _text_rewrite(person, replacements, old_names, remove_text=remove_text)
        # Team chats show who acknowledged or objected, and why: their posts are redrawn
        # from the rewritten rows once this commits.
        for campaign_id in _campaigns_naming_in_chat(person):
            chat_posts_touch(campaign_id=campaign_id)

        person.full_name = pseudonym
        person.email = erased_email
        person.set_unusable_password()
        person.is_active = False
        person.is_staff = False
        person.is_superuser = False
        person.erased_at = timezone.now()
        person.save()
        person.groups.clear()
        person.user_permissions.clear()
        campaigns_search_text_refresh(owner=person)
        EmailAddress.objects.filter(user=person).delete()
        EmailAddress.objects.create(user=person, email=erased_email, primary=True, verified=False)
        # Its addresses stop answering once this commits (notifications.receivers).
        SubscriptionToken.objects.filter(user=person).delete()
        Preference.objects.filter(user=person).delete()
        DeliverySettings.objects.filter(user=person).delete()
        # What tied the account to other systems and devices: chat accounts (a Slack user
        # id names a person), second factors, snoozes; API tokens are revoked, not
        # deleted, so the audit log's entries about them still point somewhere.
        ChatIdentity.objects.filter(user=person).delete()
        Authenticator.objects.filter(user=person).delete()
        ReminderSnooze.objects.filter(user=person).delete()
        ApiToken.objects.filter(user=person, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        sessions = _sessions_end(person)
        # The log names nobody: the erased person is the target, shown by their pseudonym.
        record_audit_event(
            actor=actor,
            action=AuditAction.PERSON_ERASED,
            target=person,
            details={
                "remove_text": remove_text,
                "sessions_ended": sessions,
                "notes_removed": report.notes_removed,
                "feedback_removed": report.feedback_removed,
                "not_ready_texts_removed": report.not_ready_texts_removed,
            },
        )
    return ErasureReport(
        erased=True,
        pseudonym=pseudonym,
        sessions_ended=sessions,
        dispatches_rewritten=report.dispatches_rewritten,
        events_rewritten=report.events_rewritten,
        webhook_messages_rewritten=report.webhook_messages_rewritten,
        notes_removed=report.notes_removed,
        feedback_removed=report.feedback_removed,
        not_ready_texts_removed=report.not_ready_texts_removed,
    )


def _campaigns_naming_in_chat(person: User) -> list[int]:
    """The campaigns whose team chat posts may name the person: as who acknowledged for
    a team, who said it was not ready, or who answered that (chat.state)."""
    named = (
        Q(acknowledged_by=person)
        | Q(acknowledgements__user=person)
        | Q(not_ready_by=person)
        | Q(not_ready_replied_by=person)
    )
    return sorted(set(Stakeholder.objects.filter(named).values_list("campaign_id", flat=True)))


def _campaigns_showing_locked(person: User) -> None:
    """Locks, in id order, the campaigns whose rows the erasure rewrites (timelines,
    notes, thread messages) or that show the person: each rewrite raises its campaign's
    revision (campaigns migration 0016), and taken one by one in the rewrites' own order
    those locks could cross a service's, which locks the campaign first."""
    shown = (
        Q(owner=person)
        | Q(editors=person)
        | Q(feedback__author=person)
        | Q(events__actor=person)
        | Q(events__details__has_key="editors_added")
        | Q(events__details__has_key="editors_removed")
        | Q(stakeholders__acknowledged_by=person)
        | Q(stakeholders__acknowledgements__user=person)
    )
    ids = Campaign.objects.filter(shown).values("pk")
    list(Campaign.objects.filter(pk__in=ids).order_by("pk").select_for_update().values("pk"))


def _text_rewrite(
    person: User,
    replacements: Sequence[tuple[str, str]],
    old_names: set[str],
    *,
    remove_text: bool,
) -> ErasureReport:
    """The person's name and e-mail out of the rows that copied them as text (inside
    person_erase's transaction); their notes and feedback out too with `remove_text`."""
    emails = [old for old, new in replacements if new.endswith("@erased.invalid")]
    # Where payloads put a person: the owner of the campaign (every notice about it), the
    # author of a note or thread message, who nudged a team (notifications.payload).
    authored = Q(payload__author_name__in=old_names) | Q(payload__nudged_by__in=old_names)
    dispatches = Dispatch.objects.filter(
        Q(campaign__owner=person) | Q(payload__owner_email__in=emails) | authored
    )
    rewritten_dispatches = []
    for dispatch in dispatches.iterator():
        payload = dispatch.payload
        wrote_note = payload.get("author_name") in old_names and "note" in payload
        payload = _replace_in(payload, replacements)
        if remove_text and wrote_note:
            payload["note"] = REMOVED_TEXT
        if payload != dispatch.payload:
            dispatch.payload = payload
            rewritten_dispatches.append(dispatch)
    Dispatch.objects.bulk_update(rewritten_dispatches, ["payload"], batch_size=500)

    # A mail server's refusal often quotes the address it refused.
    errors = []
    for notification in Notification.objects.filter(recipient=person).exclude(last_error=""):
        text = _replace_in(notification.last_error, replacements)
        if text != notification.last_error:
            notification.last_error = text
            errors.append(notification)
    Notification.objects.bulk_update(errors, ["last_error"], batch_size=500)

    # Timelines name co-editors added or removed; an acknowledgement event quotes its note.
    events = CampaignEvent.objects.filter(
        Q(details__has_key="editors_added") | Q(details__has_key="editors_removed")
    )
    if remove_text:
        events = events | CampaignEvent.objects.filter(
            actor=person, kind=CampaignEvent.Kind.ACKNOWLEDGED
        )
    rewritten_events = []
    for event in events.iterator():
        details = _replace_in(event.details, replacements)
        if remove_text and event.actor_id == person.pk and details.get("note"):
            details["note"] = REMOVED_TEXT
        if details != event.details:
            event.details = details
            rewritten_events.append(event)
    CampaignEvent.objects.bulk_update(rewritten_events, ["details"], batch_size=500)

    notes = feedback = 0
    if remove_text:
        notes = (
            Acknowledgement.objects.filter(user=person).exclude(note="").update(note=REMOVED_TEXT)
        )
        feedback = Feedback.objects.filter(author=person).update(body=REMOVED_TEXT)
    return ErasureReport(
        not_ready_texts_removed=_not_ready_texts_remove(person) if remove_text else 0,
        erased=True,
        pseudonym="",
        dispatches_rewritten=len(rewritten_dispatches),
        events_rewritten=len(rewritten_events),
        webhook_messages_rewritten=_webhook_messages_rewrite(
            person, replacements, remove_text=remove_text
        ),
        notes_removed=notes,
        feedback_removed=feedback,
    )


def _json_rewrite(rows: "QuerySet[M]", field: str, change: Callable[[Any], Any]) -> int:
    """Apply `change` to the JSON `field` of each of `rows`, saving those it changed (in
    batches); how many it changed."""
    changed: list[M] = []
    for row in rows.iterator():
        before = getattr(row, field)
        after = change(before)
        if after != before:
            setattr(row, field, after)
            changed.append(row)
    rows.model._default_manager.bulk_update(changed, [field], batch_size=500)
    return len(changed)


# Where copies of a "not ready" reason or reply sit in JSON: the timeline's details (also
# a manager's override, which lists the objections it overrode), notices' payloads and
# webhook messages.
_QUOTING_KEYS = frozenset({"reason", "reply", "note"})


def _blank_quotes(value: Any, texts: set[str]) -> Any:
    """`value` (a JSON payload) with every quoting key whose text is one of `texts`
    replaced by REMOVED_TEXT, at any depth."""
    if isinstance(value, list):
        return [_blank_quotes(item, texts) for item in value]
    if isinstance(value, dict):
        return {
            key: REMOVED_TEXT
            if key in _QUOTING_KEYS and isinstance(item, str) and item in texts
            else _blank_quotes(item, texts)
            for key, item in value.items()
        }
    return value


def _not_ready_texts_remove(person: User) -> int:
    """What the person wrote when a team was not ready (their objections and their
    replies to one), out of the stakeholder rows and every copy quoting it, on the
    campaigns concerned. Returns how many texts they had written."""
    theirs = CampaignEvent.objects.filter(
        actor=person,
        kind__in=[CampaignEvent.Kind.NOT_READY, CampaignEvent.Kind.NOT_READY_REPLIED],
    )
    # An objection's text is its "reason"; a reply event also quotes the objection it
    # answers (perhaps someone else's): only its "reply" is the person's.
    texts: set[str] = set()
    campaign_ids: set[int] = set()
    for campaign_id, kind, details in theirs.values_list("campaign_id", "kind", "details"):
        campaign_ids.add(campaign_id)
        key = "reason" if kind == CampaignEvent.Kind.NOT_READY else "reply"
        if text := (details or {}).get(key):
            texts.add(text)
    Stakeholder.objects.filter(not_ready_by=person).exclude(not_ready_reason="").update(
        not_ready_reason=REMOVED_TEXT
    )
    Stakeholder.objects.filter(not_ready_replied_by=person).exclude(not_ready_reply="").update(
        not_ready_reply=REMOVED_TEXT
    )
    if not texts:
        return 0
    blank = partial(_blank_quotes, texts=texts)
    _json_rewrite(CampaignEvent.objects.filter(campaign_id__in=campaign_ids), "details", blank)
    _json_rewrite(Dispatch.objects.filter(campaign_id__in=campaign_ids), "payload", blank)
    _json_rewrite(
        WebhookDelivery.objects.filter(payload__campaign__id__in=list(campaign_ids)),
        "payload",
        blank,
    )
    return len(texts)


def _webhook_messages_rewrite(
    person: User, replacements: Sequence[tuple[str, str]], *, remove_text: bool
) -> int:
    """The person out of the outgoing webhook messages still in the delivery log (kept
    WEBHOOKS_RETENTION_DAYS), sent or not: where they acted or wrote a thread message,
    and timelines' co-editor lists. Sent messages are rewritten too: the log is ours,
    what a receiver already has is theirs (docs/PRIVACY.md)."""
    theirs = (
        Q(payload__actor__id=person.pk)
        | Q(payload__author__id=person.pk)
        | Q(payload__details__has_key="editors_added")
        | Q(payload__details__has_key="editors_removed")
    )

    def scrub(payload: Any) -> Any:
        payload = _replace_in(payload, replacements)
        if remove_text:
            if (payload.get("actor") or {}).get("id") == person.pk and (
                payload.get("details") or {}
            ).get("note"):
                payload["details"]["note"] = REMOVED_TEXT
            if (payload.get("author") or {}).get("id") == person.pk and payload.get("body"):
                payload["body"] = REMOVED_TEXT
        return payload

    return _json_rewrite(WebhookDelivery.objects.filter(theirs), "payload", scrub)


def invitation_accept(*, token: str, password: str) -> User:
    """The invited person chose their password: it is set, and their address counts as
    verified (the invitation reached it). The person is locked and the token checked
    again inside the transaction, so two tabs cannot both use it: the password change
    spends it (accounts.invitations)."""
    from accounts.invitations import invitation_token_read

    with transaction.atomic():
        person = invitation_token_read(token, lock=True)
        person.set_password(password)
        person.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=person,
            email__iexact=person.email,
            defaults={"email": person.email, "verified": True, "primary": True},
        )
    return person
