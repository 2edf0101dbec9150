"""Durations as operators type them: `90s`, `5m`, `1h30m`, or ISO 8601 (`PT2M`, `P1DT2H`)."""

from __future__ import annotations

import re
from datetime import timedelta

_ISO = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.I,
)
_SHORT = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.I)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


MAX_DURATION = timedelta(days=3650)


def parse_duration(text: str) -> timedelta:
    """Raise ValueError with a readable message when `text` is not a duration (or is longer
    than ten years, which no simulated operation or clock step needs)."""
    try:
        delta = _parse(text)
    except (OverflowError, ValueError):
        raise ValueError(f"{text!r} is not a duration; use e.g. 90s, 5m, 1h30m or PT2M") from None
    if delta > MAX_DURATION or delta < timedelta(0):
        raise ValueError(f"{text!r} is out of range: durations go up to ten years (P3650D)")
    return delta


def _parse(text: str) -> timedelta:
    value = text.strip()
    iso = _ISO.match(value)
    if iso and value.upper() not in ("P", "PT") and not value.upper().endswith("T"):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v}
        return timedelta(
            days=parts.get("d", 0),
            hours=parts.get("h", 0),
            minutes=parts.get("m", 0),
            seconds=parts.get("s", 0),
        )
    if value and _SHORT.sub("", value).strip() == "" and _SHORT.search(value):
        seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _SHORT.findall(value))
        return timedelta(seconds=seconds)
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return timedelta(seconds=float(value))
    raise ValueError(f"'{text}' is not a duration; use e.g. 90s, 5m, 1h30m or PT2M")


def iso_duration(delta: timedelta) -> str:
    """A timedelta as ISO 8601 (`PT1M30S`)."""
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return out + (f"{seconds}S" if seconds or out == "PT" else "")
