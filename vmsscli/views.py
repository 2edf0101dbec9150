"""Azure-shaped views: the flattened camelCase objects `az vmss` prints, rendered from our facts.

Each function returns plain dicts with the keys az prints (no null values, `resourceGroup` next
to every resource-group-scoped `id`, as az's global transform adds it). Key order does not
matter: every output format sorts keys where az does.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from vmsscli.domain.health import effective_health, is_latest_model
from vmsscli.model import Extension, Instance, ScaleSet
from vmsscli.resource_ids import VMSS_TYPE, name_uuid, sha1, vmss_id

VM_TYPE = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
RUN_COMMAND_TYPE = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommands"
_ID_NAMESPACE = bytes.fromhex("0b9a3e524c0f4d578a8e1f3c5e7a9d21")
_SSH_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vmsscli+simulated+key+for+rehearsal+only "
    "generated-by-vmsscli"
)

POWER_DISPLAY = {
    "running": "VM running",
    "stopped": "VM stopped",
    "deallocated": "VM deallocated",
    "starting": "VM starting",
    "stopping": "VM stopping",
    "deallocating": "VM deallocating",
}
HEALTH_STATUS = {
    "healthy": ("HealthState/healthy", "Info", "The VM is healthy"),
    "unhealthy": ("HealthState/unhealthy", "Error", "The VM is unhealthy"),
    "unknown": ("HealthState/unknown", "Warning", "The VM health is unknown"),
}


@functools.lru_cache(maxsize=256)
def azure_time(moment: datetime) -> str:
    """Azure's timestamp form: seven fractional digits and an explicit +00:00 offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0+00:00"


def _network_id(subscription: str, rg: str, kind: str, *parts: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Network/"
        f"{kind}/" + "/".join(parts)
    )


def _ref(resource_id: str, rg: str) -> dict[str, str]:
    return {"id": resource_id, "resourceGroup": rg}


def unique_id(subscription: str, rg: str, name: str, scale_set: ScaleSet) -> str:
    seed = f"{subscription}/{rg.lower()}/{name.lower()}/{scale_set.created.isoformat()}"
    return name_uuid(_ID_NAMESPACE, seed)


def vm_id(subscription: str, rg: str, name: str, inst: Instance) -> str:
    assert inst.created is not None
    seed = f"{subscription}/{rg.lower()}/{name.lower()}/{inst.id}/{inst.created.isoformat()}"
    return name_uuid(_ID_NAMESPACE, seed)


def computer_name(scale_set: ScaleSet, name: str, instance_id: int) -> str:
    """Prefix plus the instance id in base 36, zero-padded to six characters."""
    digits = ""
    value = instance_id
    while True:
        value, rest = divmod(value, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rest] + digits
        if value == 0:
            break
    return (scale_set.model.computer_name_prefix or name[:9]) + digits.rjust(6, "0")


def _prefix(scale_set: ScaleSet, name: str) -> str:
    return scale_set.model.computer_name_prefix or name[:9]


def sku_tier(vm_sku: str) -> str:
    return "Basic" if vm_sku.lower().startswith("basic") else "Standard"


# --- shared pieces of the scale set model ------------------------------------------------------


def load_balancer_public_ip(subscription: str, rg: str, name: str) -> str:
    """The public address of the set's balancer (`{name}LBPublicIP`), derived from its id."""
    digest = sha1(_network_id(subscription, rg, "publicIPAddresses", f"{name}LBPublicIP").encode())
    return f"20.{digest[0]}.{digest[1]}.{max(digest[2], 1)}"


