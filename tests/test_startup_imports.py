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

# What the everyday commands may import, by name. A module not named here that shows up on
# one of these command lines fails the test: a new layer (history in SQLite, an autoscale
# engine, a server) must stay off the hot path or be added here on purpose.
THIRD_PARTY_FOR_READS = {"typer", "annotated_doc", "shellingham", "orjson"}
# A write validates and encodes the state with pydantic-core; a read from a current
# validated-state cache does neither.
THIRD_PARTY_FOR_WRITES = THIRD_PARTY_FOR_READS | {"pydantic_core", "typing_extensions"}
VMSSCLI_HOT = {
    "vmsscli",
    "vmsscli.cli",
    "vmsscli.cli.app",
    "vmsscli.cli.azparse",
    "vmsscli.cli.context",
    "vmsscli.cli.main",
    "vmsscli.cli.params",
    "vmsscli.completion",
    "vmsscli.domain",
    "vmsscli.domain.actions",
    "vmsscli.domain.activity",
    "vmsscli.domain.clock",
    "vmsscli.domain.fleet",
    "vmsscli.domain.health",
    "vmsscli.domain.operations",
    "vmsscli.domain.protection",
    "vmsscli.domain.triage",
    "vmsscli.durations",
    "vmsscli.errors",
    "vmsscli.guest",
    "vmsscli.guest.facts",  # an instance view's guest status
    "vmsscli.guest.journal",
    "vmsscli.history",  # the activity log beside the state (sqlite3 only when it is read)
    "vmsscli.model",
    "vmsscli.output",
    "vmsscli.resource_ids",
    "vmsscli.schema",
    "vmsscli.service",
    "vmsscli.service.compute",
    "vmsscli.service.session",
    "vmsscli.state_cache",
    "vmsscli.store",
    "vmsscli.views",
}
# Standard-library packages none of them needs: history (sqlite3: a write keeps its events
# there, a read does not look at them), the endpoint's network and TLS, threads of work,
# logging set-up, temporary files (the store makes its own).
STDLIB_NEVER = {
    "sqlite3",
    "ssl",
    "asyncio",
    "concurrent",
    "http",
    "email",
    "xml",
    "multiprocessing",
    "socketserver",
    "logging",
    "argparse",
    "tempfile",
    "zoneinfo",
}
# Names -X importtime reports for imports that were tried and failed (platform probing for
# Java, site's optional hooks).
NOT_MODULES = {"org", "sitecustomize", "usercustomize"}


def imported(state_path, *args: str) -> set[str]:
    """The top-level packages and vmsscli modules one `vmss` run imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    env["VMSSCLI_STATE"] = str(state_path)
    argv = [sys.executable, "-X", "importtime", "-m", "vmsscli", *args]
    # Warm the schema cache and the validated-state cache, as any earlier run would: a read,
    # and a write on a copy (the first write of a file builds the activity event's schema).
    subprocess.run([*argv[:5], "list", "-o", "none"], capture_output=True, env=env, check=True)
    copy = state_path.with_name("warm-" + state_path.name)
    copy.write_bytes(state_path.read_bytes())
    warm = [*argv[:5], "update", *WEB, "--instance-id", "0", "--protect-from-scale-in", "false"]
    subprocess.run(
        [*warm, "-o", "none"], capture_output=True, env={**env, "VMSSCLI_STATE": str(copy)},
        check=True,
    )  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if " " not in name:
                names.add(name if name.startswith("vmsscli") else name.split(".")[0])
    return names - NOT_MODULES


def _outside(loaded: set[str], third_party: set[str], never: set[str] = STDLIB_NEVER) -> list[str]:
    """What a run imported beyond the named allowed sets."""
    return sorted(
        name
        for name in loaded
        if (name.startswith("vmsscli") and name not in VMSSCLI_HOT)
        or (
            not name.startswith(("vmsscli", "_"))
            and name not in sys.stdlib_module_names
            and name not in third_party
            and not name.startswith("__editable__")
        )
        or name in never
    )


READS = {
    "list-instances": ["list-instances", *WEB],
    "table": ["list-instances", *WEB, "-o", "table"],
    "get-instance-view": ["get-instance-view", *WEB, "--instance-id", "*"],
    "show": ["show", *WEB],
    "triage-piped": ["triage", *WEB],
    "help": ["--help"],
    "command-help": ["list-instances", "--help"],
    "complete-ids": ["__complete", "bash", "--", "vmss", "restart", *WEB, "--instance-ids", ""],
    "complete-flags": ["__complete", "bash", "--", "vmss", "list-instances", "--"],
}
WRITES = {
    "protect": [
        "update", *WEB, "--instance-id", "1", "--protect-from-scale-in", "true", "-o", "none"
    ],
    "restart": ["restart", *WEB, "--instance-ids", "2", "--no-wait"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(READS))
def test_everyday_reads_import_only_the_named_modules_and_not_the_validator(state_path, name):
    loaded = imported(state_path, *READS[name])
    assert not _outside(loaded, THIRD_PARTY_FOR_READS), _outside(loaded, THIRD_PARTY_FOR_READS)
    assert not loaded & HEAVY, sorted(loaded & HEAVY)
    # The state comes from the validated-state cache (or is not read at all).
    assert "pydantic_core" not in loaded


@pytest.mark.parametrize("name", sorted(WRITES))
def test_everyday_writes_import_only_the_named_modules(state_path, name):
    loaded = imported(state_path, *WRITES[name])
    outside = _outside(loaded, THIRD_PARTY_FOR_WRITES, STDLIB_NEVER - {"sqlite3"})
    assert not outside, outside
    assert not loaded & HEAVY, sorted(loaded & HEAVY)
    assert "vmsscli.model" in loaded and "pydantic_core" in loaded
    # The write's events go into the history database.
    assert "sqlite3" in loaded


def test_the_guard_names_what_it_catches(state_path):
    """The guard itself: a command line that loads the endpoint's stack or a report drawing is
    reported, and a new vmsscli module would be."""
    assert _outside({"typer", "sqlite3"}, THIRD_PARTY_FOR_READS) == ["sqlite3"]
    assert _outside({"typer", "uvicorn"}, THIRD_PARTY_FOR_READS) == ["uvicorn"]
    assert _outside({"vmsscli.autoscale"}, THIRD_PARTY_FOR_READS) == ["vmsscli.autoscale"]
    assert _outside({"pydantic_core"}, THIRD_PARTY_FOR_READS) == ["pydantic_core"]
    assert _outside({"json", "os", "vmsscli.store"}, THIRD_PARTY_FOR_READS) == []


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
        (["monitor", "activity-log", "list", "-g", "rg-web"], "sqlite3"),
    ],
    ids=["query", "yaml", "run-command", "activity-log"],
)  # fmt: skip
def test_a_module_is_imported_when_the_command_line_asks_for_its_work(state_path, args, needed):
    loaded = imported(state_path, *args)
    assert needed in loaded
    assert not loaded & (HEAVY - {needed}), sorted(loaded & (HEAVY - {needed}))
