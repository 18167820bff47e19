"""Outgoing-request safety: where the app may send an HTTP request on a user's behalf."""

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeURLError(ValueError):
    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient  # a DNS failure may pass later; a private address won't


def check_public_http_url(url: str, *, allow_private: bool) -> None:
    """Refuse anything but http(s) to a public address (SSRF), unless private ones are allowed.

    Resolves the host and checks every address it returns, so a public name pointing at
    127.0.0.1 or 10.x is refused too."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeURLError("the URL must start with http:// or https:// and name a host")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURLError(f"cannot resolve {parts.hostname}: {exc}", transient=True) from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise UnsafeURLError(f"{parts.hostname} resolves to a private address ({address})")
