"""Field cases 1 and 3 of the field manual played end to end with the installed
`vmss`, one subprocess per step, as an operator's shell would run them.

The run-command steps of both cases (finding the stale process in case 1, finding the buffered
telemetry and confirming the drain in case 3) are left out: `vmss run-command` is not
implemented yet.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import Result, run_vmss

IOT = ["-g", "rg-iot", "-n", "gateway-vmss"]
SEARCH = ["-g", "rg-search", "-n", "search-vmss"]
VMSS_OP = "Microsoft.Compute/virtualMachineScaleSets"


def vmss(state: Path, *args: str) -> Result:
    result = run_vmss(*args, state=state)
    assert result.exit_code == 0, f"vmss {' '.join(args)}\n{result.stderr}"
    return result


def ids(state: Path, where: list[str]) -> list[str]:
    return vmss(state, "list-instances", *where, "--query", "[].instanceId").json()


def started(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e["status"] == "Started"]


# --- field case 3: IoT gateways, protect buffered state during scale-in ---------------------------


@pytest.fixture
def iot(tmp_path) -> Path:
    """A fresh, empty subscription in manual clock mode with a 10-instance gateway tier."""
    state = tmp_path / "iot.json"
    state.write_text(
        json.dumps(
            {"schema_version": 1, "clock": {"mode": "manual", "now": "2026-11-23T06:00:00Z"}}
        )
    )
    assert vmss(state, "clock", "show").json()["mode"] == "manual"
    created = vmss(state, "create", *IOT, "--instance-count", "10")
    assert created.json()["vmss"]["sku"]["capacity"] == 10
    assert ids(state, IOT) == [str(i) for i in range(10)]
    return state


def test_field_case_3_protected_gateways_survive_the_scale_in(iot):
    buffering = ["2", "5", "7"]
    # 1. (run-command to find the buffering instances: not implemented yet) protect each.
    for instance_id in buffering:
        vm = vmss(
            iot, "update", *IOT, "--instance-id", instance_id, "--protect-from-scale-in", "true"
        ).json()
        assert vm["protectionPolicy"]["protectFromScaleIn"] is True

    # 2. Scale to 5: five stateless instances go, chosen by Azure's scale-in order.
    scaled = vmss(iot, "scale", *IOT, "--new-capacity", "5").json()
    assert scaled["sku"]["capacity"] == 5
    remaining = ids(iot, IOT)
    assert len(remaining) == 5
    assert set(buffering) <= set(remaining)

    # 3. (run-command to confirm the queues drained: not implemented yet) unprotect each.
    for instance_id in buffering:
        vm = vmss(
            iot, "update", *IOT, "--instance-id", instance_id, "--protect-from-scale-in", "false"
        ).json()
        assert vm["protectionPolicy"]["protectFromScaleIn"] is False

    # End: protection is off, 5 remain, and the log tells the story in order.
    listed = vmss(iot, "list-instances", *IOT).json()
    assert len(listed) == 5
    for vm in listed:
        policy = vm.get("protectionPolicy", {})
        assert not policy.get("protectFromScaleIn") and not policy.get("protectFromScaleSetActions")
    entries = vmss(iot, "activity-log", "list", *IOT).json()
    protect_on = [
        i
        for i, e in enumerate(entries)
        if e["operationName"] == f"{VMSS_OP}/virtualMachines/write"
        and "--protect-from-scale-in true" in e["command"]
    ]
    protect_off = [
        i
        for i, e in enumerate(entries)
        if e["operationName"] == f"{VMSS_OP}/virtualMachines/write"
        and "--protect-from-scale-in false" in e["command"]
    ]
    scale_in = [i for i, e in enumerate(entries) if " scale " in f" {e['command']} "]
    assert sorted({entries[i]["instanceIds"][0] for i in protect_on}) == buffering
    assert sorted({entries[i]["instanceIds"][0] for i in protect_off}) == buffering
    assert scale_in, "the scale-in is not in the activity log"
    assert max(protect_on) < min(scale_in) <= max(scale_in) < min(protect_off)
    removed = {i for e in (entries[i] for i in scale_in) for i in e["instanceIds"]}
    assert len(removed) == 5 and not removed & set(buffering)
    assert removed | set(remaining) == {str(i) for i in range(10)}
    table = vmss(iot, "activity-log", "list", *IOT, "-o", "table").stdout.splitlines()
    assert len(table) == 2 + len(entries)
    assert sum("virtualMachines/write" in row for row in table) == len(protect_on + protect_off)


def test_field_case_3_counter_case_scale_in_without_protection_removes_the_highest_ids(iot):
    vmss(iot, "scale", *IOT, "--new-capacity", "5")
    remaining = ids(iot, IOT)
    assert remaining == ["0", "1", "2", "3", "4"]
    assert "7" not in remaining  # the buffered telemetry on 7 would be lost
    domains = vmss(
        iot, "get-instance-view", *IOT, "--instance-id", "*", "--query", "[].platformFaultDomain"
    ).json()
    assert Counter(domains) == {0: 1, 1: 1, 2: 1, 3: 1, 4: 1}  # balanced over fault domains
    scale_in = [
        e
        for e in started(vmss(iot, "activity-log", "list", *IOT).json())
        if "scale" in e["command"]
    ]
    assert len(scale_in) == 1
    assert scale_in[0]["instanceIds"] == ["9", "8", "7", "6", "5"]  # highest id first


# --- field case 1: search tier, one bad backend before the evening peak ---------------------------

SEARCH_STATE = """\
schema_version = 1

[clock]
mode = "manual"
now = 2026-11-23T16:30:00Z

