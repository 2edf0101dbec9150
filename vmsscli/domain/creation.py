"""Creating a scale set: what a new one is made from (from az's flags or a PUT body) and
building it. Kept apart from `fleet` (finding and placing), which every command imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vmsscli.domain import activity
from vmsscli.domain.fleet import add_instances, app_health_extension, find_key, parse_image
from vmsscli.errors import CLIError, ServiceError
from vmsscli.model import (
    Extension,
    ResourceGroup,
    RollingPolicy,
    ScaleSet,
    State,
    UpgradePolicy,
    VmModel,
)
from vmsscli.resource_ids import VMSS_TYPE, sha1, vmss_id

ROLLING_WITHOUT_HEALTH = (
    "Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a health "
    "probe or health extension was not provided."
)


@dataclass
class CreateSpec:
    instance_count: int = 2
    zones: list[str] = field(default_factory=list)
    upgrade_policy_mode: str = "Manual"
    orchestration_mode: str = "Uniform"
    vm_sku: str = "Standard_DS1_v2"
    image: str = "Ubuntu2204"
    location: str = ""
    admin_username: str = "azureuser"
    computer_name_prefix: str = ""
    health_probe: str = ""
    app_health_extension: bool = False
    app_health_port: int = 80
    app_health_path: str = "/health"
    platform_fault_domain_count: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    os_disk_size_gb: int | None = None
    storage_sku: str = ""
    # Extensions of the model as given (a PUT through the endpoint), besides the health one.
    extensions: list[Extension] = field(default_factory=list)
    overprovision: bool | None = None
    single_placement_group: bool | None = None
    scale_in_policy: list[str] = field(default_factory=list)
    force_deletion: bool = False
    # `automaticRepairsPolicy` as printed or sent (checked once the model is known).
    automatic_repairs: dict[str, Any] | None = None


def default_computer_name_prefix(rg: str, name: str) -> str:
    """az derives a short prefix from the name plus a hash, e.g. `vmssb6649`."""
    letters = "".join(ch for ch in name.lower() if ch.isalnum())[:4] or "vmss"
    digest = sha1(f"{rg}/{name}".lower().encode()).hex()[:5]
    return letters + digest


def create_scale_set(
    state: State, rg: str, name: str, spec: CreateSpec, now: datetime, *, command: str = ""
) -> tuple[str, str, ScaleSet]:
    """A new scale set with `instance_count` instances; the resource group is created on
    demand (in the scale set's location)."""
    if spec.instance_count < 0:
        raise CLIError("usage error: --instance-count must be a non-negative number")
    mode = spec.upgrade_policy_mode
    image, os_type = parse_image(spec.image)
    extensions = list(spec.extensions)
    if spec.app_health_extension:
        extensions.append(app_health_extension(os_type, spec.app_health_port, spec.app_health_path))
    model = VmModel(
        image=image,
        os_type=os_type,
        admin_username=spec.admin_username,
        computer_name_prefix=spec.computer_name_prefix or default_computer_name_prefix(rg, name),
        health_probe=spec.health_probe,
        extensions=extensions,
    )
    if spec.os_disk_size_gb:
        model.os_disk_size_gb = spec.os_disk_size_gb
    if spec.storage_sku:
        model.storage_account_type = spec.storage_sku
    if mode == "Rolling" and not model.has_health_monitoring:
        raise ServiceError("BadRequest", ROLLING_WITHOUT_HEALTH)
    rg_key = find_key(state.resource_groups, rg)
    if rg_key is not None:
        group = state.resource_groups[rg_key]
        if find_key(group.scale_sets, name) is not None:
            raise CLIError(
                f"A virtual machine scale set named '{name}' already exists in resource group "
                f"'{rg_key}'. Use 'vmss update' to change it, or choose another name."
            )
    location = spec.location or (state.resource_groups[rg_key].location if rg_key else "")
    if rg_key is None:
        rg_key = rg
        group = ResourceGroup(location=location or "westeurope")
        state.resource_groups[rg_key] = group
    large = spec.instance_count > 100
    scale_set = ScaleSet(
        location=location or group.location,
        created=now,
        vm_sku=spec.vm_sku,
        zones=spec.zones,
        orchestration_mode=spec.orchestration_mode,  # type: ignore[arg-type]
        fault_domain_count=spec.platform_fault_domain_count
        or (1 if spec.orchestration_mode == "Flexible" else 5),
        overprovision=spec.orchestration_mode == "Uniform"
        if spec.overprovision is None
        else spec.overprovision,
        single_placement_group=not (large or spec.zones)
        if spec.single_placement_group is None
        else spec.single_placement_group,
        scale_in_policy=list(spec.scale_in_policy),  # type: ignore[arg-type]
        upgrade_policy=UpgradePolicy(
            mode=mode,  # type: ignore[arg-type]
            rolling=RollingPolicy() if mode == "Rolling" else None,
        ),
        model=model,
        tags=spec.tags,
        next_instance_id=0,
    )
    scale_set.force_deletion = spec.force_deletion
    if spec.automatic_repairs is not None:
        from vmsscli.domain.model_update import repairs_policy

        scale_set.automatic_repairs = repairs_policy(spec.automatic_repairs, scale_set)
    add_instances(scale_set, spec.instance_count, now)
    group.scale_sets[name] = scale_set
    activity.completed(
        state,
        now=now,
        operation=f"{VMSS_TYPE}/write",
        resource_id=vmss_id(state.subscription_id, rg_key, name),
        instance_ids=[str(i.id) for i in scale_set.instances],
        command=command,
        detail=f"create: {len(scale_set.instances)} instance(s)",
    )
    return rg_key, name, scale_set


def spec_from_document(doc: dict[str, Any], location: str) -> CreateSpec:
    """What a create-or-update body (flattened) asks for a new scale set, checked as Azure
    checks it: a bad type or value is an InvalidParameter naming the property."""
    from vmsscli.domain.model_update import extension_from_printed

    def pick(path: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value: Any = doc
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        if value is None:
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _invalid_property(path, value)
        return value

    def one_of(path: str, allowed: tuple[str, ...], default: str) -> str:
        value = pick(path, str, default)
        for option in allowed:
            if option.lower() == value.lower():
                return option
        raise _invalid_property(path, value)

    image = pick("virtualMachineProfile.storageProfile.imageReference", dict, {})
    urn = ":".join(
        str(image.get(key) or default)
        for key, default in (
            ("publisher", "Canonical"),
            ("offer", "0001-com-ubuntu-server-jammy"),
            ("sku", "22_04-lts-gen2"),
            ("version", "latest"),
        )
    )
    extensions = [
        extension_from_printed(item)
        for item in pick("virtualMachineProfile.extensionProfile.extensions", list, [])
    ]
    probe = pick("virtualMachineProfile.networkProfile.healthProbe.id", str, "")
    capacity = pick("sku.capacity", int, 2)
    zones = pick("zones", list, [])
    if not all(isinstance(zone, str) for zone in zones):
        raise _invalid_property("zones", zones)
    tags = pick("tags", dict, {})
    rules = pick("scaleInPolicy.rules", list, [])
    if not set(rules) <= {"Default", "OldestVM", "NewestVM"}:
        raise _invalid_property("scaleInPolicy.rules", rules)
    repairs = pick("automaticRepairsPolicy", dict, None)
    return CreateSpec(
        instance_count=capacity,
        zones=list(zones),
        upgrade_policy_mode=one_of(
            "upgradePolicy.mode", ("Automatic", "Manual", "Rolling"), "Manual"
        ),
        orchestration_mode=one_of("orchestrationMode", ("Uniform", "Flexible"), "Uniform"),
        vm_sku=pick("sku.name", str, "Standard_D2s_v5"),
        image=urn,
        location=pick("location", str, "") or location,
        admin_username=pick("virtualMachineProfile.osProfile.adminUsername", str, "azureuser"),
        computer_name_prefix=pick("virtualMachineProfile.osProfile.computerNamePrefix", str, ""),
        health_probe=probe.rstrip("/").split("/")[-1] if probe else "",
        platform_fault_domain_count=pick("platformFaultDomainCount", int, None),
        tags={str(k): str(v) for k, v in tags.items()},
        os_disk_size_gb=pick("virtualMachineProfile.storageProfile.osDisk.diskSizeGB", int, None),
        storage_sku=pick(
            "virtualMachineProfile.storageProfile.osDisk.managedDisk.storageAccountType", str, ""
        ),
        extensions=extensions,
        overprovision=pick("overprovision", bool, None),
        single_placement_group=pick("singlePlacementGroup", bool, None),
        scale_in_policy=list(rules),
        force_deletion=pick("scaleInPolicy.forceDeletion", bool, False),
        automatic_repairs=repairs,
    )


def _invalid_property(path: str, value: Any) -> ServiceError:
    return ServiceError(
        "InvalidParameter",
        f"The value {value!r} of parameter '{path}' is not valid.",
        target=path,
    )
