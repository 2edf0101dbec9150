"""`vmss get-os-upgrade-history`: one entry per rolling upgrade, newest first, in Azure's
UpgradeOperationHistoricalStatusInfo shape, kept in the activity history; and the real az
through `vmss serve` printing the same bytes."""

from __future__ import annotations

import subprocess

import pytest
from conftest import REAL_HOME, start_endpoint, stop_endpoint, vmss_executable
from realaz import ensure_az
from test_rolling_cli import NEW_IMAGE, SET_IMAGE, SHOP, Vmss, shop_state

from vmsscli.views import azure_time

TYPE = "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades"


def history(vmss: Vmss) -> list[dict]:
    return vmss.ok("get-os-upgrade-history", *SHOP, "-o", "json").json()


def test_a_set_that_never_upgraded_has_an_empty_history(tmp_path):
    vmss = Vmss(tmp_path / "state.json", shop_state())
    assert history(vmss) == []


def test_a_completed_upgrade_is_one_entry_with_its_counts_times_and_target_image(tmp_path):
    vmss = Vmss(tmp_path / "state.json", shop_state(count=5))
    start = vmss.now()
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")
    vmss.ok("clock", "advance", "30m", "-o", "none")

    (entry,) = history(vmss)

    assert entry["type"] == TYPE and entry["location"] == "westeurope"
    props = entry["properties"]
    assert props["runningStatus"]["code"] == "Completed"
    assert props["runningStatus"]["startTime"] == azure_time_of(start)
    assert props["runningStatus"]["endTime"] > props["runningStatus"]["startTime"]
    assert props["progress"] == {
        "failedInstanceCount": 0,
        "inProgressInstanceCount": 0,
        "pendingInstanceCount": 0,
        "successfulInstanceCount": 5,
    }
    assert props["startedBy"] == "User"
    assert props["targetImageReference"]["version"] == NEW_IMAGE
    assert props["rollbackInfo"] == {
        "failedRolledbackInstanceCount": 0,
        "successfullyRolledbackInstanceCount": 0,
    }
    assert "error" not in props


def azure_time_of(text: str) -> str:
    from datetime import datetime

    return azure_time(datetime.fromisoformat(text.replace("Z", "+00:00")))


def test_an_upgrade_under_way_is_rolling_forward_without_an_end(tmp_path):
    vmss = Vmss(tmp_path / "state.json", shop_state(count=10))
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")

    (entry,) = history(vmss)

    running = entry["properties"]["runningStatus"]
    assert running["code"] == "RollingForward" and "endTime" not in running
    progress = entry["properties"]["progress"]
    assert sum(progress.values()) == 10 and progress["pendingInstanceCount"] > 0


def test_a_faulted_upgrade_carries_its_error_and_what_was_rolled_back(tmp_path):
    state = shop_state(count=10, zones=("1", "2", "3"), failing=("2",),
                       rollback_failed_instances_on_policy_breach=True)  # fmt: skip
    vmss = Vmss(tmp_path / "state.json", state)
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")
    vmss.ok("clock", "advance", "1h", "-o", "none")

    (entry,) = history(vmss)

    props = entry["properties"]
    assert props["runningStatus"]["code"] == "Faulted"
    assert props["error"]["code"] == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert props["progress"]["failedInstanceCount"] > 0
    assert props["progress"]["pendingInstanceCount"] > 0
    assert (
        props["rollbackInfo"]["successfullyRolledbackInstanceCount"]
        == (props["progress"]["failedInstanceCount"])
    )


def test_the_newest_five_of_the_last_two_months_newest_first(tmp_path):
    vmss = Vmss(tmp_path / "state.json", shop_state(count=2))
    for index in range(7):
        version = f"22.04.20241{index + 1:02d}00"
        vmss.ok("update", *SHOP, "--set",
                f"virtualMachineProfile.storageProfile.imageReference.version={version}",
                "-o", "none")  # fmt: skip
        vmss.ok("clock", "advance", "1d", "-o", "none")

    entries = history(vmss)

    versions = [e["properties"]["targetImageReference"]["version"] for e in entries]
    assert versions == [f"22.04.20241{i:02d}00" for i in (7, 6, 5, 4, 3)]
    vmss.ok("clock", "advance", "61d", "-o", "none")
    assert history(vmss) == []


def test_a_cancelled_upgrade_is_listed_as_cancelled(tmp_path):
    vmss = Vmss(tmp_path / "state.json", shop_state(count=10, pause_time_between_batches="PT5M"))
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")
    vmss.ok("rolling-upgrade", "cancel", *SHOP, "-o", "none")

    codes = [e["properties"]["runningStatus"]["code"] for e in history(vmss)]
    assert codes == ["Cancelled"]


def test_errors_as_az_gives_them(tmp_path):
    vmss = Vmss(tmp_path / "state.json", shop_state())
    missing = vmss("get-os-upgrade-history", "-g", "rg-shop", "-n", "nope")
    usage = vmss("get-os-upgrade-history", "-g", "rg-shop")

    assert missing.exit_code == 3 and "(ResourceNotFound)" in missing.stderr
    assert usage.exit_code == 2
    assert usage.stderr.startswith(
        "ERROR: the following arguments are required: -n/--name/--vm-scale-set-name"
    )


# --- the real az through the endpoint -----------------------------------------------------------


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    az = ensure_az(REAL_HOME)
    served = start_endpoint(tmp_path_factory.mktemp("history-oracle"))
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


@pytest.mark.parametrize("fmt", ["json", "table", "tsv"])
def test_the_real_az_prints_the_same_bytes(oracle, fmt):
    from test_endpoint_az import WEB

    if fmt == "json":
        oracle.reset()
        done = _run(oracle, "rolling-upgrade", "start", *WEB, through_az=False)
        assert done[0] == 0, done[2]
    argv = ["get-os-upgrade-history", *WEB, "-o", fmt]
    assert _run(oracle, *argv, through_az=True)[:2] == _run(oracle, *argv, through_az=False)[:2]
