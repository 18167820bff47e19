"""The headers mail clients and providers expect, read from a real SMTP capture, and the
one-click unsubscribe they point to (RFC 8058)."""

import email
import email.policy

import pytest
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.test import Client

from accounts.models import User
from notifications.channels import send_emails
from notifications.email_headers import PasserelleEmail, unsubscribe_url
from notifications.models import Channel, DeliverySettings, Kind, Notification, Preference
from notifications.services import email_unsubscribe
from notifications.tokens import WEEK_AHEAD, unsubscribe_token_make, unsubscribe_token_read
from tests.factories import UserFactory, make_marketer, team_with_members
from tests.support.servers import announce, campaign_for, smtp_server  # noqa: F401

pytestmark = pytest.mark.django_db

# A French subject whose folding used to lose the space before "»" (Python 3.12.1).
LONG_FRENCH = (
    "Rappel : accusez réception de « Soldes d’hiver — Offre Pro+ pour les clients "
    "fidèles » avant le 4 déc. 2026 15:00"
)


def _email_row(recipient: User, campaign) -> Notification:
    return Notification.objects.select_related("recipient", "dispatch").get(
        campaign=campaign, recipient=recipient, channel=Channel.EMAIL
    )


def _path(header: str) -> str:
    url = header.strip("<>")
    assert url.startswith(settings.PASSERELLE_BASE_URL)
    return url.removeprefix(settings.PASSERELLE_BASE_URL)


def test_a_notice_carries_the_list_headers_and_reply_to_its_owner(smtp_server):  # noqa: F811
    team, (member,) = team_with_members(1)
    owner = make_marketer(full_name="Camille Laurent", email="camille@example.com")
    campaign = announce(campaign_for(owner=owner, teams=[team], title="Carte de vœux 2027"))

    [outcome] = send_emails([_email_row(member, campaign)])

    assert outcome.error is None
    [message] = smtp_server.messages
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    claim = unsubscribe_token_read(_path(message["List-Unsubscribe"]).split("/")[-2])
    assert (claim.user_id, claim.topic) == (member.pk, Kind.ANNOUNCED)
    assert message["List-Id"] == "Passerelle announced <announced.localhost>"
    assert message["Reply-To"] == "Camille Laurent <camille@example.com>"
    assert message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_owner_is_not_asked_to_reply_to_herself():
    from notifications.email_headers import reply_to

    reader = "c@example.com"
    assert reply_to(name="Camille", address="C@example.com", recipient_address=reader) == []
    assert reply_to(name="Camille", address="", recipient_address=reader) == []
    quoted = reply_to(name='Zoé, "la" cheffe', address="z@example.com", recipient_address=reader)
    assert quoted == ['"Zoé, \\"la\\" cheffe" <z@example.com>']


def test_escalations_cannot_be_switched_off_in_one_click(smtp_server):  # noqa: F811
    team, (member,) = team_with_members(1)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    row = _email_row(member, campaign)
    row.kind = Kind.ESCALATION  # the same e-mail, as the lead's escalation

    [outcome] = send_emails([row])

    assert outcome.error is None
    [message] = smtp_server.messages
    preferences = f"<{settings.PASSERELLE_BASE_URL}/notifications/preferences/>"
    assert message["List-Unsubscribe"] == preferences
    assert message["List-Unsubscribe-Post"] is None
    assert message["List-Id"] == "Passerelle escalation <escalation.localhost>"

    # A forged link for them is refused, and changes nothing.
    url = _path(unsubscribe_url(user_id=member.pk, topic=Kind.ESCALATION))
    response = Client(enforce_csrf_checks=True).post(url)
    assert response.status_code == 400
    assert "These e-mails cannot be switched off." in response.content.decode()
    assert not Preference.objects.filter(user=member, enabled=False).exists()


def test_one_click_post_switches_that_kind_off_without_login_or_csrf(smtp_server):  # noqa: F811
    team, (member,) = team_with_members(1)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    list(send_emails([_email_row(member, campaign)]))
    [message] = smtp_server.messages
    url = _path(message["List-Unsubscribe"])

    # What a mail provider sends (RFC 8058 §3.1): no cookie, no CSRF token.
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        url,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    off = Preference.objects.get(user=member, kind=Kind.ANNOUNCED, channel=Channel.EMAIL)
    assert not off.enabled
    # Only that kind, only e-mail.
    assert not Preference.objects.filter(user=member, enabled=False).exclude(pk=off.pk).exists()
    # The next announcement reaches them in the app, not by e-mail.
    second = announce(campaign_for(owner=make_marketer(), teams=[team]))
    channels = set(
        Notification.objects.filter(campaign=second, recipient=member).values_list(
            "channel", flat=True
        )
    )
    assert channels == {Channel.IN_APP}
    # A second click is harmless.
    again = client.post(url)
    assert again.status_code == 200
    assert "These e-mails were already off." in again.content.decode()


def test_a_get_only_asks_and_changes_nothing():
    person = UserFactory(language="fr")
    url = _path(unsubscribe_url(user_id=person.pk, topic=Kind.REMINDER))

    response = Client().get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<form method="post">' in html
    assert "Se désabonner" in html  # in the person's language, without a session
    assert not Preference.objects.filter(user=person).exists()


