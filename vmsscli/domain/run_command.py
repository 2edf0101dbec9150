"""run-command invoke: refused where Azure refuses it, answered by the simulated guest, kept
in the instance's history and the activity log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vmsscli.domain import activity
from vmsscli.domain.fleet import find_instance, find_scale_set
from vmsscli.errors import ServiceError
from vmsscli.guest.catalog import COMMAND_IDS
from vmsscli.model import RunCommandRecord, State
from vmsscli.resource_ids import vm_id

HISTORY = 20
OPERATION = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action"


def invoke(
    state: State,
    rg: str,
    name: str,
    instance_id: str,
    command_id: str,
    script_lines: list[str],
    parameters: list[str],
    now: datetime,
    *,
    command: str = "",
) -> dict[str, Any]:
    from vmsscli.guest.runner import execute, result_view

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    inst = find_instance(scale_set, key, rg_key, instance_id)
    os_type = scale_set.model.os_type
    known = next((cid for cid in COMMAND_IDS if cid.lower() == command_id.lower()), None)
    if known is None:
        raise ServiceError(
            "NotFound", "The entity was not found in this Azure location.", status=404
        )
    if COMMAND_IDS[known][0] != os_type:
        raise ServiceError(
            "Conflict",
            f"Run command OS type '{COMMAND_IDS[known][0]}' does "
            f"not match the target OS {os_type}.",
            status=409,
        )
    vm_name = f"{key}_{inst.id}"
    if inst.operation is not None or inst.provisioning_state != "Succeeded":
        running = inst.operation.name if inst.operation else inst.provisioning_state.lower()
        raise ServiceError(
            "OperationNotAllowed",
            f"Operation 'runCommand' is not allowed on VM "
            f"'{vm_name}' since another operation ('{running}') is in progress.",
            status=409,
        )
    if inst.power_state != "running":
        raise ServiceError(
            "OperationNotAllowed",
            "The operation requires the VM to be running (or set to run).",
            status=409,
        )
    if inst.vm_agent != "ready":
        raise ServiceError(
            "VMAgentStatusCommunicationError",
            f"VM '{vm_name}' has not reported status for VM agent or extensions. Verify that "
            "the OS is up and healthy, the VM has a running VM agent, and that it can establish "
            "outbound connections to Azure storage. Please refer to "
            "https://aka.ms/vmextensionlinuxtroubleshoot for additional VM agent "
            "troubleshooting information.",
            status=409,
        )
    script = "\n".join(script_lines)
    execution = execute(scale_set, key, inst, now, known, script, parameters)
    entry = activity.completed(
        state,
        now=now,
        operation=OPERATION,
        resource_id=vm_id(state.subscription_id, rg_key, key, inst.id),
        instance_ids=[str(inst.id)],
        command=command,
        detail=f"{known}: {script}" if script else known,
    )
    number = (int(inst.run_commands[-1].name.rsplit("_", 1)[-1]) + 1) if inst.run_commands else 1
    inst.run_commands = [
        *inst.run_commands,
        RunCommandRecord(
            name=f"cmd_{number:06d}",
            command_id=known,
            script=script_lines,
            parameters=parameters,
            started=now,
            exit_code=execution.exit_code,
            stdout=execution.stdout[-4096:],
            stderr=execution.stderr[-4096:],
            correlation_id=entry.correlation_id,
        ),
    ][-HISTORY:]
    return result_view(os_type, execution)


def catalog(os_type: str | None = None) -> list[dict[str, str]]:
    """The command ids, as `az vm run-command list` shows them."""
    return [
        {
            "$schema": "http://schema.management.azure.com/schemas/2016-11-17/runcommands.json",
            "description": description,
            "id": cid,
            "label": description,
            "osType": os,
        }
        for cid, (os, description) in COMMAND_IDS.items()
        if os_type is None or os.lower() == os_type.lower()
    ]
