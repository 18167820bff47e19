"""Checks for a query compiled once per process (core.db.compiled, kept in an LRU)."""

from collections.abc import Callable
from typing import Any, Protocol

from django.db import connection
from django.test.utils import CaptureQueriesContext


class _LruCache(Protocol):
    def cache_info(self) -> Any: ...


def assert_read_again_from_one_compiled_query(read: Callable[[], object], cache: _LruCache) -> None:
    """`read()` asked twice gives the same answer, the second time in one query and with
    its SQL taken from `cache` (which the test starts empty): built once, read once."""
    first = read()
    with CaptureQueriesContext(connection) as queries:
        again = read()
    assert again == first
    assert len(queries) == 1
    info = cache.cache_info()
    assert (info.hits, info.misses) == (1, 1)
