"""Instance actions, scale, protection, the clock and the activity log through the CLI
(in-process, Typer's CliRunner), against the demo fleet.

Expectations come from the az reference: errors and exit codes (§1.5), argument conventions
(§1.6), --no-wait (§1.7, §3.15), `update --instance-id` (§3.5), the action commands
(§3.6-§3.11), instance ids (§4), protection (§6.1), scale-in order (§6.2) and power
transitions (§6.4). The demo fleet: rg-web/web-vmss (zones 1-3, Rolling, ids 0 1 2 4 5 6 7 9
10 11 12 13; 5 unhealthy with a failed 'configure-web' extension; 9 protected from scale-in),
rg-batch/batch-vmss (Manual, ids 0-4, 3 stopped), rg-batch/tools-vmss (Automatic, 2).
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from datetime import UTC, datetime

import pytest
import yaml
from conftest import invoke, schema_errors

from vmsscli.model import ClockSettings, Fault
from vmsscli.store import read_file, serialize

WEB = ["-g", "rg-web", "-n", "web-vmss"]
BATCH = ["-g", "rg-batch", "-n", "batch-vmss"]
WEB_IDS = ["0", "1", "2", "4", "5", "6", "7", "9", "10", "11", "12", "13"]
NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-23T10:00:00.0000000+00:00"
VMSS_OP = "Microsoft.Compute/virtualMachineScaleSets"
WEB_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-web/providers/"
    "Microsoft.Compute/virtualMachineScaleSets/web-vmss"
)
STOP_WARNING = (
    "WARNING: About to power off the VMSS instances...\n"
    "They will continue to be billed. To deallocate VMSS instances, run: az vmss deallocate.\n"
)
PROTECTION_USAGE = (
    "ERROR: usage error: protection policies can only be applied to VM instances within a "
    "VMSS. Please use --instance-id to specify a VM instance\n"
)
DELETE_INSTANCES_REQUIRED = """\
ERROR: the following arguments are required: --instance-ids

Examples from command's help:
vmss delete-instances --instance-ids 0 --name MyScaleSet --resource-group MyResourceGroup
Delete VMs within a VMSS.

