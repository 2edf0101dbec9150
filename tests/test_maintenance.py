"""`vmss list-skus`, `vmss perform-maintenance` and `vmss simulate-eviction`: az 2.91's
arguments, Azure's shapes and errors, the simulated effects (docs/semantics.md, "Maintenance,
eviction and sizes"), and the real az through `vmss serve` printing the same bytes.

Demo fleet: rg-web/web-vmss (zonal, so not a single placement group; Standard_D2s_v5, Premium
OS disks, a generation 2 image; ids 0 1 2 4 5 6 7 9 10 11 12 13), rg-batch/batch-vmss (regional,
one placement group; 3 stopped).
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest
from conftest import REAL_HOME, schema_errors, start_endpoint, stop_endpoint, vmss_executable
from realaz import ensure_az

from vmsscli.model import ClockSettings
from vmsscli.store import read_file, serialize

WEB = ["-g", "rg-web", "-n", "web-vmss"]
BATCH = ["-g", "rg-batch", "-n", "batch-vmss"]
NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
MAINTENANCE = "Microsoft.Compute/virtualMachineScaleSets/performMaintenance/action"
NOT_ELIGIBLE = (
    "(OperationNotAllowed) Operation 'performMaintenance' is not allowed on VM 'web-vmss_{}' "
    "since the Subscription of this VM is not eligible."
)
NOT_SPOT = (
    "(OperationNotAllowed) Operation 'simulateEviction' is not allowed on VM 'web-vmss_0' "
    "since the VM is not a Spot VM."
)


@pytest.fixture
def mcli(cli, state_path):
    """`cli` on the demo fleet with the clock manual at NOW."""
    state = read_file(state_path)
    state.clock = ClockSettings(mode="manual", now=NOW)
    state_path.write_bytes(serialize(state, state_path))
    return cli


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def instance_view(cli, instance_id: str) -> dict:
    view = ok(cli("get-instance-view", *WEB, "--instance-id", instance_id)).json()
    assert schema_errors("vmss-vm-instance-view", view) == []
    return view


def announce(cli, *ids: str) -> None:
    ok(cli("fault", "inject", *WEB, "--instance-ids", *ids, "--kind", "maintenance-pending",
           "-o", "none"))  # fmt: skip


def maintenance_events(cli) -> list[tuple[str, list[str]]]:
    events = ok(cli("activity-log", "list", *WEB, "-o", "json")).json()
    return [(e["status"], e["instanceIds"]) for e in events if e["operationName"] == MAINTENANCE]


# --- list-skus ----------------------------------------------------------------------------------


def test_list_skus_lists_resizable_sizes_in_azures_sku_shape(cli):
    skus = ok(cli("list-skus", *WEB)).json()

    names = [s["sku"]["name"] for s in skus]
    assert "Standard_D2s_v5" in names and "Standard_DS1_v2" in names and "Standard_B2s" in names
    # Premium OS disks need premium-storage sizes; a generation 2 image excludes Av2.
    assert "Standard_D2_v5" not in names and "Standard_A1_v2" not in names
    assert len(names) == len(set(names)) > 20
    for sku in skus:
        assert sku["resourceType"] == "Microsoft.Compute/virtualMachineScaleSets"
        assert sku["sku"]["tier"] == "Standard" and set(sku["sku"]) == {"name", "tier"}
        assert sku["capacity"] == {
            "defaultCapacity": 1,
            "maximum": 1000,  # zonal: not a single placement group
            "minimum": 0,
            "scaleType": "Automatic",
        }


def test_a_single_placement_group_allows_100_instances(cli):
    skus = ok(cli("list-skus", *BATCH)).json()
    assert {s["capacity"]["maximum"] for s in skus} == {100}
    assert "Standard_F4s_v2" in [s["sku"]["name"] for s in skus]


def test_list_skus_table_has_only_the_scalar_column_as_az_prints_it(cli):
    out = ok(cli("list-skus", *WEB, "-o", "table")).stdout.splitlines()
    assert out[0] == "ResourceType"
    assert set(out[2:]) == {"Microsoft.Compute/virtualMachineScaleSets"}


def test_list_skus_query_and_errors(cli):
    names = ok(cli("list-skus", *WEB, "--query", "[].sku.name", "-o", "tsv")).stdout.split()
    missing = cli("list-skus", "-g", "rg-web", "-n", "nope")
    usage = cli("list-skus", "-g", "rg-web")

    assert names[:2] == ["Standard_B1s", "Standard_B1ms"]
    assert missing.exit_code == 3 and "(ResourceNotFound)" in missing.stderr
    assert usage.exit_code == 2
    assert usage.stderr.startswith(
        "ERROR: the following arguments are required: -n/--name/--vm-scale-set-name"
    )


def test_the_catalogue_follows_storage_and_generation():
    from vmsscli.demo import demo_state
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.domain.maintenance import resizable_sizes

    _rg, _key, scale_set = find_scale_set(demo_state(), "rg-web", "web-vmss")
    scale_set.model.storage_account_type = "Standard_LRS"
    standard = [s.name for s in resizable_sizes(scale_set)]
    scale_set.model.image.sku = "22_04-lts"  # a generation 1 image
    gen1 = [s.name for s in resizable_sizes(scale_set)]
    scale_set.vm_sku = "Standard_NC6s_v3"  # a size the catalogue does not know
    unknown = [s.name for s in resizable_sizes(scale_set)]

    assert "Standard_D2_v5" in standard and "Standard_A1_v2" not in standard
    assert "Standard_A1_v2" in gen1 and "Standard_D2_v5" in gen1
    assert unknown[0] == "Standard_NC6s_v3" and unknown[1:] == gen1


# --- perform-maintenance ------------------------------------------------------------------------


def test_without_pending_maintenance_the_request_is_refused_and_nothing_changes(mcli, state_path):
    before = state_path.read_bytes()
    whole = mcli("perform-maintenance", *WEB)
    named = mcli("perform-maintenance", *WEB, "--instance-ids", "4")

    assert whole.exit_code == 1 and named.exit_code == 1
    assert whole.stderr.splitlines() == [
        "ERROR: " + NOT_ELIGIBLE.format(0),
        "Code: OperationNotAllowed",
        "Message: " + NOT_ELIGIBLE.format(0).split(") ", 1)[1],
    ]
    assert named.stderr.startswith("ERROR: " + NOT_ELIGIBLE.format(4) + "\n")
    assert state_path.read_bytes() == before
    assert maintenance_events(mcli) == []


def test_pending_maintenance_shows_in_the_instance_view(mcli):
    announce(mcli, "4")

    status = instance_view(mcli, "4")["maintenanceRedeployStatus"]
    assert "maintenanceRedeployStatus" not in instance_view(mcli, "1")
    assert status == {
        "isCustomerInitiatedMaintenanceAllowed": True,
        "lastOperationResultCode": "None",
        "preMaintenanceWindowStartTime": "2026-11-23T10:00:00.0000000+00:00",
        "preMaintenanceWindowEndTime": "2026-12-07T10:00:00.0000000+00:00",
        "maintenanceWindowStartTime": "2026-12-07T10:00:00.0000000+00:00",
        "maintenanceWindowEndTime": "2026-12-14T10:00:00.0000000+00:00",
    }
    listed = ok(mcli("fault", "list", *WEB, "--kind", "maintenance-pending", "-o", "json")).json()
    assert [(r["instanceId"], r["repairedBy"]) for r in listed] == [
        ("4", "perform-maintenance (the instance reboots)")
    ]


def test_performing_maintenance_reboots_the_instance_and_completes_it(mcli):
    announce(mcli, "4")

    ok(mcli("perform-maintenance", *WEB, "--instance-ids", "4", "--no-wait"))
    during = instance_view(mcli, "4")
    row = ok(mcli("triage", *WEB, "-o", "json")).json()
    ok(mcli("clock", "advance", "1m", "-o", "none"))
    after = instance_view(mcli, "4")

    assert [s["code"] for s in during["statuses"]] == [
        "ProvisioningState/updating",
        "PowerState/starting",
    ]
    assert during["maintenanceRedeployStatus"]["isCustomerInitiatedMaintenanceAllowed"] is True
    assert any(r["instanceId"] == "4" and not r["serving"] for r in row)
    assert [s["code"] for s in after["statuses"]] == [
        "ProvisioningState/succeeded",
        "PowerState/running",
    ]
    assert after["maintenanceRedeployStatus"]["isCustomerInitiatedMaintenanceAllowed"] is False
    assert after["maintenanceRedeployStatus"]["lastOperationResultCode"] == "MaintenanceCompleted"
    assert maintenance_events(mcli) == [("Started", ["4"]), ("Succeeded", ["4"])]
    # Done: a second request finds nothing to do and is refused.
    again = mcli("perform-maintenance", *WEB, "--instance-ids", "4")
    assert again.exit_code == 1 and NOT_ELIGIBLE.format(4) in again.stderr


def test_waiting_returns_when_the_instance_is_running_again(mcli):
    announce(mcli, "1")
    ok(mcli("perform-maintenance", *WEB, "--instance-ids", "1"))
    view = instance_view(mcli, "1")
    assert view["statuses"][1]["code"] == "PowerState/running"
    assert view["maintenanceRedeployStatus"]["lastOperationResultCode"] == "MaintenanceCompleted"
    assert ok(mcli("clock", "show")).json()["now"].startswith("2026-11-23T10:01:00")


def test_one_named_instance_without_pending_maintenance_refuses_the_whole_request(mcli):
    announce(mcli, "1")
    refused = mcli("perform-maintenance", *WEB, "--instance-ids", "1", "2", "--no-wait")

    assert refused.exit_code == 1 and NOT_ELIGIBLE.format(2) in refused.stderr
    assert instance_view(mcli, "1")["statuses"][1]["code"] == "PowerState/running"
    assert maintenance_events(mcli) == []


def test_the_whole_set_skips_instances_protected_from_scale_set_actions(mcli):
    announce(mcli, "1", "2")
    ok(mcli("update", *WEB, "--instance-id", "2", "--protect-from-scale-set-actions", "-o", "none"))

    done = ok(mcli("perform-maintenance", *WEB))

    assert done.stderr == (
        "WARNING: Skipped instance 2 of 'web-vmss': protected from scale-set actions "
        "(protectFromScaleSetActions).\n"
    )
    assert maintenance_events(mcli) == [("Started", ["1"]), ("Succeeded", ["1"])]
    status = instance_view(mcli, "2")["maintenanceRedeployStatus"]
    assert status["isCustomerInitiatedMaintenanceAllowed"] is True
    # Naming it is a user-initiated operation on it: acted on.
    ok(mcli("perform-maintenance", *WEB, "--instance-ids", "2"))
    status = instance_view(mcli, "2")["maintenanceRedeployStatus"]
    assert status["lastOperationResultCode"] == "MaintenanceCompleted"


def test_a_stopped_instance_is_refused_and_a_bad_id_is_invalid(mcli):
    ok(mcli("stop", *WEB, "--instance-ids", "4"))
    announce(mcli, "4")

    stopped = mcli("perform-maintenance", *WEB, "--instance-ids", "4")
    bad = mcli("perform-maintenance", *WEB, "--instance-ids", "3")

    assert stopped.exit_code == 1
    assert (
        "Operation 'performMaintenance' is not allowed on VM 'web-vmss_4' since the VM is "
        "stopped." in stopped.stderr
    )
    assert bad.exit_code == 1 and "(InvalidParameter)" in bad.stderr


def test_az_arguments_for_perform_maintenance(mcli):
    announce(mcli, "0", "1")
    ok(mcli("perform-maintenance", *WEB, "--instance-ids", "[0,1]", "--no-wait", "true"))
    missing = mcli("perform-maintenance", "-n", "web-vmss")
    bad_flag = mcli("perform-maintenance", *WEB, "--no-wait", "maybe")

    assert maintenance_events(mcli) == [("Started", ["0", "1"])]
    assert missing.exit_code == 1
    assert (
        missing.stderr == "ERROR: InvalidArgumentValue: Missing required field: --resource-group\n"
    )
    assert bad_flag.exit_code == 2


def test_clearing_the_announcement_removes_the_status(mcli):
    announce(mcli, "4")
    ok(mcli("fault", "clear", *WEB, "--instance-ids", "4", "--kind", "maintenance-pending",
            "-o", "none"))  # fmt: skip
    assert "maintenanceRedeployStatus" not in instance_view(mcli, "4")


# --- simulate-eviction --------------------------------------------------------------------------


def test_a_regular_instance_cannot_be_evicted(mcli, state_path):
    before = state_path.read_bytes()
    refused = mcli("simulate-eviction", *WEB, "--instance-id", "0")
    missing = mcli("simulate-eviction", *WEB, "--instance-id", "3")
    usage = mcli("simulate-eviction", *WEB)

    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        "ERROR: " + NOT_SPOT,
        "Code: OperationNotAllowed",
        "Message: " + NOT_SPOT.split(") ", 1)[1],
    ]
    assert missing.exit_code == 3 and "(ResourceNotFound)" in missing.stderr
    assert usage.exit_code == 1
    assert usage.stderr == "ERROR: InvalidArgumentValue: Missing required field: --instance-id\n"
    assert state_path.read_bytes() == before


def test_a_spot_instance_is_evicted_by_its_eviction_policy(monkeypatch):
    """The model has no priority yet: with one saying Spot, the instance is deallocated."""
    from vmsscli.demo import demo_state
    from vmsscli.domain import maintenance
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.domain.operations import wait_for
    from vmsscli.errors import ServiceError

    state = demo_state()
    state.clock = ClockSettings(mode="manual", now=NOW)
    _rg, _key, scale_set = find_scale_set(state, "rg-web", "web-vmss")
    with pytest.raises(ServiceError) as refused:
        maintenance.simulate_eviction(state, "rg-web", "web-vmss", "0", NOW)
    assert refused.value.status == 409

    monkeypatch.setattr(maintenance, "priority", lambda _scale_set: "Spot")
    correlation_id = maintenance.simulate_eviction(state, "rg-web", "web-vmss", "0", NOW)
    wait_for(state, correlation_id)

    assert scale_set.instance(0).power_state == "deallocated"
    (started, succeeded) = state.activity_log.with_correlation(correlation_id)
    assert started.operation.endswith("/virtualMachines/simulateEviction/action")
    assert (started.status, succeeded.status) == ("Started", "Succeeded")


def test_performing_maintenance_on_the_domain_clears_stale_processes(monkeypatch):
    from vmsscli.demo import demo_state
    from vmsscli.domain import maintenance
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.domain.operations import wait_for
    from vmsscli.model import Fault

    state = demo_state()
    state.clock = ClockSettings(mode="manual", now=NOW)
    _rg, _key, scale_set = find_scale_set(state, "rg-web", "web-vmss")
    inst = scale_set.instance(6)
    maintenance.announce(inst, NOW)
    inst.faults.append(Fault(kind="stale-process"))

    outcome = maintenance.perform_maintenance(state, "rg-web", "web-vmss", ["6"], NOW)
    assert inst.operation is not None and inst.operation.name == "maintenance"
    wait_for(state, outcome.correlation_id)

    assert inst.faults == [] and inst.power_state == "running"
    assert inst.maintenance is not None and not inst.maintenance.pending
    assert state.clock.now == NOW.replace(minute=1)  # as long as a restart


# --- the real az through the endpoint -----------------------------------------------------------


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    az = ensure_az(REAL_HOME)
    served = start_endpoint(tmp_path_factory.mktemp("maintenance-oracle"))
    served.az = az
    yield served
    stop_endpoint(served)


def _run(served, *argv: str, through_az: bool) -> tuple[int, str, str]:
    args = ["az", "vmss", *argv] if through_az else list(argv)
    done = subprocess.run(
        [vmss_executable(), *args], capture_output=True, text=True,
        env=served.env(VMSSCLI_AZ=served.az, VMSSCLI_NOW="2026-11-23T12:00:00Z"), timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_the_real_az_lists_the_same_skus(oracle, fmt):
    from vmsscli.service.maintenance import PAGE_SIZE

    argv = ["list-skus", *WEB, "-o", fmt]
    through_az = _run(oracle, *argv, through_az=True)
    assert through_az[0] == 0, through_az[2]
    assert through_az[:2] == _run(oracle, *argv, through_az=False)[:2]
    if fmt == "json":  # more than one page: az followed the nextLink
        assert len(json.loads(through_az[1])) > PAGE_SIZE


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate-eviction", *WEB, "--instance-id", "0"],
        ["perform-maintenance", *WEB],
        ["perform-maintenance", *WEB, "--instance-ids", "3"],
    ],
    ids=["not-spot", "not-eligible", "bad-id"],
)
def test_the_real_az_prints_the_same_errors(oracle, argv):
    through_az = _run(oracle, *argv, through_az=True)
    direct = _run(oracle, *argv, through_az=False)
    assert through_az[0] == direct[0] == 1
    assert (through_az[1], through_az[2]) == (direct[1], direct[2])


def test_the_real_az_performs_pending_maintenance(oracle):
    oracle.reset()
    done = _run(oracle, "fault", "inject", *WEB, "--instance-ids", "4", "--kind",
                "maintenance-pending", "-o", "none", through_az=False)  # fmt: skip
    assert done[0] == 0, done[2]

    through_az = _run(oracle, "perform-maintenance", *WEB, "--instance-ids", "4", through_az=True)
    # Read through the endpoint: its clock (not the pinned one) has seen the reboot end.
    view = _run(oracle, "get-instance-view", *WEB, "--instance-id", "4", through_az=True)

    assert through_az[:2] == (0, ""), through_az[2]
    status = json.loads(view[1])["maintenanceRedeployStatus"]
    assert status["lastOperationResultCode"] == "MaintenanceCompleted"
    oracle.reset()
