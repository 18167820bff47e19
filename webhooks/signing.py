"""The Standard Webhooks signature scheme (symmetric, `v1`).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is the secret's
bytes (the base64 after `whsec_`); the header holds `v1,<base64 HMAC-SHA256>`, several
separated by spaces while a rotated secret is still honoured.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 - the standard's prefix, not a secret
# The standard asks for 24 to 64 random bytes; 32 is a SHA-256 block's worth of key.
SECRET_BYTES = 32
MESSAGE_PREFIX = "msg_"


def secret_make() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id_make() -> str:
    # token_urlsafe never holds a ".", which would confuse the signed content's fields.
    return MESSAGE_PREFIX + secrets.token_urlsafe(18)


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    *, secrets_: Iterable[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three headers of one attempt, signed with each secret given (current first)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body)
            for secret in secrets_
        ),
    }
