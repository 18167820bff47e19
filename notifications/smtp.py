"""Sending over SMTP with command pipelining (RFC 2920).

smtplib waits for the server's answer to each command: MAIL FROM, RCPT TO, DATA, then
the message, four round trips an e-mail. A server that offers PIPELINING (Postfix and
Exim do by default, as do most hosted relays) lets the client send MAIL, RCPT and DATA
together and read their answers after: two round trips. Against a relay a few
milliseconds away, a worker delivering a fan-out waits half as long per e-mail.

Servers that do not offer it, and messages with MAIL or RCPT options (smtplib handles
SMTPUTF8 and the like), get smtplib's own exchange. Either way sendmail() answers and
raises as smtplib's does, so the delivery code reads the outcome the same way.
"""

import re
import smtplib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, SizedBuffer

_CRLF = b"\r\n"
_LEADING_PERIOD = re.compile(rb"(?m)^\.")


class _Pipelining(smtplib.SMTP):
    # Commands written while a batch is open are kept here and sent in one write.
    _batch: list[bytes] | None = None

    def send(self, s: "ReadableBuffer | str") -> None:
        if self._batch is None:
            super().send(s)
        else:
            self._batch.append(s.encode(self.command_encoding) if isinstance(s, str) else bytes(s))

    def sendmail(
        self,
        from_addr: str,
        to_addrs: str | Sequence[str],
        msg: "SizedBuffer | str",
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> dict[str, tuple[int, bytes]]:
        self.ehlo_or_helo_if_needed()
        if (
            not self.has_extn("pipelining")
            or not isinstance(msg, bytes)
            or mail_options
            or rcpt_options
        ):
            return super().sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)
        recipients = [to_addrs] if isinstance(to_addrs, str) else list(to_addrs)
        size = f" SIZE={len(msg)}" if self.has_extn("size") else ""
        self._batch = []
        try:
            self.putcmd("mail", f"FROM:{smtplib.quoteaddr(from_addr)}{size}")
            for recipient in recipients:
                self.putcmd("rcpt", f"TO:{smtplib.quoteaddr(recipient)}")
            self.putcmd("data")
            commands = b"".join(self._batch)
        finally:
            self._batch = None  # a refused command (a line break in an address) sends nothing
        super().send(commands)

        mail_code, mail_reply = self.getreply()
        if mail_code == 421:
            self.close()
            raise smtplib.SMTPSenderRefused(mail_code, mail_reply, from_addr)
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in recipients:
            code, reply = self.getreply()
            if code not in (250, 251):
                refused[recipient] = (code, reply)
            if code == 421:
                self.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        data_code, data_reply = self.getreply()
        if mail_code != 250:
            self._abandon(data_code)
            raise smtplib.SMTPSenderRefused(mail_code, mail_reply, from_addr)
        if len(refused) == len(recipients):
            self._abandon(data_code)
            raise smtplib.SMTPRecipientsRefused(refused)
        if data_code != 354:
            self._abandon(data_code)
            raise smtplib.SMTPDataError(data_code, data_reply)

        body = _LEADING_PERIOD.sub(b"..", msg)
        if not body.endswith(_CRLF):
            body += _CRLF
        super().send(body + b"." + _CRLF)
        code, reply = self.getreply()
        if code != 250:
            self._abandon(code)
            raise smtplib.SMTPDataError(code, reply)
        return refused

    def _abandon(self, last_code: int) -> None:
        """Leave the transaction the way smtplib does (RSET, or closed after a 421), first
        ending the message a server began to take although the transaction failed."""
        if last_code == 421:
            self.close()
            return
        if last_code == 354:
            super().send(b"." + _CRLF)
            self.getreply()
        self._rset()  # type: ignore[attr-defined]  # smtplib's own, absent from its stubs


class PipeliningSMTP(_Pipelining):
    pass


class PipeliningSMTP_SSL(_Pipelining, smtplib.SMTP_SSL):  # noqa: N801 - smtplib's naming
    pass


class EmailBackend(DjangoSMTPBackend):
    """Django's SMTP backend, pipelining its commands where the server offers it."""

    @property
    def connection_class(self) -> Any:
        return PipeliningSMTP_SSL if self.use_ssl else PipeliningSMTP
