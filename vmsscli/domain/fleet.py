"""Finding, creating and deleting scale sets, and placing new instances."""

from __future__ import annotations

from datetime import datetime

from vmsscli.domain import activity
from vmsscli.errors import (
    CLIError,
    ServiceError,
    invalid_instance_id,
    resource_group_not_found,
    resource_not_found,
)
from vmsscli.model import (
    Extension,
    ImageReference,
    Instance,
    ResourceGroup,
    ScaleSet,
    State,
)
from vmsscli.resource_ids import VMSS_TYPE, vmss_id

# az's image aliases (a subset of `az vm image list`), to URNs.
IMAGE_ALIASES = {
    "Ubuntu2204": "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest",
    "Ubuntu2404": "Canonical:ubuntu-24_04-lts:server:latest",
    "Debian11": "Debian:debian-11:11-backports-gen2:latest",
    "Debian12": "Debian:debian-12:12-gen2:latest",
    "RHELRaw8LVMGen2": "RedHat:RHEL:8-lvm-gen2:latest",
    "Win2022Datacenter": "MicrosoftWindowsServer:WindowsServer:2022-datacenter-g2:latest",
    "Win2019Datacenter": "MicrosoftWindowsServer:WindowsServer:2019-datacenter-gensecond:latest",
}
# What "latest" resolves to in this simulation, per image SKU.
LATEST_EXACT_VERSIONS = {
    "22_04-lts-gen2": "22.04.202410020",
    "server": "24.04.202410010",
    "11-backports-gen2": "0.20241004.1890",
    "12-gen2": "0.20241004.1890",
    "8-lvm-gen2": "8.10.2024090612",
    "2022-datacenter-g2": "20348.2762.241006",
    "2019-datacenter-gensecond": "17763.6414.241004",
}


def app_health_extension(os_type: str, port: int = 80, path: str = "/health") -> Extension:
    """The Application Health extension as az and the portal add it."""
    return Extension(
        name="HealthExtension",
        publisher="Microsoft.ManagedServices",
        type="ApplicationHealthWindows" if os_type == "Windows" else "ApplicationHealthLinux",
        type_handler_version="1.0",
        settings={"protocol": "http", "port": port, "requestPath": path},
    )


def parse_image(image: str) -> tuple[ImageReference, str]:
    """An az `--image` value (alias or URN) to an image reference and its OS type."""
    urn = IMAGE_ALIASES.get(image)
    if urn is None:
        for alias, value in IMAGE_ALIASES.items():
            if alias.lower() == image.lower():
                urn = value
                break
    if urn is None:
        urn = image
    parts = urn.split(":")
    if len(parts) != 4 or not all(parts):
        raise CLIError(
            f'Invalid image "{image}". Use a valid image URN, custom image name, custom image '
            f"id, VHD blob URI, or pick an image from {sorted(IMAGE_ALIASES)}.\n"
            "See vm create -h for more information on specifying an image."
        )
    publisher, offer, sku, version = parts
    exact = LATEST_EXACT_VERSIONS.get(sku, "1.0.0") if version == "latest" else version
    os_type = "Windows" if publisher.lower().startswith("microsoftwindows") else "Linux"
    return ImageReference(
        publisher=publisher, offer=offer, sku=sku, version=version, exact_version=exact
    ), os_type


# --- lookups ---------------------------------------------------------------------------------


def find_key(mapping: dict, name: str) -> str | None:
    """Azure resource names are case-insensitive; the stored casing is kept."""
    if name in mapping:
        return name
    folded = name.casefold()
    return next((key for key in mapping if key.casefold() == folded), None)


def find_group(state: State, rg: str) -> tuple[str, ResourceGroup]:
    key = find_key(state.resource_groups, rg)
    if key is None:
        raise resource_group_not_found(rg)
    return key, state.resource_groups[key]


def find_scale_set(state: State, rg: str, name: str) -> tuple[str, str, ScaleSet]:
    """(resource group name, scale set name, scale set) with their stored casing."""
    rg_key, group = find_group(state, rg)
    key = find_key(group.scale_sets, name)
    if key is None:
        raise resource_not_found(VMSS_TYPE, name, rg)
    return rg_key, key, group.scale_sets[key]


def find_instance(scale_set: ScaleSet, vmss_name: str, rg: str, instance_id: str) -> Instance:
    """One instance for a GET: a missing or malformed id is a 404, as ARM answers a GET."""
    inst = scale_set.instance(int(instance_id)) if instance_id.isdigit() else None
    if inst is None:
        raise resource_not_found(f"{VMSS_TYPE}/{vmss_name}/virtualMachines", instance_id, rg)
    return inst


