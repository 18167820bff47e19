"""Rendered HTML kept under a key made of the data it shows.

The list pages (feed, campaign list, a campaign's thread and timeline) spent most of their
time in the template engine turning the same rows into the same HTML for every reader and
every reload. Each row's HTML is kept in the cache under a digest of everything it is
rendered from: the model instances' loaded field values (with their related and
prefetched objects and annotations) and the dataclasses and plain values around them (a
pickle of them, hashed, never loaded), the reader's language and time zone, the minute
(relative phrases such as "in 3 days"), and a digest of the code and templates in this
release.

Why a digest of the content rather than a key invalidated on writes: a key derived from
what the row shows cannot go stale, whatever code path wrote the data (services, admin,
`.update()`, a data migration), and a change to one campaign re-renders that campaign's
rows only, for everyone, so the cache keeps working on a Monday morning full of
acknowledgements. The price is the queries: the selectors still run on every request;
only the rendering is saved.

What a kept fragment must not contain: anything of the reader that is not in its key.
The fragment is rendered with `user`, `request` and the CSP nonce replaced by a guard
that fails loudly when read (an error in development and tests), and with a placeholder
CSRF token that is swapped for the reader's own on the way out, so a form inside a kept
row posts with the right token.
"""

import hashlib
import io
import logging
import pickle
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache as default_cache
from django.db.models import QuerySet
from django.utils import timezone, translation

from core.cache import CACHE_ERRORS

logger = logging.getLogger(__name__)

CSRF_PLACEHOLDER = "fragment-csrf-placeholder-7b1f0c"


class FragmentLeak(Exception):
    """A kept fragment read something of the reader that is not in its key."""


class ReaderGuard:
    """Stands for `user`, `request` and the CSP nonce while a kept fragment renders."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise FragmentLeak(
            f"a cached fragment read {self._name}.{attribute}: pass what it needs as a "
            "key part instead"
        )

    def __str__(self) -> str:
        raise FragmentLeak(f"a cached fragment printed {self._name}")

    def __bool__(self) -> bool:
        raise FragmentLeak(f"a cached fragment tested {self._name}")


def _source_roots() -> list[Path]:
    base = Path(settings.BASE_DIR)
    return [
        path
        for path in base.iterdir()
        if path.is_dir()
        and path.name not in {".venv", "data", "staticfiles", "node_modules"}
        and not path.name.startswith(".")
    ]


@cache
def release_digest() -> str:
    """The code and templates this process runs, by name, size and modification time:
    a deploy (or an edit in development, after a restart) makes new keys."""
    digest = hashlib.blake2b(digest_size=8)
    for root in _source_roots():
        for path in sorted(root.rglob("*")):
            if path.suffix in {".py", ".html", ".txt", ".mo"} and path.is_file():
                stat = path.stat()
                digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class _KeyPickler(pickle.Pickler):
    def reducer_override(self, obj: object) -> Any:
        # Pickling a queryset runs it: a row that carries an unevaluated one gets a key
        # of its own (rendered, never served from the cache) rather than a hidden query.
        if isinstance(obj, QuerySet) and obj._result_cache is None:
            return str, (f"unevaluated queryset {time.time_ns()} {id(obj)}",)
        return NotImplemented


def fragment_key(name: str, parts: Iterable[object]) -> str:
    """The cache key of fragment `name` rendered from `parts` for the current reader's
    language and time zone, this minute, in this release."""
    context = (
        name,
        release_digest(),
        translation.get_language(),
        timezone.get_current_timezone_name(),
        int(time.time() // 60),
    )
    digest = hashlib.blake2b(repr(context).encode(), digest_size=16)
    try:
        # A pickle of the rows is a complete picture of their data (model instances
        # with their related, prefetched and annotated values), made mostly in C; it is
        # only hashed, never loaded.
        buffer = io.BytesIO()
        _KeyPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(tuple(parts))
        digest.update(buffer.getbuffer())
    except (pickle.PicklingError, TypeError, AttributeError):
        # A part that cannot be pictured (a form, an open file…): a key of its own, so
        # the row is rendered and never served from the cache.
        digest.update(f"unpicturable {time.time_ns()} {id(parts)}".encode())
    return f"fragment:{name}:{digest.hexdigest()}"


def enabled() -> bool:
    return settings.FRAGMENT_CACHE_SECONDS > 0


def get_many(keys: list[str]) -> dict[str, str]:
    if not keys or not enabled():
        return {}
    try:
        found = default_cache.get_many(keys)
    except CACHE_ERRORS:
        logger.warning("fragment cache unreachable; rendering", exc_info=True)
        return {}
    return {key: html for key, html in found.items() if isinstance(html, str)}


def put(key: str, html: str) -> None:
    if not enabled():
        return
    try:
        default_cache.set(key, html, settings.FRAGMENT_CACHE_SECONDS)
    except CACHE_ERRORS:
        logger.warning("fragment cache unreachable; HTML not kept", exc_info=True)