def _nic_configurations(
    subscription: str, rg: str, name: str, scale_set: ScaleSet
) -> list[dict[str, Any]]:
    prefix = _prefix(scale_set, name)
    balancer = ("loadBalancers", f"{name}LB")
    ip_configuration: dict[str, Any] = {
        "loadBalancerBackendAddressPools": [
            _ref(
                _network_id(subscription, rg, *balancer, "backendAddressPools", f"{name}LBBEPool"),
                rg,
            )
        ],
        "name": f"{prefix}IPConfig",
        "primary": True,
        "privateIPAddressVersion": "IPv4",
        "subnet": _ref(
            _network_id(
                subscription, rg, "virtualNetworks", f"{name}VNET", "subnets", f"{name}Subnet"
            ),
            rg,
        ),
    }
    if scale_set.orchestration_mode == "Uniform":
        # az's Uniform sets get an inbound NAT pool (SSH/RDP per instance) on their balancer.
        ip_configuration["loadBalancerInboundNatPools"] = [
            _ref(
                _network_id(subscription, rg, *balancer, "inboundNatPools", f"{name}LBNatPool"), rg
            )
        ]
    return [
        {
            "disableTcpStateTracking": False,
            "dnsSettings": {"dnsServers": []},
            "enableAcceleratedNetworking": False,
            "enableIPForwarding": False,
            "ipConfigurations": [ip_configuration],
            "name": f"{prefix}Nic",
            "networkSecurityGroup": _ref(
                _network_id(subscription, rg, "networkSecurityGroups", f"{name}NSG"), rg
            ),
            "primary": True,
        }
    ]


def _os_profile(scale_set: ScaleSet, computer: dict[str, str]) -> dict[str, Any]:
    model = scale_set.model
    profile: dict[str, Any] = {
        "adminUsername": model.admin_username,
        "allowExtensionOperations": True,
        **computer,
    }
    if model.os_type == "Linux":
        profile["linuxConfiguration"] = {
            "disablePasswordAuthentication": True,
            "provisionVMAgent": True,
            "ssh": {
                "publicKeys": [
                    {
                        "keyData": _SSH_KEY,
                        "path": f"/home/{model.admin_username}/.ssh/authorized_keys",
                    }
                ]
            },
        }
    profile["requireGuestProvisionSignal"] = True
    profile["secrets"] = []
    if model.os_type == "Windows":
        profile["windowsConfiguration"] = {"enableAutomaticUpdates": True, "provisionVMAgent": True}
    return dict(sorted(profile.items()))


def _image_reference(scale_set: ScaleSet, exact_version: str | None) -> dict[str, str]:
    image = scale_set.model.image
    out = {}
    if exact_version is not None:
        out["exactVersion"] = exact_version
    out.update(
        {
            "offer": image.offer,
            "publisher": image.publisher,
            "sku": image.sku,
            "version": image.version,
        }
    )
    return out


def extension_model(ext: Extension) -> dict[str, Any]:
    """An extension of the scale set model as az prints it (`vmss show`, `vmss extension`)."""
    out: dict[str, Any] = {"autoUpgradeMinorVersion": ext.auto_upgrade_minor_version}
    if ext.enable_automatic_upgrade is not None:
        out["enableAutomaticUpgrade"] = ext.enable_automatic_upgrade
    if ext.force_update_tag:
        out["forceUpdateTag"] = ext.force_update_tag
    out["name"] = ext.name
    if ext.provision_after_extensions:
        out["provisionAfterExtensions"] = list(ext.provision_after_extensions)
    out.update(
        {
            "publisher": ext.publisher,
            "settings": ext.settings,
            "type": ext.type,
            "typeHandlerVersion": ext.type_handler_version,
        }
    )
    return out