def resolve_instance_ids(scale_set: ScaleSet, ids: list[str]) -> list[Instance]:
    """Instances named in an action's `instanceIds`; every id is checked before any is used."""
    chosen: list[Instance] = []
    for raw in ids:
        text = raw.strip()
        inst = scale_set.instance(int(text)) if text.isdigit() else None
        if inst is None:
            raise invalid_instance_id(text or raw)
        if inst not in chosen:
            chosen.append(inst)
    return chosen


# --- placement -------------------------------------------------------------------------------


def place_instance(scale_set: ScaleSet, instance_id: int) -> tuple[str, int]:
    """Zone and fault domain for a new instance: the emptiest zone, then the emptiest fault
    domain in it (lowest number on ties), as Azure balances a Uniform scale set."""
    zone = ""
    if scale_set.zones:
        counts = {z: 0 for z in scale_set.zones}
        for inst in scale_set.instances:
            counts[inst.zone] = counts.get(inst.zone, 0) + 1
        zone = min(scale_set.zones, key=lambda z: (counts[z], scale_set.zones.index(z)))
    domains = [0] * scale_set.fault_domain_count
    for inst in scale_set.instances:
        if inst.zone == zone and inst.fault_domain is not None:
            domains[inst.fault_domain % scale_set.fault_domain_count] += 1
    fault_domain = min(range(len(domains)), key=lambda d: (domains[d], d))
    return zone, fault_domain


def add_instances(scale_set: ScaleSet, count: int, now: datetime) -> list[Instance]:
    """New instances on the current model, with new ids that are never reused."""
    added = []
    for _ in range(count):
        instance_id = scale_set.next_instance_id or 0
        zone, fault_domain = place_instance(scale_set, instance_id)
        inst = Instance(
            id=instance_id,
            zone=zone,
            fault_domain=fault_domain,
            update_domain=instance_id % 5,
            model_version=scale_set.model.version,
            created=now,
            updated=now,
            booted=now,
        )
        scale_set.instances.append(inst)
        scale_set.next_instance_id = instance_id + 1
        added.append(inst)
    return added


# --- create and delete -----------------------------------------------------------------------


def delete_scale_set(
    state: State, rg: str, name: str, now: datetime, *, command: str = ""
) -> tuple[str, str, ScaleSet]:
    rg_key, key, scale_set = find_scale_set(state, rg, name)
    del state.resource_groups[rg_key].scale_sets[key]
    activity.completed(
        state,
        now=now,
        operation=f"{VMSS_TYPE}/delete",
        resource_id=vmss_id(state.subscription_id, rg_key, key),
        instance_ids=[str(i.id) for i in scale_set.instances],
        command=command,
    )
    return rg_key, key, scale_set


# --- resource groups ---------------------------------------------------------------------------

GROUP_TYPE = "Microsoft.Resources/resourceGroups"


def create_group(
    state: State,
    name: str,
    location: str,
    tags: dict[str, str] | None,
    now: datetime,
    *,
    command: str = "",
) -> tuple[str, ResourceGroup, bool]:
    """Create a resource group, or update the tags of an existing one (its location cannot
    change): (stored name, group, whether it was created)."""
    key = find_key(state.resource_groups, name)
    if key is not None:
        group = state.resource_groups[key]
        if location and location.replace(" ", "").lower() != group.location.lower():
            raise ServiceError(
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{location}'. The Resource group already "
                f"exists in location '{group.location}'.",
                status=409,
            )
        if tags is not None:
            group.tags = dict(tags)
        created = False
    else:
        if not location:
            raise ServiceError(
                "LocationRequired",
                "The location property is required for this definition.",
                target="location",
            )
        key = name
        group = ResourceGroup(location=location.replace(" ", "").lower(), tags=dict(tags or {}))
        state.resource_groups[key] = group
        created = True
    activity.completed(
        state,
        now=now,
        operation="Microsoft.Resources/subscriptions/resourceGroups/write",
        resource_id=f"/subscriptions/{state.subscription_id}/resourceGroups/{key}",
        command=command,
    )
    return key, group, created


def delete_group(state: State, name: str, now: datetime, *, command: str = "") -> str:
    """Delete a resource group and every scale set in it; the correlation id of the event."""
    key, group = find_group(state, name)
    removed = list(group.scale_sets)
    del state.resource_groups[key]
    entry = activity.completed(
        state,
        now=now,
        operation="Microsoft.Resources/subscriptions/resourceGroups/delete",
        resource_id=f"/subscriptions/{state.subscription_id}/resourceGroups/{key}",
        command=command,
        detail=f"deleted with it: {', '.join(removed)}" if removed else "",
    )
    return entry.correlation_id
