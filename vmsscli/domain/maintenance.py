"""Platform maintenance, Spot eviction and VM sizes: `perform-maintenance`,
`simulate-eviction` and `list-skus` (docs/semantics.md, "Maintenance, eviction and sizes").

- Pending maintenance is a fact on the instance (`Instance.maintenance`), announced by a
  trainer (`vmss fault inject --kind maintenance-pending`) or written in the state. Performing
  it reboots the instance (operation `maintenance`, see `vmsscli.domain.operations`) and
  leaves the record with `MaintenanceCompleted`.
- Eviction applies to Spot instances only. The model has no priority yet, so every instance
  is Regular and the request is refused as Azure refuses it for a Regular VM; `priority` reads
  the model, so a Spot model only has to add the field.
- The sizes a scale set can be resized to come from a small catalogue of real Azure sizes,
  narrowed by what the set's model needs (premium storage, the image's VM generation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vmsscli.domain import operations
from vmsscli.domain.actions import (
    SKIP_PROTECTED,
    VMSS_OPERATION,
    Outcome,
    is_whole_set,
    start_on,
    vm_name,
)
from vmsscli.domain.fleet import find_instance, find_scale_set, resolve_instance_ids
from vmsscli.errors import ServiceError
from vmsscli.model import Instance, Maintenance, ScaleSet, State
from vmsscli.resource_ids import vm_id

MAINTENANCE_OPERATION = f"{VMSS_OPERATION}/performMaintenance/action"
EVICTION_OPERATION = f"{VMSS_OPERATION}/virtualMachines/simulateEviction/action"
# The windows Azure announces with planned maintenance: a self-service (pre-maintenance)
# window in which the customer may start it, then the scheduled maintenance window.
SELF_SERVICE_WINDOW = timedelta(days=14)
MAINTENANCE_WINDOW = timedelta(days=7)


# --- pending maintenance -------------------------------------------------------------------------


def announce(inst: Instance, now: datetime) -> Maintenance:
    """Give the instance pending platform maintenance: the self-service window opens now."""
    start = now.replace(microsecond=0)
    inst.maintenance = Maintenance(
        pre_window_start=start,
        pre_window_end=start + SELF_SERVICE_WINDOW,
        window_start=start + SELF_SERVICE_WINDOW,
        window_end=start + SELF_SERVICE_WINDOW + MAINTENANCE_WINDOW,
    )
    return inst.maintenance


def is_pending(inst: Instance) -> bool:
    """Whether the customer may start the instance's maintenance now."""
    return inst.maintenance is not None and inst.maintenance.pending


def not_eligible(name: str, inst: Instance) -> ServiceError:
    """Azure's refusal for an instance with no maintenance the customer may start."""
    return ServiceError(
        "OperationNotAllowed",
        f"Operation 'performMaintenance' is not allowed on VM '{vm_name(name, inst)}' since "
        "the Subscription of this VM is not eligible.",
        status=409,
    )


def _refused(name: str, inst: Instance, why: str) -> ServiceError:
    return ServiceError(
        "OperationNotAllowed",
        f"Operation 'performMaintenance' is not allowed on VM '{vm_name(name, inst)}' since {why}.",
        status=409,
    )


def choose(
    scale_set: ScaleSet, name: str, ids: list[str] | None
) -> tuple[list[Instance], list[tuple[int, str]]]:
    """The instances a performMaintenance request acts on, and those it skips, or the error
    that refuses it whole (nothing changes then).

    Named instances must each have pending maintenance, no operation in flight and be running
    (a reboot needs a running VM). The whole set acts on every running instance with pending
    maintenance, skipping (and naming) those protected from scale-set actions or busy; it is
    refused when no instance of the set has pending maintenance at all."""
    targets: list[Instance] = []
    skipped: list[tuple[int, str]] = []
    if is_whole_set(ids):
        live = [i for i in scale_set.instances if i.provisioning_state != "Deleting"]
        pending = [i for i in live if is_pending(i)]
        if live and not pending:
            raise not_eligible(name, live[0])
        for inst in pending:
            protection = inst.protection
            if protection is not None and protection.scale_set_actions:
                skipped.append((inst.id, SKIP_PROTECTED))
            elif inst.operation is not None:
                skipped.append((inst.id, f"operation '{inst.operation.name}' in progress"))
            elif inst.power_state != "running":
                skipped.append((inst.id, f"VM {inst.power_state}"))
            else:
                targets.append(inst)
        return targets, skipped
    for inst in resolve_instance_ids(scale_set, ids or []):
        if inst.operation is not None or inst.provisioning_state == "Deleting":
            running = inst.operation.name if inst.operation else "delete"
            raise _refused(name, inst, f"another operation ('{running}') is in progress on it")
        if not is_pending(inst):
            raise not_eligible(name, inst)
        if inst.power_state != "running":
            raise _refused(name, inst, f"the VM is {inst.power_state}")
        targets.append(inst)
    return targets, skipped


def perform_maintenance(
    state: State,
    rg: str,
    name: str,
    ids: list[str] | None,
    now: datetime,
    *,
    command: str = "",
) -> Outcome:
    """Start the customer-initiated maintenance of the chosen instances: each reboots (not
    serving until it is running again) and its maintenance is then completed."""
    rg_key, key, scale_set = find_scale_set(state, rg, name)
    targets, skipped = choose(scale_set, key, ids)
    return start_on(
        state, rg_key, key, scale_set, "maintenance", MAINTENANCE_OPERATION,
        targets, skipped, ids, now, command=command,
    )  # fmt: skip


