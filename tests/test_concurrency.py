"""Many `vmss` processes changing one state file at once: no update is lost, no file is torn."""

from __future__ import annotations

import json
import os
import subprocess
import time

from conftest import run_vmss, vmss_executable

from vmsscli.store import read_file

WRITERS = 20
CREATE_OPERATION = "Microsoft.Compute/virtualMachineScaleSets/write"


def _env(state_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    env["VMSSCLI_STATE"] = str(state_path)
    # Generous: 20 writers queue on one lock on a possibly slow, loaded CI machine.
    env["VMSSCLI_LOCK_TIMEOUT"] = "45"
    return env


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [vmss_executable(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(procs: list[subprocess.Popen], deadline: float) -> list[tuple[int, str, str]]:
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return results


def test_twenty_concurrent_creates_all_succeed_and_none_is_lost(state_path):
    env = _env(state_path)
    deadline = time.monotonic() + 50

    procs = [
        _start(
            ["create", "-g", "rg-conc", "-n", f"vmss-{i}", "--instance-count", "1", "-o", "none"],
            env,
        )
        for i in range(WRITERS)
    ]
    results = _finish(procs, deadline)

    failures = [(i, rc, err) for i, (rc, _, err) in enumerate(results) if rc != 0]
    assert failures == []
    assert all(out == "" for _, out, _ in results)

    count = run_vmss("list", "-g", "rg-conc", "--query", "length(@)", state=state_path, timeout=30)
    assert count.exit_code == 0, count.stderr
    assert count.stdout.strip() == str(WRITERS)

    names = run_vmss("list", "-g", "rg-conc", "--query", "[].name", state=state_path, timeout=30)
    assert sorted(names.json()) == sorted(f"vmss-{i}" for i in range(WRITERS))

    state = read_file(state_path)
    creates = [
        e for e in state.activity_log if e.operation == CREATE_OPERATION and e.status == "Succeeded"
    ]
    assert len(creates) == WRITERS
    assert len({e.resource_id for e in creates}) == WRITERS
    for _, _, scale_set in state.scale_sets():
        assert len({i.id for i in scale_set.instances}) == len(scale_set.instances)
    assert not [p.name for p in state_path.parent.iterdir() if p.name.endswith(".tmp")]


def test_readers_never_see_a_partial_file_while_writers_run(state_path):
    env = _env(state_path)
    deadline = time.monotonic() + 50

    procs = []
    for i in range(8):
        procs.append(
            _start(
                ["create", "-g", "rg-mixed", "-n", f"w-{i}", "--instance-count", "3", "-o", "none"],
                env,
            )
        )
        procs.append(_start(["state", "validate", "-o", "none"], env))
    results = _finish(procs, deadline)

    failures = [(rc, err) for rc, _, err in results if rc != 0]
    assert failures == []
    state = json.loads(state_path.read_bytes())
    assert len(state["resource_groups"]["rg-mixed"]["scale_sets"]) == 8
