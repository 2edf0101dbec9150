"""`vmss` runs in shell loops: a command imports what its own work needs and nothing else
(`python -X importtime` is the evidence; benchmarks/ has the timings)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

WEB = ["-g", "rg-web", "-n", "web-vmss"]
# Never needed to answer a read or a protection change from a current schema cache.
HEAVY = {
    "pydantic",  # the schema is cached: pydantic-core alone validates and writes
    "rich",
    "vmsscli.cli.drawing",  # vmsscli's own reports are drawn only on a terminal
    "yaml",
    "jmespath",
    "pygments",
    "tomli_w",
    "vmsscli.guest.shell",
    "vmsscli.domain.rolling",
    "vmsscli.domain.exercise",
    "vmsscli.scenarios",
    "vmsscli.importer",
    "filelock",  # the writer lock is a flock(2) call
    # The endpoint's stack is `vmss serve`'s alone.
    "vmsscli.arm",
    "uvicorn",
    "starlette",
    "anyio",
    "h11",
    "cryptography",
    "ssl",
}


def imported(state_path, *args: str) -> set[str]:
    """The top-level packages and vmsscli modules one `vmss` run imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    env["VMSSCLI_STATE"] = str(state_path)
    argv = [sys.executable, "-X", "importtime", "-m", "vmsscli", *args]
    # Warm the schema cache, as any earlier run would.
    subprocess.run([*argv[:5], "list", "-o", "none"], capture_output=True, env=env, check=True)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name if name.startswith("vmsscli") else name.split(".")[0])
    return names


@pytest.mark.parametrize(
    "args",
    [
        ["list-instances", *WEB],
        ["list-instances", *WEB, "-o", "table"],
        ["get-instance-view", *WEB, "--instance-id", "*"],
        ["update", *WEB, "--instance-id", "1", "--protect-from-scale-in", "true", "-o", "none"],
        ["restart", *WEB, "--instance-ids", "2", "--no-wait"],
        ["triage", *WEB],
    ],
    ids=["list-instances", "table", "get-instance-view", "protect", "restart", "triage-piped"],
)
def test_everyday_commands_import_neither_pydantic_nor_output_or_training_machinery(
    state_path, args
):
    loaded = imported(state_path, *args)
    assert "vmsscli.model" in loaded and "pydantic_core" in loaded
    assert not loaded & HEAVY, sorted(loaded & HEAVY)


@pytest.mark.parametrize(
    ("args", "needed"),
    [
        (["list-instances", *WEB, "--query", "[].instanceId"], "jmespath"),
        (["list-instances", *WEB, "-o", "yaml"], "yaml"),
        (
            ["run-command", "invoke", *WEB, "--instance-id", "0", "--command-id",
             "RunShellScript", "--scripts", "uptime"],
            "vmsscli.guest.shell",
        ),
    ],
    ids=["query", "yaml", "run-command"],
)  # fmt: skip
def test_a_module_is_imported_when_the_command_line_asks_for_its_work(state_path, args, needed):
    loaded = imported(state_path, *args)
    assert needed in loaded
    assert not loaded & (HEAVY - {needed}), sorted(loaded & (HEAVY - {needed}))
