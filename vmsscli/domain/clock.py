"""Simulated time: where "now" comes from for one invocation."""

from __future__ import annotations

from datetime import UTC, datetime

from vmsscli.errors import CLIError
from vmsscli.model import ClockSettings


def parse_time(text: str) -> datetime:
    """An ISO 8601 date-time; a value without an offset is taken as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CLIError(
            f"'{text}' is not a valid time. Use ISO 8601, e.g. 2026-11-23T10:00:00Z."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return check_range(value.astimezone(UTC))


def check_range(moment: datetime) -> datetime:
    """The simulated clock stays between 1970 and 9000 (as the state file's times do)."""
    from vmsscli.model import EARLIEST, LATEST

    if not EARLIEST <= moment <= LATEST:
        raise CLIError(
            f"{moment.isoformat()} is out of range: the simulated clock runs from 1970 to 9000."
        )
    return moment


def resolve_now(settings: ClockSettings, pinned: str | None, wall: datetime) -> datetime:
    """`pinned` (VMSSCLI_NOW) wins; else manual mode's stored time; else the wall clock."""
    if pinned:
        return parse_time(pinned)
    if settings.mode == "manual":
        return settings.now.astimezone(UTC)
    return wall.astimezone(UTC)


def move_to(state, current: datetime, when: datetime) -> None:
    """Set a manual clock to `when` and complete, in order, what is due by then."""
    from vmsscli.domain.operations import settle

    if when < current:
        from vmsscli.views import azure_time

        raise CLIError(f"The simulated clock cannot go backwards (it is {azure_time(current)}).")
    state.clock.mode = "manual"
    state.clock.now = check_range(when)
    settle(state, when)
