"""Production guards for settings.py: the secret key and the production (HTTPS) profile.

Each guard raises ImproperlyConfigured at import of the settings, so a misconfigured
deploy stops at start-up with a message saying what to fix, instead of running with a
key anyone can read in this repository or cookies sent over plain HTTP.
"""

import math
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Public (it is in this file): signs sessions and links only on a developer's machine.
DEVELOPMENT_SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 5
# A key that is a short run repeated ("abcd" * 13) passes a length check but not a guess.
_REPEATED_UNIT_MAX = 16
# How hard the key is to guess, as zxcvbn estimates it (dictionaries, keyboard walks,
# sequences, dates): at least 2^128 guesses. A random key of the advised length is far
# above (~10^46 for 50 hex characters); "my-company-passerelle-production-secret-key-2026"
# is below, though long and varied.
SECRET_KEY_MIN_GUESS_BITS = 128
ZXCVBN_MAX_LENGTH = 72
_GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


def read_secret_key_file(path: str) -> str:
    """The key in `path` (a container secret), without its trailing newline."""
    try:
        return Path(path).read_text(encoding="utf-8").strip("\r\n")
    except (OSError, UnicodeDecodeError) as error:
        raise ImproperlyConfigured(f"SECRET_KEY_FILE={path!r} cannot be read: {error}") from error


def secret_key_problem(key: str) -> str | None:
    """Why `key` is not fit for production, or None when it is."""
    if not key.strip():
        return "it is empty"
    if key == DEVELOPMENT_SECRET_KEY or key.startswith("django-insecure-"):
        return "it is a public development key"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it has {len(key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        return f"it has fewer than {SECRET_KEY_MIN_DISTINCT} different characters"
    for unit in range(1, _REPEATED_UNIT_MAX + 1):
        if key == (key[:unit] * (len(key) // unit + 1))[: len(key)]:
            return f"it repeats the same {unit} characters"
    # Imported here: its word lists cost ~50 ms, and only a DEBUG=0 start-up needs them.
    from zxcvbn import zxcvbn

    # zxcvbn refuses more than 72 characters; a key whose first 72 are hard to guess is
    # hard to guess whole.
    bits = zxcvbn(key[:ZXCVBN_MAX_LENGTH])["guesses_log10"] * math.log2(10)
    if bits < SECRET_KEY_MIN_GUESS_BITS:
        return (
            f"it is guessable in about 2^{int(bits)} tries (words, sequences or keyboard "
            f"patterns), under 2^{SECRET_KEY_MIN_GUESS_BITS}"
        )
    return None


def production_secret_key(*, debug: bool, key: str, key_file: str) -> str:
    """The SECRET_KEY to use, from `key` (SECRET_KEY) or `key_file` (SECRET_KEY_FILE).

    With `debug` off, a missing, blank, public, short or low-entropy key stops start-up;
    with `debug` on, a missing key falls back to the development key.
    """
    if key and key_file:
        raise ImproperlyConfigured("Set SECRET_KEY or SECRET_KEY_FILE, not both.")
    source = "SECRET_KEY"
    if key_file:
        key, source = read_secret_key_file(key_file), f"SECRET_KEY_FILE ({key_file})"
    if debug:
        return key or DEVELOPMENT_SECRET_KEY
    if not key:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG=0. Generate one with "
            f"{_GENERATE}"
        )
    problem = secret_key_problem(key)
    if problem:
        raise ImproperlyConfigured(
            f"The key in {source} is refused with DEBUG=0: {problem}. Generate one with {_GENERATE}"
        )
    return key
