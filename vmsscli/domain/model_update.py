"""`vmss update` on a scale set: change the model and policies, then let the upgrade policy
decide what happens to the instances.

`--set/--add/--remove` edit the scale set as az prints it (generic_update); the edited object
is read back into the model, field by field. Every model change bumps the model version, so
instances built from an older one report `latestModelApplied: false`. Then, as Azure does:
Manual changes nothing on existing instances; Automatic upgrades every affected instance at once;
Rolling starts (or restarts) a rolling upgrade. An update with no change re-checks the instances
against the model, which is how a cancelled rolling upgrade is restarted.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from vmsscli.domain import activity, operations, rolling
from vmsscli.domain.fleet import LATEST_EXACT_VERSIONS, find_scale_set
from vmsscli.domain.generic_update import apply_add, apply_remove, apply_set
from vmsscli.domain.health import is_latest_model
from vmsscli.errors import CLIError, ServiceError
from vmsscli.model import AutomaticRepairs, Extension, RollingPolicy, ScaleSet, State
from vmsscli.resource_ids import vmss_id

ROLLING_FIELDS = {
    "enableCrossZoneUpgrade": "enable_cross_zone_upgrade",
    "maxBatchInstancePercent": "max_batch_instance_percent",
    "maxSurge": "max_surge",
    "maxUnhealthyInstancePercent": "max_unhealthy_instance_percent",
    "maxUnhealthyUpgradedInstancePercent": "max_unhealthy_upgraded_instance_percent",
    "pauseTimeBetweenBatches": "pause_time_between_batches",
    "prioritizeUnhealthyInstances": "prioritize_unhealthy_instances",
    "rollbackFailedInstancesOnPolicyBreach": "rollback_failed_instances_on_policy_breach",
}
# Paths of the printed scale set that vmsscli reads back into the model (prefixes).
MODELED = (
    "upgradePolicy.mode",
    "upgradePolicy.rollingUpgradePolicy",
    "virtualMachineProfile.storageProfile.imageReference",
    "virtualMachineProfile.storageProfile.osDisk.diskSizeGB",
    "virtualMachineProfile.storageProfile.osDisk.managedDisk.storageAccountType",
    "virtualMachineProfile.extensionProfile",
    "virtualMachineProfile.osProfile.adminUsername",
    "virtualMachineProfile.osProfile.computerNamePrefix",
    "virtualMachineProfile.networkProfile.healthProbe",
    "sku.name",
    "sku.capacity",
    "tags",
    "scaleInPolicy",
    "automaticRepairsPolicy",
)
REPAIR_ACTIONS = ("Replace", "Restart", "Reimage")
NO_HEALTH_FOR_REPAIRS = (
    "Automatic repairs not supported for this Virtual Machine Scale Set because a health probe "
    "or health extension was not provided."
)


@dataclass
class Edits:
    """What one `vmss update` asks for, besides the generic edits' order (set, add, remove)."""

    sets: list[str] = field(default_factory=list)
    adds: list[list[str]] = field(default_factory=list)
    removes: list[list[str]] = field(default_factory=list)
    force_string: bool = False
    mode: str | None = None
    rolling: dict[str, Any] = field(default_factory=dict)
    # What az's own flags set on the printed object before the generic edits, by top-level key
    # (`--scale-in-policy`: scaleInPolicy.rules, `--enable-automatic-repairs`: ...).
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Outcome:
    rg: str
    name: str
    scale_set: ScaleSet
    correlation_id: str = ""
    capacity: int | None = None


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{prefix}.{key}" if prefix else key))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value):
            out.update(_leaves(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def merged(current: Any, given: Any) -> Any:
    """`given` over `current`, object by object (lists and values are replaced whole)."""
    if not isinstance(current, dict) or not isinstance(given, dict):
        return copy.deepcopy(given)
    out = copy.deepcopy(current)
    for key, value in given.items():
        out[key] = merged(current.get(key), value) if key in current else copy.deepcopy(value)
    return out


def _dig(doc: dict[str, Any], *path: str) -> Any:
    current: Any = doc
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _invalid(path: str, value: Any) -> ServiceError:
    return ServiceError(
        "InvalidParameter", f"The value {value!r} of parameter '{path}' is not valid.", target=path
    )


def _read_back(scale_set: ScaleSet, before: dict[str, Any], doc: dict[str, Any]) -> int | None:
    """Apply the edited printed object to the model; returns a new capacity if one was set."""
    changed = {
        path for path, value in _leaves(doc).items() if _leaves(before).get(path, object()) != value
    }
    changed |= {path for path in _leaves(before) if path not in _leaves(doc)}
    unmodeled = sorted(
        p for p in changed if p.split(".")[0].split("[")[0] in before and not p.startswith(MODELED)
    )
    if unmodeled:
        raise CLIError(
            f"vmsscli does not simulate changes to {', '.join(unmodeled)}. It reads "
            f"back: {', '.join(MODELED)}."
        )
    model = scale_set.model
    mode = _dig(doc, "upgradePolicy", "mode")
    canonical = {m.lower(): m for m in ("Automatic", "Manual", "Rolling")}
    if not isinstance(mode, str) or mode.lower() not in canonical:
        raise _invalid("upgradePolicy.mode", mode)
    scale_set.upgrade_policy.mode = canonical[mode.lower()]  # type: ignore[assignment]
    policy = _dig(doc, "upgradePolicy", "rollingUpgradePolicy")
    if policy is not None:
        scale_set.upgrade_policy.rolling = _rolling_policy(policy)
    image = _dig(doc, "virtualMachineProfile", "storageProfile", "imageReference") or {}
    old_version = model.image.version
    for key in ("publisher", "offer", "sku", "version"):
        if key in image:
            setattr(model.image, key, str(image[key]))
    if model.image.version != old_version or "sku" in {p.split(".")[-1] for p in changed}:
        model.image.exact_version = (
            model.image.version
            if model.image.version != "latest"
            else LATEST_EXACT_VERSIONS.get(model.image.sku, model.image.exact_version)
        )
    size = _dig(doc, "virtualMachineProfile", "storageProfile", "osDisk", "diskSizeGB")
    if size is not None:
        if not isinstance(size, int) or size < 1:
            raise _invalid("virtualMachineProfile.storageProfile.osDisk.diskSizeGB", size)
        model.os_disk_size_gb = size
    disk = _dig(
        doc,
        "virtualMachineProfile",
        "storageProfile",
        "osDisk",
        "managedDisk",
        "storageAccountType",
    )
    if disk is not None:
        model.storage_account_type = str(disk)
    admin = _dig(doc, "virtualMachineProfile", "osProfile", "adminUsername")
    if admin is not None:
        model.admin_username = str(admin)
    prefix = _dig(doc, "virtualMachineProfile", "osProfile", "computerNamePrefix")
    if prefix is not None:
        model.computer_name_prefix = str(prefix)
    probe = _dig(doc, "virtualMachineProfile", "networkProfile", "healthProbe", "id")
    model.health_probe = str(probe).rstrip("/").split("/")[-1] if probe else ""
    extensions = _dig(doc, "virtualMachineProfile", "extensionProfile", "extensions")
    kept = {ext.name: ext for ext in model.extensions}
    model.extensions = [extension_from_printed(item, kept) for item in (extensions or [])]
    sku = _dig(doc, "sku", "name")
    if sku:
        scale_set.vm_sku = str(sku)
    tags = doc.get("tags") or {}
    scale_set.tags = {str(k): str(v) for k, v in tags.items()}
    rules = _dig(doc, "scaleInPolicy", "rules")
    if rules is not None:
        allowed = {"Default", "OldestVM", "NewestVM"}
        if not isinstance(rules, list) or not set(rules) <= allowed:
            raise _invalid("scaleInPolicy.rules", rules)
        scale_set.scale_in_policy = list(rules)
    force = _dig(doc, "scaleInPolicy", "forceDeletion")
    if force is not None:
        if not isinstance(force, bool):
            raise _invalid("scaleInPolicy.forceDeletion", force)
        scale_set.force_deletion = force
    repairs = doc.get("automaticRepairsPolicy")
    if repairs != before.get("automaticRepairsPolicy"):
        scale_set.automatic_repairs = repairs_policy(repairs, scale_set)
    capacity = _dig(doc, "sku", "capacity")
    if capacity != _dig(before, "sku", "capacity"):
        if not isinstance(capacity, int):
            raise _invalid("sku.capacity", capacity)
        return capacity
    return None


def grace_minutes(grace: Any) -> float | None:
    """A grace period's minutes, if it is an ISO 8601 time span (`PT30M`); None otherwise."""
    if not isinstance(grace, str) or not grace.upper().startswith("PT"):
        return None
    from vmsscli.durations import parse_duration

    try:
        return parse_duration(grace).total_seconds() / 60
    except ValueError:
        return None


def repairs_policy(raw: Any, scale_set: ScaleSet) -> AutomaticRepairs | None:
    """`automaticRepairsPolicy` as printed or sent, checked as Azure checks it: a grace period
    of 10 to 90 minutes (PT10M when none is given), a known action, and health monitoring for
    an enabled policy. The service's suspension is kept."""
    if raw is None:
        return None
    path = "automaticRepairsPolicy"
    if not isinstance(raw, dict) or not set(raw) <= {"enabled", "gracePeriod", "repairAction"}:
        raise _invalid(path, raw)
    enabled = raw.get("enabled", False)
    if isinstance(enabled, str) and enabled.lower() in ("true", "false"):
        enabled = enabled.lower() == "true"  # as ARM reads a template's "true"
    grace = raw.get("gracePeriod") or "PT10M"
    action = raw.get("repairAction") or "Replace"
    if not isinstance(enabled, bool):
        raise _invalid(f"{path}.enabled", enabled)
    canonical = {a.lower(): a for a in REPAIR_ACTIONS}
    if not isinstance(action, str) or action.lower() not in canonical:
        raise _invalid(f"{path}.repairAction", action)
    minutes = grace_minutes(grace)
    if minutes is None:
        raise _invalid(f"{path}.gracePeriod", grace)
    if not 10 <= minutes <= 90:
        raise ServiceError(
            "InvalidParameter",
            f"The value '{grace}' of parameter '{path}.gracePeriod' is out of range. The value "
            "must be between 'PT10M' and 'PT90M', inclusive.",
            target=f"{path}.gracePeriod",
        )
    if enabled and not scale_set.model.has_health_monitoring:
        raise ServiceError("BadRequest", NO_HEALTH_FOR_REPAIRS)
    current = scale_set.automatic_repairs
    return AutomaticRepairs(
        enabled=enabled,
        grace_period=grace.upper(),
        repair_action=canonical[action.lower()],  # type: ignore[arg-type]
        suspended=current.suspended if current is not None else False,
    )


def _rolling_policy(raw: Any) -> RollingPolicy:
    from pydantic_core import ValidationError

    from vmsscli.schema import validate

    if not isinstance(raw, dict):
        raise _invalid("upgradePolicy.rollingUpgradePolicy", raw)
    values = {}
    for key, value in raw.items():
        if key not in ROLLING_FIELDS:
            raise _invalid(f"upgradePolicy.rollingUpgradePolicy.{key}", value)
        values[ROLLING_FIELDS[key]] = value
    try:
        policy = validate(RollingPolicy, values)
        from vmsscli.durations import parse_duration

        parse_duration(policy.pause_time_between_batches)
    except (ValidationError, ValueError):
        raise _invalid("upgradePolicy.rollingUpgradePolicy", raw) from None
    return policy


def extension_from_printed(item: Any, kept: dict[str, Extension] | None = None) -> Extension:
    """An extension of the model as it is printed (`virtualMachineProfile.extensionProfile`),
    or as a PUT sends it (with `protectedSettings`, kept only as a digest). Protected settings
    a document leaves out are the ones the extension of that name had (Azure never returns
    them, so a client cannot send them back)."""
    path = "virtualMachineProfile.extensionProfile.extensions"
    if not isinstance(item, dict) or not all(
        isinstance(item.get(k), str) and item.get(k) for k in ("name", "publisher", "type")
    ):
        raise _invalid(path, item)
    settings = item.get("settings") or {}
    auto = item.get("autoUpgradeMinorVersion", True)
    enable = item.get("enableAutomaticUpgrade")
    after = item.get("provisionAfterExtensions") or []
    tag = item.get("forceUpdateTag") or ""
    if (
        not isinstance(settings, dict)
        or not isinstance(auto, bool)
        or not isinstance(enable, bool | None)
        or not isinstance(after, list)
        or not all(isinstance(name, str) for name in after)
        or not isinstance(tag, str)
    ):
        raise _invalid(path, item)
    protected = item.get("protectedSettings")
    previous = (kept or {}).get(item["name"])
    if protected is not None:
        import hashlib
        import json

        digest = hashlib.sha256(json.dumps(protected, sort_keys=True).encode()).hexdigest()
    else:
        digest = previous.protected_settings_digest if previous else ""
    return Extension(
        name=item["name"],
        publisher=item["publisher"],
        type=item["type"],
        type_handler_version=str(item.get("typeHandlerVersion", "1.0")),
        auto_upgrade_minor_version=auto,
        settings=dict(settings),
        protected_settings_digest=digest,
        enable_automatic_upgrade=enable,
        force_update_tag=tag,
        provision_after_extensions=list(after),
    )


def update(
    state: State,
    rg: str,
    name: str,
    edits: Edits,
    now: datetime,
    *,
    command: str = "",
    document: dict[str, Any] | None = None,
) -> Outcome:
    """Apply az's generic edits, or a whole printed `document` (what a PUT or PATCH sends,
    flattened: the keys it holds replace the current ones, the others are kept), then the
    upgrade policy's consequences."""
    from vmsscli.views import vmss_view

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    before = vmss_view(state.subscription_id, rg_key, key, scale_set)
    doc = merged(before, document) if document is not None else copy.deepcopy(before)
    for key, values in edits.properties.items():
        doc[key] = {**(doc.get(key) or {}), **values}
    for assignment in edits.sets:
        apply_set(doc, assignment, edits.force_string)
    for path, *values in edits.adds:
        apply_add(doc, path, values, edits.force_string)
    for path, *index in edits.removes:
        apply_remove(doc, path, index[0] if index else None)
    old_model = copy.deepcopy(scale_set.model)
    capacity = _read_back(scale_set, before, doc)
    if edits.mode is not None:
        scale_set.upgrade_policy.mode = edits.mode  # type: ignore[assignment]
    if edits.rolling:
        current = scale_set.upgrade_policy.rolling or RollingPolicy()
        scale_set.upgrade_policy.rolling = replace(current, **edits.rolling)
    if scale_set.upgrade_policy.mode == "Rolling":
        if not scale_set.model.has_health_monitoring:
            raise ServiceError("BadRequest", rolling.NO_HEALTH)
        if scale_set.upgrade_policy.rolling is None:
            scale_set.upgrade_policy.rolling = RollingPolicy()
    if replace(scale_set.model, version=1) != replace(old_model, version=1):
        for inst in scale_set.instances:
            if inst.model_version == old_model.version and not inst.image_version:
                inst.image_version = old_model.image.exact_version
        scale_set.model.version = old_model.version + 1
    outcome = Outcome(rg=rg_key, name=key, scale_set=scale_set, capacity=capacity)
    if capacity is not None and _without_capacity(
        vmss_view(state.subscription_id, rg_key, key, scale_set)
    ) == _without_capacity(before):
        # Only the capacity changes (az's `vmss scale` is a PUT of the scale set): the scale
        # operation that follows is the whole change, as `vmss scale` makes it.
        return outcome
    resource_id = vmss_id(state.subscription_id, rg_key, key)
    activity.completed(
        state,
        now=now,
        operation="Microsoft.Compute/virtualMachineScaleSets/write",
        resource_id=resource_id,
        command=command,
        detail=f"model version {scale_set.model.version}, image version "
        f"{scale_set.model.image.version}",
    )
    outcome.correlation_id = recheck(state, scale_set, resource_id, now, command=command)
    return outcome


def _without_capacity(view: dict[str, Any]) -> dict[str, Any]:
    return {**view, "sku": {k: v for k, v in view["sku"].items() if k != "capacity"}}


def recheck(
    state: State, scale_set: ScaleSet, resource_id: str, now: datetime, *, command: str = ""
) -> str:
    """Bring instances to the model as the upgrade policy says; the correlation id to wait on
    for Automatic ('' when nothing runs)."""
    behind = [
        i
        for i in scale_set.instances
        if not is_latest_model(scale_set, i) and i.provisioning_state != "Deleting"
    ]
    mode = scale_set.upgrade_policy.mode
    if not behind or mode == "Manual":
        return ""
    if mode == "Rolling":
        current = scale_set.rolling_upgrade
        if (
            current is None
            or current.status != "RollingForward"
            or current.target_version != scale_set.model.version
        ):
            rolling.start(state, scale_set, resource_id, now, command=command)
        return ""
    targets = [
        i
        for i in behind
        if i.operation is None and not (i.protection is not None and i.protection.scale_set_actions)
    ]
    skipped = [
        (i.id, "protectFromScaleSetActions")
        for i in behind
        if i.protection is not None and i.protection.scale_set_actions
    ]
    return operations.launch(
        state,
        name="upgrade",
        azure_operation="Microsoft.Compute/virtualMachineScaleSets/write",
        resource_id=resource_id,
        targets=targets,
        now=now,
        skipped=skipped,
        command=command,
    )
