"""The versions a write may apply to (what ``If-Match`` names, once the edge has parsed it):
the service compares versions, never header syntax (registry/http/preconditions.py)."""

from __future__ import annotations

from dataclasses import dataclass

from registry.domain.errors import PreconditionFailed


@dataclass(frozen=True)
class ExpectedVersion:
    """The versions ``If-Match`` names (strong tags only); ``None``: any version (``*``)."""

    versions: frozenset[int] | None

    def check(self, current: int, resource: str) -> None:
        """:class:`PreconditionFailed` unless ``current`` is one of the expected versions."""
        if self.versions is None or current in self.versions:
            return
        named = ", ".join(f'"{version}"' for version in sorted(self.versions)) or "no version of ours"
        raise PreconditionFailed(
            f'The {resource} is at version "{current}", not {named} as If-Match requires; '
            "read it again and retry with its ETag."
        )


ANY_VERSION = ExpectedVersion(None)
