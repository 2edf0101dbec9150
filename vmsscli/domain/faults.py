"""Fault injection: put an instance (or a model version) into a failure Azure would show, the
way a chaos tool would, and take it out again.

Each kind is stored as the fact Azure's views are rendered from (an unhealthy application, a
failed extension status, an agent that is not ready, a `Fault` record, a failing image), so the
fault shows up wherever Azure shows it and is repaired by the action that repairs it in Azure
(see `vmsscli.domain.operations`). `fault clear` is the trainer's hand, not an operator action:
it is not written to the activity log.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import datetime

from vmsscli.errors import CLIError
from vmsscli.model import (
    ExtensionState,
    FailingImage,
    Fault,
    Instance,
    ScaleSet,
)


@dataclass(frozen=True)
class Kind:
    summary: str
    repaired_by: str
    external: bool = False


KINDS: dict[str, Kind] = {
    "app-unhealthy": Kind(
        "The application answers its health probe with a failure.",
        "restart, start or reimage (the application starts afresh)",
    ),
    "extension-failed": Kind(
        "A named extension reports a failed status with a message.",
        "reimage (extensions run again on a fresh OS disk)",
    ),
    "stale-process": Kind(
        "The application process hangs: its health check times out, its log says why.",
        "restart, start or reimage",
    ),
    "disk-full": Kind(
        "The OS disk is full: the application fails, `df` shows 100%.",
        "reimage (a fresh OS disk)",
    ),
    "vm-agent-not-ready": Kind(
        "The VM agent stops reporting: health unknown, run-command cannot run.",
        "restart, start or reimage",
    ),
    "network-blocked": Kind(
        "A named host cannot be reached from the instance (a route or firewall outside the "
        "guest); extensions that download fail when they next run.",
        "`vmss fault clear` (it is outside the VM), then reimage to re-run the extensions",
        external=True,
    ),
    "bad-model": Kind(
        "An image version fails its health check on the instances that run it.",
        "moving the instances to another image version (update the model, then "
        "update-instances or reimage)",
    ),
    "stuck-provisioning": Kind(
        "The instance stays in provisioning state Updating and takes no traffic.",
        "reimage or delete-instances",
    ),
    "maintenance-pending": Kind(
        "Azure announces platform maintenance for the instance: its instance view's "
        "maintenanceRedeployStatus allows customer-initiated maintenance.",
        "perform-maintenance (the instance reboots)",
        external=True,
    ),
}
ALIASES = {"extension-failure": "extension-failed", "agent-not-ready": "vm-agent-not-ready"}


def kind_name(text: str) -> str:
    key = text.strip().lower()
    key = ALIASES.get(key, key)
    if key not in KINDS:
        raise CLIError(
            f"Unknown fault kind '{text}'. Allowed values: {', '.join(KINDS)}.",
        )
    return key


# --- choosing the targets ------------------------------------------------------------------------


def select(
    scale_set: ScaleSet,
    ids: list[str] | None,
    *,
    zone: str | None = None,
    percent: int | None = None,
    count: int | None = None,
    seed: int | None = None,
) -> list[Instance]:
    """The instances a fault goes to, as a chaos tool picks them: the named ids (or all), in
    one zone, then a random sample of a percentage or a count (reproducible with a seed)."""
    from vmsscli.domain.actions import is_whole_set
    from vmsscli.domain.fleet import resolve_instance_ids

    if percent is not None and count is not None:
        raise CLIError("usage error: --percent and --count cannot be used together")
    if is_whole_set(ids):
        chosen = [i for i in scale_set.instances if i.provisioning_state != "Deleting"]
    else:
        chosen = resolve_instance_ids(scale_set, ids or [])
    if zone is not None:
        if zone not in scale_set.zones:
            zones = ", ".join(scale_set.zones) or "none (the scale set is not zonal)"
            raise CLIError(f"Zone '{zone}' is not one of the scale set's zones: {zones}.")
        chosen = [i for i in chosen if i.zone == zone]
    wanted = len(chosen)
    if percent is not None:
        if not 1 <= percent <= 100:
            raise CLIError("--percent must be between 1 and 100.")
        wanted = math.ceil(len(chosen) * percent / 100)
    if count is not None:
        if count < 1:
            raise CLIError("--count must be at least 1.")
        if count > len(chosen):
            raise CLIError(
                f"--count {count} is more than the {len(chosen)} instance(s) to choose from."
            )
        wanted = count
    if not chosen:
        raise CLIError("No instance matches the selection.")
    if wanted < len(chosen):
        chosen = random.Random(seed).sample(sorted(chosen, key=lambda i: i.id), wanted)
    return sorted(chosen, key=lambda i: i.id)


# --- injecting -----------------------------------------------------------------------------------


@dataclass
class Spec:
    """What to inject, with the details some kinds need."""

    kind: str
    extension: str = ""
    host: str = ""
    image_version: str = ""
    message: str = ""


def _extension_name(scale_set: ScaleSet, wanted: str) -> str:
    names = [ext.name for ext in scale_set.model.extensions]
    if wanted:
        for name in names:
            if name.lower() == wanted.lower():
                return name
        raise CLIError(
            f"Extension '{wanted}' is not in the scale set model. Extensions: "
            f"{', '.join(names) or 'none'}."
        )
    if len(names) == 1:
        return names[0]
    raise CLIError(
        "usage error: --extension is required for extension-failed when the model has "
        f"{'no' if not names else 'several'} extensions ({', '.join(names) or 'none'})"
    )


def check(scale_set: ScaleSet, spec: Spec) -> Spec:
    """The spec completed and checked against the scale set, before anything changes."""
    if spec.kind == "extension-failed":
        spec.extension = _extension_name(scale_set, spec.extension)
    elif spec.kind == "network-blocked" and not spec.host:
        raise CLIError("usage error: --host is required for network-blocked")
    elif spec.kind == "bad-model":
        spec.image_version = spec.image_version or scale_set.model.image.version
    return spec


def inject(
    scale_set: ScaleSet,
    targets: list[Instance],
    spec: Spec,
    *,
    zone: str | None = None,
    chosen_ids: bool = True,
    now: datetime | None = None,
) -> None:
    """Apply the fault. A failing image applies to the chosen instances when they were chosen
    by id or at random, else to a whole zone (or the whole set), new instances included.
    Pending maintenance is announced at `now` (its self-service window opens then)."""
    from vmsscli.domain.operations import check_image_health

    for inst in targets:
        if spec.kind == "app-unhealthy":
            inst.health = "unhealthy"
        elif spec.kind == "extension-failed":
            inst.extensions[spec.extension] = ExtensionState(
                status="failed",
                message=spec.message
                or f"Enable failed: the extension exited with code 1 on {inst.id}.",
            )
        elif spec.kind == "vm-agent-not-ready":
            inst.vm_agent = "not_ready"
        elif spec.kind == "maintenance-pending":
            from vmsscli.domain.maintenance import announce
            from vmsscli.model import DEFAULT_CREATED

            announce(inst, now or DEFAULT_CREATED)
        elif spec.kind in ("stale-process", "disk-full", "network-blocked", "stuck-provisioning"):
            same = [f for f in inst.faults if f.kind == spec.kind and f.host == spec.host]
            for fault in same:
                inst.faults.remove(fault)
            inst.faults.append(Fault(kind=spec.kind, host=spec.host, message=spec.message))
            if spec.kind == "stuck-provisioning" and inst.operation is None:
                inst.provisioning_state = "Updating"
    if spec.kind == "bad-model":
        scale_set.failing_images.append(
            FailingImage(
                version=spec.image_version,
                zones=[zone] if zone else [],
                instance_ids=[i.id for i in targets] if chosen_ids else [],
                message=spec.message,
            )
        )
        for inst in targets:
            check_image_health(scale_set, inst)


# --- clearing ------------------------------------------------------------------------------------


def clear(
    scale_set: ScaleSet,
    targets: list[Instance],
    kind: str | None,
    *,
    host: str = "",
    extension: str = "",
    image_version: str = "",
    zone: str | None = None,
    whole: bool = True,
) -> list[tuple[int | None, str]]:
    """Take faults away (all kinds, or one) without any operation; returns (instance id,
    kind) per fault removed (instance id None for a failing image on the model). A failing
    image is narrowed to what the selection leaves: a whole-set one goes only with a whole-set
    selection, a zone's with that zone, chosen instances' with those instances."""
    from vmsscli.domain.operations import check_image_health

    removed: list[tuple[int | None, str]] = []
    target_ids = {i.id for i in targets}
    if kind in (None, "bad-model"):
        keep = []
        for failing in scale_set.failing_images:
            if image_version not in ("", failing.version):
                keep.append(failing)
                continue
            if failing.instance_ids:
                rest = [i for i in failing.instance_ids if i not in target_ids]
            elif failing.zones and zone:
                rest = [z for z in failing.zones if z != zone]
            else:
                rest = [] if whole else ["kept"]
            if rest == list(failing.instance_ids or failing.zones or ["kept"]):
                keep.append(failing)
                continue
            removed.append((None, "bad-model"))
            if rest and rest != ["kept"]:
                field = "instance_ids" if failing.instance_ids else "zones"
                keep.append(replace(failing, **{field: rest}))
        scale_set.failing_images = keep
    for inst in targets:
        for found in faults_of(scale_set, inst):
            if kind is not None and found.kind != kind:
                continue
            if host and found.kind == "network-blocked" and found.detail != host:
                continue
            if extension and found.kind == "extension-failed" and found.detail != extension:
                continue
            _remove(inst, found)
            removed.append((inst.id, found.kind))
        check_image_health(scale_set, inst)
    return removed


def _remove(inst: Instance, found: FoundFault) -> None:
    if found.kind == "app-unhealthy":
        inst.health = "healthy"
    elif found.kind == "extension-failed":
        inst.extensions.pop(found.detail, None)
    elif found.kind == "vm-agent-not-ready":
        inst.vm_agent = "ready"
    elif found.kind == "maintenance-pending":
        inst.maintenance = None
    elif found.kind == "bad-model":
        pass  # follows the model's failing images (check_image_health)
    else:
        inst.faults = [
            f for f in inst.faults if not (f.kind == found.kind and (f.host or "") == found.host)
        ]
        if (
            found.kind == "stuck-provisioning"
            and inst.operation is None
            and inst.provisioning_state == "Updating"
        ):
            inst.provisioning_state = "Succeeded"


# --- listing -------------------------------------------------------------------------------------


@dataclass
class FoundFault:
    kind: str
    detail: str = ""
    message: str = ""
    host: str = ""

    @property
    def repaired_by(self) -> str:
        return KINDS[self.kind].repaired_by

    @property
    def external(self) -> bool:
        return KINDS[self.kind].external


def faults_of(scale_set: ScaleSet, inst: Instance) -> list[FoundFault]:
    """Every fault an instance has, whether injected or written in the state by hand."""
    from vmsscli.domain.health import failed_extensions

    found: list[FoundFault] = []
    if inst.health == "unhealthy":
        found.append(FoundFault("app-unhealthy"))
    for name in failed_extensions(scale_set, inst):
        found.append(FoundFault("extension-failed", name, inst.extensions[name].message))
    if inst.vm_agent != "ready":
        found.append(FoundFault("vm-agent-not-ready"))
    if inst.maintenance is not None and inst.maintenance.pending:
        window = inst.maintenance.pre_window_end.strftime("%Y-%m-%dT%H:%M:%SZ")
        found.append(FoundFault("maintenance-pending", f"self-service window until {window}"))
    for fault in inst.faults:
        detail = fault.host if fault.kind == "network-blocked" else ""
        if fault.kind == "bad-model":
            detail = inst.image_version or scale_set.model.image.exact_version
        found.append(FoundFault(fault.kind, detail, fault.message, fault.host))
    return found


def model_faults(scale_set: ScaleSet) -> list[FailingImage]:
    return list(scale_set.failing_images)
