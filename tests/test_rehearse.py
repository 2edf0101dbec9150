"""`vmss rehearse` (runbooks against a throwaway state, with an `az` that only knows `az vmss`) and
`--what-if` on the commands that change the state. Run with the installed `vmss`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import invoke, run_vmss

SEARCH = "-g rg-search -n search-vmss"

GOOD = f"""#!/bin/bash
set -euo pipefail
bad=$(az vmss list-instances {SEARCH} --expand instanceView \\
  --query "[?instanceView.vmHealth.status.code!='HealthState/healthy'].instanceId" -o tsv)
echo "unhealthy: $bad"
az vmss restart {SEARCH} --instance-ids $bad -o none
az vmss reimage {SEARCH} --instance-ids $bad -o none
"""

CARELESS = f"""set -e
az vmss reimage {SEARCH}
az vmss update {SEARCH} --instance-id 3 --protect-from-scale-in true -o none
"""

FAILS_MIDWAY = f"""set -e
az vmss restart {SEARCH} --instance-ids 18 -o none
az vmss restart {SEARCH} --instance-ids 99 -o none
az vmss reimage {SEARCH} --instance-ids 18 -o none
"""

LEAVES_VMSS = f"""az vmss restart {SEARCH} --instance-ids 18 -o none
az account set --subscription prod-subscription
az group delete -n rg-search --yes
"""


def rehearse(tmp_path: Path, script: str, *args: str, state: Path | None = None):
    runbook = tmp_path / "runbook.sh"
    runbook.write_text(script)
    return run_vmss(
        "rehearse", str(runbook), *args, state=state or tmp_path / "untouched.json", timeout=120
    )


def test_a_good_runbook_reports_each_command_and_the_instance_it_fixed(tmp_path):
    result = rehearse(tmp_path, GOOD, "--scenario", "search-bad-backend", "-o", "json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    assert report["exitCode"] == 0 and report["failedCommand"] is None
    commands = [row["command"] for row in report["commands"]]
    assert commands[1:] == [
        "az vmss restart -g rg-search -n search-vmss --instance-ids 18 -o none",
        "az vmss reimage -g rg-search -n search-vmss --instance-ids 18 -o none",
    ]
    assert report["commands"][2]["touched"] == {"rg-search/search-vmss": ["18"]}
    assert report["commands"][2]["servingAfter"] == {"rg-search/search-vmss": "24/24"}
    assert report["warnings"] == []
    assert report["stateChanges"] == [
        {
            "scaleSet": "rg-search/search-vmss",
            "instanceId": "18",
            "changes": {"health": ["unhealthy", "healthy"], "serving": [False, True]},
        }
    ]
    # The runbook's own output went to stderr; stdout is only the report.
    assert "unhealthy: 18" in result.stderr


def test_the_report_off_a_terminal_is_the_json_of_o_json(tmp_path):
    """Scripts read the report piped; a person on a terminal sees it drawn (test_terminal)."""
    result = rehearse(tmp_path, GOOD, "--scenario", "search-bad-backend")
    assert result.exit_code == 0
    report = result.json()
    assert report["commands"][2]["command"] == (
        "az vmss reimage -g rg-search -n search-vmss --instance-ids 18 -o none"
    )
    assert (
        report == rehearse(tmp_path, GOOD, "--scenario", "search-bad-backend", "-o", "json").json()
    )


def test_careless_runbook_is_warned_about_the_whole_fleet_and_capacity(tmp_path):
    result = rehearse(tmp_path, CARELESS, "--scenario", "search-bad-backend", "-o", "json")
    assert result.exit_code == 0
    warnings = result.json()["warnings"]
    assert warnings == [
        "whole-fleet request: reimage of every instance of rg-search/search-vmss "
        "(no --instance-ids)",
        "serving capacity of rg-search/search-vmss fell to 0 of 24 (0%, below 80%)",
    ]


def test_acting_on_a_protected_instance_is_warned(tmp_path):
    script = f"""az vmss update {SEARCH} --instance-id 3 --protect-from-scale-set-actions -o none