def os_upgrade_view(location: str, record: Any, ended: datetime | None) -> dict[str, Any]:
    """One entry of `az vmss get-os-upgrade-history` (UpgradeOperationHistoricalStatusInfo):
    az prints it as Azure sends it, `properties` not flattened."""
    running: dict[str, Any] = {"code": record.code}
    if ended is not None:
        running["endTime"] = azure_time(ended)
    running["startTime"] = azure_time(record.started)
    properties: dict[str, Any] = {}
    if record.error_code:
        properties["error"] = {"code": record.error_code, "message": record.error_message}
    image = record.image
    properties.update(
        {
            "progress": {
                "failedInstanceCount": record.failed,
                "inProgressInstanceCount": record.in_progress,
                "pendingInstanceCount": record.pending,
                "successfulInstanceCount": record.successful,
            },
            "rollbackInfo": {
                "failedRolledbackInstanceCount": 0,
                "successfullyRolledbackInstanceCount": record.rolled_back,
            },
            "runningStatus": running,
            "startedBy": "User",
            "targetImageReference": {
                "exactVersion": image.exact_version,
                "offer": image.offer,
                "publisher": image.publisher,
                "sku": image.sku,
                "version": image.version,
            },
        }
    )
    return {
        "location": location,
        "properties": properties,
        "type": "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades",
    }


# --- the scale set -----------------------------------------------------------------------------


def scale_set_provisioning_state(scale_set: ScaleSet) -> str:
    """Updating while a scale-out is still building instances, Succeeded otherwise: what
    `az vmss wait --updated` polls for. A create completes at once in the twin; instance-level
    actions (restart, reimage, delete-instances, upgrades) leave the set's own state alone, as
    in Azure."""
    for inst in scale_set.instances:
        if inst.operation is not None and inst.operation.name == "create":
            return "Updating"
    return "Succeeded"


def vmss_view(subscription: str, rg: str, name: str, scale_set: ScaleSet) -> dict[str, Any]:
    """`az vmss show` / each item of `az vmss list`."""
    model = scale_set.model
    created = azure_time(scale_set.created)
    network: dict[str, Any] = {}
    if model.health_probe:
        network["healthProbe"] = _ref(
            _network_id(
                subscription, rg, "loadBalancers", f"{name}LB", "probes", model.health_probe
            ),
            rg,
        )
    network["networkInterfaceConfigurations"] = _nic_configurations(
        subscription, rg, name, scale_set
    )
    profile: dict[str, Any] = {}
    if model.extensions:
        profile["extensionProfile"] = {"extensions": [extension_model(e) for e in model.extensions]}
    profile["networkProfile"] = network
    profile["osProfile"] = _os_profile(scale_set, {"computerNamePrefix": _prefix(scale_set, name)})
    profile["storageProfile"] = {
        "imageReference": _image_reference(scale_set, None),
        "osDisk": {
            "caching": "ReadWrite",
            "createOption": "FromImage",
            "diskSizeGB": model.os_disk_size_gb,
            "managedDisk": {"storageAccountType": model.storage_account_type},
            "osType": model.os_type,
        },
    }
    profile["timeCreated"] = created

    upgrade: dict[str, Any] = {"mode": scale_set.upgrade_policy.mode}
    rolling = scale_set.upgrade_policy.rolling
    if rolling is not None:
        upgrade["rollingUpgradePolicy"] = rolling_policy_view(rolling)

    out: dict[str, Any] = {
        "doNotRunExtensionsOnOverprovisionedVMs": False,
        "id": vmss_id(subscription, rg, name),
        "location": scale_set.location,
        "name": name,
        "orchestrationMode": scale_set.orchestration_mode,
        "overprovision": scale_set.overprovision,
        "platformFaultDomainCount": scale_set.fault_domain_count,
        "provisioningState": scale_set_provisioning_state(scale_set),
        "resourceGroup": rg,
    }
    if scale_set.scale_in_policy or scale_set.force_deletion:
        out["scaleInPolicy"] = {
            "forceDeletion": scale_set.force_deletion,
            "rules": list(scale_set.scale_in_policy or ["Default"]),
        }
    repairs = scale_set.automatic_repairs
    if repairs is not None:
        out["automaticRepairsPolicy"] = {
            "enabled": repairs.enabled,
            "gracePeriod": repairs.grace_period,
            "repairAction": repairs.repair_action,
        }
    out.update(
        {
            "singlePlacementGroup": scale_set.single_placement_group,
            "sku": {
                "capacity": scale_set.capacity,
                "name": scale_set.vm_sku,
                "tier": sku_tier(scale_set.vm_sku),
            },
            "tags": dict(sorted(scale_set.tags.items())),
            "timeCreated": created,
            "type": VMSS_TYPE,
            "uniqueId": unique_id(subscription, rg, name, scale_set),
            "upgradePolicy": upgrade,
            "virtualMachineProfile": profile,
        }
    )
    if scale_set.zones:
        out["zones"] = list(scale_set.zones)
    return out


