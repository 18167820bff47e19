"""xdist workers must collect the same tests: a parametrize id built from a signed value
(it carries its signing second) or from a set's order broke CI twice."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _collected(hash_seed: str) -> list[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        check=False,
    )
    return sorted(line for line in result.stdout.splitlines() if "::" in line)


@pytest.mark.slow
def test_two_collections_a_second_apart_hold_the_same_ids():
    first = _collected("1")
    second = _collected("2")  # another hash seed, and seconds later (a collection is slow)
    assert first, "nothing collected"
    assert set(first) ^ set(second) == set()
