"""The guest's journal: one time-ordered stream of every unit's lines, as journalctl reads it.

A unit's lines come from several places (the defaults derived from the instance, the image's
and the instance's guest facts, the faults), each in its own order. Lines carry syslog's stamp
(`Nov 23 16:13:00`, no year); the journal orders them by that moment, keeps a line without a
stamp at the moment of the line before it in its own unit, and shows a line written twice once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_STAMP = re.compile(r"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?= |$)")


def stamp(moment: datetime) -> str:
    """The syslog stamp journalctl's default output starts a line with."""
    return moment.strftime("%b %d %H:%M:%S")


def line_time(line: str, now: datetime) -> datetime | None:
    """The moment a line's stamp names: the year is now's, or the one before when the stamp
    would lie more than a day ahead (a December line read in January)."""
    found = _STAMP.match(line)
    if found is None or found.group(1) not in _MONTHS:
        return None
    month, day, hour, minute, second = (
        _MONTHS[found.group(1)],
        *(int(found.group(n)) for n in range(2, 6)),
    )
    for year in (now.year, now.year - 1):
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:  # 30 Feb, 61 seconds: not a stamp
            return None
        if moment <= now + timedelta(days=1):
            return moment
    return None


def merge(units: Iterable[list[str]], now: datetime, start: datetime) -> list[tuple[datetime, str]]:
    """Every unit's lines as one stream in time order, duplicates dropped. A line without a stamp
    takes the moment of the line before it in its unit (`start` for the first)."""
    keyed = []
    for unit_index, lines in enumerate(units):
        moment = start
        for position, line in enumerate(lines):
            moment = line_time(line, now) or moment
            keyed.append((moment, unit_index, position, line))
    keyed.sort(key=lambda item: item[:3])
    seen: set[str] = set()
    out = []
    for moment, _unit, _position, line in keyed:
        if line not in seen:
            seen.add(line)
            out.append((moment, line))
    return out


class TimeSpecError(ValueError):
    """A --since/--until value journalctl cannot read."""


_RELATIVE_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}


def parse_time(text: str, now: datetime) -> datetime:
    """journalctl's time specifications: `YYYY-MM-DD [HH:MM[:SS]]`, `HH:MM[:SS]` (today),
    `now`, `today`, `yesterday`, `tomorrow`, `@EPOCH`, and relative ones (`-1h`, `+10min`,
    `2 hours ago`, `30m`)."""
    spec = text.strip()
    lowered = spec.lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    named = {
        "now": now,
        "today": midnight,
        "yesterday": midnight - timedelta(days=1),
        "tomorrow": midnight + timedelta(days=1),
    }
    if lowered in named:
        return named[lowered]
    if spec.startswith("@"):
        try:
            return datetime.fromtimestamp(float(spec[1:]), UTC)
        except (ValueError, OverflowError, OSError):
            raise TimeSpecError(text) from None
    relative = re.fullmatch(r"([+-]?)\s*((?:\d+\s*[a-z]+\s*)+?)(\s+ago)?", lowered)
    if relative and (relative.group(1) or relative.group(3)):
        seconds = 0
        for amount, unit in re.findall(r"(\d+)\s*([a-z]+)", relative.group(2)):
            if unit not in _RELATIVE_UNITS:
                raise TimeSpecError(text)
            seconds += int(amount) * _RELATIVE_UNITS[unit]
        sign = 1 if relative.group(1) == "+" and not relative.group(3) else -1
        return now + sign * timedelta(seconds=seconds)
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(spec, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    for form in ("%H:%M:%S", "%H:%M"):
        try:
            clock = datetime.strptime(spec, form)
        except ValueError:
            continue
        return midnight.replace(hour=clock.hour, minute=clock.minute, second=clock.second)
    raise TimeSpecError(text)
