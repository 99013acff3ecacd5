"""Wakes the local server's pollers — the change stream's reader and the job workers — when the
embedded moto server has served a request that may have given them work, instead of having them
ask it twenty times a second.

Asked every 50 ms, an idle local server spent a quarter of a core answering itself (5 s of CPU in
20 s with no client; the tests run a dozen servers, two cores between them). Now a write to a table
(``persistence.WRITES``) or a message sent to a queue wakes them at once, so a change event or a
job step follows its cause as promptly as before; with nothing served they ask again after
``IDLE_POLL_S``, which only what no request announces waits for: a message visible again after its
visibility timeout, or a table served by an external endpoint (no embedded server to hear it)."""

from __future__ import annotations

import threading

from local import persistence

IDLE_POLL_S = 1.0
# What can give a poller work: for the change stream's reader, a change to a table (its stream gets
# a record); for the job workers, a message on a queue (visible now, or again:
# ChangeMessageVisibility). The pollers' own reads are not: counting them, each poll would wake the
# other pollers, and they would ask each other without end.
TABLE_WRITES = persistence.WRITES
QUEUE_SENDS = frozenset({"SendMessage", "SendMessageBatch", "ChangeMessageVisibility"})


class Activity:
    """A count of the requests that may have given a poller work (``wakes``: operations), and a
    wait for the next."""

    def __init__(self, wakes: frozenset[str] = frozenset(), idle_poll_s: float = IDLE_POLL_S) -> None:
        self._changed = threading.Condition()
        self._count = 0
        self._wakes = wakes
        self.idle_poll_s = idle_poll_s

    def mark(self) -> int:
        """Taken before a poll: a request served during the poll ends the wait that follows it."""
        with self._changed:
            return self._count

    def served(self, operation: str) -> None:
        if operation in self._wakes:
            self.wake()

    def wake(self) -> None:
        with self._changed:
            self._count += 1
            self._changed.notify_all()

    def wait(self, mark: int) -> bool:
        """Until a request after ``mark`` was served (True), or ``idle_poll_s`` seconds (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count != mark, self.idle_poll_s)