az vmss restart {SEARCH} --instance-ids 3 -o none
"""
    report = rehearse(tmp_path, script, "--scenario", "search-bad-backend", "-o", "json").json()
    assert report["warnings"] == ["restart of protected instance(s) 3 of rg-search/search-vmss"]


def test_a_runbook_that_fails_midway_stops_there_and_says_which_command(tmp_path):
    result = rehearse(tmp_path, FAILS_MIDWAY, "--scenario", "search-bad-backend", "-o", "json")
    assert result.exit_code == 1
    report = result.json()
    assert report["exitCode"] == 1
    assert [row["exitCode"] for row in report["commands"]] == [0, 1]
    assert report["failedCommand"] == (
        "az vmss restart -g rg-search -n search-vmss --instance-ids 99 -o none"
    )
    assert "InvalidParameter" in result.stderr


def test_other_az_commands_are_refused_and_reach_nothing(tmp_path):
    result = rehearse(tmp_path, LEAVES_VMSS, "--scenario", "search-bad-backend", "-o", "json")
    report = result.json()
    assert result.exit_code == 1  # the runbook's last command failed
    assert [row["exitCode"] for row in report["commands"]] == [0, 2, 2]
    refused = [w for w in report["warnings"] if w.startswith("refused")]
    outside = "is outside the twin: only 'az vmss' and 'az monitor activity-log' commands run here"
    assert refused == [
        f"refused: 'az account set' {outside}; nothing ran",
        f"refused: 'az group delete' {outside}; nothing ran",
    ]
    assert f"ERROR: not allowed in a rehearsal: 'az account set' {outside}" in result.stderr


def test_an_audit_of_the_activity_log_runs_and_what_is_not_simulated_says_why(tmp_path):
    script = f"""az vmss restart {SEARCH} --instance-ids 18 -o none
