"""Instance actions as Azure performs them: who is targeted, who is skipped and why, and which
power states an action is refused in.

Rules (docs/semantics.md): instances named explicitly are acted on even when protected — a
user-initiated operation is not blocked; a whole-scale-set request (no ids, or `*`) skips
instances protected from scale-set actions and instances the action does not apply to. Every id
is checked before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from vmsscli.domain import operations
from vmsscli.domain.fleet import find_scale_set, resolve_instance_ids
from vmsscli.errors import ServiceError
from vmsscli.model import Instance, OperationName, ScaleSet, State
from vmsscli.resource_ids import vmss_id

VMSS_OPERATION = "Microsoft.Compute/virtualMachineScaleSets"


@dataclass(frozen=True)
class Action:
    name: OperationName
    verb: str  # as Azure names it in messages
    azure_operation: str
    # Power states the action changes; instances already in `done` need nothing; any other
    # power state refuses the action.
    acts_on: tuple[str, ...]
    done: tuple[str, ...] = ()


ACTIONS = {
    "start": Action(
        "start",
        "start",
        f"{VMSS_OPERATION}/start/action",
        acts_on=("stopped", "deallocated"),
        done=("running",),
    ),
    "stop": Action(
        "stop",
        "powerOff",
        f"{VMSS_OPERATION}/powerOff/action",
        acts_on=("running",),
        done=("stopped", "deallocated"),
    ),
    "deallocate": Action(
        "deallocate",
        "deallocate",
        f"{VMSS_OPERATION}/deallocate/action",
        acts_on=("running", "stopped"),
        done=("deallocated",),
    ),
    "restart": Action(
        "restart", "restart", f"{VMSS_OPERATION}/restart/action", acts_on=("running",)
    ),
    "reimage": Action(
        "reimage",
        "reimage",
        f"{VMSS_OPERATION}/reimage/action",
        acts_on=("running", "stopped", "deallocated"),
    ),
    "upgrade": Action(
        "upgrade",
        "manualUpgrade",
        f"{VMSS_OPERATION}/manualUpgrade/action",
        acts_on=("running", "stopped", "deallocated"),
    ),
    "delete": Action(
        "delete",
        "delete",
        f"{VMSS_OPERATION}/delete/action",
        acts_on=("running", "stopped", "deallocated"),
    ),
}

SKIP_PROTECTED = "protectFromScaleSetActions"


@dataclass
class Outcome:
    """What a request did: for the CLI to report and to wait on."""

    scale_set: ScaleSet
    rg: str
    name: str
    correlation_id: str = ""
    acted: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def vm_name(name: str, inst: Instance) -> str:
    return f"{name}_{inst.id}"


def not_allowed(verb: str, name: str, inst: Instance, why: str) -> ServiceError:
    return ServiceError(
        "OperationNotAllowed",
        f"Operation '{verb}' is not allowed on VM '{vm_name(name, inst)}' since {why}.",
        status=409,
    )


def is_whole_set(ids: list[str] | None) -> bool:
    return not ids or "*" in [i.strip() for i in ids]


def choose(
    scale_set: ScaleSet, name: str, ids: list[str] | None, action: Action
) -> tuple[list[Instance], list[tuple[int, str]]]:
    """Targets and skipped instances of a request, or the error that refuses it whole."""
    targets: list[Instance] = []
    skipped: list[tuple[int, str]] = []
    if is_whole_set(ids):
        for inst in scale_set.instances:
            protection = inst.protection
            if inst.provisioning_state == "Deleting":
                continue
            if protection is not None and protection.scale_set_actions:
                skipped.append((inst.id, SKIP_PROTECTED))
            elif inst.operation is not None:
                skipped.append((inst.id, f"operation '{inst.operation.name}' in progress"))
            elif inst.power_state in action.done:
                continue
            elif inst.power_state not in action.acts_on:
                skipped.append((inst.id, f"VM {inst.power_state}"))
            else:
                targets.append(inst)
        return targets, skipped
    for inst in resolve_instance_ids(scale_set, ids or []):
        if inst.operation is not None or inst.provisioning_state == "Deleting":
            running = inst.operation.name if inst.operation else "delete"
            raise not_allowed(
                action.verb, name, inst, f"another operation ('{running}') is in progress on it"
            )
        if inst.power_state in action.done:
            continue
        if inst.power_state not in action.acts_on:
            raise not_allowed(action.verb, name, inst, f"the VM is {inst.power_state}")
        targets.append(inst)
    return targets, skipped


def perform(
    state: State,
    rg: str,
    name: str,
    action_name: str,
    ids: list[str] | None,
    now: datetime,
    *,
    command: str = "",
) -> Outcome:
    """Start an action on the chosen instances; the caller waits or not (`operations`)."""
    action = ACTIONS[action_name]
    rg_key, key, scale_set = find_scale_set(state, rg, name)
    targets, skipped = choose(scale_set, key, ids, action)
    return start_on(
        state, rg_key, key, scale_set, action.name, action.azure_operation,
        targets, skipped, ids, now, command=command,
    )  # fmt: skip


def start_on(
    state: State,
    rg_key: str,
    key: str,
    scale_set: ScaleSet,
    operation: OperationName,
    azure_operation: str,
    targets: list[Instance],
    skipped: list[tuple[int, str]],
    ids: list[str] | None,
    now: datetime,
    *,
    command: str = "",
) -> Outcome:
    """Start an operation on the instances a request chose (`ids`: what it named), logged as
    Azure's `azure_operation`."""
    correlation_id = operations.launch(
        state,
        name=operation,
        azure_operation=azure_operation,
        resource_id=vmss_id(state.subscription_id, rg_key, key),
        targets=targets,
        now=now,
        skipped=skipped,
        command=command,
        requested=[i.strip() for i in ids or []],
    )
    return Outcome(
        scale_set=scale_set,
        rg=rg_key,
        name=key,
        correlation_id=correlation_id,
        acted=[i.id for i in targets],
        skipped=skipped,
    )
