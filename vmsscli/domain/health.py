"""What an instance's health and problems are, derived from its facts."""

from __future__ import annotations

from vmsscli.model import Health, Instance, ScaleSet


def effective_health(scale_set: ScaleSet, inst: Instance) -> Health:
    """The health Azure reports: only a running VM with a ready agent reports a state."""
    if inst.power_state != "running" or inst.provisioning_state != "Succeeded":
        return "unknown"
    if inst.vm_agent != "ready" and not scale_set.model.health_probe:
        return "unknown"
    return inst.health


def failed_extensions(scale_set: ScaleSet, inst: Instance) -> list[str]:
    names = {ext.name for ext in scale_set.model.extensions}
    return [
        name for name, ext in inst.extensions.items() if ext.status == "failed" and name in names
    ]


def is_serving(scale_set: ScaleSet, inst: Instance) -> bool:
    """Whether the instance takes traffic: running and healthy (or unmonitored)."""
    if inst.power_state != "running" or inst.provisioning_state != "Succeeded":
        return False
    if not scale_set.model.has_health_monitoring:
        return True
    return effective_health(scale_set, inst) == "healthy"


def is_latest_model(scale_set: ScaleSet, inst: Instance) -> bool:
    return (
        inst.model_version == scale_set.model.version
        and inst.model_definition_applied == "VirtualMachineScaleSet"
    )
