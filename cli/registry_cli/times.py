"""The times a command takes (``--since``, ``--until``, ``--as-of``) as people type them: an RFC 3339
timestamp as the API takes it, a date (midnight UTC), or a time ago (``90s``, ``30m``, ``24h``,
``7d``, ``2w``). Each becomes the API's timestamp before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import typer

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
AGO = re.compile(r"(\d{1,6})\s*([smhdw])", re.IGNORECASE)
EXAMPLES = "a timestamp (2026-12-06T08:00:00Z), a date (2026-12-06) or a time ago (90s, 30m, 24h, 7d, 2w)"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> str:
    """The API's timestamp for ``text``; ValueError naming what is accepted otherwise."""
    value = text.strip()
    if ago := AGO.fullmatch(value):
        amount, unit = int(ago.group(1)), ago.group(2).lower()
        return _stamp(now() - timedelta(**{UNITS[unit]: amount}))
    try:
        return _stamp(datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time: give {EXAMPLES}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: end it with Z (UTC) or an offset such as +01:00")
    return _stamp(moment)


def time_option(now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Callable[[str | None], str | None]:
    """A typer callback turning the option's text into the API's timestamp (exit 2 if it is none)."""

    def convert(text: str | None) -> str | None:
        if text is None:
            return None
        try:
            return parse_time(text, now)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None

    return convert
