"""Helpers the tests share: real servers on loopback and a real Celery worker
(`servers`), the browser's launch options and steps (`browser`). Factories stay in
tests/factories.py; fixtures are declared in the conftest files, which only wire these."""
