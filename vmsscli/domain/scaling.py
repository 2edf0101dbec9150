"""Changing capacity: scale-out on the current model, scale-in in Azure's default order.

Scale-in (Default policy, Uniform): keep zones balanced, then fault domains within a zone
(best effort), then remove the highest instance id; `NewestVM`/`OldestVM` replace the fault
domain and id steps by the newest or oldest instance. Instances protected by either flag are
never removed; when they make the target impossible, nothing changes.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from vmsscli.domain import operations
from vmsscli.domain.actions import Outcome
from vmsscli.domain.fleet import add_instances, find_scale_set
from vmsscli.errors import ServiceError
from vmsscli.model import Instance, ScaleSet, State
from vmsscli.resource_ids import vmss_id

MAX_CAPACITY = 1000


def is_protected_from_scale_in(inst: Instance) -> bool:
    return inst.protection is not None and (
        inst.protection.scale_in or inst.protection.scale_set_actions
    )


def _rank(inst: Instance, policy: str, zones: Counter, domains: Counter) -> tuple:
    """Higher ranks go first: the fullest zone, then (Default) the fullest fault domain in it,
    then the highest id; NewestVM/OldestVM use creation time after the zone."""
    assert inst.created is not None
    if policy == "NewestVM":
        return (zones[inst.zone], inst.created.timestamp(), inst.id)
    if policy == "OldestVM":
        return (zones[inst.zone], -inst.created.timestamp(), -inst.id)
    return (zones[inst.zone], domains[(inst.zone, inst.fault_domain)], inst.id)


def scale_in_order(scale_set: ScaleSet, count: int) -> list[Instance]:
    """The `count` instances Azure would remove, in the order it picks them (fewer when
    protection leaves too few candidates)."""
    remaining = [i for i in scale_set.instances if i.provisioning_state != "Deleting"]
    policy = scale_set.scale_in_policy[0] if scale_set.scale_in_policy else "Default"
    chosen: list[Instance] = []
    for _ in range(count):
        candidates = [i for i in remaining if not is_protected_from_scale_in(i)]
        if not candidates:
            break
        zones = Counter(i.zone for i in remaining)
        domains = Counter((i.zone, i.fault_domain) for i in remaining)
        victim = max(candidates, key=lambda i: _rank(i, policy, zones, domains))
        chosen.append(victim)
        remaining.remove(victim)
    return chosen


def scale(
    state: State, rg: str, name: str, capacity: int, now: datetime, *, command: str = ""
) -> Outcome:
    """Set the capacity: new instances are created, or victims deleted, as operations."""
    rg_key, key, scale_set = find_scale_set(state, rg, name)
    if capacity < 0 or capacity > MAX_CAPACITY:
        raise ServiceError(
            "InvalidParameter",
            f"The value {capacity} of parameter 'sku.capacity' is out of range. The value must "
            f"be between 0 and {MAX_CAPACITY}, inclusive.",
            target="sku.capacity",
        )
    current = scale_set.capacity
    if capacity >= current:
        targets = add_instances(scale_set, capacity - current, now)
        name_of_op = "create"
    else:
        targets = scale_in_order(scale_set, current - capacity)
        if len(targets) < current - capacity:
            protected = sorted(i.id for i in scale_set.instances if is_protected_from_scale_in(i))
            raise ServiceError(
                "OperationNotAllowed",
                f"Cannot scale in virtual machine scale set '{key}' to {capacity} instances: "
                f"{len(protected)} of its {current} instances are protected from scale-in "
                f"({', '.join(map(str, protected))}), so at least {len(protected)} must "
                "remain. Remove the protection or choose a larger capacity.",
                status=409,
            )
        name_of_op = "delete"
    correlation_id = operations.launch(
        state,
        name=name_of_op,
        azure_operation="Microsoft.Compute/virtualMachineScaleSets/write",
        resource_id=vmss_id(state.subscription_id, rg_key, key),
        targets=targets,
        now=now,
        command=command,
        detail=f"{'scale-in' if name_of_op == 'delete' else 'scale-out'}: capacity {current} "
        f"to {capacity}",
    )
    return Outcome(
        scale_set=scale_set,
        rg=rg_key,
        name=key,
        correlation_id=correlation_id,
        acted=[i.id for i in targets],
    )