# Lambdas: a signed token carries its signing second, and an id built from it at
# collection would differ between xdist workers.
@pytest.mark.parametrize(
    "make_token",
    [
        lambda: "nonsense",
        lambda: unsubscribe_token_make(user_id=1, topic="announced")[:-2] + "xx",  # tampered
    ],
    ids=["nonsense", "tampered"],
)
def test_a_broken_link_changes_nothing_and_says_so(make_token):
    token = make_token()
    UserFactory()
    response = Client(enforce_csrf_checks=True).post(f"/notifications/unsubscribe/{token}/")
    assert response.status_code == 400
    assert "This unsubscribe link does not work." in response.content.decode()
    assert not Preference.objects.exists()


def test_a_link_for_a_deactivated_person_is_gone():
    person = UserFactory(is_active=False)
    url = _path(unsubscribe_url(user_id=person.pk, topic=Kind.ANNOUNCED))
    assert Client().post(url).status_code == 410
    assert not Preference.objects.exists()


def test_the_monday_email_can_be_switched_off_too():
    person = UserFactory()
    assert email_unsubscribe(user_id=person.pk, topic=WEEK_AHEAD) is True
    assert DeliverySettings.objects.get(user=person).weekly_preview is False
    assert email_unsubscribe(user_id=person.pk, topic=WEEK_AHEAD) is False  # idempotent
    assert not Preference.objects.filter(user=person).exists()


# --- subjects keep their spaces --------------------------------------------------------------


def _stdlib_round_trip(subject: str) -> str:
    message = EmailMultiAlternatives(subject=subject, body="x", to=["a@example.com"])
    raw = message.message(policy=email.policy.SMTP).as_bytes()
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


def test_this_python_still_has_the_folding_bug_the_workaround_is_for():
    """Python 3.12's folder (before CPython gh-144156) drops the space between two encoded
    words split over two lines. When this test is skipped, the Python in use has the fix
    and notifications.email_headers._SubjectSafePolicy may go."""
    if _stdlib_round_trip(LONG_FRENCH) == LONG_FRENCH:
        pytest.skip("this Python folds subjects correctly")
    assert "fidèles»" in _stdlib_round_trip(LONG_FRENCH)


@pytest.mark.parametrize("shift", range(0, 40, 3))
def test_french_subjects_arrive_with_every_space(smtp_server, shift):  # noqa: F811
    """Wherever the fold falls (the prefix moves it), over a real SMTP session."""
    subject = "Nouvelle campagne : " + "é" * (shift % 5) + " x" * shift + " " + LONG_FRENCH
    message = PasserelleEmail(subject=subject, body="Corps", to=["a@example.com"])
    assert mailers.default.send_messages([message]) == 1
    [received] = smtp_server.messages
    assert str(received["Subject"]) == subject
    assert all(len(line) <= 78 for line in bytes(received).split(b"\n"))


def _wire(message: PasserelleEmail) -> email.message.EmailMessage:
    raw = message.message(policy=email.policy.SMTP).as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_headers_shared_by_a_batch_stay_each_messages_own():
    """Headers are parsed and folded once per distinct value (a fan-out repeats most of
    them): each message still carries its own recipient, subject and links."""
    sent = [
        PasserelleEmail(
            subject=f"{LONG_FRENCH} n°{number % 2}",
            body="Corps",
            to=[f"person{number}@example.com"],
            headers={"List-Unsubscribe": f"<https://example.com/u/{number}>", "List-Id": "same"},
        )
        for number in range(6)
    ]
    for number, message in enumerate(sent):
        received = _wire(message)
        assert received["To"] == f"person{number}@example.com"
        assert received["Subject"] == f"{LONG_FRENCH} n°{number % 2}"
        assert received["List-Unsubscribe"] == f"<https://example.com/u/{number}>"
        assert received["List-Id"] == "same"


def test_a_line_break_in_a_header_is_refused_every_time():
    """The remembered parse must not let a header injection through the second time."""
    for _attempt in range(2):
        message = PasserelleEmail(
            subject="Bonjour", body="x", to=["a@example.com"], headers={"X-Test": "a\r\nBcc: b"}
        )
        with pytest.raises(ValueError, match="linefeed or carriage return"):
            message.message(policy=email.policy.SMTP)


def test_a_header_class_is_made_once_per_name():
    """The standard registry builds a new class each time it is asked (twice per header,
    a third of an e-mail's time in a fan-out); ours makes each once."""
    from notifications.email_headers import _subject_safe

    policy = _subject_safe(email.policy.SMTP)
    assert policy is _subject_safe(email.policy.SMTP)
    assert policy.header_factory["Subject"] is policy.header_factory["subject"]
    assert (
        email.policy.SMTP.header_factory["Subject"]
        is not (email.policy.SMTP.header_factory["Subject"])
    )


def test_a_long_unsubscribe_link_goes_on_the_wire_as_a_link(smtp_server):  # noqa: F811
    """The standard folder made the signed link (longer than a line) encoded words, which
    mail clients do not read as an address: no unsubscribe button."""
    link = f"<{settings.PASSERELLE_BASE_URL}/notifications/unsubscribe/{'a1b2' * 30}:x:y/>"
    message = PasserelleEmail(
        subject="Bonjour", body="x", to=["a@example.com"], headers={"List-Unsubscribe": link}
    )
    assert mailers.default.send_messages([message]) == 1
    [received] = smtp_server.messages
    # As it came over SMTP (the parsed header would decode encoded words).
    on_the_wire = dict(received.raw_items())["List-Unsubscribe"]
    assert on_the_wire.strip() == link