# --- Spot eviction -------------------------------------------------------------------------------


def priority(scale_set: ScaleSet) -> str:
    """The model's VM priority (`Regular`, `Low` or `Spot`); Regular while the model has no
    priority field."""
    return getattr(scale_set.model, "priority", None) or "Regular"


def eviction_policy(scale_set: ScaleSet) -> str:
    """What evicting a Spot instance does: `Deallocate` (Azure's default) or `Delete`."""
    return getattr(scale_set.model, "eviction_policy", None) or "Deallocate"


def not_spot(name: str, inst: Instance) -> ServiceError:
    """The refusal of an eviction for a VM that is not a Spot VM (HTTP 409)."""
    return ServiceError(
        "OperationNotAllowed",
        f"Operation 'simulateEviction' is not allowed on VM '{vm_name(name, inst)}' since the "
        "VM is not a Spot VM.",
        status=409,
    )


def simulate_eviction(
    state: State,
    rg: str,
    name: str,
    instance_id: str,
    now: datetime,
    *,
    command: str = "",
) -> str:
    """Evict a Spot instance as Azure would when it needs the capacity back: it is
    deallocated (or deleted, by the eviction policy). A Regular instance is refused. Returns
    the correlation id of the operation started ('' for none)."""
    rg_key, key, scale_set = find_scale_set(state, rg, name)
    inst = find_instance(scale_set, key, rg_key, instance_id)
    if priority(scale_set) not in ("Spot", "Low"):
        raise not_spot(key, inst)
    evicted = "delete" if eviction_policy(scale_set) == "Delete" else "deallocate"
    busy = inst.operation is not None or inst.provisioning_state == "Deleting"
    done = evicted == "deallocate" and inst.power_state == "deallocated"
    return operations.launch(
        state,
        name=evicted,
        azure_operation=EVICTION_OPERATION,
        resource_id=vm_id(state.subscription_id, rg_key, key, inst.id),
        targets=[] if busy or done else [inst],
        now=now,
        command=command,
        requested=[str(inst.id)],
    )


# --- the sizes a scale set can be resized to -----------------------------------------------------


@dataclass(frozen=True)
class Size:
    """A VM size of the catalogue and what it supports."""

    name: str
    premium_storage: bool = True
    generations: tuple[str, ...] = ("V1", "V2")

    @property
    def tier(self) -> str:
        return "Basic" if self.name.lower().startswith("basic") else "Standard"


def _family(names: str, **supports) -> tuple[Size, ...]:
    return tuple(Size(name, **supports) for name in names.split())


# Real Azure sizes of the families the twin's defaults and demo fleet use (D2s_v5, F4s_v2,
# B2s, DS1_v2, D2s_v3) and their neighbours, with the two facts that decide whether a scale set
# can move to them: premium storage ("s" sizes; Dv5 and Av2 have none) and the VM
# generations they boot (Av2 only generation 1).
CATALOGUE: tuple[Size, ...] = (
    *_family("Standard_B1s Standard_B1ms Standard_B2s Standard_B2ms Standard_B4ms Standard_B8ms"),
    *_family("Standard_D2s_v5 Standard_D4s_v5 Standard_D8s_v5 Standard_D16s_v5"),
    *_family("Standard_D2_v5 Standard_D4_v5 Standard_D8_v5", premium_storage=False),
    *_family("Standard_D2s_v3 Standard_D4s_v3 Standard_D8s_v3"),
    *_family("Standard_DS1_v2 Standard_DS2_v2 Standard_DS3_v2 Standard_DS4_v2"),
    *_family("Standard_F2s_v2 Standard_F4s_v2 Standard_F8s_v2 Standard_F16s_v2"),
    *_family("Standard_E2s_v5 Standard_E4s_v5 Standard_E8s_v5"),
    *_family(
        "Standard_A1_v2 Standard_A2_v2 Standard_A4_v2", premium_storage=False, generations=("V1",)
    ),
)
# Instances a scale set may have: 100 in a single placement group, 1000 otherwise.
MAX_SINGLE_PLACEMENT_GROUP = 100
MAX_CAPACITY = 1000


def hyper_v_generation(scale_set: ScaleSet) -> str:
    """The VM generation the model's image boots (as the instance view reports it)."""
    return "V2" if scale_set.model.image.sku.lower().endswith(("gen2", "-g2")) else "V1"


def needs_premium_storage(scale_set: ScaleSet) -> bool:
    return scale_set.model.storage_account_type.lower().startswith("premium")


def resizable_sizes(scale_set: ScaleSet) -> list[Size]:
    """The sizes the set can be resized to, in catalogue order; the set's own size always
    (first, when the catalogue does not know it)."""
    generation = hyper_v_generation(scale_set)
    premium = needs_premium_storage(scale_set)
    current = scale_set.vm_sku.lower()
    chosen = [
        size
        for size in CATALOGUE
        if size.name.lower() == current
        or (generation in size.generations and (size.premium_storage or not premium))
    ]
    if not any(size.name.lower() == current for size in chosen):
        chosen.insert(0, Size(scale_set.vm_sku))
    return chosen


def maximum_capacity(scale_set: ScaleSet) -> int:
    return MAX_SINGLE_PLACEMENT_GROUP if scale_set.single_placement_group else MAX_CAPACITY
