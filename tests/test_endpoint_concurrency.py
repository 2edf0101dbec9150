"""One state, two front doors: 20 SDK clients change protection through the endpoint while 5
command-line processes change it on the same file; every change and its events are there
afterwards, and the file is valid."""

from __future__ import annotations

import subprocess
import threading
from datetime import UTC, datetime

from conftest import start_endpoint, stop_endpoint, vmss_executable
from test_endpoint_sdk import StaticToken

SUB = "00000000-0000-0000-0000-000000000000"


def _fleet():
    from vmsscli.demo import demo_state
    from vmsscli.domain.creation import CreateSpec, create_scale_set

    state = demo_state()
    create_scale_set(
        state,
        "rg-load",
        "load-vmss",
        CreateSpec(instance_count=25, zones=["1", "2", "3"]),
        datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
    )
    return state


def test_sdk_clients_and_cli_processes_writing_at_once_lose_nothing(tmp_path):
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.compute.models import VirtualMachineScaleSetVMProtectionPolicy as Policy

    from vmsscli.store import read_file

    served = start_endpoint(tmp_path, state=_fleet())
    errors: list[str] = []
    try:

        def sdk_client(instance_id: int) -> None:
            try:
                client = ComputeManagementClient(
                    StaticToken(served.token),
                    SUB,
                    base_url=served.url,
                    connection_verify=served.ca,
                    credential_scopes=[served.url + ".default"],
                )
                vms = client.virtual_machine_scale_set_vms
                vm = vms.get("rg-load", "load-vmss", str(instance_id))
                vm.protection_policy = Policy(protect_from_scale_in=True)
                vms.begin_update("rg-load", "load-vmss", str(instance_id), vm).result()
            except Exception as exc:  # reported below, with the instance
                errors.append(f"sdk {instance_id}: {exc}")

        threads = [threading.Thread(target=sdk_client, args=(i,)) for i in range(20)]
        cli = [
            subprocess.Popen(
                [vmss_executable(), "update", "-g", "rg-load", "-n", "load-vmss",
                 "--instance-id", str(i), "--protect-from-scale-in", "true", "-o", "none"],
                env=served.env(VMSSCLI_LOCK_TIMEOUT="60"),
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(20, 25)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        for index, process in enumerate(cli):
            _out, err = process.communicate(timeout=120)
            if process.returncode != 0:
                errors.append(f"cli {20 + index}: {err}")
    finally:
        stop_endpoint(served)
    assert errors == []
    state = read_file(served.state)  # validates the whole file
    scale_set = state.resource_groups["rg-load"].scale_sets["load-vmss"]
    protected = sorted(i.id for i in scale_set.instances if i.protection and i.protection.scale_in)
    assert protected == list(range(25))
    writes = [
        e
        for e in state.activity_log
        if e.operation.endswith("virtualMachines/write") and "load-vmss" in e.resource_id
    ]
    by_instance: dict[str, list[str]] = {}
    for entry in writes:
        by_instance.setdefault(entry.instance_ids[0], []).append(entry.status)
    assert by_instance == {str(i): ["Started", "Succeeded"] for i in range(25)}
    # Requests through the endpoint are recorded with the request, the others with the command.
    commands = {e.instance_ids[0]: e.command for e in writes}
    assert commands["3"].startswith("PUT /subscriptions/")
    assert commands["22"].startswith("vmss update -g rg-load")
