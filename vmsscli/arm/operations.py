"""Long-running operations as ARM exposes them: a request that starts one answers 202 (or 201
for a create) with an `Azure-AsyncOperation` header naming an operation-status resource and a
`Location` header; the status is `InProgress` until the simulated operation completes.

An operation's id is the correlation id of its activity events, so its status is read off the
state (the events, a rolling upgrade), survives a restart of the endpoint, and is the same
whichever door started it. Polling advances nothing: with a manual clock an operation stays
`InProgress` until the clock is moved (`vmss clock advance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmsscli.arm.errors import ArmError

CANCEL = ".cancel"


@dataclass
class Status:
    status: str  # InProgress, Succeeded, Failed
    start: Any = None
    end: Any = None
    error: dict[str, str] | None = None
    # The run-command invocation the operation produced (for the final result).
    record: Any = None
    os_type: str = "Linux"


def headers(base_url: str, subscription: str, location: str, operation: str) -> dict[str, str]:
    url = (
        f"{base_url}subscriptions/{subscription}/providers/Microsoft.Compute/locations/"
        f"{location}/operations/{operation}?api-version=2024-11-01"
    )
    return {
        "Azure-AsyncOperation": url,
        "Location": url + "&monitor=true",
        "Retry-After": "1",
    }


def status(state, operation: str) -> Status:
    """The status of an operation by its id, or a 404 when the state has no such operation."""
    correlation = operation.removesuffix(CANCEL)
    for _rg, _name, scale_set in state.scale_sets():
        upgrade = scale_set.rolling_upgrade
        if upgrade is None or upgrade.correlation_id != correlation:
            continue
        if upgrade.status == "RollingForward":
            return Status("InProgress", start=upgrade.started)
        if upgrade.status == "Faulted" and not operation.endswith(CANCEL):
            return Status(
                "Failed",
                start=upgrade.started,
                end=upgrade.last_action_time,
                error={"code": upgrade.error_code, "message": upgrade.error_message},
            )
        return Status("Succeeded", start=upgrade.started, end=upgrade.last_action_time)
    events = state.activity_log.with_correlation(correlation)
    if not events:
        raise ArmError(
            404,
            "NotFound",
            f"The operation '{operation}' was not found.",
        )
    started = events[0].time
    final = next((e for e in reversed(events) if e.status != "Started"), None)
    if final is None:
        return Status("InProgress", start=started)
    if final.status == "Failed":
        return Status(
            "Failed",
            start=started,
            end=final.time,
            error={"code": "OperationFailed", "message": final.error or "The operation failed."},
        )
    out = Status("Succeeded", start=started, end=final.time)
    for _rg, _name, scale_set in state.scale_sets():
        for inst in scale_set.instances:
            for record in inst.run_commands:
                if record.correlation_id == correlation:
                    out.record = record
                    out.os_type = scale_set.model.os_type
    return out


def status_body(operation: str, found: Status) -> dict[str, Any]:
    from vmsscli.views import azure_time

    body: dict[str, Any] = {"name": operation, "status": found.status}
    if found.start is not None:
        body["startTime"] = azure_time(found.start)
    if found.end is not None:
        body["endTime"] = azure_time(found.end)
    if found.error is not None:
        body["error"] = found.error
    if found.record is not None:
        body["properties"] = {"output": run_command_result(found)}
    return body


def run_command_result(found: Status) -> dict[str, Any]:
    from vmsscli.guest.runner import Execution, result_view

    record = found.record
    return result_view(found.os_type, Execution(record.stdout, record.stderr, record.exit_code))