def rolling_policy_view(rolling) -> dict[str, Any]:
    """The rolling upgrade policy as az prints it; unset flags are absent."""
    values = {
        "enableCrossZoneUpgrade": rolling.enable_cross_zone_upgrade,
        "maxBatchInstancePercent": rolling.max_batch_instance_percent,
        "maxSurge": rolling.max_surge,
        "maxUnhealthyInstancePercent": rolling.max_unhealthy_instance_percent,
        "maxUnhealthyUpgradedInstancePercent": rolling.max_unhealthy_upgraded_instance_percent,
        "pauseTimeBetweenBatches": rolling.pause_time_between_batches,
        "prioritizeUnhealthyInstances": rolling.prioritize_unhealthy_instances,
        "rollbackFailedInstancesOnPolicyBreach": rolling.rollback_failed_instances_on_policy_breach,
    }
    return {key: value for key, value in values.items() if value is not None}


# --- one instance ------------------------------------------------------------------------------


def _status(
    code: str, level: str, display: str, *, message: str = "", time: str = ""
) -> dict[str, str]:
    out = {"code": code, "displayStatus": display, "level": level}
    if message:
        out["message"] = message
    if time:
        out["time"] = time
    return out


def _os_disk_name(
    subscription: str, rg: str, name: str, inst: Instance, own_vm_id: str = ""
) -> str:
    return (
        f"{name}_{name}_{inst.id}_OsDisk_1_"
        f"{(own_vm_id or vm_id(subscription, rg, name, inst)).replace('-', '')}"
    )


