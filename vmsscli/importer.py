"""Importing a real scale set: the inverse of `vmsscli.views`.

`import_scale_set` takes the parsed JSON that the real `az` prints for `az vmss show`,
`az vmss list-instances [--expand instanceView]` and, optionally,
`az vmss get-instance-view --instance-id '*'`, and returns a `ScaleSet` in vmsscli's compact
schema, with human-readable notes on whatever could not be carried over. Unknown keys are
ignored and missing ones take the schema's defaults; input that is not the expected shape at
all raises `CLIError`. `merge` puts the result into a state.

Pure: no printing, no files. The CLI (`vmss state import`) reads the files, calls these, writes
the state and prints the result. docs/import.md says what maps to what.
"""

from __future__ import annotations

import codecs
import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic_core import ValidationError

from vmsscli.domain.fleet import find_key
from vmsscli.errors import CLIError
from vmsscli.model import (
    DEFAULT_LOCATION,
    Extension,
    ExtensionState,
    ImageReference,
    Instance,
    Protection,
    ResourceGroup,
    RollingPolicy,
    ScaleSet,
    State,
    UpgradePolicy,
    VmModel,
)
from vmsscli.views import computer_name

VMSS_TYPE = "microsoft.compute/virtualmachinescalesets"
VM_TYPE = "microsoft.compute/virtualmachinescalesets/virtualmachines"

PROVISIONING = {
    "succeeded": "Succeeded",
    "failed": "Failed",
    "creating": "Creating",
    "updating": "Updating",
    "deleting": "Deleting",
}
POWER = ("running", "stopped", "deallocated", "starting", "stopping", "deallocating")
HEALTH = ("healthy", "unhealthy", "unknown")
EXTENSION_STATUS = ("succeeded", "failed", "transitioning")
SCALE_IN_RULES = ("Default", "OldestVM", "NewestVM")
ROLLING_FIELDS = {
    "max_batch_instance_percent": "maxBatchInstancePercent",
    "max_unhealthy_instance_percent": "maxUnhealthyInstancePercent",
    "max_unhealthy_upgraded_instance_percent": "maxUnhealthyUpgradedInstancePercent",
    "pause_time_between_batches": "pauseTimeBetweenBatches",
    "prioritize_unhealthy_instances": "prioritizeUnhealthyInstances",
    "enable_cross_zone_upgrade": "enableCrossZoneUpgrade",
    "max_surge": "maxSurge",
    "rollback_failed_instances_on_policy_breach": "rollbackFailedInstancesOnPolicyBreach",
}
# Keys of an instance view (get-instance-view --instance-id N) of which at least one is there.
VIEW_KEYS = ("statuses", "disks", "computerName", "platformFaultDomain", "vmAgent", "vmHealth")


@dataclass
class Imported:
    """The imported scale set, where it goes, and what could not be carried over."""

    resource_group: str
    name: str
    scale_set: ScaleSet
    not_imported: list[str] = field(default_factory=list)
    # How many instances got their power state, health, ... from an instance view.
    instance_views: int = 0