az monitor activity-log list -g rg-search --offset 1h --query "[].status.value" -o tsv
az monitor autoscale show -g rg-search -n search-autoscale
"""
    result = rehearse(tmp_path, script, "--scenario", "search-bad-backend", "-o", "json")
    report = result.json()
    assert [row["exitCode"] for row in report["commands"]] == [0, 0, 2]
    # The runbook's own output goes to stderr: the audit saw the restart's events.
    assert "Started" in result.stderr
    assert report["commands"][2]["warnings"] == [
        "refused: 'az monitor autoscale' is not simulated yet: of 'az monitor', only "
        "'activity-log list' runs here; nothing ran"
    ]


def test_the_state_file_is_never_changed_and_keep_writes_the_result(tmp_path):
    state = tmp_path / "fleet.json"
    assert run_vmss("scenario", "load", "search-bad-backend", state=state).exit_code == 0
    before = state.read_bytes()
    kept = tmp_path / "after.toml"
    result = rehearse(tmp_path, GOOD, "--keep", str(kept), "-o", "json", state=state)
    assert result.exit_code == 0, result.stderr
    assert state.read_bytes() == before
    health = run_vmss(
        "get-instance-view",
        *SEARCH.split(),
        "--instance-id",
        "18",
        "--query",
        "vmHealth.status.code",
        state=kept,
    ).json()
    assert health == "HealthState/healthy"


def test_a_missing_runbook_is_a_one_line_error(tmp_path):
    result = run_vmss("rehearse", str(tmp_path / "nope.sh"), state=tmp_path / "s.json")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"ERROR: Runbook '{tmp_path / 'nope.sh'}' does not exist or is not a file."
    ]


# --- --what-if -----------------------------------------------------------------------------------


@pytest.fixture
def search_state(tmp_path) -> Path:
    state = tmp_path / "search.json"
    assert invoke(["scenario", "load", "search-bad-backend"], state).exit_code == 0
    return state


@pytest.mark.parametrize(
    "command",
    [
        ["restart", *SEARCH.split()],
        ["reimage", *SEARCH.split(), "--instance-ids", "18"],
        ["scale", *SEARCH.split(), "--new-capacity", "20"],
        ["update", *SEARCH.split(), "--instance-id", "4", "--protect-from-scale-in"],
        ["update", *SEARCH.split(), "--set", "tags.env=prod"],
        ["delete-instances", *SEARCH.split(), "--instance-ids", "1", "2"],
        ["stop", *SEARCH.split(), "--instance-ids", "1"],
    ],
)
def test_what_if_changes_nothing(search_state, command):
    before = search_state.read_bytes()
    result = invoke([*command, "--what-if"], search_state)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["whatIf"] is True
    assert search_state.read_bytes() == before


def test_what_if_of_a_whole_fleet_restart_names_targets_and_capacity(search_state):
    report = invoke(["restart", *SEARCH.split(), "--what-if"], search_state)
    data = json.loads(report.stdout)
    assert data["affected"] == {"rg-search/search-vmss": [str(i) for i in range(24)]}
    assert data["servingAfter"] == {"rg-search/search-vmss": "23/24"}
    assert data["warnings"][0].startswith("whole-fleet request: restart")


def test_what_if_shows_skipped_protected_instances(search_state):
    invoke(
        ["update", *SEARCH.split(), "--instance-id", "5", "--protect-from-scale-set-actions"],
        search_state,
    )
    data = json.loads(invoke(["restart", *SEARCH.split(), "--what-if"], search_state).stdout)
    assert data["skipped"] == {"rg-search/search-vmss": ["5 (protectFromScaleSetActions)"]}
    assert "5" not in data["affected"]["rg-search/search-vmss"]


def test_what_if_of_a_scale_in_lists_the_instances_that_would_go(search_state):
    data = json.loads(
        invoke(["scale", *SEARCH.split(), "--new-capacity", "21", "--what-if"], search_state).stdout
    )
    gone = sorted(
        (c["instanceId"] for c in data["changes"] if c["changes"] == {"exists": [True, False]}),
        key=int,
    )
    assert gone == ["21", "22", "23"]
    assert data["servingAfter"] == {"rg-search/search-vmss": "20/21"}


def test_what_if_is_refused_on_read_commands(search_state):
    result = invoke(["list-instances", *SEARCH.split(), "--what-if"], search_state)
    assert result.exit_code == 2
    assert "unrecognized arguments: --what-if" in result.stderr


def test_what_if_through_the_installed_command(search_state):
    before = search_state.read_bytes()
    result = run_vmss(
        "reimage", *SEARCH.split(), "--instance-ids", "18", "--what-if", state=search_state
    )
    assert result.exit_code == 0
    assert result.json()["changes"] == [
        {
            "scaleSet": "rg-search/search-vmss",
            "instanceId": "18",
            "changes": {"health": ["unhealthy", "healthy"], "serving": [False, True]},
        }
    ]
    assert search_state.read_bytes() == before


def test_the_roll_out_runbook_rehearses_end_to_end_with_its_audit_trail(tmp_path):
    """docs/runbooks/roll-out-config.sh: NICs, an extension change through a rolling upgrade,
    `az vmss wait` per instance, and an `az monitor activity-log` audit."""
    book = Path(__file__).resolve().parents[1] / "docs" / "runbooks" / "roll-out-config.sh"
    result = rehearse(tmp_path, book.read_text(), "-o", "json")
    assert result.exit_code == 0, result.stderr
    report = result.json()
    rows = report["commands"]
    assert all(row["exitCode"] == 0 for row in rows)
    assert [row["command"].split()[1:3] for row in rows[:2]] == [
        ["vmss", "nic"],
        ["vmss", "extension"],
    ]
    waits = [row for row in rows if row["command"].startswith("az vmss wait")]
    assert len(waits) == 12  # one per instance of web-vmss
    assert rows[-1]["command"].startswith("az monitor activity-log list -g rg-web")
    printed = result.stderr
    assert printed.count("10.0.0.") == 12  # each instance's private address
    assert "CustomScript     2.1" in printed
    assert "ProvisioningState/succeeded" in printed
    audit = [line.split() for line in printed.splitlines() if "virtualMachineScaleSets/" in line]
    assert ["Microsoft.Compute/virtualMachineScaleSets/write", "Started"] in [a[1:] for a in audit]
    operations = {(a[1].rsplit("/", 2)[-2], a[2]) for a in audit}
    assert ("osRollingUpgrade", "Succeeded") in operations
    # The rolling upgrade took instances out of service batch by batch: the report says so.
    assert any(w.startswith("serving capacity of rg-web/web-vmss fell") for w in report["warnings"])


def test_creating_a_scale_set_is_not_an_upgrade_of_protected_instances(tmp_path):
    script = "az vmss create -g rg-new -n new-vmss --instance-count 2 -o none\n"
    report = rehearse(tmp_path, script, "-o", "json").json()
    assert report["exitCode"] == 0
    assert report["commands"][0]["touched"] == {"rg-new/new-vmss": ["0", "1"]}
    assert report["warnings"] == []
