"""Signed keyset cursors: the position a "next page" link starts after.

The campaign list, the weekly feed and a team's pending acknowledgements page with a
keyset (WHERE (key, id) < (…)), so page 4,000 costs what page 1 does. The position goes
to the browser signed, so nobody can hand the query a value it did not produce; reading
checks each value's type as well, so a cursor that is forged, truncated, signed with an
old key or made for another list gives the first page (None), never an error.
"""

from collections.abc import Sequence
from datetime import datetime
from enum import Enum

from django.core import signing

# The largest id a bigint primary key holds: anything beyond would make the query fail.
_MAX_ID = 2**63 - 1


class Slot(Enum):
    """The type of one value in a cursor."""

    MOMENT = "moment"  # an aware datetime
    MOMENT_OR_NONE = "moment?"
    ID = "id"  # a positive integer fitting a bigint
    TEXT = "text"


CursorValue = datetime | int | str | None


def cursor_write(*, salt: str, values: Sequence[CursorValue]) -> str:
    return signing.dumps(
        [v.isoformat() if isinstance(v, datetime) else v for v in values], salt=salt
    )


def _read_one(raw: object, slot: Slot) -> CursorValue:
    if slot is Slot.MOMENT_OR_NONE and raw is None:
        return None
    if slot in (Slot.MOMENT, Slot.MOMENT_OR_NONE):
        if not isinstance(raw, str):
            raise ValueError(raw)
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            raise ValueError(raw)
        return moment
    if slot is Slot.ID:
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 < raw <= _MAX_ID:
            raise ValueError(raw)
        return raw
    if not isinstance(raw, str):
        raise ValueError(raw)
    return raw


def cursor_read(token: str, *, salt: str, shape: Sequence[Slot]) -> list[CursorValue] | None:
    """The values of a cursor made by `cursor_write` with the same salt and shape, or None
    for an empty, unreadable, tampered with or foreign one."""
    if not token or len(token) > 1000:
        return None
    try:
        raw = signing.loads(token, salt=salt)
        if not isinstance(raw, list) or len(raw) != len(shape):
            return None
        return [_read_one(value, slot) for value, slot in zip(raw, shape, strict=True)]
    except (signing.BadSignature, TypeError, ValueError, OverflowError):
        return None