https://aka.ms/cli_ref
Read more about the command in reference docs
"""


# --- helpers ------------------------------------------------------------------------------------


def edit_state(path, change) -> None:
    state = read_file(path)
    change(state)
    path.write_bytes(serialize(state, path))


@pytest.fixture
def mcli(cli, state_path):
    """`cli` with the simulated clock in manual mode at NOW."""

    def manual(state):
        state.clock = ClockSettings(mode="manual", now=NOW)

    edit_state(state_path, manual)
    return cli


@contextlib.contextmanager
def unchanged(path):
    """The state file is byte-identical after the block."""
    before = path.read_bytes()
    yield
    assert path.read_bytes() == before, "a failed command changed the state file"


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def instance_view(cli, instance_id: str, where=WEB) -> dict:
    return ok(cli("get-instance-view", *where, "--instance-id", instance_id)).json()


def power(cli, instance_id: str, where=WEB) -> str:
    statuses = instance_view(cli, instance_id, where)["statuses"]
    return next(s["code"] for s in statuses if s["code"].startswith("PowerState/"))


def instances(cli, where=WEB) -> dict[str, dict]:
    return {i["instanceId"]: i for i in ok(cli("list-instances", *where)).json()}


def health(cli, instance_id: str, where=WEB) -> str | None:
    view = instance_view(cli, instance_id, where)
    return view["vmHealth"]["status"]["code"] if "vmHealth" in view else None


def triage_rows(cli, where=WEB) -> dict[str, dict]:
    return {r["instanceId"]: r for r in ok(cli("triage", *where)).json()}


def log(cli, *args: str) -> list[dict]:
    return ok(cli("activity-log", "list", *args)).json()


def capacity(cli, where=WEB) -> int:
    return ok(cli("show", *where)).json()["sku"]["capacity"]


def clock_now(cli) -> str:
    return ok(cli("clock", "show")).json()["now"]


def error_lines(code: str, message: str, target: str | None = None) -> str:
    lines = [f"ERROR: ({code}) {message}", f"Code: {code}", f"Message: {message}"]
    if target:
        lines.append(f"Target: {target}")
    return "\n".join(lines) + "\n"


# --- update --instance-id: protection -----------------------------------------------------------


def test_protect_from_scale_in_bare_flag_means_true_and_prints_the_updated_instance(mcli):
    result = ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-in"))
    vm = result.json()
    assert vm["instanceId"] == "4" and vm["name"] == "web-vmss_4"
    assert vm["protectionPolicy"] == {
        "protectFromScaleIn": True,
        "protectFromScaleSetActions": False,
    }
    assert vm["modelDefinitionApplied"] == "VirtualMachine"
    assert vm["latestModelApplied"] is False
    assert schema_errors("vmss-vm", vm) == []
    assert instances(mcli)["4"]["protectionPolicy"]["protectFromScaleIn"] is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("True", True), ("false", False), ("False", False)],
)
def test_protection_flags_are_three_state_booleans(mcli, value, expected):
    vm = ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-in", value)).json()
    assert vm["protectionPolicy"]["protectFromScaleIn"] is expected


def test_protection_from_scale_set_actions_alone_also_protects_from_scale_in(mcli):
    vm = ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions")).json()
    assert vm["protectionPolicy"] == {
        "protectFromScaleIn": True,
        "protectFromScaleSetActions": True,
    }
    assert schema_errors("vmss-vm", vm) == []


def test_protection_is_removed_with_both_flags_false(mcli):
    ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions", "true"))
    vm = ok(
        mcli(
            "update",
            *WEB,
            "--instance-id",
            "4",
            "--protect-from-scale-in",
            "false",
            "--protect-from-scale-set-actions",
            "false",
        )
    ).json()
    assert vm["protectionPolicy"] == {
        "protectFromScaleIn": False,
        "protectFromScaleSetActions": False,
    }


def test_a_protection_flag_not_given_is_left_as_it_was(mcli):
    ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions"))
    vm = ok(
        mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions", "false")
    ).json()
    assert vm["protectionPolicy"] == {
        "protectFromScaleIn": True,
        "protectFromScaleSetActions": False,
    }


def test_an_invalid_protection_value_is_an_argparse_error(mcli, state_path):
    with unchanged(state_path):
        result = mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-in", "maybe")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "ERROR: vmss update: 'maybe' is not a valid value for '--protect-from-scale-in'. "
        "Allowed values: true, false."
    )


@pytest.mark.parametrize(
    "flags",
    [
        ["--protect-from-scale-in"],
        ["--protect-from-scale-in", "false"],
        ["--protect-from-scale-set-actions", "true"],
    ],
)
def test_protection_flags_without_instance_id_are_a_usage_error(mcli, state_path, flags):
    with unchanged(state_path):
        result = mcli("update", *WEB, *flags)
    assert result.exit_code == 1
    assert result.stderr == PROTECTION_USAGE
    assert result.stdout == ""


@pytest.mark.parametrize(
    "setup",
    [
        [],
        ["--protect-from-scale-in", "true"],
        ["--protect-from-scale-set-actions", "true"],
    ],
)
def test_scale_set_actions_protection_with_scale_in_off_is_refused_and_changes_nothing(
    mcli, state_path, setup
):
    if setup:
        ok(mcli("update", *WEB, "--instance-id", "4", *setup))
    with unchanged(state_path):
        result = mcli(
            "update",
            *WEB,
            "--instance-id",
            "4",
            "--protect-from-scale-set-actions",
            "true",
            "--protect-from-scale-in",
            "false",
        )
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("ERROR: (InvalidParameter) ")
    assert lines[1] == "Code: InvalidParameter"
    assert lines[2].startswith("Message: ")
    assert lines[3] == "Target: protectionPolicy"
    assert result.stdout == ""


def test_protection_lives_only_on_instances(mcli):
    ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions"))
    scale_set = ok(mcli("show", *WEB)).stdout
    assert "protectionPolicy" not in scale_set
    assert "protectFrom" not in scale_set
    protected = {i for i, vm in instances(mcli).items() if "protectionPolicy" in vm}
    assert protected == {"4", "9"}


def test_protecting_an_unknown_instance_is_not_found(mcli, state_path):
    with unchanged(state_path):
        result = mcli("update", *WEB, "--instance-id", "3", "--protect-from-scale-in")
    assert result.exit_code == 3
    assert result.stderr.startswith("ERROR: (ResourceNotFound) ")


def test_update_of_an_instance_with_no_wait_prints_nothing_but_applies(mcli):
    result = ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-in", "--no-wait"))
    assert result.stdout == ""
    assert "protectionPolicy" in instances(mcli)["4"]


# --- argument conventions of the action commands -------------------------------------------------


def test_delete_instances_requires_instance_ids_with_azs_argparse_error(mcli, state_path):
    with unchanged(state_path):
        result = mcli("delete-instances", *WEB)
    assert result.exit_code == 2
    assert result.stderr == DELETE_INSTANCES_REQUIRED


def test_update_instances_requires_instance_ids(mcli, state_path):
    with unchanged(state_path):
        result = mcli("update-instances", *WEB)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "ERROR: the following arguments are required: --instance-ids"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["restart", *WEB],
        ["stop", *WEB],
        ["deallocate", *WEB],
        ["reimage", *WEB],
        ["update-instances", *WEB, "--instance-ids", "0"],
        ["scale", *WEB, "--new-capacity", "13"],
    ],
    ids=["restart", "stop", "deallocate", "reimage", "update-instances", "scale"],
)
def test_plain_no_wait_flag_takes_no_value(mcli, state_path, args):
    with unchanged(state_path):
        result = mcli(*args, "--no-wait", "true")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == "ERROR: unrecognized arguments: true"


@pytest.mark.parametrize("command", ["start", "delete-instances"])
def test_an_invalid_aaz_no_wait_value_is_an_argparse_error(mcli, state_path, command):
    with unchanged(state_path):
        result = mcli(command, *BATCH, "--instance-ids", "3", "--no-wait", "maybe")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"ERROR: vmss {command}: 'maybe' is not a valid value for '--no-wait'. Allowed values: "
        "true, t, yes, y, 1, false, f, no, n, 0."
    )


@pytest.mark.parametrize(
    ("no_wait", "waited"),
    [
        ([], True),
        (["--no-wait"], False),
        (["--no-wait", "true"], False),
        (["--no-wait", "yes"], False),
        (["--no-wait", "1"], False),
        (["--no-wait", "no"], True),
        (["--no-wait", "false"], True),
        (["--no-wait", "0"], True),
    ],
)
def test_start_takes_an_aaz_boolean_no_wait(mcli, no_wait, waited):
    result = ok(mcli("start", *BATCH, "--instance-ids", "3", *no_wait))
    assert result.stdout == ""
    assert power(mcli, "3", BATCH) == ("PowerState/running" if waited else "PowerState/starting")


@pytest.mark.parametrize(
    ("no_wait", "waited"),
    [
        ([], True),
        (["--no-wait"], False),
        (["--no-wait", "true"], False),
        (["--no-wait", "no"], True),
    ],
)
def test_delete_instances_takes_an_aaz_boolean_no_wait(mcli, no_wait, waited):
    ok(mcli("delete-instances", *BATCH, "--instance-ids", "4", *no_wait))
    listed = instances(mcli, BATCH)
    if waited:
        assert "4" not in listed
    else:
        assert listed["4"]["provisioningState"] == "Deleting"
    assert capacity(mcli, BATCH) == 4


def test_start_accepts_an_aaz_json_list_of_ids(mcli):
    ok(mcli("start", *BATCH, "--instance-ids", "[3]"))
    assert power(mcli, "3", BATCH) == "PowerState/running"


def test_aaz_commands_without_a_resource_group_say_the_field_is_missing(mcli, state_path):
    with unchanged(state_path):
        result = mcli("start", "-n", "batch-vmss")
    assert result.exit_code == 1
    assert (
        result.stderr == "ERROR: InvalidArgumentValue: Missing required field: --resource-group\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["restart", *WEB, "--instance-ids", "0"],
        ["start", *BATCH, "--instance-ids", "3"],
        ["deallocate", *WEB, "--instance-ids", "0"],
        ["reimage", *WEB, "--instance-ids", "0"],
        ["delete-instances", *WEB, "--instance-ids", "0"],
        ["update-instances", *WEB, "--instance-ids", "12"],
        ["restart", *WEB, "--no-wait"],
    ],
)
def test_action_verbs_print_nothing(mcli, args):
    result = ok(mcli(*args))
    assert result.stdout == ""
    assert result.stderr == ""


@pytest.mark.parametrize("no_wait", [[], ["--no-wait"]])
def test_stop_warns_about_billing_on_stderr_even_with_no_wait(mcli, no_wait):
    result = ok(mcli("stop", *WEB, "--instance-ids", "0", *no_wait))
    assert result.stderr == STOP_WARNING
    assert result.stdout == ""


def test_only_show_errors_suppresses_the_stop_warning(mcli):
    result = ok(mcli("stop", *WEB, "--instance-ids", "0", "--only-show-errors"))
    assert result.stderr == ""
    assert power(mcli, "0") == "PowerState/stopped"


# --- which instances are targeted -----------------------------------------------------------------


@pytest.mark.parametrize("ids", [[], ["--instance-ids", "*"]], ids=["omitted", "star"])
def test_whole_set_requests_skip_instances_protected_from_scale_set_actions_and_say_so(mcli, ids):
    ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions"))
    result = ok(mcli("restart", *WEB, *ids))
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING:")]
    assert len(warnings) == 1
    assert "4" in warnings[0].split(":", 1)[1] and "protectFromScaleSetActions" in warnings[0]
    started = [
        e for e in log(mcli, "-n", "web-vmss") if e["operationName"].endswith("restart/action")
    ]
    assert started[0]["instanceIds"] == [i for i in WEB_IDS if i != "4"]
    assert started[0]["skipped"] == [{"instanceId": "4", "reason": "protectFromScaleSetActions"}]


def test_protection_from_scale_in_alone_does_not_exclude_from_whole_set_requests(mcli):
    result = ok(mcli("restart", *WEB))
    assert result.stderr == ""
    entry = log(mcli, "-n", "web-vmss")[0]
    assert "9" in entry["instanceIds"] and entry["skipped"] == []


@pytest.mark.parametrize(
    ("command", "ids"),
    [
        ("restart", ["4"]),
        ("stop", ["4"]),
        ("deallocate", ["4"]),
        ("reimage", ["4"]),
        ("update-instances", ["4"]),
        ("delete-instances", ["4"]),
    ],
)
def test_explicitly_named_protected_instances_are_acted_on(mcli, command, ids):
    ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions"))
    result = ok(mcli(command, *WEB, "--instance-ids", *ids, "--only-show-errors"))
    assert "Skipped" not in result.stderr
    entry = log(mcli, "-n", "web-vmss", "--instance-id", "4")[-1]
    assert entry["instanceIds"] == ["4"] and entry["skipped"] == []
    assert entry["status"] == "Succeeded"


ID_COMMANDS = [
    ["restart", *WEB],
    ["stop", *WEB],
    ["start", *WEB],
    ["deallocate", *WEB],
    ["reimage", *WEB],
    ["delete-instances", *WEB],
    ["update-instances", *WEB],
]


@pytest.mark.parametrize("command", ID_COMMANDS, ids=lambda c: c[0])
def test_an_unknown_id_fails_the_whole_request_before_anything_changes(mcli, state_path, command):
    with unchanged(state_path):
        result = mcli(*command, "--instance-ids", "0", "1", "3", "--only-show-errors")
    assert result.exit_code == 1
    assert result.stderr == error_lines(
        "InvalidParameter",
        "The provided instanceId 3 is not an active Virtual Machine Scale Set VM instanceId.",
        "instanceIds",
    )
    assert result.stdout == ""


@pytest.mark.parametrize("command", ID_COMMANDS, ids=lambda c: c[0])
def test_a_malformed_id_fails_the_whole_request_naming_it(mcli, state_path, command):
    with unchanged(state_path):
        result = mcli(*command, "--instance-ids", "0", "abc", "--only-show-errors")
    assert result.exit_code == 1
    assert result.stderr == error_lines(
        "InvalidParameter",
        "The provided instanceId abc is invalid. It must be a non-negative integer or the "
        'character "*".',
        "instanceIds",
    )


def test_restart_of_a_deallocated_instance_by_id_is_not_allowed(mcli, state_path):
    ok(mcli("deallocate", *BATCH, "--instance-ids", "1"))
    with unchanged(state_path):
        result = mcli("restart", *BATCH, "--instance-ids", "0", "1")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("ERROR: (OperationNotAllowed) ")
    assert "batch-vmss_1" in lines[0]
    assert lines[1] == "Code: OperationNotAllowed"


def test_whole_set_restart_skips_deallocated_and_stopped_instances(mcli):
    ok(mcli("deallocate", *BATCH, "--instance-ids", "1"))
    ok(mcli("restart", *BATCH))
    assert power(mcli, "1", BATCH) == "PowerState/deallocated"
    assert power(mcli, "3", BATCH) == "PowerState/stopped"
    entry = log(mcli, "-n", "batch-vmss")[-1]
    assert entry["operationName"] == f"{VMSS_OP}/restart/action"
    assert entry["instanceIds"] == ["0", "2", "4"]
    assert [s["instanceId"] for s in entry["skipped"]] == ["1", "3"]


# --- transitions in simulated time ----------------------------------------------------------------

TRANSITIONS = [
    # command line, instance, where, transitional (provisioning, power), duration, final power
    (["stop", *WEB, "--no-wait"], "0", WEB, ("Updating", "PowerState/stopping"), 30, "stopped"),
    (
        ["start", *BATCH, "--no-wait"],
        "3",
        BATCH,
        ("Updating", "PowerState/starting"),
        30,
        "running",
    ),
    (
        ["deallocate", *WEB, "--no-wait"],
        "0",
        WEB,
        ("Updating", "PowerState/deallocating"),
        60,
        "deallocated",
    ),
    (["restart", *WEB, "--no-wait"], "0", WEB, ("Updating", None), 60, "running"),
    (["reimage", *WEB, "--no-wait"], "0", WEB, ("Updating", None), 180, "running"),
    (["update-instances", *WEB, "--no-wait"], "12", WEB, ("Updating", None), 120, "running"),
    (["delete-instances", *WEB, "--no-wait"], "0", WEB, ("Deleting", None), 60, None),
]


@pytest.mark.parametrize(
    ("args", "instance_id", "where", "transitional", "seconds", "final"),
    TRANSITIONS,
    ids=[t[0][0] for t in TRANSITIONS],
)
def test_no_wait_shows_the_transitional_state_until_the_clock_passes_completion(
    mcli, args, instance_id, where, transitional, seconds, final
):
    ok(mcli(*args, "--instance-ids", instance_id, "--only-show-errors"))
    provisioning, power_code = transitional
    assert instances(mcli, where)[instance_id]["provisioningState"] == provisioning
    if power_code:
        assert power(mcli, instance_id, where) == power_code
    ok(mcli("clock", "advance", f"{seconds - 1}s"))
    assert instances(mcli, where)[instance_id]["provisioningState"] == provisioning
    ok(mcli("clock", "advance", "1s"))
    listed = instances(mcli, where)
    if final is None:
        assert instance_id not in listed
        return
    assert listed[instance_id]["provisioningState"] == "Succeeded"
    assert power(mcli, instance_id, where) == f"PowerState/{final}"
    statuses = {e["status"] for e in log(mcli, "--instance-id", instance_id)}
    assert statuses == {"Started", "Succeeded"}


def test_without_no_wait_an_action_returns_complete_with_the_manual_clock_moved_on(mcli):
    ok(mcli("reimage", *WEB, "--instance-ids", "0"))
    assert clock_now(mcli) == "2026-11-23T10:03:00.0000000+00:00"
    assert instances(mcli)["0"]["provisioningState"] == "Succeeded"
    started, done = log(mcli, "--instance-id", "0")
    assert (started["eventTimestamp"], done["eventTimestamp"]) == (
        NOW_TEXT,
        "2026-11-23T10:03:00.0000000+00:00",
    )


def test_without_no_wait_in_wall_mode_the_action_is_complete_when_it_returns(cli):
    ok(cli("deallocate", *WEB, "--instance-ids", "0", "1"))
    assert power(cli, "0") == power(cli, "1") == "PowerState/deallocated"
    assert instances(cli)["0"]["provisioningState"] == "Succeeded"
    assert ok(cli("clock", "show")).json()["mode"] == "wall"
    assert [e["status"] for e in log(cli)] == ["Started", "Succeeded"]


def test_clock_set_and_mode_move_simulated_time(mcli):
    shown = ok(mcli("clock", "show")).json()
    assert shown == {"mode": "manual", "now": NOW_TEXT, "pinned": False, "speed": 1.0}
    ok(mcli("restart", *WEB, "--instance-ids", "0", "--no-wait"))
    ok(mcli("clock", "set", "2026-11-23T10:01:00Z"))
    assert instances(mcli)["0"]["provisioningState"] == "Succeeded"
    backwards = mcli("clock", "set", "2026-11-23T09:00:00Z")
    assert backwards.exit_code == 1 and backwards.stderr.startswith("ERROR: ")
    assert ok(mcli("clock", "mode", "wall")).json()["mode"] == "wall"


def test_the_pinned_clock_decides_when_an_operation_completes(cli, monkeypatch):
    monkeypatch.setenv("VMSSCLI_NOW", "2026-11-23T10:00:00Z")
    ok(cli("stop", *WEB, "--instance-ids", "0", "--no-wait", "--only-show-errors"))
    assert power(cli, "0") == "PowerState/stopping"
    monkeypatch.setenv("VMSSCLI_NOW", "2026-11-23T10:00:29Z")
    assert power(cli, "0") == "PowerState/stopping"
    assert ok(cli("clock", "show")).json()["pinned"] is True
    monkeypatch.setenv("VMSSCLI_NOW", "2026-11-23T10:00:30Z")
    assert power(cli, "0") == "PowerState/stopped"


def test_same_state_and_same_clock_give_the_same_output(state_path, tmp_path, monkeypatch):
    monkeypatch.setenv("VMSSCLI_NOW", "2026-11-23T10:00:00Z")
    twin = tmp_path / "twin.json"
    twin.write_bytes(state_path.read_bytes())
    script = [
        ["update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions"],
        ["restart", *WEB, "--instance-ids", "0", "--no-wait"],
        ["stop", *WEB, "--instance-ids", "1"],
        ["scale", *WEB, "--new-capacity", "14"],
        ["list-instances", *WEB, "--expand", "instanceView"],
        ["activity-log", "list"],
    ]
    outputs = []
    for path in (state_path, twin):
        monkeypatch.setenv("VMSSCLI_STATE", str(path))  # the same command lines for both
        outputs.append([(r.exit_code, r.stdout, r.stderr) for r in (invoke(a) for a in script)])
    assert outputs[0] == outputs[1]
    assert all(code == 0 for code, _, _ in outputs[0])
    assert state_path.read_bytes() == twin.read_bytes()
    started = [e for e in json.loads(outputs[0][-1][1]) if e["status"] == "Started"]
    assert {e["eventTimestamp"] for e in started} == {NOW_TEXT}


# --- power, provisioning and health ---------------------------------------------------------------


def test_stop_leaves_the_instance_allocated_with_unknown_health_and_not_serving(mcli):
    ok(mcli("stop", *WEB, "--instance-ids", "0"))
    view = instance_view(mcli, "0")
    assert "computerName" in view  # still allocated
    assert view["vmHealth"]["status"]["code"] == "HealthState/unknown"
    assert triage_rows(mcli)["0"]["serving"] is False
    ok(mcli("start", *WEB, "--instance-ids", "0"))
    assert health(mcli, "0") == "HealthState/healthy"
    assert triage_rows(mcli)["0"]["serving"] is True


def test_deallocate_releases_the_instance_and_its_health_is_absent(mcli):
    ok(mcli("deallocate", *WEB, "--instance-ids", "0"))
    assert power(mcli, "0") == "PowerState/deallocated"
    assert health(mcli, "0") in (None, "HealthState/unknown")
    assert triage_rows(mcli)["0"]["serving"] is False


def test_restart_does_not_repair_a_failed_extension_but_reimage_does(mcli):
    ok(mcli("restart", *WEB, "--instance-ids", "5"))
    assert health(mcli, "5") == "HealthState/unhealthy"
    ok(mcli("reimage", *WEB, "--instance-ids", "5"))
    assert health(mcli, "5") == "HealthState/healthy"
    extensions = {e["name"]: e for e in instance_view(mcli, "5")["extensions"]}
    assert extensions["configure-web"]["statuses"][0]["code"] == "ProvisioningState/succeeded"
    assert triage_rows(mcli)["5"]["serving"] is True


@pytest.fixture
def faulty(mcli, state_path):
    """Web 0: stale process; 1: full disk; 2: blocked network."""

    def add_faults(state):
        web = state.resource_groups["rg-web"].scale_sets["web-vmss"]
        web.instance(0).faults = [Fault(kind="stale-process")]
        web.instance(1).faults = [Fault(kind="disk-full")]
        web.instance(2).faults = [Fault(kind="network-blocked", host="packages.example.com")]

    edit_state(state_path, add_faults)
    return mcli


def test_restart_repairs_a_stale_process_but_not_a_full_disk(faulty):
    assert health(faulty, "0") == "HealthState/unhealthy"
    assert health(faulty, "1") == "HealthState/unhealthy"
    ok(faulty("restart", *WEB, "--instance-ids", "0", "1"))
    assert health(faulty, "0") == "HealthState/healthy"
    assert health(faulty, "1") == "HealthState/unhealthy"
    ok(faulty("reimage", *WEB, "--instance-ids", "1"))
    assert health(faulty, "1") == "HealthState/healthy"


def test_a_blocked_network_survives_restart_and_reimage_and_fails_the_custom_script(faulty):
    ok(faulty("restart", *WEB, "--instance-ids", "2"))
    assert health(faulty, "2") == "HealthState/healthy"
    ok(faulty("reimage", *WEB, "--instance-ids", "2"))
    extensions = {e["name"]: e for e in instance_view(faulty, "2")["extensions"]}
    assert extensions["configure-web"]["statuses"][0]["code"] == "ProvisioningState/failed"
    assert "packages.example.com" in extensions["configure-web"]["statuses"][0]["message"]
    assert extensions["HealthExtension"]["statuses"][0]["code"] == "ProvisioningState/succeeded"
    assert health(faulty, "2") == "HealthState/unhealthy"
    ok(faulty("reimage", *WEB, "--instance-ids", "2"))
    assert health(faulty, "2") == "HealthState/unhealthy"


def test_reimage_and_update_instances_bring_instances_to_the_latest_model(mcli):
    before = instances(mcli)
    assert before["12"]["latestModelApplied"] is False
    assert before["9"]["latestModelApplied"] is False
    ok(mcli("update-instances", *WEB, "--instance-ids", "9"))
    ok(mcli("reimage", *WEB, "--instance-ids", "12"))
    after = instances(mcli)
    assert after["9"]["latestModelApplied"] is True
    assert after["9"]["modelDefinitionApplied"] == "VirtualMachineScaleSet"
    assert after["12"]["latestModelApplied"] is True
    assert after["12"]["storageProfile"]["imageReference"]["exactVersion"] == "22.04.202411010"


def test_update_instances_star_skips_instances_protected_from_scale_set_actions(mcli):
    ok(mcli("update", *WEB, "--instance-id", "12", "--protect-from-scale-set-actions"))
    result = ok(mcli("update-instances", *WEB, "--instance-ids", "*"))
    assert "12" in result.stderr and "protectFromScaleSetActions" in result.stderr
    after = instances(mcli)
    assert after["12"]["latestModelApplied"] is False
    assert after["9"]["latestModelApplied"] is True


def test_delete_instances_removes_them_and_lowers_the_capacity(mcli):
    ok(mcli("delete-instances", *WEB, "--instance-ids", "9", "13"))
    assert sorted(instances(mcli), key=int) == [i for i in WEB_IDS if i not in ("9", "13")]
    assert capacity(mcli) == 10


def test_delete_instances_star_keeps_only_instances_protected_from_scale_set_actions(mcli):
    ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions"))
    result = ok(mcli("delete-instances", *WEB, "--instance-ids", "*"))
    assert "4" in result.stderr and "protectFromScaleSetActions" in result.stderr
    assert list(instances(mcli)) == ["4"]
    assert capacity(mcli) == 1
    assert ok(mcli("show", *WEB)).json()["name"] == "web-vmss"  # the scale set remains


# --- scale ----------------------------------------------------------------------------------------


def test_scale_out_adds_new_ids_on_the_current_model_spread_over_zones(mcli):
    result = ok(mcli("scale", *WEB, "--new-capacity", "15"))
    vmss = result.json()
    assert vmss["sku"]["capacity"] == 15
    assert schema_errors("vmss", vmss) == []
    listed = instances(mcli)
    assert sorted(listed, key=int) == [*WEB_IDS, "14", "15", "16"]
    for new in ("14", "15", "16"):
        assert listed[new]["latestModelApplied"] is True
        assert listed[new]["provisioningState"] == "Succeeded"
    assert Counter(vm["zones"][0] for vm in listed.values()) == {"1": 5, "2": 5, "3": 5}
    assert clock_now(mcli) == "2026-11-23T10:02:00.0000000+00:00"


def test_scale_in_balances_zones_then_removes_the_highest_ids_and_keeps_protected(mcli):
    # zone 1: 0 6 9(protected) 12; zone 2: 1 4 7 10 13; zone 3: 2 5 11
    vmss = ok(mcli("scale", *WEB, "--new-capacity", "9")).json()
    assert vmss["sku"]["capacity"] == 9
    assert schema_errors("vmss", vmss) == []
    listed = instances(mcli)
    assert sorted(listed, key=int) == ["0", "1", "2", "4", "5", "6", "7", "9", "11"]
    assert Counter(vm["zones"][0] for vm in listed.values()) == {"1": 3, "2": 3, "3": 3}
    entry = log(mcli, "-n", "web-vmss")[-1]
    assert entry["operationName"] == f"{VMSS_OP}/write"
    assert sorted(entry["instanceIds"], key=int) == ["10", "12", "13"]


def test_scale_in_never_removes_an_instance_protected_by_either_flag(mcli):
    ok(mcli("update", *WEB, "--instance-id", "13", "--protect-from-scale-set-actions"))
    ok(mcli("update", *WEB, "--instance-id", "12", "--protect-from-scale-in"))
    ok(mcli("scale", *WEB, "--new-capacity", "3"))
    assert sorted(instances(mcli), key=int) == ["9", "12", "13"]


def test_scale_in_made_impossible_by_protection_fails_and_changes_nothing(mcli, state_path):
    ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-in"))
    with unchanged(state_path):
        result = mcli("scale", *WEB, "--new-capacity", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith("ERROR: (")
    assert "protect" in result.stderr.splitlines()[0]
    assert result.stdout == ""


def test_deleted_ids_are_never_reused_by_scale_out(mcli):
    ok(mcli("delete-instances", *WEB, "--instance-ids", "13"))
    ok(mcli("scale", *WEB, "--new-capacity", "12"))
    assert "13" not in instances(mcli) and "14" in instances(mcli)


def test_scale_with_no_wait_prints_nothing_and_completes_in_simulated_time(mcli):
    result = ok(mcli("scale", *WEB, "--new-capacity", "10", "--no-wait"))
    assert result.stdout == ""
    listed = instances(mcli)
    assert {i for i, vm in listed.items() if vm["provisioningState"] == "Deleting"} == {"12", "13"}
    assert capacity(mcli) == 10
    ok(mcli("clock", "advance", "1m"))
    assert "12" not in instances(mcli)
    ok(mcli("scale", *WEB, "--new-capacity", "11", "--no-wait"))
    assert instances(mcli)["14"]["provisioningState"] == "Creating"
    ok(mcli("clock", "advance", "2m"))
    assert instances(mcli)["14"]["provisioningState"] == "Succeeded"
    assert power(mcli, "14") == "PowerState/running"


# --- the activity log -----------------------------------------------------------------------------

MUTATIONS = [
    (["restart", *WEB, "--instance-ids", "0"], "restart/action", WEB_ID, ["0"]),
    (["start", *BATCH, "--instance-ids", "3"], "start/action", None, ["3"]),
    (["stop", *WEB, "--instance-ids", "0"], "powerOff/action", WEB_ID, ["0"]),
    (["deallocate", *WEB, "--instance-ids", "0"], "deallocate/action", WEB_ID, ["0"]),
    (["reimage", *WEB, "--instance-ids", "0"], "reimage/action", WEB_ID, ["0"]),
    (["delete-instances", *WEB, "--instance-ids", "0"], "delete/action", WEB_ID, ["0"]),
    (["update-instances", *WEB, "--instance-ids", "12"], "manualUpgrade/action", WEB_ID, ["12"]),
    (["scale", *WEB, "--new-capacity", "13"], "write", WEB_ID, ["14"]),
    (
        ["update", *WEB, "--instance-id", "4", "--protect-from-scale-in"],
        "virtualMachines/write",
        None,
        ["4"],
    ),
]


@pytest.mark.parametrize(
    ("args", "operation", "resource_id", "targets"), MUTATIONS, ids=[m[0][0] for m in MUTATIONS]
)
def test_every_mutating_command_logs_started_and_succeeded(
    mcli, args, operation, resource_id, targets
):
    ok(mcli(*args, "--only-show-errors"))
    entries = log(mcli)
    assert [e["status"] for e in entries] == ["Started", "Succeeded"]
    started, done = entries
    assert started["operationName"] == done["operationName"] == f"{VMSS_OP}/{operation}"
    assert started["correlationId"] == done["correlationId"] != ""
    assert started["instanceIds"] == done["instanceIds"] == targets
    # the command line as typed (the test harness adds --state PATH at the end)
    assert started["command"].startswith(" ".join(["vmss", *args, "--only-show-errors"]) + " ")
    if resource_id:
        assert started["resourceId"] == resource_id
    assert started["eventTimestamp"] == NOW_TEXT


def test_failed_requests_leave_no_activity_log_entries(mcli):
    mcli("restart", *WEB, "--instance-ids", "3")
    mcli("scale", *WEB, "--new-capacity", "0")
    assert log(mcli) == []


def test_activity_log_filters_by_group_name_instance_and_time(mcli):
    ok(mcli("restart", *WEB, "--instance-ids", "0", "1"))
    ok(mcli("stop", *BATCH, "--instance-ids", "2", "--only-show-errors"))
    ok(mcli("clock", "advance", "1h", "--only-show-errors"))
    ok(mcli("reimage", *WEB, "--instance-ids", "1"))
    assert len(log(mcli)) == 6
    assert {e["resourceGroup"] for e in log(mcli, "-g", "rg-batch")} == {"rg-batch"}
    assert len(log(mcli, "-g", "rg-web", "-n", "web-vmss")) == 4
    assert log(mcli, "-n", "tools-vmss") == []
    by_instance = log(mcli, "-n", "web-vmss", "--instance-id", "1")
    assert [e["operationName"].rsplit("/", 2)[-2] for e in by_instance] == [
        "restart",
        "restart",
        "reimage",
        "reimage",
    ]
    assert len(log(mcli, "-n", "web-vmss", "--instance-id", "0")) == 2
    recent = log(mcli, "--since", "30m")
    assert [e["operationName"] for e in recent] == [f"{VMSS_OP}/reimage/action"] * 2
    assert len(log(mcli, "--since", "2026-11-23T10:00:30Z")) == 5


def test_activity_log_records_skipped_instances_with_reasons(mcli):
    ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions"))
    ok(mcli("stop", *WEB, "--instance-ids", "0", "--only-show-errors"))
    ok(mcli("deallocate", *WEB, "--only-show-errors"))
    entry = log(mcli, "-n", "web-vmss")[-1]
    assert entry["operationName"] == f"{VMSS_OP}/deallocate/action"
    assert entry["skipped"] == [{"instanceId": "4", "reason": "protectFromScaleSetActions"}]
    assert "0" in entry["instanceIds"]  # a stopped instance can be deallocated
    assert entry["command"].startswith("vmss deallocate -g rg-web -n web-vmss --only-show-errors ")


def test_activity_log_in_table_and_tsv(mcli):
    ok(mcli("restart", *WEB, "--instance-ids", "0", "1"))
    entries = log(mcli)
    table = ok(mcli("activity-log", "list", "-o", "table")).stdout.splitlines()
    assert table[0].split() == ["Time", "Status", "Operation", "ScaleSet", "Instances", "Skipped"]
    assert set(table[1]) <= {"-", " "}
    assert len(table) == 2 + len(entries)
    assert table[2].split()[2:6] == ["Started", "restart/action", "web-vmss", "0"]
    tsv = ok(mcli("activity-log", "list", "-o", "tsv")).stdout.splitlines()
    assert len(tsv) == len(entries)
    cells = tsv[0].split("\t")
    assert entries[0]["correlationId"] in cells
    assert f"{VMSS_OP}/restart/action" in cells and "Started" in cells
    assert cells[cells.index(entries[0]["correlationId"]) - 1] == entries[0]["command"]
    empty = ok(mcli("activity-log", "list", "-n", "nothing", "-o", "table"))
    assert empty.stdout == "\n"
    assert ok(mcli("activity-log", "list", "-n", "nothing", "-o", "tsv")).stdout == ""


@pytest.mark.parametrize("fmt", ["json", "jsonc", "yaml", "yamlc", "table", "tsv", "none"])
def test_activity_log_list_works_in_every_output_format(mcli, fmt):
    ok(mcli("update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions"))
    ok(mcli("restart", *WEB))
    entries = log(mcli)
    result = ok(mcli("activity-log", "list", "-o", fmt))
    if fmt in ("json", "jsonc"):
        assert json.loads(result.stdout) == entries
    elif fmt in ("yaml", "yamlc"):
        assert yaml.safe_load(result.stdout) == entries
    elif fmt == "table":
        assert len(result.stdout.splitlines()) == 2 + len(entries)
    elif fmt == "tsv":
        assert len(result.stdout.splitlines()) == len(entries)
    else:
        assert result.stdout == ""