def parse_json(raw: bytes, what: str) -> Any:
    """The JSON in `raw` (UTF-8, with or without a BOM, or UTF-16 with a BOM as PowerShell's
    `>` writes it); `what` names the input in the one-line error."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise CLIError(f"{what} is not valid UTF-16 text.") from None
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CLIError(f"{what} is not UTF-8 text (byte {exc.start}).") from None
    if not text.strip():
        raise CLIError(f"{what} is empty.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(
            f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except RecursionError:
        raise CLIError(f"{what} is not valid JSON: nested too deeply.") from None


# --- small helpers ------------------------------------------------------------------------------


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    """The REST wire shape nests most fields under `properties`; az prints them flattened.
    Accept both by merging `properties` into its parent."""
    props = data.get("properties")
    if not isinstance(props, dict):
        return data
    out = {k: v for k, v in data.items() if k != "properties"}
    out.update(props)
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in _list(value) if isinstance(item, dict)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _parse_id(resource_id: Any) -> dict[str, str]:
    """resource_group, name and (for a VM) instance from an ARM id; empty for anything else."""
    parts = _text(resource_id).strip("/").split("/")
    out: dict[str, str] = {}
    lowered = [p.lower() for p in parts]
    if len(parts) >= 4 and lowered[0] == "subscriptions" and lowered[2] == "resourcegroups":
        out["resource_group"] = parts[3]
    if "virtualmachinescalesets" in lowered:
        at = lowered.index("virtualmachinescalesets")
        if at + 1 < len(parts):
            out["name"] = parts[at + 1]
        if at + 3 < len(parts) and lowered[at + 2] == "virtualmachines":
            out["instance"] = parts[at + 3]
    return out


def _last_segment(resource_id: Any) -> str:
    return _text(resource_id).rstrip("/").rsplit("/", 1)[-1]


def _build(
    cls: type,
    values: dict[str, tuple[str, Any]],
    where: str,
    notes: list[str],
) -> Any:
    """`cls` validated from `values`, where each value is (its Azure key, value); a value the
    schema refuses is noted and left to its default."""
    from vmsscli.schema import validate

    kwargs = {key: value for key, (_azure, value) in values.items()}
    for _attempt in range(len(kwargs) + 1):
        try:
            return validate(cls, kwargs)
        except ValidationError as exc:
            dropped = False
            for error in exc.errors(include_url=False):
                key = error["loc"][0] if error["loc"] else None
                if isinstance(key, str) and key in kwargs:
                    azure = values[key][0]
                    message = error["msg"].removeprefix("Value error, ")
                    notes.append(
                        f"{where}{azure} {kwargs.pop(key)!r} is not valid ({message}); "
                        "the default is used"
                    )
                    dropped = True
            if not dropped:
                raise
    return validate(cls, kwargs)


@functools.cache
def _moment_adapter():
    from pydantic import TypeAdapter

    from vmsscli.model import annotation_names

    return TypeAdapter(annotation_names()["Moment"])


def _moment(value: Any, where: str, notes: list[str]) -> datetime | None:
    if value is None:
        return None
    try:
        return _moment_adapter().validate_python(value)
    except ValidationError:
        notes.append(f"{where} {value!r} is not a time with an offset; the default is used")
        return None


def _bool(value: Any, where: str, notes: list[str]) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    notes.append(f"{where} {value!r} is not true or false; the default is used")
    return None


# --- the three inputs ---------------------------------------------------------------------------


def _vmss_object(show: Any) -> dict[str, Any]:
    if isinstance(show, list):
        raise CLIError(
            "--vmss: expected the JSON object printed by 'az vmss show', got a list (the "
            "output of 'az vmss list'? Save one scale set with 'az vmss show -g RG -n NAME')."
        )
    if not isinstance(show, dict):
        raise CLIError(
            f"--vmss: expected the JSON object printed by 'az vmss show', got "
            f"{type(show).__name__}."
        )
    show = _flat(show)
    kind = _text(show.get("type"))
    if kind and kind.lower() != VMSS_TYPE:
        raise CLIError(
            f"--vmss: expected a scale set (type 'Microsoft.Compute/virtualMachineScaleSets'), "
            f"got type '{kind}'."
        )
    if not isinstance(show.get("virtualMachineProfile"), dict) and not isinstance(
        show.get("sku"), dict
    ):
        raise CLIError(
            "--vmss: not the output of 'az vmss show' (it has neither 'sku' nor "
            "'virtualMachineProfile')."
        )
    return show


def _instance_items(instances: Any) -> list[Any]:
    if isinstance(instances, dict) and isinstance(instances.get("value"), list):
        instances = instances["value"]  # the REST list body
    if not isinstance(instances, list):
        raise CLIError(
            "--instances: expected the JSON array printed by 'az vmss list-instances', got "
            f"{'an object' if isinstance(instances, dict) else type(instances).__name__}."
        )
    looks_right = any(
        isinstance(item, dict) and ("instanceId" in item or "instance" in _parse_id(item.get("id")))
        for item in instances
    )
    if instances and not looks_right:
        raise CLIError(
            "--instances: not the output of 'az vmss list-instances' (no item has an "
            "instanceId or a virtualMachines/N id)."
        )
    return instances


def _view_items(views: Any) -> list[Any]:
    if isinstance(views, dict):
        if "virtualMachine" in views and not any(k in views for k in VIEW_KEYS[1:]):
            raise CLIError(
                "--instance-views: this is the scale set's own instance view; save the "
                "instances' views with \"az vmss get-instance-view --instance-id '*'\"."
            )
        views = [views]  # one instance's view (--instance-id N)
    if not isinstance(views, list):
        raise CLIError(
            '--instance-views: expected the JSON array printed by "az vmss get-instance-view '
            f"--instance-id '*'\", got {type(views).__name__}."
        )
    if views and not any(isinstance(v, dict) and any(k in v for k in VIEW_KEYS) for v in views):
        raise CLIError(
            '--instance-views: not the output of "az vmss get-instance-view --instance-id '
            "'*'\" (no item has statuses, disks or a computer name)."
        )
    return views


def _identity(
    show: dict[str, Any], resource_group: str | None, name: str | None
) -> tuple[str, str, tuple[str, str] | None]:
    """Where the scale set goes (-g/-n win), and where it came from (for checking that the
    instances belong to it)."""
    from_id = _parse_id(show.get("id"))
    source_rg = _text(show.get("resourceGroup")) or from_id.get("resource_group", "")
    source_name = _text(show.get("name")) or from_id.get("name", "")
    rg = resource_group or source_rg
    nm = name or source_name
    missing = [
        (what, flag)
        for what, flag, given in (("resource group", "-g", rg), ("name", "-n", nm))
        if not given
    ]
    if missing:
        raise CLIError(
            f"--vmss does not say the scale set's {' or '.join(w for w, _ in missing)} (it has "
            f"no 'resourceGroup', 'name' or 'id'); give {' and '.join(f for _, f in missing)}."
        )
    source = (source_rg, source_name) if source_rg and source_name else None
    return rg, nm, source


# --- one instance -------------------------------------------------------------------------------


@dataclass
class _Row:
    """What one list-instances item says, before the scale set is put together."""

    id: int
    values: dict[str, tuple[str, Any]]
    latest: bool = True
    image_version: str = ""
    computer_name: str = ""
    disk_name: str = ""
    view: dict[str, Any] | None = None
    view_from_file: bool = False
    failed_resources: list[str] = field(default_factory=list)


def _row(item: Any, position: int, source: tuple[str, str] | None, notes: list[str]) -> _Row | None:
    where = f"--instances item {position}"
    if not isinstance(item, dict):
        notes.append(f"{where}: not an object ({json.dumps(item)[:60]})")
        return None
    item = _flat(item)
    kind = _text(item.get("type"))
    if kind and kind.lower() != VM_TYPE:
        notes.append(f"{where}: type '{kind}' is not a scale set VM")
        return None
    parsed = _parse_id(item.get("id"))
    raw_id = item.get("instanceId", parsed.get("instance"))
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or not raw_id.isdigit():
        label = _text(item.get("name")) or repr(raw_id)
        notes.append(
            f"{where} ({label}): instance id {raw_id!r} is not a number (vmsscli keeps "
            "Uniform-style numeric ids)"
        )
        return None
    if source is not None and "name" in parsed:
        owner = (parsed.get("resource_group", source[0]), parsed["name"])
        if (owner[0].casefold(), owner[1].casefold()) != (
            source[0].casefold(),
            source[1].casefold(),
        ):
            raise CLIError(
                f"--instances lists VMs of scale set '{owner[1]}' in resource group "
                f"'{owner[0]}', but --vmss is scale set '{source[1]}' in resource group "
                f"'{source[0]}'. Save both from the same scale set."
            )
    instance_id = int(raw_id)
    label = f"instance {instance_id}: "
    values: dict[str, tuple[str, Any]] = {"id": ("instanceId", instance_id)}
    zones = _list(item.get("zones"))
    if zones:
        values["zone"] = ("zones", str(zones[0]))
    state = item.get("provisioningState")
    if isinstance(state, str):
        mapped = PROVISIONING.get(state.lower())
        if mapped:
            values["provisioning_state"] = ("provisioningState", mapped)
        else:
            notes.append(
                f"{label}provisioningState '{state}' has no equivalent here; Succeeded is used"
            )
    definition = item.get("modelDefinitionApplied")
    if definition is not None:
        values["model_definition_applied"] = ("modelDefinitionApplied", definition)
    policy = item.get("protectionPolicy")
    if isinstance(policy, dict):
        protection = _build(
            Protection,
            {
                key: (azure, policy[azure])
                for key, azure in (
                    ("scale_in", "protectFromScaleIn"),
                    ("scale_set_actions", "protectFromScaleSetActions"),
                )
                if policy.get(azure) is not None
            },
            f"{label}protectionPolicy.",
            notes,
        )
        values["protection"] = ("protectionPolicy", protection)
    if item.get("timeCreated") is not None:
        values["created"] = ("timeCreated", item["timeCreated"])
    image = _get(item, "storageProfile", "imageReference") or {}
    exact = _text(image.get("exactVersion"))
    version = _text(image.get("version"))
    row = _Row(
        id=instance_id,
        values=values,
        latest=item.get("latestModelApplied") is not False,
        image_version=exact or (version if version.lower() != "latest" else ""),
        computer_name=_text(_get(item, "osProfile", "computerName")),
        disk_name=_text(_get(item, "storageProfile", "osDisk", "name")),
    )
    if isinstance(item.get("instanceView"), dict):
        row.view = item["instanceView"]
    for resource in _dicts(item.get("resources")):
        resource = _flat(resource)
        if _text(resource.get("provisioningState")).lower() == "failed" and resource.get("name"):
            row.failed_resources.append(str(resource["name"]))
    return row


def _match_views(rows: list[_Row], views: list[Any], notes: list[str]) -> None:
    """Give each instance its view. Views carry no instance id: they are matched by computer
    name, else by OS disk name, else (when neither is there) by position, as az lists both
    in the same order."""
    by_computer = {r.computer_name.casefold(): r for r in rows if r.computer_name}
    by_disk = {r.disk_name.casefold(): r for r in rows if r.disk_name}
    same_length = len(views) == len(rows)
    for index, view in enumerate(views):
        where = f"--instance-views item {index}"
        if view is None:
            notes.append(f"{where}: null (the instance had no instance view)")
            continue
        if not isinstance(view, dict) or not any(key in view for key in VIEW_KEYS):
            notes.append(f"{where}: not an instance view")
            continue
        computer = _text(view.get("computerName"))
        disks = _dicts(view.get("disks"))
        disk = _text(disks[0].get("name")) if disks else ""
        target = by_computer.get(computer.casefold()) if computer else None
        if target is None and disk:
            target = by_disk.get(disk.casefold())
        if target is None and not computer and not disk and same_length:
            target = rows[index]
        if target is None:
            label = f"computer name {computer}" if computer else f"OS disk {disk or '?'}"
            notes.append(f"{where} ({label}): matches no instance in --instances")
        elif target.view_from_file:
            notes.append(f"{where}: a second view of instance {target.id}; the first one is kept")
        else:
            target.view = view
            target.view_from_file = True


def _apply_view(
    row: _Row, view: dict[str, Any], extension_names: set[str], notes: list[str]
) -> list[str]:
    """Power, provisioning, health, agent, domains and extension states from an instance view;
    returns the health codes seen (for the note on scale sets without health monitoring)."""
    label = f"instance {row.id}: "
    values = row.values
    seen_health: list[str] = []
    for status in _dicts(view.get("statuses")):
        code = _text(status.get("code"))
        kind, _, rest = code.partition("/")
        if kind == "ProvisioningState":
            state, _, reason = rest.partition("/")
            if "provisioning_state" not in values and state.lower() in PROVISIONING:
                values["provisioning_state"] = (
                    "statuses[ProvisioningState]",
                    PROVISIONING[state.lower()],
                )
            if state.lower() == "failed" and (reason or status.get("message")):
                detail = " ".join(p for p in (reason, _text(status.get("message"))) if p)
                notes.append(
                    f"{label}the provisioning failure reason '{detail}' has no place in the "
                    "state; only the Failed state is kept"
                )
            if status.get("time") is not None:
                values["updated"] = ("statuses[ProvisioningState].time", status["time"])
        elif kind == "PowerState":
            if rest.lower() in POWER:
                values["power_state"] = ("statuses[PowerState]", rest.lower())
            else:
                notes.append(f"{label}power state '{code}' has no equivalent here; running is used")
    for key, azure in (
        ("fault_domain", "platformFaultDomain"),
        ("update_domain", "platformUpdateDomain"),
    ):
        if view.get(azure) is not None:
            values[key] = (azure, view[azure])
    running = values.get("power_state", ("", "running"))[1] == "running"
    agent = _dicts(_get(view, "vmAgent", "statuses"))
    if agent and running:
        first = agent[0]
        ready = _text(first.get("code")).lower() == "provisioningstate/succeeded" or (
            _text(first.get("displayStatus")).lower() == "ready"
        )
        values["vm_agent"] = ("vmAgent.statuses", "ready" if ready else "not_ready")
    health = _text(_get(view, "vmHealth", "status", "code"))
    app_health = ""
    states: dict[str, ExtensionState] = {}
    for ext in _dicts(view.get("extensions")):
        name = _text(ext.get("name"))
        statuses = _dicts(ext.get("statuses"))
        for sub in _dicts(ext.get("substatuses")):
            sub_code = _text(sub.get("code"))
            if sub_code.startswith("ComponentStatus/ApplicationHealthState/"):
                app_health = sub_code.rsplit("/", 1)[1]
        if not name or not statuses:
            continue
        code = _text(statuses[0].get("code"))
        status = code.split("/")[1].lower() if code.startswith("ProvisioningState/") else ""
        if name not in extension_names:
            notes.append(
                f"{label}status of extension '{name}': the scale set model in --vmss has no "
                "such extension"
            )
            continue
        if status not in EXTENSION_STATUS:
            notes.append(
                f"{label}extension '{name}' status '{code}' has no equivalent here; "
                "succeeded is used"
            )
        elif status != "succeeded":
            states[name] = ExtensionState(
                status=status,  # type: ignore[arg-type]
                message=_text(statuses[0].get("message")),
            )
    if states:
        values["extensions"] = ("extensions", states)
    code = health or (f"HealthState/{app_health}" if app_health else "")
    if code:
        seen_health.append(code)
        state = code.removeprefix("HealthState/").lower()
        if state not in HEALTH:
            notes.append(f"{label}health '{code}' has no equivalent here; healthy is used")
        elif state != "unknown" or running:
            # Azure reports "unknown" for any VM that is not running; that is derived here.
            values["health"] = ("vmHealth.status.code", state)
    return seen_health


# --- the scale set ------------------------------------------------------------------------------


def _image(image: dict[str, Any], notes: list[str]) -> dict[str, tuple[str, Any]]:
    for key in ("id", "sharedGalleryImageId", "communityGalleryImageId"):
        if image.get(key):
            notes.append(
                f"virtualMachineProfile.storageProfile.imageReference.{key} "
                f"'{_last_segment(image[key])}': custom and gallery images have no place in the "
                "state; the marketplace fields (or the default Ubuntu image) are used"
            )
    return {
        key: (f"imageReference.{key}", image[key])
        for key in ("publisher", "offer", "sku", "version")
        if image.get(key) is not None
    }


def _extensions(profile: dict[str, Any], notes: list[str]) -> list[Extension]:
    out: list[Extension] = []
    for index, raw in enumerate(_list(_get(profile, "extensionProfile", "extensions"))):
        where = f"virtualMachineProfile.extensionProfile.extensions[{index}]"
        if not isinstance(raw, dict):
            notes.append(f"{where}: not an object")
            continue
        raw = _flat(raw)
        missing = [key for key in ("name", "publisher", "type") if not raw.get(key)]
        if missing:
            notes.append(f"{where}: no {', '.join(missing)}")
            continue
        if any(e.name == raw["name"] for e in out):
            notes.append(f"{where}: a second extension named '{raw['name']}'")
            continue
        values = {
            "name": ("name", raw["name"]),
            "publisher": ("publisher", raw["publisher"]),
            "type": ("type", raw["type"]),
        }
        for key, azure in (
            ("type_handler_version", "typeHandlerVersion"),
            ("auto_upgrade_minor_version", "autoUpgradeMinorVersion"),
            ("settings", "settings"),
        ):
            if raw.get(azure) is not None:
                values[key] = (azure, raw[azure])
        try:
            out.append(_build(Extension, values, f"{where}.", notes))
        except ValidationError:
            notes.append(f"{where} ('{raw['name']}'): not a valid extension")
    return out


def _upgrade_policy(show: dict[str, Any], notes: list[str]) -> UpgradePolicy:
    policy = show.get("upgradePolicy") if isinstance(show.get("upgradePolicy"), dict) else {}
    mode = _text(policy.get("mode"))
    values: dict[str, tuple[str, Any]] = {}
    if mode:
        canonical = next(
            (m for m in ("Automatic", "Manual", "Rolling") if m.lower() == mode.lower()), mode
        )
        values["mode"] = ("mode", canonical)
    rolling = policy.get("rollingUpgradePolicy")
    if isinstance(rolling, dict):
        rolling_values = {
            key: (azure, rolling[azure])
            for key, azure in ROLLING_FIELDS.items()
            if rolling.get(azure) is not None
        }
        pause = rolling_values.get("pause_time_between_batches")
        if pause is not None:
            from vmsscli.durations import parse_duration

            try:
                parse_duration(str(pause[1]))
            except ValueError:
                notes.append(
                    f"upgradePolicy.rollingUpgradePolicy.pauseTimeBetweenBatches {pause[1]!r} "
                    "is not a duration; PT0S is used"
                )
                del rolling_values["pause_time_between_batches"]
        values["rolling"] = (
            "rollingUpgradePolicy",
            _build(RollingPolicy, rolling_values, "upgradePolicy.rollingUpgradePolicy.", notes),
        )
    automatic = policy.get("automaticOSUpgradePolicy")
    if isinstance(automatic, dict) and automatic.get("enableAutomaticOSUpgrade") is True:
        notes.append(
            "upgradePolicy.automaticOSUpgradePolicy: automatic OS image upgrades are not "
            "simulated (change the image with 'vmss update --set ...')"
        )
    return _build(UpgradePolicy, values, "upgradePolicy.", notes)


def _repairs(raw: Any, notes: list[str]) -> dict[str, Any] | None:
    """`automaticRepairsPolicy` as the state keeps it; a value Azure would not hold is noted
    and its default (PT10M, Replace) used."""
    if not isinstance(raw, dict):
        return None
    from vmsscli.domain.model_update import REPAIR_ACTIONS, grace_minutes

    policy: dict[str, Any] = {"enabled": raw.get("enabled") is True}
    grace = _text(raw.get("gracePeriod"))
    if grace:
        minutes = grace_minutes(grace)
        if minutes is not None and 10 <= minutes <= 90:
            policy["grace_period"] = grace.upper()
        else:
            notes.append(
                f"automaticRepairsPolicy.gracePeriod {grace!r} is not 10 to 90 minutes; "
                "PT10M is used"
            )
    action = _text(raw.get("repairAction"))
    if action in REPAIR_ACTIONS:
        policy["repair_action"] = action
    elif action:
        notes.append(
            f"automaticRepairsPolicy.repairAction {action!r} is not Replace, Restart or "
            "Reimage; Replace is used"
        )
    return policy


def _unmapped(show: dict[str, Any], notes: list[str]) -> None:
    """Settings that matter to an operator but have no place in the state."""
    state = _text(show.get("provisioningState"))
    if state and state != "Succeeded":
        notes.append(f"provisioningState '{state}': the scale set itself is always Succeeded here")
    profile = show.get("virtualMachineProfile") or {}
    priority = _text(_get(profile, "priority"))
    if priority.lower() in ("spot", "low"):
        notes.append(
            f"virtualMachineProfile.priority '{priority}': Spot evictions are not simulated; "
            "instances behave as Regular VMs"
        )
    disks = _list(_get(profile, "storageProfile", "dataDisks"))
    if disks:
        notes.append(
            f"virtualMachineProfile.storageProfile.dataDisks: {len(disks)} data disk(s) have "
            "no place in the state; instances show no data disks"
        )


def import_scale_set(
    show: Any,
    instances: Any,
    views: Any = None,
    *,
    resource_group: str | None = None,
    name: str | None = None,
) -> Imported:
    """A scale set from the parsed output of `az vmss show`, `az vmss list-instances` and
    (optionally) `az vmss get-instance-view --instance-id '*'`."""
    notes: list[str] = []
    show = _vmss_object(show)
    items = _instance_items(instances)
    view_items = _view_items(views) if views is not None else []
    rg, nm, source = _identity(show, resource_group, name)

    # The scale set's own settings.
    profile = show.get("virtualMachineProfile")
    profile = profile if isinstance(profile, dict) else {}
    values: dict[str, tuple[str, Any]] = {}
    if isinstance(show.get("location"), str):
        values["location"] = ("location", show["location"])
    created = _moment(show.get("timeCreated", profile.get("timeCreated")), "timeCreated", notes)
    if created is not None:
        values["created"] = ("timeCreated", created)
    sku = show.get("sku") if isinstance(show.get("sku"), dict) else {}
    if sku.get("name") is not None:
        values["vm_sku"] = ("sku.name", sku["name"])
    zones = [str(z) for z in _list(show.get("zones"))]
    if len(set(zones)) != len(zones):
        notes.append(f"zones {zones} repeat a zone; each zone is kept once")
        zones = list(dict.fromkeys(zones))
    if zones:
        values["zones"] = ("zones", zones)
    for key, azure in (
        ("orchestration_mode", "orchestrationMode"),
        ("fault_domain_count", "platformFaultDomainCount"),
    ):
        if show.get(azure) is not None:
            values[key] = (azure, show[azure])
    for key, azure in (
        ("overprovision", "overprovision"),
        ("single_placement_group", "singlePlacementGroup"),
    ):
        flag = _bool(show.get(azure), azure, notes)
        if flag is not None:
            values[key] = (azure, flag)
    values["upgrade_policy"] = ("upgradePolicy", _upgrade_policy(show, notes))
    rules = _list(_get(show, "scaleInPolicy", "rules"))
    known_rules = [r for r in rules if r in SCALE_IN_RULES]
    for rule in rules:
        if rule not in SCALE_IN_RULES:
            notes.append(f"scaleInPolicy.rules: {rule!r} is not Default, OldestVM or NewestVM")
    if known_rules:
        values["scale_in_policy"] = ("scaleInPolicy.rules", known_rules)
    if _get(show, "scaleInPolicy", "forceDeletion") is True:
        values["force_deletion"] = ("scaleInPolicy.forceDeletion", True)
    repairs = _repairs(show.get("automaticRepairsPolicy"), notes)
    if repairs is not None:
        values["automatic_repairs"] = ("automaticRepairsPolicy", repairs)
    tags = show.get("tags")
    if isinstance(tags, dict):
        values["tags"] = ("tags", {str(k): "" if v is None else str(v) for k, v in tags.items()})
    _unmapped(show, notes)

    # The model instances are built from.
    model_values: dict[str, tuple[str, Any]] = {}
    storage = (
        profile.get("storageProfile") if isinstance(profile.get("storageProfile"), dict) else {}
    )
    image_values = _image(_get(storage, "imageReference") or {}, notes)
    os_disk = _get(storage, "osDisk") or {}
    os_type = _text(_get(os_disk, "osType"))
    if not os_type and _get(profile, "osProfile", "windowsConfiguration"):
        os_type = "Windows"
    if os_type:
        model_values["os_type"] = ("osDisk.osType", os_type.capitalize())
    if _get(os_disk, "diskSizeGB") is not None:
        model_values["os_disk_size_gb"] = ("osDisk.diskSizeGB", os_disk["diskSizeGB"])
    if _get(os_disk, "managedDisk", "storageAccountType") is not None:
        model_values["storage_account_type"] = (
            "osDisk.managedDisk.storageAccountType",
            os_disk["managedDisk"]["storageAccountType"],
        )
    for key, azure in (
        ("computer_name_prefix", "computerNamePrefix"),
        ("admin_username", "adminUsername"),
    ):
        if _get(profile, "osProfile", azure) is not None:
            model_values[key] = (f"osProfile.{azure}", profile["osProfile"][azure])
    probe = _get(profile, "networkProfile", "healthProbe", "id")
    if probe:
        model_values["health_probe"] = ("networkProfile.healthProbe.id", _last_segment(probe))
    extensions = _extensions(profile, notes)
    model_values["extensions"] = ("extensionProfile.extensions", extensions)

    # The instances.
    rows: list[_Row] = []
    ids: set[int] = set()
    for position, item in enumerate(items):
        row = _row(item, position, source, notes)
        if row is None:
            continue
        if row.id in ids:
            notes.append(f"--instances item {position}: a second instance with id {row.id}")
            continue
        ids.add(row.id)
        rows.append(row)
    if "computer_name_prefix" not in model_values:
        prefixes = {r.computer_name[:-6] for r in rows if len(r.computer_name) > 6}
        if len(prefixes) == 1:
            model_values["computer_name_prefix"] = ("osProfile.computerName", prefixes.pop())
    _match_views(rows, view_items, notes)

    names = {e.name for e in extensions}
    health_codes: list[str] = []
    applied = 0
    for row in rows:
        for ext_name in row.failed_resources:
            if ext_name in names:
                row.values.setdefault("extensions", ("resources", {}))
                row.values["extensions"][1].setdefault(ext_name, ExtensionState(status="failed"))
        if row.view is not None:
            applied += 1
            health_codes += _apply_view(row, row.view, names, notes)

    # Model versions: instances not on the latest model are one version behind.
    instance_level = [
        r
        for r in rows
        if r.values.get("model_definition_applied", ("", "VirtualMachineScaleSet"))[1]
        == "VirtualMachine"
    ]
    instance_level_ids = {r.id for r in instance_level}
    behind = [r for r in rows if not r.latest and r.id not in instance_level_ids]
    behind_ids = {r.id for r in behind}
    version = 2 if behind else 1
    model_values["version"] = ("latestModelApplied", version)
    for row in instance_level:
        if row.latest:
            notes.append(
                f"instance {row.id}: latestModelApplied true with modelDefinitionApplied "
                "VirtualMachine cannot be kept; it shows latestModelApplied false"
            )
    for row in behind:
        row.values["model_version"] = ("latestModelApplied", 1)

    # The image: what "latest" resolved to is what the instances on the latest model run.
    image_version = _text(image_values.get("version", ("", ""))[1])
    if image_version and image_version.lower() != "latest":
        exact = image_version
    else:
        on_latest = [r.image_version for r in rows if r.id not in behind_ids and r.image_version]
        seen = on_latest or [r.image_version for r in rows if r.image_version]
        exact = Counter(seen).most_common(1)[0][0] if seen else ""
    if exact:
        image_values["exact_version"] = ("exactVersion", exact)
    elif image_values and any(k in image_values for k in ("publisher", "offer", "sku")):
        # Another image than the default, and no instance says which version it runs.
        image_values["exact_version"] = ("exactVersion", image_version or "latest")
    model_values["image"] = (
        "imageReference",
        _build(ImageReference, image_values, "virtualMachineProfile.storageProfile.", notes),
    )
    model = _build(VmModel, model_values, "virtualMachineProfile.", notes)
    if health_codes and not model.has_health_monitoring:
        notes.append(
            f"vmHealth of {len(health_codes)} instance(s): kept as the instances' health, but "
            "the scale set model in --vmss has no health probe or application health "
            "extension, so no vmHealth is shown"
        )
    if values["upgrade_policy"][1].mode == "Rolling" and not model.has_health_monitoring:
        notes.append(
            "upgradePolicy.mode Rolling: the scale set model has no health probe or "
            "application health extension, so rolling upgrades will be refused"
        )

    # Build each instance: zones, images, times.
    built: list[Instance] = []
    naming = ScaleSet(model=model)
    set_created = values.get("created", ("", None))[1]
    for row in rows:
        label = f"instance {row.id}: "
        zone = row.values.get("zone", ("", ""))[1]
        if zone and not zones:
            notes.append(f"{label}zone {zone} is dropped: the scale set in --vmss is regional")
            del row.values["zone"]
        elif zone and zone not in zones:
            notes.append(
                f"{label}zone {zone} is not one of the scale set's zones {zones}; "
                "the default zone is used"
            )
            del row.values["zone"]
        shown = computer_name(naming, nm, row.id)
        if row.computer_name and row.computer_name.casefold() != shown.casefold():
            notes.append(
                f"{label}computer name {row.computer_name} is not the model's prefix plus the "
                f"id; it shows as {shown}"
            )
        if row.image_version and row.image_version != model.image.exact_version:
            row.values["image_version"] = ("storageProfile.imageReference", row.image_version)
        for key in ("created", "updated"):
            _parse_time(row, key, notes)
        inst = _build(Instance, row.values, label, notes)
        floor = inst.created or set_created
        if inst.updated is not None and floor is not None and inst.updated < floor:
            inst.updated = floor  # a status older than the VM: the capture mixed two VMs' data
        built.append(inst)

    count = len(built)
    capacity = sku.get("capacity")
    if isinstance(capacity, int) and capacity != count:
        notes.append(
            f"sku.capacity is {capacity} but {count} instance(s) were imported; the capacity "
            f"here is always the number of instances ({count})"
        )
    values["model"] = ("virtualMachineProfile", model)
    values["instances"] = ("--instances", built)
    try:
        scale_set = _build(ScaleSet, values, "", notes)
    except ValidationError as exc:  # a rule across fields; each field was checked above
        raise CLIError(
            f"Could not build the scale set from --vmss and --instances: "
            f"{exc.errors(include_url=False)[0]['msg'].removeprefix('Value error, ')}."
        ) from None
    return Imported(rg, nm, scale_set, notes, applied)


def _parse_time(row: _Row, key: str, notes: list[str]) -> None:
    """An instance's time as a datetime; one that cannot be read is noted and dropped."""
    if key not in row.values:
        return
    azure, value = row.values[key]
    moment = _moment(value, f"instance {row.id}: {azure}", notes)
    if moment is None:
        del row.values[key]
    else:
        row.values[key] = (azure, moment)


# --- into the state -----------------------------------------------------------------------------


def merge(state: State, imported: Imported) -> tuple[str, str, bool]:
    """Put the imported scale set into `state`: a scale set of the same name (in any letter
    case) is replaced in place; every other scale set and resource group is left as it is.
    Returns the resource group and scale set names as stored, and whether one was replaced."""
    scale_set = imported.scale_set
    name = imported.name
    rg_key = find_key(state.resource_groups, imported.resource_group)
    if rg_key is None:
        rg_key = imported.resource_group
        state.resource_groups[rg_key] = ResourceGroup(
            location=scale_set.location or DEFAULT_LOCATION, scale_sets={name: scale_set}
        )
        return rg_key, name, False
    group = state.resource_groups[rg_key]
    if not scale_set.location:
        scale_set.location = group.location
    old = find_key(group.scale_sets, name)
    if old is None:
        group.scale_sets[name] = scale_set
        return rg_key, name, False
    group.scale_sets = {
        (name if key == old else key): (scale_set if key == old else value)
        for key, value in group.scale_sets.items()
    }
    return rg_key, name, True
