"""`vmss run-command invoke|list|show|list-ids` through the CLI (in-process, Typer's CliRunner),
against the demo fleet.

Expectations come from the az reference: the result shape (§2.6, samples
run-command-invoke.cli-output.json and run-command-show-instance-view.cli-output.json, schema
run-command-result), the command (§3.12), errors and exit codes and the `--ids` rules (§1.5).
The demo fleet: rg-web/web-vmss (Linux, application health extension on port 80 /healthz,
ids 0 1 2 4 5 6 7 9 10 11 12 13; 5 unhealthy with a failed 'configure-web' extension),
rg-batch/batch-vmss (ids 0-4, 3 stopped).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest import SAMPLES, schema_errors

from vmsscli.model import CannedOutput, ClockSettings, Fault, RunCommandRecord
from vmsscli.store import read_file, serialize

WEB = ["-g", "rg-web", "-n", "web-vmss"]
NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-23T10:00:00.0000000+00:00"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
WEB_ID = f"{SUB}/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/web-vmss"
BATCH_ID = (
    f"{SUB}/resourceGroups/rg-batch/providers/Microsoft.Compute/virtualMachineScaleSets/batch-vmss"
)
OPERATION = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action"
RUN_COMMAND_TYPE = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommands"
NOT_RUNNING = (
    "ERROR: (OperationNotAllowed) The operation requires the VM to be running (or set to run).\n"
    "Code: OperationNotAllowed\n"
    "Message: The operation requires the VM to be running (or set to run).\n"
)


# --- helpers ------------------------------------------------------------------------------------


def edit_state(path, change) -> None:
    state = read_file(path)
    change(state)
    path.write_bytes(serialize(state, path))


def web_instance(state, instance_id: int):
    return state.resource_groups["rg-web"].scale_sets["web-vmss"].instance(instance_id)


@pytest.fixture
def mcli(cli, state_path):
    """`cli` with the simulated clock in manual mode at NOW."""

    def manual(state):
        state.clock = ClockSettings(mode="manual", now=NOW)

    edit_state(state_path, manual)
    return cli


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def invoke(cli, instance_id, *scripts: str, extra: tuple[str, ...] = (), where=WEB):
    args = ["run-command", "invoke", *where, "--instance-id", str(instance_id)]
    args += ["--command-id", "RunShellScript"]
    if scripts:
        args += ["--scripts", *scripts]
    return cli(*args, *extra)


def message(cli, instance_id, *scripts: str, extra: tuple[str, ...] = ()) -> str:
    """The raw message, as `--query "value[0].message" -o tsv` prints it."""
    query = ("--query", "value[0].message", "-o", "tsv")
    return ok(invoke(cli, instance_id, *scripts, extra=(*extra, *query))).stdout


def linux_message(stdout: str, stderr: str = "") -> str:
    return f"Enable succeeded: \n[stdout]\n{stdout}\n[stderr]\n{stderr}"


def records(cli, instance_id, where=("-g", "rg-web", "--vmss-name", "web-vmss")) -> list[dict]:
    args = ["run-command", "list", *where, "--instance-id", str(instance_id)]
    return ok(cli(*args, "--expand", "instanceView")).json()


def vm_health(cli, instance_id) -> str:
    args = ["get-instance-view", *WEB, "--instance-id", str(instance_id)]
    return ok(cli(*args, "--query", "vmHealth.status.code", "-o", "tsv")).stdout.strip()


def error_text(code: str, text: str) -> str:
    return f"ERROR: ({code}) {text}\nCode: {code}\nMessage: {text}\n"


# --- the result ---------------------------------------------------------------------------------


def test_invoke_prints_one_provisioning_status_with_stdout_and_stderr_in_the_message(mcli):
    result = ok(invoke(mcli, 0, "echo hi"))
    assert result.json() == {
        "value": [
            {
                "code": "ProvisioningState/succeeded",
                "displayStatus": "Provisioning succeeded",
                "level": "Info",
                "message": "Enable succeeded: \n[stdout]\nhi\n\n[stderr]\n",
            }
        ]
    }
    assert schema_errors("run-command-result", result.json()) == []
    assert result.stderr == ""


def test_the_result_has_the_keys_of_the_az_sample(mcli):
    sample = json.loads((SAMPLES / "run-command-invoke.cli-output.json").read_text())
    result = ok(invoke(mcli, 0, "hostname")).json()
    assert list(result) == list(sample)
    assert sorted(result["value"][0]) == sorted(sample["value"][0])


def test_a_failing_script_still_reports_provisioning_succeeded(mcli):
    result = ok(invoke(mcli, 0, "cat /nope", "exit 3"))
    status = result.json()["value"][0]
    assert status["code"] == "ProvisioningState/succeeded"
    assert status["message"] == linux_message("", "cat: /nope: No such file or directory\n")
    assert schema_errors("run-command-result", result.json()) == []


def test_an_unknown_command_in_the_script_reports_bash_not_found(mcli):
    text = message(mcli, 0, "Write-Host Hello World!")
    assert text == linux_message("", "bash: Write-Host: command not found\n") + "\n"


def test_query_message_tsv_prints_the_raw_message(mcli):
    text = message(mcli, 0, "hostname", "whoami")
    assert text == "Enable succeeded: \n[stdout]\nwebvm000000\nroot\n\n[stderr]\n\n"


def test_table_output_is_an_empty_line_and_tsv_prints_1(mcli):
    assert ok(invoke(mcli, 0, "hostname", extra=("-o", "table"))).stdout == "\n"
    assert ok(invoke(mcli, 0, "hostname", extra=("-o", "tsv"))).stdout == "1\n"


def test_each_scripts_value_is_one_line_of_the_script(mcli):
    text = message(mcli, 0, "X=web", "echo one $X", "echo two")
    assert text == linux_message("one web\ntwo\n") + "\n"


def test_scripts_from_a_file_with_at(mcli, tmp_path):
    script = tmp_path / "diag.sh"
    script.write_text("#!/bin/bash\n# diagnostics\nhostname\ncurl -s localhost/healthz\necho\n")
    text = message(mcli, 4, f"@{script}")
    assert text == linux_message('webvm000004\n{"status":"healthy"}\n') + "\n"
    record = records(mcli, 4)[-1]
    assert record["source"]["script"] == (
        "#!/bin/bash\n# diagnostics\nhostname\ncurl -s localhost/healthz\necho"
    )


def test_positional_parameters_are_dollar_1_dollar_2(mcli):
    text = message(mcli, 0, "echo $1 $2", extra=("--parameters", "hello", "world"))
    assert text == linux_message("hello world\n") + "\n"


def test_named_parameters_are_variables(mcli):
    text = message(mcli, 0, 'echo "$service:$arg1"', extra=("--parameters", "service=app", "x"))
    assert text == linux_message("app:x\n") + "\n"


def test_parameters_are_shown_as_az_names_them(mcli):
    ok(invoke(mcli, 0, "echo $1", extra=("--parameters", "a", "name=b", "c")))
    record = records(mcli, 0)[-1]
    assert record["parameters"] == [
        {"name": "arg1", "value": "a"},
        {"name": "name", "value": "b"},
        {"name": "arg2", "value": "c"},
    ]


def test_ids_with_an_instance_id(mcli):
    result = mcli(
        "run-command",
        "invoke",
        "--ids",
        f"{WEB_ID}/virtualMachines/2",
        "--command-id",
        "RunShellScript",
        "--scripts",
        "hostname",
    )
    assert ok(result).json()["value"][0]["message"] == linux_message("webvm000002\n")
    assert [r["name"] for r in records(mcli, 2)] == ["cmd_000001"]


def test_several_ids_give_one_result_each(mcli):
    result = mcli(
        "run-command",
        "invoke",
        "--ids",
        f"{WEB_ID}/virtualMachines/2",
        f"{WEB_ID}/virtualMachines/4",
        "--command-id",
        "RunShellScript",
        "--scripts",
        "hostname",
    )
    messages = [r["value"][0]["message"] for r in ok(result).json()]
    assert messages == [linux_message("webvm000002\n"), linux_message("webvm000004\n")]


def test_ids_with_one_failing_instance_warn_and_print_the_other_result(mcli, state_path):
    failing = f"{BATCH_ID}/virtualMachines/3"
    result = mcli(
        "run-command",
        "invoke",
        "--ids",
        f"{WEB_ID}/virtualMachines/2",
        failing,
        "--command-id",
        "RunShellScript",
        "--scripts",
        "hostname",
    )
    assert result.exit_code == 0, result.stderr
    assert result.json()["value"][0]["message"] == linux_message("webvm000002\n")
    assert f"WARNING: {failing}: " in result.stderr
    assert "WARNING: Encountered more than one exception.\n" in result.stderr


def test_ids_of_a_scale_set_without_an_instance_is_an_error(mcli, state_path):
    before = state_path.read_bytes()
    result = mcli(
        "run-command", "invoke", "--ids", WEB_ID, "--command-id", "RunShellScript", "--scripts", "x"
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"ERROR: Argument --instance-id cannot be derived from ID {WEB_ID}. Please provide a "
        "complete resource ID containing all information of 'Resource Id' arguments. \n"
    )
    assert state_path.read_bytes() == before


def test_output_none_prints_nothing_but_the_invocation_is_kept(mcli):
    assert ok(invoke(mcli, 0, "echo hi", extra=("-o", "none"))).stdout == ""
    assert records(mcli, 0)[-1]["instanceView"]["output"] == "hi\n"


# --- refusals -----------------------------------------------------------------------------------


def test_a_stopped_instance_is_refused_and_nothing_changes(mcli, state_path):
    before = state_path.read_bytes()
    result = invoke(mcli, 3, "hostname", where=["-g", "rg-batch", "-n", "batch-vmss"])
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", NOT_RUNNING)
    assert state_path.read_bytes() == before


def test_a_deallocated_instance_is_refused(mcli, state_path):
    ok(mcli("deallocate", *WEB, "--instance-ids", "1"))
    before = state_path.read_bytes()
    result = invoke(mcli, 1, "hostname")
    assert (result.exit_code, result.stderr) == (1, NOT_RUNNING)
    assert state_path.read_bytes() == before


def test_an_instance_whose_agent_is_not_ready_is_refused(mcli, state_path):
    edit_state(state_path, lambda s: setattr(web_instance(s, 7), "vm_agent", "not_ready"))
    before = state_path.read_bytes()
    result = invoke(mcli, 7, "hostname")
    assert result.exit_code == 1
    assert result.stderr == error_text(
        "VMAgentStatusCommunicationError",
        "VM 'web-vmss_7' has not reported status for VM agent or extensions. Verify that the OS "
        "is up and healthy, the VM has a running VM agent, and that it can establish outbound "
        "connections to Azure storage. Please refer to "
        "https://aka.ms/vmextensionlinuxtroubleshoot for additional VM agent troubleshooting "
        "information.",
    )
    assert state_path.read_bytes() == before


def test_an_agent_not_ready_written_in_the_state_file_is_refused(cli, state_path):
    data = json.loads(state_path.read_text())
    instances = data["resource_groups"]["rg-web"]["scale_sets"]["web-vmss"]["instances"]
    next(i for i in instances if i["id"] == 6)["vm_agent"] = "not_ready"
    state_path.write_text(json.dumps(data))
    result = invoke(cli, 6, "hostname")
    assert result.exit_code == 1
    assert result.stderr.startswith("ERROR: (VMAgentStatusCommunicationError) VM 'web-vmss_6'")


def test_an_instance_with_an_operation_in_flight_is_refused(mcli, state_path):
    ok(mcli("restart", *WEB, "--instance-ids", "0", "--no-wait"))
    before = state_path.read_bytes()
    result = invoke(mcli, 0, "hostname")
    assert result.exit_code == 1
    assert result.stderr == error_text(
        "OperationNotAllowed",
        "Operation 'runCommand' is not allowed on VM 'web-vmss_0' since another operation "
        "('restart') is in progress.",
    )
    assert state_path.read_bytes() == before


def test_an_unknown_command_id_is_not_found_with_exit_3(mcli, state_path):
    before = state_path.read_bytes()
    result = mcli(
        "run-command", "invoke", *WEB, "--instance-id", "0", "--command-id", "RunBashScript"
    )
    assert result.exit_code == 3
    assert result.stderr == error_text(
        "NotFound", "The entity was not found in this Azure location."
    )
    assert state_path.read_bytes() == before


def test_a_windows_command_id_on_linux_is_a_conflict(mcli, state_path):
    before = state_path.read_bytes()
    result = mcli(
        "run-command",
        "invoke",
        *WEB,
        "--instance-id",
        "0",
        "--command-id",
        "RunPowerShellScript",
        "--scripts",
        "Get-Service",
    )
    assert result.exit_code == 1
    assert result.stderr == error_text(
        "Conflict", "Run command OS type 'Windows' does not match the target OS Linux."
    )
    assert state_path.read_bytes() == before


def test_command_ids_are_matched_without_regard_to_case(mcli):
    result = mcli(
        "run-command",
        "invoke",
        *WEB,
        "--instance-id",
        "0",
        "--command-id",
        "runshellscript",
        "--scripts",
        "whoami",
    )
    assert ok(result).json()["value"][0]["message"] == linux_message("root\n")


def test_missing_instance_id_is_required_with_azs_message(mcli, state_path):
    before = state_path.read_bytes()
    result = mcli("run-command", "invoke", *WEB, "--command-id", "RunShellScript", "--scripts", "x")
    assert (result.exit_code, result.stderr) == (1, "ERROR: (--instance-id | --ids) are required\n")
    assert state_path.read_bytes() == before


def test_missing_command_id_is_an_argparse_error(mcli):
    result = mcli("run-command", "invoke", *WEB, "--instance-id", "0", "--scripts", "x")
    assert result.exit_code == 2
    assert result.stderr.startswith("ERROR: the following arguments are required: --command-id\n")


def test_an_unknown_instance_is_not_found(mcli, state_path):
    before = state_path.read_bytes()
    result = invoke(mcli, 3, "hostname")
    assert result.exit_code == 3
    assert "(ResourceNotFound)" in result.stderr
    assert state_path.read_bytes() == before


def test_refused_invocations_are_not_logged_or_kept(mcli, state_path):
    invoke(mcli, 3, "hostname", where=["-g", "rg-batch", "-n", "batch-vmss"])
    mcli("run-command", "invoke", *WEB, "--instance-id", "0", "--command-id", "Nope")
    state = read_file(state_path)
    assert not [e for e in state.activity_log if e.operation == OPERATION]
    assert web_instance(state, 0).run_commands == []


# --- activity log -------------------------------------------------------------------------------


def test_every_invocation_is_logged_with_its_command_id_and_script(mcli, state_path):
    ok(invoke(mcli, 0, "systemctl status app", "journalctl -u app -n 5"))
    ok(invoke(mcli, 2, "df -h", extra=("--parameters", "p1")))
    entries = [e for e in read_file(state_path).activity_log if e.operation == OPERATION]
    assert [(e.status, e.instance_ids) for e in entries] == [
        ("Started", ["0"]),
        ("Succeeded", ["0"]),
        ("Started", ["2"]),
        ("Succeeded", ["2"]),
    ]
    assert entries[1].detail == "RunShellScript: systemctl status app\njournalctl -u app -n 5"
    assert entries[3].detail == "RunShellScript: df -h"
    assert entries[1].resource_id == f"{WEB_ID}/virtualMachines/0"
    assert entries[1].command.startswith("vmss run-command invoke -g rg-web -n web-vmss")


def test_a_failing_script_is_still_a_succeeded_activity(mcli, state_path):
    ok(invoke(mcli, 0, "exit 1"))
    entries = [e for e in read_file(state_path).activity_log if e.operation == OPERATION]
    assert entries[-1].status == "Succeeded"
    assert entries[-1].detail == "RunShellScript: exit 1"


def test_the_activity_log_lists_invocations_of_an_instance(mcli):
    ok(invoke(mcli, 0, "hostname"))
    rows = ok(mcli("activity-log", "list", *WEB, "--instance-id", "0")).json()
    assert [(r["operationName"], r["status"]) for r in rows] == [
        (OPERATION, "Started"),
        (OPERATION, "Succeeded"),
    ]
    assert rows[-1]["eventTimestamp"] == NOW_TEXT


# --- list, show, list-ids -----------------------------------------------------------------------


def listed_args(instance_id, *extra: str) -> list[str]:
    base = ["run-command", "list", "-g", "rg-web", "--vmss-name", "web-vmss"]
    return [*base, "--instance-id", str(instance_id), *extra]


def test_list_is_empty_before_any_invocation(mcli):
    assert ok(mcli(*listed_args(0))).json() == []


def test_list_shows_invocations_as_run_command_resources_oldest_first(mcli):
    ok(invoke(mcli, 0, "hostname"))
    ok(invoke(mcli, 0, "echo a", "echo b"))
    listed = ok(mcli(*listed_args(0))).json()
    assert [r["name"] for r in listed] == ["cmd_000001", "cmd_000002"]
    assert listed[1] == {
        "asyncExecution": False,
        "id": f"{WEB_ID}/virtualMachines/0/runCommands/cmd_000002",
        "location": "westeurope",
        "name": "cmd_000002",
        "provisioningState": "Succeeded",
        "resourceGroup": "rg-web",
        "source": {"script": "echo a\necho b"},
        "timeoutInSeconds": 0,
        "type": RUN_COMMAND_TYPE,
    }


def test_list_is_per_instance(mcli):
    ok(invoke(mcli, 0, "hostname"))
    assert ok(mcli(*listed_args(1))).json() == []


def test_list_expand_instance_view_adds_output_and_exit_code(mcli):
    ok(invoke(mcli, 0, "hostname"))
    ok(invoke(mcli, 0, "echo out; cat /nope; Write-Host x"))
    listed = ok(mcli(*listed_args(0, "--expand", "instanceView"))).json()
    assert listed[0]["instanceView"] == {
        "endTime": NOW_TEXT,
        "error": "",
        "executionMessage": "Execution completed",
        "executionState": "Succeeded",
        "exitCode": 0,
        "output": "webvm000000\n",
        "startTime": NOW_TEXT,
    }
    failed = listed[1]["instanceView"]
    assert failed["exitCode"] == 127
    assert failed["executionState"] == "Failed"
    assert failed["executionMessage"] == (
        "Execution failed: failed to execute command: command terminated with exit status=127"
    )
    assert failed["error"] == (
        "cat: /nope: No such file or directory\nbash: Write-Host: command not found\n"
    )
    assert failed["output"] == "out\n"


def test_show_with_instance_view_has_the_keys_of_the_az_sample(mcli):
    ok(invoke(mcli, 0, "Write-Host Hello World!"))
    args = ["run-command", "show", "-g", "rg-web", "--vmss-name", "web-vmss", "--instance-id", "0"]
    shown = ok(mcli(*args, "--name", "cmd_000001", "--instance-view")).json()
    sample = json.loads((SAMPLES / "run-command-show-instance-view.cli-output.json").read_text())
    assert sorted(shown) == sorted(sample)
    assert sorted(shown["instanceView"]) == sorted(sample["instanceView"])
    assert shown["instanceView"]["exitCode"] == 127
    assert shown["instanceView"]["executionState"] == "Failed"
    assert shown["source"] == {"script": "Write-Host Hello World!"}
    plain = ok(mcli(*args, "--run-command-name", "cmd_000001")).json()
    assert "instanceView" not in plain


def test_show_by_ids(mcli):
    ok(invoke(mcli, 2, "hostname"))
    shown = mcli(
        "run-command",
        "show",
        "--ids",
        f"{WEB_ID}/virtualMachines/2",
        "--name",
        "cmd_000001",
        "--instance-view",
    )
    assert ok(shown).json()["instanceView"]["output"] == "webvm000002\n"


def test_show_of_an_unknown_run_command_is_not_found(mcli):
    args = ["run-command", "show", "-g", "rg-web", "--vmss-name", "web-vmss", "--instance-id", "0"]
    result = mcli(*args, "--name", "cmd_000009")
    assert result.exit_code == 3
    assert result.stderr == error_text(
        "NotFound",
        f"The Resource '{RUN_COMMAND_TYPE}/cmd_000009' under resource group 'rg-web' was "
        "not found.",
    )


def test_list_keeps_the_latest_20_invocations(mcli, state_path):
    def fill(state):
        web_instance(state, 0).run_commands = [
            RunCommandRecord(
                name=f"cmd_{n:06d}", command_id="RunShellScript", script=["true"], started=NOW
            )
            for n in range(1, 21)
        ]

    edit_state(state_path, fill)
    ok(invoke(mcli, 0, "hostname"))
    names = [r["name"] for r in ok(mcli(*listed_args(0))).json()]
    assert len(names) == 20
    assert names[0] == "cmd_000002"
    assert names[-1] == "cmd_000021"


def test_list_table_has_one_row_per_invocation(mcli):
    ok(invoke(mcli, 0, "hostname"))
    ok(invoke(mcli, 0, "whoami"))
    lines = ok(mcli(*listed_args(0, "-o", "table"))).stdout.splitlines()
    assert lines[0].split() == [
        "AsyncExecution",
        "Location",
        "Name",
        "ProvisioningState",
        "ResourceGroup",
        "TimeoutInSeconds",
    ]
    assert [line.split()[2] for line in lines[2:]] == ["cmd_000001", "cmd_000002"]


def test_list_ids_lists_the_documented_command_ids(cli):
    listed = ok(cli("run-command", "list-ids")).json()
    ids = {item["id"]: item["osType"] for item in listed}
    assert ids["RunShellScript"] == "Linux"
    assert ids["ifconfig"] == "Linux"
    assert ids["RunPowerShellScript"] == "Windows"
    assert ids["IPConfig"] == "Windows"
    assert {"EnableAdminAccount", "EnableRemotePS", "RDPSettings", "SetRDPPort"} <= set(ids)
    first = listed[0]
    assert sorted(first) == ["$schema", "description", "id", "label", "osType"]


def test_list_ids_for_one_os(cli):
    linux = ok(cli("run-command", "list-ids", "--os", "linux")).json()
    assert [item["id"] for item in linux] == ["RunShellScript", "ifconfig"]
    windows = ok(cli("run-command", "list-ids", "--os", "Windows")).json()
    assert all(item["osType"] == "Windows" for item in windows)
    assert "RunPowerShellScript" in [item["id"] for item in windows]


def test_list_ids_table(cli):
    lines = ok(cli("run-command", "list-ids", "--os", "linux", "-o", "table")).stdout.splitlines()
    assert lines[0].split() == ["Id", "OsType", "Label"]
    assert lines[2].split()[:2] == ["RunShellScript", "Linux"]
    assert lines[3].split()[:2] == ["ifconfig", "Linux"]
    assert len(lines) == 4


def test_invoking_every_listed_linux_id_works(mcli):
    for item in ok(mcli("run-command", "list-ids", "--os", "linux")).json():
        result = mcli(
            "run-command", "invoke", *WEB, "--instance-id", "0", "--command-id", item["id"]
        )
        assert ok(result).json()["value"][0]["code"] == "ProvisioningState/succeeded"


# --- guest changes, health, reimage ----------------------------------------------------------


def test_stopping_the_app_makes_the_instance_unhealthy_and_starting_it_healthy(mcli, state_path):
    assert vm_health(mcli, 0) == "HealthState/healthy"
    text = message(mcli, 0, "systemctl stop app", "systemctl is-active app")
    assert text == linux_message("inactive\n") + "\n"
    assert vm_health(mcli, 0) == "HealthState/unhealthy"
    guest = web_instance(read_file(state_path), 0).guest
    assert guest.services["app"].status == "inactive"
    curl = message(mcli, 0, "curl -sS localhost/healthz; echo $?")
    assert "curl: (7) Failed to connect to localhost port 80" in curl
    ok(invoke(mcli, 0, "systemctl start app"))
    assert vm_health(mcli, 0) == "HealthState/healthy"


def test_restarting_a_hung_app_clears_the_fault_and_the_instance_becomes_healthy(mcli, state_path):
    edit_state(
        state_path,
        lambda s: setattr(web_instance(s, 1), "faults", [Fault(kind="stale-process")]),
    )
    assert vm_health(mcli, 1) == "HealthState/unhealthy"
    hung = message(mcli, 1, "curl -sS localhost/healthz; echo exit=$?")
    assert "curl: (28) Operation timed out" in hung
    assert "exit=28" in hung
    ok(invoke(mcli, 1, "systemctl restart app"))
    assert web_instance(read_file(state_path), 1).faults == []
    assert vm_health(mcli, 1) == "HealthState/healthy"
    assert '{"status":"healthy"}' in message(mcli, 1, "curl -s localhost/healthz")


def test_the_triage_view_sees_a_stopped_app(mcli):
    ok(invoke(mcli, 4, "systemctl stop app"))
    rows = ok(mcli("triage", *WEB)).json()
    row = next(r for r in rows if r["instanceId"] == "4")
    assert row["health"] == "unhealthy"


def test_files_written_by_a_script_are_in_the_state_and_visible_afterwards(mcli, state_path):
    ok(invoke(mcli, 0, "echo 'max_conns=10' > /etc/app.conf", "rm /etc/hostname"))
    guest = web_instance(read_file(state_path), 0).guest
    assert guest.files == {"/etc/app.conf": "max_conns=10\n"}
    assert guest.removed_files == ["/etc/hostname"]
    text = message(mcli, 0, "cat /etc/app.conf; cat /etc/hostname")
    assert text == linux_message(
        "max_conns=10\n", "cat: /etc/hostname: No such file or directory\n"
    ) + ("\n")


def test_a_restart_keeps_written_files_and_starts_stopped_services(mcli):
    ok(invoke(mcli, 0, "echo kept > /srv/file", "systemctl stop app"))
    ok(mcli("restart", *WEB, "--instance-ids", "0"))
    text = message(mcli, 0, "cat /srv/file; systemctl is-active app")
    assert text == linux_message("kept\nactive\n") + "\n"
    assert vm_health(mcli, 0) == "HealthState/healthy"


def test_a_reimage_restores_a_clean_guest_but_keeps_the_images_guest(mcli, state_path):
    def image_file(state):
        model = state.resource_groups["rg-web"].scale_sets["web-vmss"].model
        model.guest.files["/etc/motd"] = "welcome\n"

    edit_state(state_path, image_file)
    ok(invoke(mcli, 0, "echo x > /srv/file", "rm /etc/motd", "systemctl stop app"))
    assert vm_health(mcli, 0) == "HealthState/unhealthy"
    ok(mcli("reimage", *WEB, "--instance-ids", "0"))
    inst = web_instance(read_file(state_path), 0)
    assert inst.guest.files == {} and inst.guest.removed_files == []
    assert inst.guest.services == {}
    text = message(mcli, 0, "cat /srv/file; cat /etc/motd; systemctl is-active app")
    assert text == linux_message(
        "welcome\nactive\n", "cat: /srv/file: No such file or directory\n"
    ) + ("\n")
    assert vm_health(mcli, 0) == "HealthState/healthy"
    # The run commands are Azure resources, not guest data: the reimage keeps them.
    assert [r["name"] for r in records(mcli, 0)][:2] == ["cmd_000001", "cmd_000002"]


def test_uptime_restarts_from_the_reimage(mcli):
    assert " up 21 days, 1:45," in message(mcli, 0, "uptime")
    ok(mcli("reimage", *WEB, "--instance-ids", "0"))
    ok(mcli("clock", "advance", "10m"))
    assert " up 10 min," in message(mcli, 0, "uptime")


# --- guest facts from the state file ----------------------------------------------------------


def test_guest_facts_from_the_state_file_model_and_instance(mcli, state_path):
    data = json.loads(state_path.read_text())
    web = data["resource_groups"]["rg-web"]["scale_sets"]["web-vmss"]
    web["model"]["guest"] = {
        "services": {"app": {"description": "Shop API", "logs": ["shop started"]}},
        "files": {"/etc/shop.conf": "pool=4\n"},
        "env": {"STAGE": "prod"},
    }
    first = next(i for i in web["instances"] if i["id"] == 1)
    first["guest"] = {
        "hostname": "shop-one",
        "mounts": {"/": {"size_gb": 30, "used_gb": 29.5, "device": "/dev/sda1"}},
        "services": {"app": {"status": "failed", "logs": ["segfault"]}},
    }
    state_path.write_text(json.dumps(data))
    script = ("hostname", "echo $STAGE", "cat /etc/shop.conf", "journalctl -u app -n 1")
    assert message(mcli, 0, *script) == linux_message(
        "webvm000000\nprod\npool=4\nshop started\n"
    ) + ("\n")
    assert message(mcli, 1, *script) == linux_message("shop-one\nprod\npool=4\nsegfault\n") + "\n"
    assert "98%" in message(mcli, 1, "df -h /")
    assert vm_health(mcli, 1) == "HealthState/unhealthy"
    assert vm_health(mcli, 0) == "HealthState/healthy"


def test_canned_outputs_from_the_state_file(mcli, state_path):
    def canned(state):
        model = state.resource_groups["rg-web"].scale_sets["web-vmss"].model
        model.guest.canned = [CannedOutput(pattern=r"nginx -t", stdout="image\n")]
        web_instance(state, 2).guest.canned = [
            CannedOutput(pattern=r"nginx", stderr="emerg\n", exit_code=1)
        ]

    edit_state(state_path, canned)
    assert message(mcli, 0, "nginx -t") == linux_message("image\n") + "\n"
    assert message(mcli, 2, "nginx -t") == linux_message("", "emerg\n") + "\n"
    assert records(mcli, 2)[-1]["instanceView"]["exitCode"] == 1


def test_network_blocked_fault_shows_in_curl(mcli, state_path):
    fault = Fault(kind="network-blocked", host="packages.microsoft.com")
    edit_state(state_path, lambda s: setattr(web_instance(s, 6), "faults", [fault]))
    text = message(mcli, 6, "curl -sS https://packages.microsoft.com/ || echo failed=$?")
    assert "curl: (28) Failed to connect to packages.microsoft.com port 443" in text
    assert "failed=28" in text


# --- Windows ------------------------------------------------------------------------------------


@pytest.fixture
def wcli(mcli):
    ok(mcli("create", "-g", "rg-win", "-n", "win-vmss", "--image", "Win2022Datacenter"))
    return mcli


WIN = ["-g", "rg-win", "-n", "win-vmss"]


def test_powershell_gives_stdout_and_stderr_entries(wcli):
    result = wcli(
        "run-command",
        "invoke",
        *WIN,
        "--instance-id",
        "0",
        "--command-id",
        "RunPowerShellScript",
        "--scripts",
        "Write-Output hello",
        "Restart-Computer -Force",
    )
    body = ok(result).json()
    assert body == {
        "value": [
            {
                "code": "ComponentStatus/StdOut/succeeded",
                "displayStatus": "Provisioning succeeded",
                "level": "Info",
                "message": "hello\n",
            },
            {
                "code": "ComponentStatus/StdErr/succeeded",
                "displayStatus": "Provisioning succeeded",
                "level": "Info",
                "message": "Restart-Computer : The term 'Restart-Computer' is not recognized as "
                "the name of a cmdlet, function, script file, or operable program.\n",
            },
        ]
    }
    assert schema_errors("run-command-result", body) == []


def test_powershell_hostname_and_services_on_windows(wcli):
    result = wcli(
        "run-command",
        "invoke",
        *WIN,
        "--instance-id",
        "1",
        "--command-id",
        "RunPowerShellScript",
        "--scripts",
        "hostname; Get-Service",
        "--query",
        "value[0].message",
        "-o",
        "tsv",
    )
    lines = ok(result).stdout.splitlines()
    assert lines[0].endswith("000001")
    assert any(line.startswith("Running ") for line in lines)


def test_a_linux_command_id_on_windows_is_a_conflict(wcli):
    result = wcli(
        "run-command",
        "invoke",
        *WIN,
        "--instance-id",
        "0",
        "--command-id",
        "RunShellScript",
        "--scripts",
        "hostname",
    )
    assert result.exit_code == 1
    assert result.stderr == error_text(
        "Conflict", "Run command OS type 'Linux' does not match the target OS Windows."
    )


def test_ipconfig_on_windows(wcli):
    result = wcli("run-command", "invoke", *WIN, "--instance-id", "0", "--command-id", "IPConfig")
    body = ok(result).json()
    assert [v["code"] for v in body["value"]] == [
        "ComponentStatus/StdOut/succeeded",
        "ComponentStatus/StdErr/succeeded",
    ]
    assert "Windows IP Configuration" in body["value"][0]["message"]


def test_the_search_scenarios_journal_reads_in_time_order_from_the_installed_vmss(tmp_path):
    """Field case 1's instance 18: the whole journal (every unit and the stale process's lines)
    as one time-ordered stream without repeats, through the console script."""
    from conftest import run_vmss

    path = tmp_path / "search.json"
    assert (
        run_vmss("scenario", "load", "search-bad-backend", "-o", "none", state=path).exit_code == 0
    )
    done = run_vmss(
        "run-command", "invoke", "-g", "rg-search", "-n", "search-vmss", "--instance-id", "18",
        "--command-id", "RunShellScript", "--scripts", "journalctl -n 50",
        "--query", "value[0].message", "-o", "tsv", state=path,
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.split("[stdout]\n", 1)[1].split("\n\n[stderr]", 1)[0].splitlines()
    stamps = [datetime.strptime(f"2026 {line[:15]}", "%Y %b %d %H:%M:%S") for line in lines]
    assert stamps == sorted(stamps)
    assert len(lines) == len(set(lines))
    assert lines[-2].endswith("worker 3 stopped responding (heartbeat missed)")
    since = run_vmss(
        "run-command", "invoke", "-g", "rg-search", "-n", "search-vmss", "--instance-id", "18",
        "--command-id", "RunShellScript",
        "--scripts", "journalctl -u search-app --since -1h -o cat",
        "--query", "value[0].message", "-o", "tsv", state=path,
    )  # fmt: skip
    assert "[stdout]\nworker 3 stopped responding (heartbeat missed)\nrequest queue full" in (
        since.stdout
    )
