"""notifications.smtp: MAIL, RCPT and DATA sent together where the server offers
PIPELINING (two round trips an e-mail instead of four), with smtplib's answers and
exceptions, against a real SMTP server (aiosmtpd, tests/support/servers.py)."""

import smtplib

import pytest
from django.core.mail import EmailMessage, mailers

from notifications.smtp import EmailBackend, PipeliningSMTP


class CountingSocket:
    """The connection's socket, counting the writes: one per round trip."""

    def __init__(self, sock) -> None:
        self._sock = sock
        self.writes = 0

    def sendall(self, data, *args):
        self.writes += 1
        return self._sock.sendall(data, *args)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _open(smtp_server) -> tuple[EmailBackend, CountingSocket]:
    backend = mailers.default
    assert isinstance(backend, EmailBackend)
    backend.open()
    backend.connection.ehlo_or_helo_if_needed()
    counting = backend.connection.sock = CountingSocket(backend.connection.sock)
    return backend, counting


def _message(to: list[str], body: str = "Bonjour") -> EmailMessage:
    return EmailMessage("Vœux 2027", body, "hub@example.com", to)


def test_an_email_takes_two_round_trips_and_arrives_whole(smtp_server):
    backend, sock = _open(smtp_server)
    assert isinstance(backend.connection, PipeliningSMTP)
    body = ".A line starting with a period\r\nand the next one\r\n." * 3
    try:
        sent = backend.send_messages(
            [_message(["a@example.com", "b@example.com"], body), _message(["c@example.com"])]
        )
        assert sock.writes == 4  # (MAIL + RCPT + DATA, then the message) twice
    finally:
        backend.close()
    assert sent == 2
    first, second = smtp_server.messages
    assert first.get_content().replace("\r\n", "\n") == body.replace("\r\n", "\n") + "\n"
    assert (first["To"], second["To"]) == ("a@example.com, b@example.com", "c@example.com")


def test_without_pipelining_on_offer_smtplib_talks_as_usual(smtp_server):
    smtp_server.handler.pipelining = False
    backend, sock = _open(smtp_server)
    try:
        assert backend.send_messages([_message(["a@example.com"])]) == 1
        assert sock.writes == 4  # MAIL, RCPT, DATA, the message: one round trip each
    finally:
        backend.close()
    assert len(smtp_server.messages) == 1


def test_a_refused_recipient_is_reported_and_the_others_get_it(smtp_server):
    smtp_server.handler.refused_rcpt["gone@example.com"] = "550 No such user"
    backend, _sock = _open(smtp_server)
    try:
        refused = backend.connection.sendmail(
            "hub@example.com", ["gone@example.com", "here@example.com"], b"Subject: x\r\n\r\nx"
        )
    finally:
        backend.close()
    assert refused == {"gone@example.com": (550, b"No such user")}
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    ("script", "raised", "code"),
    [
        ({"refused_senders": {"hub@example.com": "550 Not you"}}, smtplib.SMTPSenderRefused, 550),
        ({"refused_rcpt": {"gone@example.com": "550 No"}}, smtplib.SMTPRecipientsRefused, None),
        ({"data_reply": "554 Looks like spam"}, smtplib.SMTPDataError, 554),
        ({"data_reply": "451 Try again later"}, smtplib.SMTPDataError, 451),
    ],
    ids=["sender refused", "every recipient refused", "message refused", "message deferred"],
)
def test_a_refusal_raises_as_smtplib_does_and_the_connection_goes_on(
    smtp_server, script, raised, code
):
    """The delivery code (notifications.channels) reads these exceptions to tell a
    permanent failure from a retry; the next message of the batch must still go out."""
    handler = smtp_server.handler
    backend, _sock = _open(smtp_server)
    connection = backend.connection
    try:
        for name, value in script.items():
            setattr(handler, name, value)
        with pytest.raises(raised) as refusal:
            connection.sendmail("hub@example.com", ["gone@example.com"], b"Subject: x\r\n\r\nx")
        if code is None:
            assert refusal.value.recipients == {"gone@example.com": (550, b"No")}
        else:
            assert refusal.value.smtp_code == code
        handler.refused_senders, handler.refused_rcpt, handler.data_reply = {}, {}, None
        assert (
            connection.sendmail("hub@example.com", ["next@example.com"], b"Subject: y\r\n\r\ny")
            == {}
        )
    finally:
        backend.close()
    assert [m["Subject"] for m in smtp_server.messages] == ["y"]
