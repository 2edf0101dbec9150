"""The activity log's events in Azure Monitor's EventData shape (api 2015-04-01), as `GET
.../eventtypes/management/values` returns them and `az monitor activity-log list` prints them.

az prints an event as the endpoint sends it (nothing is flattened: `properties` stays a
dictionary of strings), so this one mapping serves both doors.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from vmsscli.domain.activity_query import level
from vmsscli.model import ActivityEntry
from vmsscli.resource_ids import TENANT_ID, name_uuid

# Who an event names when nobody was recorded (events from before callers were kept, the
# demo fleet's history): the twin's operator, as `VMSSCLI_CALLER` can rename them.
DEFAULT_CALLER = "operator@vmsscli.local"

# Every key an event has, in the order az's --select lists them.
EVENT_KEYS = (
    "authorization",
    "caller",
    "category",
    "claims",
    "correlationId",
    "description",
    "eventDataId",
    "eventName",
    "eventTimestamp",
    "httpRequest",
    "id",
    "level",
    "operationId",
    "operationName",
    "properties",
    "resourceGroupName",
    "resourceId",
    "resourceProviderName",
    "resourceType",
    "status",
    "subStatus",
    "submissionTimestamp",
    "subscriptionId",
    "tenantId",
)

# Display names of the operations the twin records, as Azure's resource providers list them.
OPERATION_NAMES = {
    "Microsoft.Compute/virtualMachineScaleSets/write": "Create or Update Virtual Machine Scale Set",
    "Microsoft.Compute/virtualMachineScaleSets/delete": "Delete Virtual Machine Scale Set",
    "Microsoft.Compute/virtualMachineScaleSets/start/action": "Start Virtual Machine Scale Set",
    "Microsoft.Compute/virtualMachineScaleSets/powerOff/action": (
        "Power Off Virtual Machine Scale Set"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/restart/action": "Restart Virtual Machine Scale Set",
    "Microsoft.Compute/virtualMachineScaleSets/deallocate/action": (
        "Deallocate Virtual Machine Scale Set"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/reimage/action": "Reimage Virtual Machine Scale Set",
    "Microsoft.Compute/virtualMachineScaleSets/manualUpgrade/action": (
        "Manual Upgrade Virtual Machine Scale Set"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/delete/action": (
        "Delete Instances in Virtual Machine Scale Set"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/osRollingUpgrade/action": (
        "Start OS Rolling Upgrade on Virtual Machine Scale Set Instances"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades/cancel/action": (
        "Cancel Virtual Machine Scale Set Rolling Upgrade"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/extensionRollingUpgrade/action": (
        "Start Extension Rolling Upgrade on Virtual Machine Scale Set Instances"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/performMaintenance/action": (
        "Perform Maintenance on Virtual Machine Scale Set Instances"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write": (
        "Update Virtual Machine in Scale Set"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action": (
        "Run Command on Virtual Machine in Scale Set"
    ),
    "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/simulateEviction/action": (
        "Simulate Eviction of Virtual Machine in Scale Set"
    ),
    "Microsoft.Resources/subscriptions/resourceGroups/write": "Create Resource Group",
    "Microsoft.Resources/subscriptions/resourceGroups/delete": "Delete Resource Group",
}
# Events written before the twin used Azure's name for starting a rolling upgrade.
RENAMED = {
    "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades/action": (
        "Microsoft.Compute/virtualMachineScaleSets/osRollingUpgrade/action"
    )
}
_EVENT_NAMESPACE = bytes.fromhex("5d0f3a7e91c24b6e8e4a0c1b2d3f4e5a")
# .NET ticks (100 ns) from 0001-01-01 to 1970-01-01: Azure's event ids end in the event's ticks.
_EPOCH_TICKS = 621355968000000000


def _localizable(value: str, localized: str | None = None) -> dict[str, str]:
    return {"value": value, "localizedValue": value if localized is None else localized}


def event_time(moment: datetime) -> str:
    """The activity log's timestamp form: UTC, seven fractional digits, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _ticks(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return _EPOCH_TICKS + (delta.days * 86400 + delta.seconds) * 10**7 + delta.microseconds * 10


