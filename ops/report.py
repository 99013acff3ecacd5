"""What ``ops.preflight`` and ``ops.smoke`` print: one line per check or step, its verdict first."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"  # the exit status says so
    NOTE = "NOTE"  # worth knowing, blocks nothing
    SKIP = "SKIP"  # not run here, with the reason


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: Verdict
    message: str
    details: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        return [f"{self.verdict} {self.check}: {self.message}", *(f"     - {line}" for line in self.details)]

    def print(self) -> None:
        print("\n".join(self.lines()), flush=True)
