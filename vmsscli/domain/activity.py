"""The activity log: one entry per event of a mutating operation, as Azure's activity log keeps
them (a Started event, and a Succeeded or Failed event with the same correlation id)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from vmsscli.model import ActivityEntry, SkippedInstance, State, UpgradeRecord
from vmsscli.resource_ids import name_uuid

_CORRELATION_NAMESPACE = bytes.fromhex("6f1c2a0e5b7d4c1e9a532f8e7d6c4b10")


def new_correlation_id(state: State, now: datetime, operation: str, resource_id: str) -> str:
    """Derived from the log's length and the event, so equal histories give equal ids."""
    seed = f"{state.activity_log.end}|{now.isoformat()}|{operation}|{resource_id}"
    return name_uuid(_CORRELATION_NAMESPACE, seed)


def record(
    state: State,
    *,
    now: datetime,
    operation: str,
    resource_id: str,
    status: str = "Succeeded",
    instance_ids: list[str] | None = None,
    skipped: list[tuple[str, str]] | None = None,
    error: str = "",
    command: str = "",
    correlation_id: str = "",
    detail: str = "",
    requested: list[str] | None = None,
    upgrade: UpgradeRecord | None = None,
) -> ActivityEntry:
    entry = ActivityEntry(
        time=now,
        operation=operation,
        resource_id=resource_id,
        status=status,  # type: ignore[arg-type]
        instance_ids=list(instance_ids or []),
        skipped=[SkippedInstance(instance_id=i, reason=r) for i, r in (skipped or [])],
        error=error,
        command=command,
        detail=detail,
        correlation_id=correlation_id or new_correlation_id(state, now, operation, resource_id),
        requested=requested,
        upgrade=upgrade,
        caller=state.activity_log.caller,
    )
    state.activity_log.append(entry)
    return entry


def succeeded(state: State, correlation_id: str, when: datetime) -> ActivityEntry | None:
    """The Succeeded event of an operation whose Started event is in the log."""
    started = next(
        (
            e
            for e in reversed(state.activity_log.with_correlation(correlation_id))
            if e.status == "Started"
        ),
        None,
    )
    if started is None:
        return None
    entry = replace(started, time=when, status="Succeeded")
    state.activity_log.append(entry)
    return entry


def completed(
    state: State,
    *,
    now: datetime,
    operation: str,
    resource_id: str,
    instance_ids: list[str] | None = None,
    command: str = "",
    detail: str = "",
) -> ActivityEntry:
    """An operation that completes at once: its Started and Succeeded events."""
    started = record(
        state,
        now=now,
        operation=operation,
        resource_id=resource_id,
        status="Started",
        instance_ids=instance_ids,
        command=command,
        detail=detail,
    )
    entry = succeeded(state, started.correlation_id, now)
    assert entry is not None
    return entry
