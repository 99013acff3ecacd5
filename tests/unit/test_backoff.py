"""The store's retry backoff: jitter that differs between execution environments restored from
one SnapStart snapshot, which all start with the same state of Python's `random` module."""

from __future__ import annotations

import random

from registry.storage import dynamodb as store


def test_two_restores_of_one_snapshot_back_off_by_different_delays() -> None:
    snapshot = random.getstate()
    delays = []
    for _ in range(2):
        random.setstate(snapshot)  # what each restored environment starts from
        delays.append([store.backoff_delay(attempt) for attempt in range(4)])

    assert delays[0] != delays[1]


def test_the_delay_is_full_jitter_doubling_per_attempt() -> None:
    for attempt in range(5):
        assert all(0 <= store.backoff_delay(attempt) <= 0.05 * 2**attempt for _ in range(50))