class VmViews:
    """Renders the instances of one scale set as `az vmss list-instances` items.

    The parts every instance shares (network configuration, OS profile, SKU, tags) are built
    once per scale set and shared between the items: a thousand instances render in a few
    milliseconds. Treat the items as read-only, or copy what you change.
    """

    def __init__(self, subscription: str, rg: str, name: str, scale_set: ScaleSet) -> None:
        model = scale_set.model
        self.subscription, self.rg, self.name, self.scale_set = subscription, rg, name, scale_set
        self.base_id = vmss_id(subscription, rg, name)
        self.nic_name = f"{_prefix(scale_set, name)}Nic"
        self.hardware = {"vmSize": scale_set.vm_sku}
        self.network_configuration = {
            "networkInterfaceConfigurations": _nic_configurations(subscription, rg, name, scale_set)
        }
        # Without the computer name, which each item adds.
        self.os_profile = _os_profile(scale_set, {})
        self.sku = {"name": scale_set.vm_sku, "tier": sku_tier(scale_set.vm_sku)}
        self.tags = dict(sorted(scale_set.tags.items()))
        self.images: dict[str, dict[str, str]] = {}
        self.disk_prefix = f"/subscriptions/{subscription}/resourceGroups/{rg}/providers/"
        self.os_type = model.os_type
        self.disk_size = model.os_disk_size_gb
        self.storage_account_type = model.storage_account_type

    def image(self, exact_version: str) -> dict[str, str]:
        found = self.images.get(exact_version)
        if found is None:
            found = self.images[exact_version] = _image_reference(self.scale_set, exact_version)
        return found

    def nic_view(self, inst: Instance) -> dict[str, Any]:
        """`az vmss nic list/list-vm-nics/show`: the instance's network interface.

        The private address comes from the set's subnet (10.0.0.0/16, from .4 as Azure hands
        them out) by instance id, so it is stable for the instance's life and new for an
        instance that replaces a deleted one (ids are never reused). The MAC address is
        derived from the instance's id the same way."""
        rg = self.rg
        vm = f"{self.base_id}/virtualMachines/{inst.id}"
        nic = f"{vm}/networkInterfaces/{self.nic_name}"
        config = self.network_configuration["networkInterfaceConfigurations"][0]
        ip_config = config["ipConfigurations"][0]
        host = inst.id + 4
        mac = sha1(nic.encode()).hex()[:6].upper()
        nat_rules = {}
        if "loadBalancerInboundNatPools" in ip_config:
            pool = ip_config["loadBalancerInboundNatPools"][0]["id"]
            rule = pool.replace("/inboundNatPools/", "/inboundNatRules/") + f".{inst.id}"
            nat_rules["loadBalancerInboundNatRules"] = [_ref(rule, rg)]
        return {
            "auxiliaryMode": "None",
            "auxiliarySku": "None",
            "disableTcpStateTracking": False,
            "dnsSettings": {"appliedDnsServers": [], "dnsServers": []},
            "enableAcceleratedNetworking": False,
            "enableIPForwarding": False,
            "hostedWorkloads": [],
            "id": nic,
            "ipConfigurations": [
                {
                    "id": f"{nic}/ipConfigurations/{ip_config['name']}",
                    "loadBalancerBackendAddressPools": ip_config["loadBalancerBackendAddressPools"],
                    **nat_rules,
                    "name": ip_config["name"],
                    "primary": True,
                    "privateIPAddress": f"10.0.{host // 256}.{host % 256}",
                    "privateIPAddressVersion": "IPv4",
                    "privateIPAllocationMethod": "Dynamic",
                    "provisioningState": "Succeeded",
                    "resourceGroup": rg,
                    "subnet": ip_config["subnet"],
                }
            ],
            "macAddress": "00-0D-3A-" + "-".join(mac[i : i + 2] for i in (0, 2, 4)),
            "name": self.nic_name,
            "networkSecurityGroup": config["networkSecurityGroup"],
            "nicType": "Standard",
            "primary": True,
            "provisioningState": "Succeeded",
            "resourceGroup": rg,
            "resourceGuid": name_uuid(_ID_NAMESPACE, nic),
            "tapConfigurations": [],
            "type": "Microsoft.Network/networkInterfaces",
            "virtualMachine": _ref(vm, rg),
            "vnetEncryptionSupported": False,
        }

    def view(self, inst: Instance, *, expand: bool = False) -> dict[str, Any]:
        scale_set, name, rg = self.scale_set, self.name, self.rg
        model = scale_set.model
        own_id = f"{self.base_id}/virtualMachines/{inst.id}"
        own_vm_id = vm_id(self.subscription, rg, name, inst)
        disk_name = _os_disk_name(self.subscription, rg, name, inst, own_vm_id)
        assert inst.created is not None
        out: dict[str, Any] = {
            "hardwareProfile": self.hardware,
            "id": own_id,
            "instanceId": str(inst.id),
        }
        if expand:
            out["instanceView"] = vm_instance_view(self.subscription, rg, name, scale_set, inst)
        out["latestModelApplied"] = is_latest_model(scale_set, inst)
        out["location"] = scale_set.location
        out["modelDefinitionApplied"] = inst.model_definition_applied
        out["name"] = f"{name}_{inst.id}"
        out["networkProfile"] = {
            "networkInterfaces": [_ref(f"{own_id}/networkInterfaces/{self.nic_name}", rg)]
        }
        out["networkProfileConfiguration"] = self.network_configuration
        computer = {"computerName": computer_name(scale_set, name, inst.id)}
        out["osProfile"] = dict(sorted({**self.os_profile, **computer}.items()))
        if inst.protection is not None:
            out["protectionPolicy"] = {
                "protectFromScaleIn": inst.protection.scale_in,
                "protectFromScaleSetActions": inst.protection.scale_set_actions,
            }
        out["provisioningState"] = inst.provisioning_state
        out["resourceGroup"] = rg
        if model.extensions:
            out["resources"] = [
                _vm_extension(own_id, rg, scale_set, inst, ext) for ext in model.extensions
            ]
        out["sku"] = self.sku
        out["storageProfile"] = {
            "dataDisks": [],
            "imageReference": self.image(inst.image_version or model.image.exact_version),
            "osDisk": {
                "caching": "ReadWrite",
                "createOption": "FromImage",
                "diskSizeGB": self.disk_size,
                "managedDisk": {
                    "id": f"{self.disk_prefix}Microsoft.Compute/disks/{disk_name}",
                    "resourceGroup": rg,
                    "storageAccountType": self.storage_account_type,
                },
                "name": disk_name,
                "osType": self.os_type,
            },
        }
        out["tags"] = self.tags
        out["timeCreated"] = azure_time(inst.created)
        out["type"] = VM_TYPE
        out["vmId"] = own_vm_id
        if inst.zone:
            out["zones"] = [inst.zone]
        return out


