"""What an instance's health and problems are, derived from its facts."""

from __future__ import annotations

from vmsscli.model import Health, Instance, ScaleSet

# Faults that make the application unhealthy while the VM runs.
UNHEALTHY_FAULTS = ("stale-process", "disk-full", "bad-model")


def app_health(scale_set: ScaleSet, inst: Instance) -> Health:
    """What the application would report if asked: unhealthy with a guest fault, a failed
    extension (the VM is not configured as it should be), its service not running, or an
    unhealthy app."""
    if inst.health == "unhealthy" or failed_extensions(scale_set, inst):
        return "unhealthy"
    if any(fault.kind in UNHEALTHY_FAULTS for fault in inst.faults):
        return "unhealthy"
    from vmsscli.guest.facts import app_service_status

    if app_service_status(scale_set, inst) != "active":
        return "unhealthy"
    return inst.health


def effective_health(scale_set: ScaleSet, inst: Instance) -> Health:
    """The health Azure reports: only a running VM with a ready agent reports a state."""
    if inst.power_state != "running" or inst.provisioning_state != "Succeeded":
        return "unknown"
    if inst.vm_agent != "ready" and not scale_set.model.health_probe:
        return "unknown"
    return app_health(scale_set, inst)


def failed_extensions(scale_set: ScaleSet, inst: Instance) -> list[str]:
    names = {ext.name for ext in scale_set.model.extensions}
    return [
        name for name, ext in inst.extensions.items() if ext.status == "failed" and name in names
    ]


def is_serving(scale_set: ScaleSet, inst: Instance) -> bool:
    """Whether the instance takes traffic: running, provisioned and healthy (or unmonitored
    and free of faults)."""
    if inst.power_state != "running" or inst.provisioning_state != "Succeeded":
        return False
    if not scale_set.model.has_health_monitoring:
        return app_health(scale_set, inst) != "unhealthy"
    return effective_health(scale_set, inst) == "healthy"


def is_latest_model(scale_set: ScaleSet, inst: Instance) -> bool:
    return (
        inst.model_version == scale_set.model.version
        and inst.model_definition_applied == "VirtualMachineScaleSet"
    )
