"""The activity log: one entry per mutating operation, as Azure's activity log keeps them."""

from __future__ import annotations

import uuid
from datetime import datetime

from vmsscli.model import ActivityEntry, SkippedInstance, State

_CORRELATION_NAMESPACE = uuid.UUID("6f1c2a0e-5b7d-4c1e-9a53-2f8e7d6c4b10")


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
) -> ActivityEntry:
    """Append an entry; its correlation id is derived, so equal histories give equal logs."""
    seed = f"{len(state.activity_log)}|{now.isoformat()}|{operation}|{resource_id}"
    entry = ActivityEntry(
        time=now,
        operation=operation,
        resource_id=resource_id,
        status=status,  # type: ignore[arg-type]
        instance_ids=list(instance_ids or []),
        skipped=[SkippedInstance(instance_id=i, reason=r) for i, r in (skipped or [])],
        error=error,
        command=command,
        correlation_id=str(uuid.uuid5(_CORRELATION_NAMESPACE, seed)),
    )
    state.activity_log.append(entry)
    return entry