def vm_view(
    subscription: str,
    rg: str,
    name: str,
    scale_set: ScaleSet,
    inst: Instance,
    *,
    expand: bool = False,
) -> dict[str, Any]:
    """One item of `az vmss list-instances`; `show --instance-id`."""
    return VmViews(subscription, rg, name, scale_set).view(inst, expand=expand)


def _vm_extension(
    vm_resource_id: str, rg: str, scale_set: ScaleSet, inst: Instance, ext: Extension
) -> dict[str, Any]:
    """An extension as an item of the instance's `resources`. az 2.91 prints no `type` for
    these (its list-instances and show drop it), so none is sent."""
    state = inst.extensions.get(ext.name)
    failed = state is not None and state.status == "failed"
    return {
        "autoUpgradeMinorVersion": ext.auto_upgrade_minor_version,
        "id": f"{vm_resource_id}/extensions/{ext.name}",
        "location": scale_set.location,
        "name": ext.name,
        "provisioningState": "Failed" if failed else "Succeeded",
        "publisher": ext.publisher,
        "resourceGroup": rg,
        "settings": ext.settings,
        "typeHandlerVersion": ext.type_handler_version,
    }


def os_name_version(scale_set: ScaleSet) -> tuple[str, str]:
    """What the guest agent reports as OS name and version, read off the image."""
    image = scale_set.model.image
    if scale_set.model.os_type == "Windows":
        return "Windows Server 2022 Datacenter", "10.0.20348"
    found = re.search(r"(\d\d)[_.](\d\d)", image.sku) or re.search(r"(\d\d)[_.](\d\d)", image.offer)
    version = f"{found.group(1)}.{found.group(2)}" if found else image.exact_version.split(".")[0]
    publisher = image.publisher.lower()
    return ("ubuntu" if publisher == "canonical" else publisher), version


def _extension_instance_view(
    scale_set: ScaleSet, inst: Instance, ext: Extension, when: str
) -> dict[str, Any]:
    state = inst.extensions.get(ext.name)
    status = state.status if state else "succeeded"
    if status == "failed":
        statuses = [
            _status(
                "ProvisioningState/failed",
                "Error",
                "Provisioning failed",
                message=state.message if state and state.message else "Extension operation failed.",
                time=when,
            )
        ]
    elif status == "transitioning":
        statuses = [
            _status(
                "ProvisioningState/transitioning",
                "Info",
                "Transitioning",
                message=state.message if state and state.message else "Enable in progress",
                time=when,
            )
        ]
    else:
        statuses = [
            _status(
                "ProvisioningState/succeeded",
                "Info",
                "Provisioning succeeded",
                message="Enable succeeded",
                time=when,
            )
        ]
    out: dict[str, Any] = {"name": ext.name, "statuses": statuses}
    if ext.is_app_health and status == "succeeded":
        health = effective_health(scale_set, inst)
        if health != "unknown":
            out["substatuses"] = [
                _status(
                    f"ComponentStatus/ApplicationHealthState/{health}",
                    "Info" if health == "healthy" else "Error",
                    "Provisioning succeeded",
                    message=f"Application found to be {health}",
                    time=when,
                )
            ]
    out["type"] = f"{ext.publisher}.{ext.type}"
    out["typeHandlerVersion"] = ext.type_handler_version
    return out


