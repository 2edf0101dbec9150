"""The Azure SDK for Python (azure-mgmt-compute) drives the simulated fleet through `vmss serve`:
reads, protection, every action with its poller, run-command, rolling upgrades, errors; and
every object the endpoint sends survives the SDK's own models (a key at the wrong nesting level
is what the SDK and az drop silently)."""

from __future__ import annotations

import json
import time

import pytest
from conftest import run_vmss

SUB = "00000000-0000-0000-0000-000000000000"
WEB = ("rg-web", "web-vmss")
BATCH = ("rg-batch", "batch-vmss")


class StaticToken:
    """A credential holding the token the endpoint issued (`endpoint.json`)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def compute(endpoint):
    from azure.mgmt.compute import ComputeManagementClient

    return ComputeManagementClient(
        StaticToken(endpoint.token),
        SUB,
        base_url=endpoint.url,
        connection_verify=endpoint.ca,
        credential_scopes=[endpoint.url + ".default"],
        polling_interval=0.2,
    )


@pytest.fixture
def fresh(endpoint):
    endpoint.reset()
    return endpoint


def cli_json(endpoint, *args):
    done = run_vmss(*args, state=endpoint.state, env={"HOME": str(endpoint.home)})
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


# --- reads --------------------------------------------------------------------------------------


def test_list_and_get_scale_sets(compute, fresh):
    names = sorted(s.name for s in compute.virtual_machine_scale_sets.list_all())
    assert names == ["batch-vmss", "tools-vmss", "web-vmss"]
    web = compute.virtual_machine_scale_sets.get(*WEB)
    assert web.sku.capacity == 12
    assert web.upgrade_policy.mode == "Rolling"
    assert web.upgrade_policy.rolling_upgrade_policy.pause_time_between_batches == "PT30S"
    assert web.zones == ["1", "2", "3"]
    assert [e.name for e in web.virtual_machine_profile.extension_profile.extensions] == [
        "HealthExtension",
        "configure-web",
    ]
    group = [s.name for s in compute.virtual_machine_scale_sets.list("rg-batch")]
    assert sorted(group) == ["batch-vmss", "tools-vmss"]


def test_list_instances_with_expand_select_and_filter(compute, fresh):
    vms = list(compute.virtual_machine_scale_set_vms.list(*WEB))
    assert [vm.instance_id for vm in vms] == [
        "0",
        "1",
        "2",
        "4",
        "5",
        "6",
        "7",
        "9",
        "10",
        "11",
        "12",
        "13",
    ]
    nine = next(vm for vm in vms if vm.instance_id == "9")
    assert nine.protection_policy.protect_from_scale_in is True
    assert nine.latest_model_applied is False
    assert nine.storage_profile.os_disk.managed_disk.id.endswith(nine.storage_profile.os_disk.name)
    expanded = list(compute.virtual_machine_scale_set_vms.list(*WEB, expand="instanceView"))
    five = next(vm for vm in expanded if vm.instance_id == "5")
    assert five.instance_view.vm_health.status.code == "HealthState/unhealthy"
    behind = list(
        compute.virtual_machine_scale_set_vms.list(
            *WEB, filter="properties/latestModelApplied eq false"
        )
    )
    assert sorted(vm.instance_id for vm in behind) == ["12", "9"]


def test_instance_views(compute, fresh):
    view = compute.virtual_machine_scale_set_vms.get_instance_view(*WEB, "5")
    failed = next(e for e in view.extensions if e.name == "configure-web")
    assert failed.statuses[0].code == "ProvisioningState/failed"
    assert [s.code for s in view.statuses] == ["ProvisioningState/succeeded", "PowerState/running"]
    whole = compute.virtual_machine_scale_sets.get_instance_view(*WEB)
    counts = {s.code: s.count for s in whole.virtual_machine.statuses_summary}
    assert counts == {"ProvisioningState/succeeded": 12}
    stopped = compute.virtual_machine_scale_set_vms.get_instance_view(*BATCH, "3")
    assert stopped.statuses[1].code == "PowerState/stopped"


# --- changes ------------------------------------------------------------------------------------


def test_protection_update_is_seen_by_the_cli(compute, fresh):
    from azure.mgmt.compute.models import VirtualMachineScaleSetVMProtectionPolicy as Policy

    vm = compute.virtual_machine_scale_set_vms.get(*WEB, "4")
    vm.protection_policy = Policy(protect_from_scale_in=True, protect_from_scale_set_actions=True)
    updated = compute.virtual_machine_scale_set_vms.begin_update(*WEB, "4", vm).result()
    assert updated.protection_policy.protect_from_scale_set_actions is True
    assert updated.model_definition_applied == "VirtualMachine"
    shown = cli_json(fresh, "show", "-g", WEB[0], "-n", WEB[1], "--instance-id", "4")
    assert shown["protectionPolicy"] == {
        "protectFromScaleIn": True,
        "protectFromScaleSetActions": True,
    }


@pytest.mark.parametrize(
    ("start", "kwargs", "power"),
    [
        ("begin_power_off", {"vm_instance_i_ds": {"instanceIds": ["1"]}}, "stopped"),
        ("begin_deallocate", {"vm_instance_i_ds": {"instanceIds": ["1"]}}, "deallocated"),
        ("begin_restart", {"vm_instance_i_ds": {"instanceIds": ["1"]}}, "running"),
        ("begin_reimage", {"vm_scale_set_reimage_input": {"instanceIds": ["1"]}}, "running"),
    ],
)
def test_actions_on_the_set_wait_through_the_poller(compute, fresh, start, kwargs, power):
    poller = getattr(compute.virtual_machine_scale_sets, start)(*BATCH, **kwargs)
    poller.result()
    assert poller.status() == "Succeeded"
    view = compute.virtual_machine_scale_set_vms.get_instance_view(*BATCH, "1")
    assert view.statuses[1].code == f"PowerState/{power}"
    assert view.statuses[0].code == "ProvisioningState/succeeded"


def test_actions_on_one_instance_and_start_of_the_set(compute, fresh):
    vms = compute.virtual_machine_scale_set_vms
    vms.begin_power_off(*BATCH, "2").result()
    vms.begin_deallocate(*BATCH, "4").result()
    assert vms.get_instance_view(*BATCH, "2").statuses[1].code == "PowerState/stopped"
    compute.virtual_machine_scale_sets.begin_start(*BATCH).result()
    for instance_id in ("2", "3", "4"):
        assert vms.get_instance_view(*BATCH, instance_id).statuses[1].code == "PowerState/running"


def test_a_whole_set_restart_skips_instances_protected_from_scale_set_actions(compute, fresh):
    cli_json(
        fresh, "update", "-g", WEB[0], "-n", WEB[1], "--instance-id", "4",
        "--protect-from-scale-set-actions",
    )  # fmt: skip
    compute.virtual_machine_scale_sets.begin_restart(*WEB).result()
    log = cli_json(fresh, "activity-log", "list", "-g", WEB[0], "-n", WEB[1])
    restart = next(e for e in reversed(log) if e["operationName"].endswith("restart/action"))
    assert "4" not in restart["instanceIds"]
    assert restart["skipped"] == [{"instanceId": "4", "reason": "protectFromScaleSetActions"}]


def test_delete_instances_and_manual_upgrade(compute, fresh):
    sets = compute.virtual_machine_scale_sets
    sets.begin_update_instances(*WEB, {"instanceIds": ["12"]}).result()  # POST manualupgrade
    assert compute.virtual_machine_scale_set_vms.get(*WEB, "12").latest_model_applied is True
    sets.begin_delete_instances(*BATCH, {"instanceIds": ["0", "1"]}).result()
    assert sets.get(*BATCH).sku.capacity == 3
    compute.virtual_machine_scale_set_vms.begin_delete(*BATCH, "2").result()
    assert sorted(vm.instance_id for vm in compute.virtual_machine_scale_set_vms.list(*BATCH)) == [
        "3",
        "4",
    ]


def test_scale_through_a_put_of_the_scale_set(compute, fresh):
    scale_set = compute.virtual_machine_scale_sets.get(*BATCH)
    scale_set.sku.capacity = 7
    result = compute.virtual_machine_scale_sets.begin_create_or_update(*BATCH, scale_set).result()
    assert result.sku.capacity == 7
    ids = sorted(int(vm.instance_id) for vm in compute.virtual_machine_scale_set_vms.list(*BATCH))
    assert ids == [0, 1, 2, 3, 4, 5, 6]


def test_run_command_is_answered_by_the_simulated_guest(compute, fresh):
    result = compute.virtual_machine_scale_set_vms.begin_run_command(
        *WEB,
        "0",
        {"commandId": "RunShellScript", "script": ['echo "$1 from $(hostname)"'],
         "parameters": [{"name": "arg1", "value": "hello"}]},
    ).result()  # fmt: skip
    assert result.value[0].code == "ProvisioningState/succeeded"
    assert "hello from webvm000000" in result.value[0].message
    listed = cli_json(
        fresh, "run-command", "list", "-g", WEB[0], "--vmss-name", WEB[1], "--instance-id", "0"
    )
    assert listed[-1]["source"] == {"script": 'echo "$1 from $(hostname)"'}


def test_rolling_upgrade_status_start_and_cancel(compute, fresh):
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    upgrades = compute.virtual_machine_scale_set_rolling_upgrades
    with pytest.raises(ResourceNotFoundError):
        upgrades.get_latest(*WEB)
    with pytest.raises(HttpResponseError) as refused:
        upgrades.begin_cancel(*WEB).result()
    assert refused.value.status_code == 409
    assert refused.value.error.code == "OperationNotAllowed"
    upgrades.begin_start_os_upgrade(*WEB).result()
    latest = upgrades.get_latest(*WEB)
    assert latest.running_status.code == "Completed"
    # 9 (on an instance-level model, protected from scale-in only) and 12 (an older model).
    assert latest.progress.successful_instance_count == 2
    assert latest.policy.max_batch_instance_percent == 20


# --- errors ---------------------------------------------------------------------------------


def test_errors_are_arm_errors_with_the_cli_texts(compute, fresh):
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError) as missing:
        compute.virtual_machine_scale_sets.get("rg-web", "nope")
    assert missing.value.error.code == "ResourceNotFound"
    cli = run_vmss("show", "-g", "rg-web", "-n", "nope", state=fresh.state)
    assert missing.value.error.message in cli.stderr
    with pytest.raises(HttpResponseError) as bad:
        compute.virtual_machine_scale_sets.begin_restart(*WEB, {"instanceIds": ["99"]}).result()
    assert bad.value.status_code == 400
    assert bad.value.error.code == "InvalidParameter"
    assert bad.value.error.target == "instanceIds"
    with pytest.raises(ResourceNotFoundError) as group:
        list(compute.virtual_machine_scale_sets.list("rg-nope"))
    assert group.value.error.code == "ResourceGroupNotFound"


# --- shapes ---------------------------------------------------------------------------------


def _round_trip(model_class, wire: dict) -> list[str]:
    """Keys of `wire` that deserializing into the SDK model and serializing back loses."""
    model = model_class._deserialize(wire, []) if hasattr(model_class, "_deserialize") else None
    if model is None:
        model = model_class(wire)
    back = model.as_dict() if hasattr(model, "as_dict") else dict(model)
    return _lost(wire, back, "")


def _lost(sent, kept, path: str) -> list[str]:
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [path or "(top)"]
        out = []
        for key, value in sent.items():
            if key not in kept:
                out.append(f"{path}.{key}" if path else key)
            else:
                out += _lost(value, kept[key], f"{path}.{key}" if path else key)
        return out
    if isinstance(sent, list):
        if not isinstance(kept, list) or len(kept) != len(sent):
            return [path]
        return [lost for a, b in zip(sent, kept, strict=True) for lost in _lost(a, b, f"{path}[]")]
    return []


def _get(endpoint, path: str) -> dict:
    import requests

    response = requests.get(
        endpoint.url + path.lstrip("/"),
        headers={"Authorization": f"Bearer {endpoint.token}"},
        verify=endpoint.ca,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_every_object_the_endpoint_sends_survives_the_sdk_models(fresh):
    from azure.mgmt.compute import models

    base = (
        f"subscriptions/{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/"
        "virtualMachineScaleSets/web-vmss"
    )
    v = "?api-version=2024-11-01"
    run_vmss(
        "update", "-g", "rg-web", "-n", "web-vmss", "--set",
        "virtualMachineProfile.storageProfile.imageReference.version=22.04.202411200",
        state=fresh.state,
    )  # fmt: skip
    cases = [
        (models.VirtualMachineScaleSet, _get(fresh, base + v)),
        (models.VirtualMachineScaleSetInstanceView, _get(fresh, base + "/instanceView" + v)),
        (
            models.VirtualMachineScaleSetVMInstanceView,
            _get(fresh, base + "/virtualMachines/5/instanceView" + v),
        ),
        (models.RollingUpgradeStatusInfo, _get(fresh, base + "/rollingUpgrades/latest" + v)),
    ]
    for item in _get(fresh, base + "/virtualMachines" + v + "&$expand=instanceView")["value"]:
        cases.append((models.VirtualMachineScaleSetVM, item))
    for scale_set in _get(
        fresh, f"subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets{v}"
    )["value"]:
        cases.append((models.VirtualMachineScaleSet, scale_set))
    losses = {}
    for model_class, wire in cases:
        lost = _round_trip(model_class, wire)
        if lost:
            losses[f"{model_class.__name__} {wire.get('name', '')}"] = lost
    assert losses == {}


def test_the_sdk_example_in_the_docs_runs(fresh):
    import re
    import subprocess
    import sys

    from conftest import REPO

    text = (REPO / "docs" / "endpoint.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    done = subprocess.run(
        [sys.executable, "-c", example],
        capture_output=True,
        text=True,
        env=fresh.env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("0 True")
    assert "9 False" in done.stdout and "protectFromScaleIn" in done.stdout