def _resource_type(resource_id: str) -> tuple[str, str]:
    """(provider namespace, resource type) of a resource id."""
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        if "resourcegroups" in lowered:
            return "Microsoft.Resources", "Microsoft.Resources/subscriptions/resourceGroups"
        return "Microsoft.Resources", "Microsoft.Resources/subscriptions"
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace = parts[at + 1] if at + 1 < len(parts) else ""
    # After the namespace: type/name/type/name...; the types are every other segment.
    types = parts[at + 2 :: 2]
    return namespace, "/".join([namespace, *types])


def _method(operation: str) -> str:
    if operation.endswith("/action"):
        return "POST"
    if operation.endswith("/delete"):
        return "DELETE"
    return "PUT"


def _request_body(entry: ActivityEntry) -> str | None:
    """The part of the request the twin keeps: the instance ids it named."""
    if entry.requested:
        return json.dumps({"instanceIds": entry.requested}, separators=(",", ":"))
    return None


def event_data(entry: ActivityEntry, subscription: str, *, caller: str) -> dict[str, Any]:
    """One event as Azure Monitor returns it; `caller` names the events that name nobody."""
    operation = RENAMED.get(entry.operation, entry.operation)
    who = entry.caller or caller
    started = entry.status == "Started"
    failed = entry.status == "Failed"
    event_id = name_uuid(
        _EVENT_NAMESPACE,
        f"{entry.correlation_id}|{entry.status}|{entry.time.isoformat()}|{entry.operation}",
    )
    namespace, resource_type = _resource_type(entry.resource_id)
    parts = entry.resource_id.split("/")
    group = parts[4] if len(parts) > 4 and parts[3].lower() == "resourcegroups" else ""
    properties: dict[str, str] = {
        "eventCategory": "Administrative",
        "entity": entry.resource_id,
        "message": operation,
        "hierarchy": f"{TENANT_ID}/{subscription}",
    }
    body = _request_body(entry)
    if started and body:
        properties["requestbody"] = body
    if not started:
        properties["statusCode"] = "BadRequest" if failed else "OK"
    if failed:
        code, _, message = entry.error.partition(": ")
        if not message:
            code, message = "OperationFailed", entry.error
        properties["statusMessage"] = json.dumps(
            {"error": {"code": code.strip("()") or "OperationFailed", "message": message}},
            separators=(",", ":"),
        )
    return {
        "authorization": {"action": operation, "scope": entry.resource_id},
        "caller": who,
        "category": _localizable("Administrative"),
        "claims": {
            "aud": "https://management.core.windows.net/",
            "iss": f"https://sts.windows.net/{TENANT_ID}/",
            "http://schemas.microsoft.com/identity/claims/objectidentifier": name_uuid(
                _EVENT_NAMESPACE, f"caller|{who}"
            ),
            "name": who,
        },
        "correlationId": entry.correlation_id,
        "description": "",
        "eventDataId": event_id,
        "eventName": (
            _localizable("BeginRequest", "Begin request")
            if started
            else _localizable("EndRequest", "End request")
        ),
        "eventTimestamp": event_time(entry.time),
        "httpRequest": {
            "clientRequestId": name_uuid(_EVENT_NAMESPACE, f"request|{entry.correlation_id}"),
            "clientIpAddress": "127.0.0.1",
            "method": _method(operation),
        },
        "id": f"{entry.resource_id}/events/{event_id}/ticks/{_ticks(entry.time)}",
        "level": level(entry),
        "operationId": name_uuid(_EVENT_NAMESPACE, f"operation|{entry.correlation_id}"),
        "operationName": _localizable(operation, OPERATION_NAMES.get(operation, operation)),
        "properties": properties,
        "resourceGroupName": group,
        "resourceId": entry.resource_id,
        "resourceProviderName": _localizable(namespace),
        "resourceType": _localizable(resource_type),
        "status": _localizable(entry.status),
        "subStatus": _localizable(""),
        "submissionTimestamp": event_time(entry.time),
        "subscriptionId": subscription,
        "tenantId": TENANT_ID,
    }


def selected(event: dict[str, Any], keys: list[str] | None) -> dict[str, Any]:
    """An event with only the keys a `$select` names (all of them without one)."""
    if not keys:
        return event
    return {k: v for k, v in event.items() if k in keys}