def vm_instance_view(
    subscription: str, rg: str, name: str, scale_set: ScaleSet, inst: Instance
) -> dict[str, Any]:
    """`az vmss get-instance-view --instance-id N` (and `instanceView` with --expand)."""
    model = scale_set.model
    assert inst.created is not None and inst.updated is not None
    updated = azure_time(inst.updated)
    created = azure_time(inst.created)
    allocated = inst.power_state not in ("deallocated", "deallocating")
    running = inst.power_state == "running"
    prov = inst.provisioning_state
    prov_level = "Error" if prov == "Failed" else "Info"
    prov_display = {"Succeeded": "Provisioning succeeded", "Failed": "Provisioning failed"}.get(
        prov, prov
    )
    out: dict[str, Any] = {}
    if allocated:
        out["computerName"] = computer_name(scale_set, name, inst.id)
    out["disks"] = [
        {
            "name": _os_disk_name(subscription, rg, name, inst),
            "statuses": [
                _status(
                    "ProvisioningState/succeeded", "Info", "Provisioning succeeded", time=created
                )
            ],
        }
    ]
    if allocated and model.extensions:
        out["extensions"] = [
            _extension_instance_view(scale_set, inst, ext, updated) for ext in model.extensions
        ]
    out["hyperVGeneration"] = "V2" if model.image.sku.lower().endswith(("gen2", "-g2")) else "V1"
    if allocated and inst.maintenance is not None:
        out["maintenanceRedeployStatus"] = maintenance_redeploy_status(inst.maintenance)
    if allocated:
        out["osName"], out["osVersion"] = os_name_version(scale_set)
    out["platformFaultDomain"] = inst.fault_domain
    out["platformUpdateDomain"] = inst.update_domain
    out["statuses"] = [
        _status(f"ProvisioningState/{prov.lower()}", prov_level, prov_display, time=updated),
        _status(f"PowerState/{inst.power_state}", "Info", POWER_DISPLAY[inst.power_state]),
    ]
    if allocated:
        if running and inst.vm_agent == "ready":
            handlers = [
                {
                    "status": _status("ProvisioningState/succeeded", "Info", "Ready"),
                    "type": f"{ext.publisher}.{ext.type}",
                    "typeHandlerVersion": ext.type_handler_version,
                }
                for ext in model.extensions
            ]
            out["vmAgent"] = {
                "extensionHandlers": handlers,
                "statuses": [
                    _status(
                        "ProvisioningState/succeeded",
                        "Info",
                        "Ready",
                        message="Guest Agent is running",
                        time=updated,
                    )
                ],
                "vmAgentVersion": "2.12.0.2",
            }
        else:
            message = (
                "VM status blob is found but not yet populated."
                if running
                else "VM Agent is unresponsive."
            )
            out["vmAgent"] = {
                "statuses": [
                    _status(
                        "ProvisioningState/Unavailable",
                        "Warning",
                        "Not Ready",
                        message=message,
                        time=updated,
                    )
                ],
                "vmAgentVersion": "Unknown",
            }
        if model.has_health_monitoring:
            code, level, display = HEALTH_STATUS[effective_health(scale_set, inst)]
            out["vmHealth"] = {"status": _status(code, level, display, time=updated)}
    return out


