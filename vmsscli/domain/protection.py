"""Instance protection: set on one instance by an instance-level update, never on the model."""

from __future__ import annotations

from datetime import datetime

from vmsscli.domain import activity
from vmsscli.domain.fleet import find_instance, find_scale_set
from vmsscli.errors import ServiceError
from vmsscli.model import Instance, Protection, State
from vmsscli.resource_ids import vmss_id


def set_protection(
    state: State,
    rg: str,
    name: str,
    instance_id: str,
    scale_in: bool | None,
    scale_set_actions: bool | None,
    now: datetime,
    *,
    command: str = "",
) -> tuple[str, str, Instance]:
    """Apply the given protection flags (None: leave as is).

    As az does, the instance's current policy is merged with the flags given (an instance that
    never had a policy sends only the given keys). Protection from scale-set actions implies
    protection from scale-in: asking for it alone sets both; asking for it with scale-in
    protection explicitly off is refused, and nothing changes. Like any instance-level update
    (a PUT of the instance model), it leaves the instance on an instance-specific model:
    `modelDefinitionApplied: VirtualMachine`, `latestModelApplied: false`.
    """
    rg_key, key, scale_set = find_scale_set(state, rg, name)
    inst = find_instance(scale_set, key, rg_key, instance_id)
    current = inst.protection
    merged_in = scale_in if scale_in is not None else (current.scale_in if current else None)
    merged_actions = (
        scale_set_actions
        if scale_set_actions is not None
        else (current.scale_set_actions if current else None)
    )
    if merged_actions and merged_in is False:
        raise ServiceError(
            "InvalidParameter",
            "The protection policy of a Virtual Machine Scale Set VM cannot set "
            "protectFromScaleSetActions to true while protectFromScaleIn is false: protection "
            "from scale-set actions includes protection from scale-in.",
            target="protectionPolicy",
        )
    inst.protection = Protection(
        scale_in=bool(merged_in or merged_actions), scale_set_actions=bool(merged_actions)
    )
    inst.model_definition_applied = "VirtualMachine"
    inst.updated = now
    resource = f"{vmss_id(state.subscription_id, rg_key, key)}/virtualMachines/{inst.id}"
    activity.completed(
        state,
        now=now,
        operation="Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write",
        resource_id=resource,
        instance_ids=[str(inst.id)],
        command=command,
        detail=(
            f"protectFromScaleIn={str(inst.protection.scale_in).lower()}, "
            f"protectFromScaleSetActions={str(inst.protection.scale_set_actions).lower()}"
        ),
    )
    return rg_key, key, inst
