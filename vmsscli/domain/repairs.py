"""Automatic instance repairs, as a scale set's `automaticRepairsPolicy` has Azure run them.

- The service watches instance health (it needs the application health extension or a load
  balancer probe). An instance seen unhealthy is marked with the time it was first seen so
  (`Instance.unhealthy_since`); a healthy or unknown report clears the mark.
- An unhealthy instance is repaired once its grace period has passed since its last state
  change (`Instance.updated`), and not before it was seen unhealthy: due at
  max(unhealthy since, last change + grace period).
- At most 5% of the set's instances (at least one) are under repair at a time; the others wait
  for a slot, oldest due first.
- Instances protected by either policy (scale-in or scale-set actions) are never repaired, nor
  is one with an operation under way. A suspended service (`set-orchestration-service-state
  --action Suspend`) keeps watching but repairs nothing until it is resumed.
- Restart and Reimage do what `vmss restart` and `vmss reimage` do; Replace deletes the
  instance and creates a new one (a new id, the current model). A cause outside the guest (a
  blocked network route) survives every repair: the replacement sits on the same network, and
  the instance comes back unhealthy, to be repaired again after another grace period.

Each repair is an operation in the activity log, named as the action it takes, with the
caller `CALLER` and the reason in its detail.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta

from vmsscli.domain import operations
from vmsscli.domain.actions import VMSS_OPERATION
from vmsscli.domain.health import effective_health
from vmsscli.domain.scaling import is_protected_from_scale_in
from vmsscli.model import Fault, Instance, ScaleSet, State
from vmsscli.resource_ids import vmss_id

# Who the activity log names for what the repairs service does (the twin's choice: Azure's
# records of platform repairs name the service, not a user).
CALLER = "Microsoft.Compute/automaticRepairs"
# At most this share of the set under repair at once (at least one instance).
BATCH_SHARE = 0.05
_OPERATIONS = {
    "Restart": ("restart", f"{VMSS_OPERATION}/restart/action"),
    "Reimage": ("reimage", f"{VMSS_OPERATION}/reimage/action"),
    "Replace": ("delete", f"{VMSS_OPERATION}/delete/action"),
}


def watching(scale_set: ScaleSet) -> bool:
    repairs = scale_set.automatic_repairs
    return repairs is not None and repairs.enabled


def _running(scale_set: ScaleSet) -> bool:
    repairs = scale_set.automatic_repairs
    return repairs is not None and repairs.enabled and not repairs.suspended


def _grace(scale_set: ScaleSet) -> timedelta:
    assert scale_set.automatic_repairs is not None
    return _parsed(scale_set.automatic_repairs.grace_period)


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> timedelta:
    from vmsscli.durations import parse_duration

    return parse_duration(text)


def observe(
    state: State, now: datetime, only: Iterable[tuple[ScaleSet, Instance]] | None = None
) -> None:
    """Mark the instances the service now sees unhealthy, and clear the others' marks (`only`:
    just these, the ones whose state has just changed)."""
    if only is not None:
        for scale_set, inst in only:
            if scale_set.automatic_repairs is not None:
                _observe_one(scale_set, inst, watching(scale_set), now)
        return
    for _rg, _name, scale_set in state.scale_sets():
        if scale_set.automatic_repairs is None:
            continue
        watched = watching(scale_set)
        for inst in scale_set.instances:
            _observe_one(scale_set, inst, watched, now)


def _observe_one(scale_set: ScaleSet, inst: Instance, watched: bool, now: datetime) -> None:
    unhealthy = (
        watched and inst.operation is None and effective_health(scale_set, inst) == "unhealthy"
    )
    if not unhealthy:
        inst.unhealthy_since = None
    elif inst.unhealthy_since is None:
        inst.unhealthy_since = now


def due(scale_set: ScaleSet, inst: Instance) -> datetime | None:
    """When the service repairs the instance, if it is waiting for a repair."""
    if (
        inst.unhealthy_since is None
        or inst.operation is not None
        or is_protected_from_scale_in(inst)  # either policy: Azure skips both
    ):
        return None
    changed = inst.updated or inst.created or inst.unhealthy_since
    return max(inst.unhealthy_since, changed + _grace(scale_set))


def _slots(scale_set: ScaleSet) -> int:
    """How many more repairs may start now (a Replace counts once: its new instance)."""
    repairs = scale_set.automatic_repairs
    assert repairs is not None
    limit = max(1, int(scale_set.capacity * BATCH_SHARE))
    busy = sum(
        1
        for inst in scale_set.instances
        if inst.operation is not None
        and inst.operation.correlation_id in repairs.under_way
        and inst.provisioning_state != "Deleting"
    )
    return max(0, limit - busy)


def next_due(state: State) -> datetime | None:
    """The next moment a repair starts by itself (None: none is waiting for a free slot)."""
    moments = []
    for _rg, _name, scale_set in state.scale_sets():
        if not _running(scale_set) or _slots(scale_set) == 0:
            continue
        moments += [m for inst in scale_set.instances if (m := due(scale_set, inst)) is not None]
    return min(moments) if moments else None


def act(state: State, now: datetime) -> None:
    """Start the repairs due by `now`, as many as the sets' free slots allow."""
    for rg, name, scale_set in state.scale_sets():
        if not _running(scale_set):
            continue
        waiting = sorted(
            (moment, inst.id, inst)
            for inst in scale_set.instances
            if (moment := due(scale_set, inst)) is not None and moment <= now
        )
        for _moment, _id, inst in waiting[: _slots(scale_set)]:
            _repair(state, rg, name, scale_set, inst, now)