def maintenance_redeploy_status(maintenance: Any) -> dict[str, Any]:
    """An instance's announced platform maintenance (MaintenanceRedeployStatus)."""
    out: dict[str, Any] = {
        "isCustomerInitiatedMaintenanceAllowed": maintenance.pending,
        "lastOperationResultCode": maintenance.last_result or "None",
    }
    if maintenance.last_message:
        out["lastOperationMessage"] = maintenance.last_message
    out["maintenanceWindowEndTime"] = azure_time(maintenance.window_end)
    out["maintenanceWindowStartTime"] = azure_time(maintenance.window_start)
    out["preMaintenanceWindowEndTime"] = azure_time(maintenance.pre_window_end)
    out["preMaintenanceWindowStartTime"] = azure_time(maintenance.pre_window_start)
    return out


def vmss_sku_view(name: str, tier: str, maximum: int) -> dict[str, Any]:
    """One size a scale set can be resized to (VirtualMachineScaleSetSku), as az prints it."""
    return {
        "capacity": {
            "defaultCapacity": 1,
            "maximum": maximum,
            "minimum": 0,
            "scaleType": "Automatic",
        },
        "resourceType": VMSS_TYPE,
        "sku": {"name": name, "tier": tier},
    }


def vmss_instance_view(scale_set: ScaleSet) -> dict[str, Any]:
    """`az vmss get-instance-view` without an instance: counts over the instances."""

    def summary(codes: list[str]) -> list[dict[str, Any]]:
        counts: dict[str, int] = {}
        for code in codes:
            counts[code] = counts.get(code, 0) + 1
        return [{"code": code, "count": count} for code, count in counts.items()]

    out: dict[str, Any] = {}
    if scale_set.model.extensions:
        out["extensions"] = []
        for ext in scale_set.model.extensions:
            codes = []
            for inst in scale_set.instances:
                state = inst.extensions.get(ext.name)
                codes.append(f"ProvisioningState/{state.status if state else 'succeeded'}")
            out["extensions"].append({"name": ext.name, "statusesSummary": summary(codes)})
    out["statuses"] = [
        _status(
            "ProvisioningState/succeeded",
            "Info",
            "Provisioning succeeded",
            time=azure_time(scale_set.created),
        )
    ]
    out["virtualMachine"] = {
        "statusesSummary": summary(
            [f"ProvisioningState/{inst.provisioning_state.lower()}" for inst in scale_set.instances]
        )
    }
    repairs = scale_set.automatic_repairs
    if repairs is not None:
        state = (
            "NotRunning" if not repairs.enabled else "Suspended" if repairs.suspended else "Running"
        )
        out["orchestrationServices"] = [{"serviceName": "AutomaticRepairs", "serviceState": state}]
    return out


def run_command_view(
    subscription: str, rg: str, name: str, scale_set, inst, record, expand: bool
) -> dict[str, Any]:
    """A run-command invocation as the instance's run-command resource (`run-command
    list/show`), with its output and exit code under `instanceView` when expanded."""
    from vmsscli.resource_ids import vm_id

    out: dict[str, Any] = {
        "asyncExecution": False,
        "id": f"{vm_id(subscription, rg, name, inst.id)}/runCommands/{record.name}",
        "location": scale_set.location,
        "name": record.name,
        "provisioningState": "Succeeded",
        "resourceGroup": rg,
        "source": {"commandId": record.command_id}
        if not record.script
        else {"script": "\n".join(record.script)},
        "timeoutInSeconds": 0,
        "type": RUN_COMMAND_TYPE,
    }
    if record.parameters:
        from vmsscli.guest.runner import named_parameters

        out["parameters"] = [
            {"name": n, "value": v} for n, v in named_parameters(record.parameters)
        ]
    if expand:
        ok = record.exit_code == 0
        out["instanceView"] = {
            "endTime": azure_time(record.started),
            "error": record.stderr,
            "executionMessage": "Execution completed"
            if ok
            else f"Execution failed: failed to execute command: command terminated with exit "
            f"status={record.exit_code}",
            "executionState": "Succeeded" if ok else "Failed",
            "exitCode": record.exit_code,
            "output": record.stdout,
            "startTime": azure_time(record.started),
        }
    return out