[resource_groups.rg-search]
location = "westeurope"

[resource_groups.rg-search.scale_sets.search-vmss]
vm_sku = "Standard_D4s_v5"
zones = ["1", "2", "3"]
single_placement_group = false
tags = { tier = "search" }
instances = [
{instances}
]

[resource_groups.rg-search.scale_sets.search-vmss.upgrade_policy]
mode = "Rolling"
rolling = { max_batch_instance_percent = 20, max_unhealthy_instance_percent = 20, \
max_unhealthy_upgraded_instance_percent = 20, pause_time_between_batches = "PT30S" }

[resource_groups.rg-search.scale_sets.search-vmss.model]
computer_name_prefix = "search"
health_probe = ""

[[resource_groups.rg-search.scale_sets.search-vmss.model.extensions]]
name = "HealthExtension"
publisher = "Microsoft.ManagedServices"
type = "ApplicationHealthLinux"
settings = { protocol = "http", port = 8080, requestPath = "/healthz" }

[[resource_groups.rg-search.scale_sets.search-vmss.model.extensions]]
name = "deploy-search"
publisher = "Microsoft.Azure.Extensions"
type = "CustomScript"
type_handler_version = "2.1"
settings = { commandToExecute = "bash /opt/deploy/search-app.sh" }
"""
BAD_18 = (
    '  { id = 18, faults = [{ kind = "stale-process" }], extensions = { "deploy-search" = '
    '{ status = "failed", message = "Enable failed: search-app did not become ready in 300s" } } },'
)


@pytest.fixture
def search(tmp_path) -> Path:
    rows = [BAD_18 if i == 18 else f"  {{ id = {i} }}," for i in range(24)]
    state = tmp_path / "search.toml"
    state.write_text(SEARCH_STATE.replace("{instances}", "\n".join(rows)))
    vmss(state, "state", "validate", str(state))
    return state


def health_by_id(state: Path) -> dict[str, str | None]:
    instance_ids = ids(state, SEARCH)
    codes = vmss(
        state,
        "get-instance-view",
        *SEARCH,
        "--instance-id",
        "*",
        "--query",
        "[].vmHealth.status.code",
    ).json()
    assert len(codes) == len(instance_ids)
    return dict(zip(instance_ids, codes, strict=True))


def instance_view(state: Path, instance_id: str) -> dict:
    return vmss(state, "get-instance-view", *SEARCH, "--instance-id", instance_id).json()


def extension_status(view: dict, name: str) -> dict:
    return next(e for e in view["extensions"] if e["name"] == name)["statuses"][0]


def test_field_case_1_one_bad_backend_is_repaired_by_a_reimage_of_only_that_instance(search):
    # 1. Locate 18: unhealthy, failed extension, on the latest model, zone and domain visible.
    table = vmss(search, "list-instances", *SEARCH, "-o", "table").stdout.splitlines()
    assert len(table) == 2 + 24
    health = health_by_id(search)
    assert [i for i, code in health.items() if code != "HealthState/healthy"] == ["18"]
    assert health["18"] == "HealthState/unhealthy"
    vm = vmss(search, "show", *SEARCH, "--instance-id", "18").json()
    assert vm["latestModelApplied"] is True and vm["zones"] == ["1"]

    # 2. Its instance view: the failed extension with its message, vmHealth unhealthy.
    view = instance_view(search, "18")
    failed = extension_status(view, "deploy-search")
    assert failed["code"] == "ProvisioningState/failed"
    assert "search-app did not become ready" in failed["message"]
    assert view["vmHealth"]["status"]["code"] == "HealthState/unhealthy"
    assert isinstance(view["platformFaultDomain"], int)

    # 3. (run-command `journalctl -u search-app` showing the stale process: not implemented yet)

    # 4. Restart 18: the stale process is gone, but the extension is still failed.
    vmss(search, "restart", *SEARCH, "--instance-ids", "18")
    view = instance_view(search, "18")
    assert extension_status(view, "deploy-search")["code"] == "ProvisioningState/failed"
    assert view["vmHealth"]["status"]["code"] == "HealthState/unhealthy"
    assert health_by_id(search)["0"] == "HealthState/healthy"

    # 5. Reimage 18: fresh OS disk, the extension re-runs and succeeds, healthy, latest model.
    vmss(search, "reimage", *SEARCH, "--instance-ids", "18")
    view = instance_view(search, "18")
    assert extension_status(view, "deploy-search")["code"] == "ProvisioningState/succeeded"
    assert view["vmHealth"]["status"]["code"] == "HealthState/healthy"
    assert vmss(search, "show", *SEARCH, "--instance-id", "18").json()["latestModelApplied"]

    # End: 24 of 24 healthy and serving, capacity intact.
    assert set(health_by_id(search).values()) == {"HealthState/healthy"}
    rows = vmss(search, "triage", *SEARCH).json()
    assert len(rows) == 24 and all(row["serving"] for row in rows)
    assert vmss(search, "show", *SEARCH).json()["sku"]["capacity"] == 24

    # The activity log: one restart and one reimage, both of instance 18 only, nothing else.
    entries = vmss(search, "activity-log", "list", *SEARCH).json()
    operations = Counter(e["operationName"] for e in started(entries))
    assert operations == {f"{VMSS_OP}/restart/action": 1, f"{VMSS_OP}/reimage/action": 1}
    assert all(e["instanceIds"] == ["18"] and e["skipped"] == [] for e in entries)
    assert [e["status"] for e in entries] == ["Started", "Succeeded"] * 2
    assert vmss(search, "activity-log", "list", *SEARCH, "--instance-id", "17").json() == []
