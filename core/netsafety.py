"""Outgoing-request safety: where the app may send an HTTP request on a user's behalf."""

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

# IPv6 forms that carry an IPv4 address a gateway may forward to: the embedded address
# decides. NAT64 (RFC 6052) puts it in the last 32 bits, as do the IPv4-mapped form and
# the deprecated IPv4-compatible `::a.b.c.d` (which `is_global` reads as public).
_EMBEDS_IPV4_IN_LAST_32_BITS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("::ffff:0:0/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
    ipaddress.IPv6Network("::/96"),
)
# Tunnels and local NAT64 whose far end cannot be judged from here (6to4 relays, Teredo
# servers, a site's own translator): no chat service is reached that way, refuse them.
_REFUSED_IPV6 = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("2002::/16"),
    ipaddress.IPv6Network("2001::/32"),
)


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a request may go to `address`: globally reachable, and for the IPv6 forms
    that wrap an IPv4 address, that address globally reachable too. `is_global` alone
    passes `64:ff9b::a9fe:a9fe` (169.254.169.254 behind NAT64) and `::127.0.0.1`."""
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global
    if any(address in network for network in _REFUSED_IPV6):
        return False
    if any(address in network for network in _EMBEDS_IPV4_IN_LAST_32_BITS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF).is_global
    return address.is_global


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
            if not is_public_address(address):
                raise UnsafeURLError(f"{host} resolves to a private address ({address})")
    return str(addresses[0])


def check_public_http_url(url: str, *, allow_private: bool) -> None:
    """Refuse anything but http(s) to a public address (SSRF), unless private ones are allowed."""
    parts, port = split_http_url(url)
    if not allow_private:
        resolve_public_address(parts.hostname or "", port, allow_private=False)
