"""Running one run-command invocation against a simulated guest: the command id, a scenario's
canned answer when one matches, else the interpreter; and the result in az's shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vmsscli.guest.facts import GuestChanges, guest_view
from vmsscli.model import Instance, ScaleSet

SUCCEEDED = "Provisioning succeeded"


@dataclass
class Execution:
    stdout: str
    stderr: str
    exit_code: int


def named_parameters(parameters: list[str]) -> list[tuple[str, str]]:
    """az's `--parameters`: `name=value`, or a bare value named arg1, arg2, ... in the order
    of the bare ones."""
    out = []
    count = 0
    for item in parameters:
        name, eq, value = item.partition("=")
        if eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            out.append((name, value))
        else:
            count += 1
            out.append((f"arg{count}", item))
    return out


def split_parameters(parameters: list[str]) -> tuple[list[str], dict[str, str]]:
    """The script sees every value as $1, $2, ... and each by its name as a variable."""
    pairs = named_parameters(parameters)
    return [value for _, value in pairs], dict(pairs)


def execute(
    scale_set: ScaleSet,
    name: str,
    inst: Instance,
    now: datetime,
    command_id: str,
    script: str,
    parameters: list[str],
) -> Execution:
    for canned in [*inst.guest.canned, *scale_set.model.guest.canned]:
        if re.search(canned.pattern, script):
            return Execution(canned.stdout, canned.stderr, canned.exit_code)
    view = guest_view(scale_set, name, inst, now)
    changes = GuestChanges(scale_set, inst)
    positional, named = split_parameters(parameters)
    if command_id == "RunPowerShellScript":
        from vmsscli.guest import powershell

        out, err, code = powershell.run(view, script, named)
        return Execution(out, err, code)
    if command_id == "IPConfig":
        return Execution(
            f"\r\nWindows IP Configuration\r\n\r\nEthernet adapter Ethernet:\r\n"
            f"   IPv4 Address. . . . . . . . . . . : {view.private_ip}\r\n",
            "",
            0,
        )
    from vmsscli.guest.shell import Shell

    shell = Shell(view, changes, positional)
    shell.vars.update(named)
    if command_id == "ifconfig":
        result = shell.execute(["ifconfig"], "")
    elif command_id == "RunShellScript":
        result = shell.run(script)
    else:
        return Execution(f"{command_id} completed.\n", "", 0)
    return Execution(result.stdout, result.stderr, result.exit_code)


def result_view(os_type: str, execution: Execution) -> dict[str, Any]:
    """az's output of `run-command invoke`: one status for Linux, two for Windows."""
    if os_type == "Windows":
        return {
            "value": [
                {
                    "code": "ComponentStatus/StdOut/succeeded",
                    "displayStatus": SUCCEEDED,
                    "level": "Info",
                    "message": execution.stdout,
                },
                {
                    "code": "ComponentStatus/StdErr/succeeded",
                    "displayStatus": SUCCEEDED,
                    "level": "Info",
                    "message": execution.stderr,
                },
            ]
        }
    message = (
        f"Enable succeeded: \n[stdout]\n{execution.stdout[-4096:]}\n[stderr]\n"
        f"{execution.stderr[-4096:]}"
    )
    return {
        "value": [
            {
                "code": "ProvisioningState/succeeded",
                "displayStatus": SUCCEEDED,
                "level": "Info",
                "message": message,
            }
        ]
    }
