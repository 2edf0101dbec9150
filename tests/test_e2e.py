"""The installed `vmss` run as a real process, the way a shell script would use it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from conftest import run_vmss, vmss_executable

INSTANCE_TABLE_HEADER = [
    "InstanceId",
    "LatestModelApplied",
    "Location",
    "ModelDefinitionApplied",
    "Name",
    "ProvisioningState",
    "ResourceGroup",
    "TimeCreated",
    "VmId",
]


def _shell(command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    full_env.update(env or {})
    return subprocess.run(
        command, shell=True, capture_output=True, env=full_env, timeout=60, executable="/bin/sh"
    )


def test_vmss_version_prints_the_version():
    from vmsscli import __version__

    result = run_vmss("--version")

    assert result.exit_code == 0
    assert result.stdout == f"vmsscli {__version__}\n"
    assert result.stderr == ""


def test_python_dash_m_vmsscli_version():
    from vmsscli import __version__

    proc = subprocess.run(
        [sys.executable, "-m", "vmsscli", "--version"], capture_output=True, text=True, timeout=60
    )

    assert proc.returncode == 0
    assert proc.stdout == f"vmsscli {__version__}\n"
    assert proc.stderr == ""


def test_fresh_home_gets_the_demo_fleet_and_az_table(tmp_path):
    home = tmp_path / "fresh-home"
    home.mkdir()

    result = run_vmss(
        "list-instances", "-g", "rg-web", "-n", "web-vmss", "-o", "table", env={"HOME": str(home)}
    )

    assert result.exit_code == 0, result.stderr
    state_file = home / ".vmsscli" / "state.json"
    assert state_file.exists()
    assert result.stderr.splitlines() == [
        f"WARNING: State file '{state_file}' did not exist; created it with the built-in demo "
        "fleet."
    ]
    lines = result.stdout.splitlines()
    assert lines[0].split() == INSTANCE_TABLE_HEADER
    assert set(lines[1]) == {"-", " "}
    assert len(lines) == 2 + 12

    again = run_vmss("list", "--query", "length(@)", env={"HOME": str(home)})
    assert again.stderr == ""
    assert again.stdout.strip() == "3"


def test_query_for_instances_behind_the_model(state_path):
    result = run_vmss(
        "list-instances",
        "-g",
        "rg-web",
        "-n",
        "web-vmss",
        "-o",
        "json",
        "--query",
        "[?!latestModelApplied].instanceId",
        state=state_path,
    )

    assert result.exit_code == 0, result.stderr
    assert result.json() == ["9", "12"]
    assert result.stderr == ""


def test_output_piped_into_head_gives_no_traceback(state_path):
    vmss = shlex.quote(vmss_executable())
    full = run_vmss(
        "list-instances", "-g", "rg-web", "-n", "web-vmss", "-o", "json", state=state_path
    )

    proc = _shell(
        f"{vmss} list-instances -g rg-web -n web-vmss -o json | head -c 10",
        env={"VMSSCLI_STATE": str(state_path)},
    )

    assert proc.returncode == 0
    assert proc.stdout == full.stdout.encode()[:10]
    assert proc.stderr == b""


def test_large_output_piped_into_head_gives_no_traceback(state_path):
    # Several megabytes: far more than a pipe buffer, so the writer meets a closed pipe.
    created = run_vmss(
        "create",
        "-g",
        "rg-big",
        "-n",
        "big",
        "--instance-count",
        "1000",
        "-o",
        "none",
        state=state_path,
    )
    assert created.exit_code == 0, created.stderr
    vmss = shlex.quote(vmss_executable())

    proc = _shell(
        f"{vmss} list-instances -g rg-big -n big -o json | head -c 10",
        env={"VMSSCLI_STATE": str(state_path)},
    )

    assert proc.returncode == 0
    assert proc.stdout == b"[\n  {\n    "
    assert proc.stderr == b""


def test_unknown_argument_exits_2_with_nothing_on_stdout(state_path):
    result = run_vmss(
        "list-instances", "-g", "rg-web", "-n", "web-vmss", "--bogus", state=state_path
    )

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("ERROR: ")
    assert "Traceback" not in result.stderr


def test_missing_scale_set_exits_3_with_nothing_on_stdout(state_path):
    result = run_vmss("list-instances", "-g", "rg-web", "-n", "nope-vmss", state=state_path)

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("ERROR: (ResourceNotFound) ")
    assert "Traceback" not in result.stderr


def test_missing_resource_group_exits_3(state_path):
    result = run_vmss("show", "-g", "rg-nope", "-n", "web-vmss", state=state_path)

    assert result.exit_code == 3
    assert result.stdout == ""
    assert "ResourceGroupNotFound" in result.stderr


def test_broken_state_file_exits_1_with_one_line_from_a_real_process(tmp_path):
    path = tmp_path / "state.json"
    raw = b'{"schema_version": 1, "resource_groups": {'
    path.write_bytes(raw)

    result = run_vmss("create", "-g", "rg-x", "-n", "x", state=path)

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"ERROR: State file '{path}' is not valid JSON")
    assert path.read_bytes() == raw


def test_create_then_delete_in_a_script(state_path):
    created = run_vmss(
        "create",
        "-g",
        "rg-script",
        "-n",
        "s-vmss",
        "--instance-count",
        "3",
        "--zones",
        "1",
        "2",
        "3",
        "--upgrade-policy-mode",
        "Rolling",
        "--app-health-extension",
        "--query",
        "vmss.sku.capacity",
        state=state_path,
    )
    assert created.exit_code == 0, created.stderr
    assert created.stdout.strip() == "3"

    deleted = run_vmss("delete", "-g", "rg-script", "-n", "s-vmss", state=state_path)
    assert deleted.exit_code == 0, deleted.stderr
    assert deleted.stdout == ""

    gone = run_vmss("show", "-g", "rg-script", "-n", "s-vmss", state=state_path)
    assert gone.exit_code == 3
    assert gone.stdout == ""
