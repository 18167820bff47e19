"""Settings of the load benchmark's server: the app's own settings, with the bench URLconf.

A star import, which the house style rules out for real settings, is right here: this
module must be the production settings exactly, whatever anyone changes in hub/settings.py,
plus three deliberate differences (the URLconf, the cache's and the queues' namespaces),
and copying the file would drift. Nothing imports it
but benchmarks/load.py (in its own process and in the gunicorn it starts).
"""

import os

from hub.queues import HOUSEKEEPING, task_queues, task_routes
from hub.settings import *  # noqa: F403
from hub.settings import CACHES

# The ceiling views (/trivial/, /trivial-auth/) in front of the app's own URLs.
ROOT_URLCONF = "benchmarks.bench_urls"

# A namespace of the run's own in the shared cache: a run must not read what an earlier
# run (on another seed, with the same ids) or a developer's server left there. load.py
# sets a fresh prefix for each run and deletes its keys at the end.
for _cache in CACHES.values():
    _cache["KEY_PREFIX"] = ":".join(
        part
        for part in (_cache.get("KEY_PREFIX", ""), os.environ.get("BENCH_CACHE_PREFIX", ""))
        if part
    )

# Queues of the run's own (the worker load.py starts consumes them): a run must neither
# take tasks an app or a test left in the broker, nor leave its own to them.
_QUEUE_PREFIX = os.environ.get("BENCH_QUEUE_PREFIX", "")
CELERY_TASK_QUEUES = task_queues(_QUEUE_PREFIX)
CELERY_TASK_ROUTES = task_routes(_QUEUE_PREFIX)
CELERY_TASK_DEFAULT_QUEUE = _QUEUE_PREFIX + HOUSEKEEPING
