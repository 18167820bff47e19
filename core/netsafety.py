"""Outgoing-request safety: where the app may send an HTTP request on a user's behalf."""

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit


class UnsafeURLError(ValueError):
    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient  # a DNS failure may pass later; a private address won't


def split_http_url(url: str) -> tuple[SplitResult, int]:
    """The URL's parts and port, or UnsafeURLError if it is not a usable http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeURLError("the URL must start with http:// or https:// and name a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURLError(f"the port is not valid: {exc}") from exc
    return parts, port


def resolve_public_address(host: str, port: int, *, allow_private: bool) -> str:
    """Resolve `host` once and return an address the request may connect to.

    Every address the name resolves to must be public (unless allowed), and the caller
    connects to the returned address itself: resolving again at connect time would let a
    short-lived DNS answer swap in 127.0.0.1 or 169.254.169.254 (rebinding)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURLError(f"cannot resolve {host}: {exc}", transient=True) from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not allow_private:
        for address in addresses:
            # is_global misses NAT64/6to4 forms that embed a private IPv4 address.
            embedded = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
            if not address.is_global or (embedded is not None and not embedded.is_global):
                raise UnsafeURLError(f"{host} resolves to a private address ({address})")
    return str(addresses[0])


def check_public_http_url(url: str, *, allow_private: bool) -> None:
    """Refuse anything but http(s) to a public address (SSRF), unless private ones are allowed."""
    parts, port = split_http_url(url)
    if not allow_private:
        resolve_public_address(parts.hostname or "", port, allow_private=False)
