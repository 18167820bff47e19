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


class ScriptedServer:
    """An SMTP server that answers each command from a script, whatever the RFCs say,
    and records what it was sent: for the replies no real server gives."""

    def __init__(self, replies: dict[str, str]) -> None:
        import socket
        import threading

        self.replies = replies
        self.received: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _address = self._listener.accept()
        with connection, connection.makefile("rwb") as stream:
            stream.write(b"220 scripted ESMTP\r\n")
            stream.flush()
            for raw in stream:
                line = raw.decode().rstrip("\r\n")
                self.received.append(line)
                verb = line.split(" ", 1)[0].split(":", 1)[0].upper()
                if verb == "EHLO":
                    stream.write(b"250-scripted\r\n250 PIPELINING\r\n")
                elif line == ".":
                    stream.write(self.replies["."].encode() + b"\r\n")
                elif verb in self.replies:
                    stream.write(self.replies[verb].encode() + b"\r\n")
                elif verb == "QUIT":
                    stream.write(b"221 bye\r\n")
                    stream.flush()
                    return
                else:  # a line of a message the script's DATA accepted
                    continue
                stream.flush()

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=5)


def test_a_server_taking_the_message_after_refusing_the_sender_gets_it_ended_then_reset():
    """RFC 2920 has the server refuse DATA once MAIL failed; one that answers 354 instead
    waits for a message: it gets an empty one ended at once, never the real one, and the
    transaction is reset so the connection can carry the next e-mail."""
    server = ScriptedServer(
        {
            "MAIL": "550 Sender refused",
            "RCPT": "250 OK",
            "DATA": "354 Go ahead",
            ".": "554 No",
            "RSET": "250 Reset",
        }
    )
    connection = PipeliningSMTP("127.0.0.1", server.port, timeout=5)
    try:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            connection.sendmail("hub@example.com", ["a@example.com"], b"Subject: x\r\n\r\nsecret")
        assert refused.value.smtp_code == 550
        connection.quit()
    finally:
        server.close()
    verbs = [line.split(" ")[0].split(":")[0].lower() for line in server.received]
    assert verbs == ["ehlo", "mail", "rcpt", "data", ".", "rset", "quit"]
    assert "secret" not in server.received
