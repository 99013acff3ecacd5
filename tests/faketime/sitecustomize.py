"""Loaded (through PYTHONPATH) only by `make test-future`, in pytest and in every Python process it starts.

Under Debian's libfaketime 0.9.10 with ``FAKETIME_DONT_FAKE_MONOTONIC=1`` (without it
``threading.Event.wait(timeout)`` never returns), CPython's ``time.sleep`` fails with
``OSError: [Errno 22]``: it sleeps with an absolute ``clock_nanosleep`` on the monotonic clock,
which libfaketime rewrites. ``select`` with no file descriptors sleeps the same relative time and
is left alone, so ``time.sleep`` is that here. Nothing else of the code under test changes.
"""

import os
import select
import time

if os.environ.get("FAKETIME"):

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        select.select([], [], [], seconds)

    time.sleep = _sleep