def _repair(
    state: State, rg: str, name: str, scale_set: ScaleSet, inst: Instance, now: datetime
) -> None:
    repairs = scale_set.automatic_repairs
    assert repairs is not None and inst.unhealthy_since is not None
    action = repairs.repair_action
    op_name, azure_operation = _OPERATIONS[action]
    since = inst.unhealthy_since.strftime("%Y-%m-%dT%H:%M:%SZ")
    reason = f"automatic repair ({action}) of instance {inst.id}: unhealthy since {since}"
    resource_id = vmss_id(state.subscription_id, rg, name)
    log = state.activity_log
    caller, log.caller = log.caller, CALLER
    try:
        correlation_id = operations.launch(
            state,
            name=op_name,  # type: ignore[arg-type]
            azure_operation=azure_operation,
            resource_id=resource_id,
            targets=[inst],
            now=now,
            detail=reason,
            requested=[str(inst.id)],
        )
        started = [correlation_id]
        if action == "Replace":
            from vmsscli.domain.fleet import add_instances

            (new,) = add_instances(scale_set, 1, now)
            # A cause outside the guest is outside the new VM too.
            new.faults = [Fault(kind=f.kind, host=f.host, message=f.message) for f in inst.faults
                          if f.external]  # fmt: skip
            started.append(
                operations.launch(
                    state,
                    name="create",
                    azure_operation="Microsoft.Compute/virtualMachineScaleSets/write",
                    resource_id=resource_id,
                    targets=[new],
                    now=now,
                    detail=f"{reason}: replaced by instance {new.id}",
                )
            )
    finally:
        log.caller = caller
    inst.unhealthy_since = None
    # The repairs still in flight, and these: finished ones are forgotten here, where the
    # service writes, not where it only looks.
    in_flight = {i.operation.correlation_id for i in scale_set.instances if i.operation}
    repairs.under_way = sorted({*(c for c in repairs.under_way if c in in_flight), *started})


SERVICES = ("AutomaticRepairs",)
STATE_OPERATION = f"{VMSS_OPERATION}/setOrchestrationServiceState/action"


def set_service_state(
    state: State, rg: str, name: str, service: str, action: str, now: datetime, *, command: str = ""
) -> str:
    """Suspend or resume the automatic repairs service of a set; the correlation id of the
    request. Azure refuses it for a set whose policy does not run the service."""
    from vmsscli.domain import activity
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.errors import ServiceError

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    if service not in SERVICES:
        raise ServiceError(
            "InvalidParameter",
            f"The value '{service}' of parameter 'serviceName' is not valid.",
            target="serviceName",
        )
    if action not in ("Suspend", "Resume"):
        raise ServiceError(
            "InvalidParameter",
            f"The value '{action}' of parameter 'action' is not valid.",
            target="action",
        )
    repairs = scale_set.automatic_repairs
    if repairs is None or not repairs.enabled:
        raise ServiceError(
            "OperationNotAllowed",
            f"The orchestration service '{service}' cannot be changed on Virtual Machine Scale "
            f"Set '{key}' because its serviceState is NotRunning: enable the automatic repairs "
            "policy first.",
            status=409,
        )
    repairs.suspended = action == "Suspend"
    entry = activity.completed(
        state,
        now=now,
        operation=STATE_OPERATION,
        resource_id=vmss_id(state.subscription_id, rg_key, key),
        command=command,
        detail=f"{service}: {action}",
    )
    return entry.correlation_id
