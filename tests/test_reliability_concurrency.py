"""Reliability under contention: fifty real `vmss` writers on one state file, and writers that
meet a lock held by another process (one that outlives the timeout, one that is SIGKILLed).

Every writer is the installed console script in its own process; the lock holders are small
`python -c` programs that take the writer lock through `vmsscli.store.locked`, the way `vmss`
does, so the holder recorded in the lock file is a process other than the test.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from conftest import run_vmss, vmss_executable

from vmsscli.demo import demo_state
from vmsscli.history import attach
from vmsscli.model import Instance, ResourceGroup, ScaleSet
from vmsscli.store import parse, read_file, serialize, validate

PROTECT_OPERATION = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write"
RESTART_OPERATION = "Microsoft.Compute/virtualMachineScaleSets/restart/action"
SCALE_OPERATION = "Microsoft.Compute/virtualMachineScaleSets/write"

# The demo fleet's instances that are not protected yet (web-vmss 9 already is).
PROTECT_TARGETS = [("rg-web", "web-vmss", i) for i in (0, 1, 2, 4, 5, 6, 7, 10, 11, 12, 13)] + [
    ("rg-batch", "batch-vmss", i) for i in (0, 1, 2, 3, 4)
]
# Running web instances, each restarted by three writers.
RESTART_TARGETS = [0, 1, 2, 4, 6, 7] * 3
GROW_SETS = 16
GROW_TO = 3
WRITERS = len(PROTECT_TARGETS) + len(RESTART_TARGETS) + GROW_SETS

# A holder that takes the writer lock the way `vmss` does and keeps it until its stdin closes
# (or 60 s pass). Its argv after `-c` is what the lock file records as its command.
HOLDER = """
import os, sys, threading
from pathlib import Path
from vmsscli.store import locked
with locked(Path(os.environ["HOLD_PATH"])):
    sys.stdout.write("locked\\n")
    sys.stdout.flush()
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(60)
"""
HOLDER_ARGS = ["scale", "-g", "rg-web", "-n", "web-vmss", "--new-capacity", "20"]


# --- helpers -------------------------------------------------------------------------------------


def _env(state_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    env["VMSSCLI_STATE"] = str(state_path)
    env.update(extra)
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


def _start_holder(state_path: Path) -> subprocess.Popen:
    """A process holding the writer lock of `state_path`; returns once it holds it."""
    env = _env(state_path, HOLD_PATH=str(state_path))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, *HOLDER_ARGS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = holder.stdout.readline()
    if line != "locked\n":
        holder.kill()
        _, err = holder.communicate()
        raise AssertionError(f"the lock holder did not start: {line!r} {err}")
    return holder


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(30)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _fleet_with_grow_sets(state_path: Path) -> None:
    """The demo fleet plus `rg-grow` with GROW_SETS one-instance scale sets to scale out."""
    state = demo_state()
    state.resource_groups["rg-grow"] = ResourceGroup(
        location="westeurope",
        scale_sets={
            f"grow-{k:02d}": ScaleSet(instances=[Instance(id=0)]) for k in range(GROW_SETS)
        },
    )
    state_path.write_bytes(serialize(state, state_path))


def _writer_commands() -> list[tuple[str, list[str], dict]]:
    """(kind, argv, what it targets) per writer; every argv carries a unique `--subscription`
    tag (accepted and ignored by vmss, but recorded in the activity log's command line)."""
    writers: list[tuple[str, list[str], dict]] = []
    for rg, name, inst in PROTECT_TARGETS:
        argv = ["update", "-g", rg, "-n", name, "--instance-id", str(inst)]
        argv += ["--protect-from-scale-in", "true"]
        writers.append(("protect", argv, {"rg": rg, "name": name, "instance": inst}))
    for inst in RESTART_TARGETS:
        argv = ["restart", "-g", "rg-web", "-n", "web-vmss", "--instance-ids", str(inst)]
        writers.append(("restart", argv, {"rg": "rg-web", "name": "web-vmss", "instance": inst}))
    for k in range(GROW_SETS):
        argv = ["scale", "-g", "rg-grow", "-n", f"grow-{k:02d}", "--new-capacity", str(GROW_TO)]
        writers.append(("scale", argv, {"rg": "rg-grow", "name": f"grow-{k:02d}"}))
    # Interleave the kinds so the start order mixes them too.
    writers = writers[0::3] + writers[1::3] + writers[2::3]
    return [
        (kind, [*argv, "-o", "none", "--subscription", f"writer-{i:02d}"], target)
        for i, (kind, argv, target) in enumerate(writers)
    ]


# --- fifty mixed writers -------------------------------------------------------------------------


def test_fifty_concurrent_mixed_writers_lose_no_mutation_and_log_every_event_exactly_once(
    state_path,
):
    _fleet_with_grow_sets(state_path)
    before = read_file(state_path)
    assert before.activity_log == []
    writers = _writer_commands()
    assert len(writers) == WRITERS == 50
    # Generous: 50 writers queue on one lock on a possibly slow, loaded 2-core CI machine.
    env = _env(state_path, VMSSCLI_LOCK_TIMEOUT="120")
    deadline = time.monotonic() + 150

    procs = [_start(argv, env) for _, argv, _ in writers]
    results = _finish(procs, deadline)

    failures = [
        (argv, rc, err) for (_, argv, _), (rc, _, err) in zip(writers, results, strict=True) if rc
    ]
    assert failures == []
    assert [err for _, _, err in results] == [""] * WRITERS
    state = read_file(state_path)
    log = list(state.activity_log)

    # Every writer's request is in the log exactly once: one Started and one Succeeded event,
    # sharing a correlation id no other request uses, Started first.
    assert len(log) == 2 * WRITERS
    by_tag: dict[str, list[int]] = {}
    for position, entry in enumerate(log):
        tags = [t for t in shlex.split(entry.command) if t.startswith("writer-")]
        assert len(tags) == 1, entry.command
        by_tag.setdefault(tags[0], []).append(position)
    assert sorted(by_tag) == [f"writer-{i:02d}" for i in range(WRITERS)]
    correlation_ids = set()
    for i, (kind, argv, target) in enumerate(writers):
        started, done = (log[p] for p in by_tag[f"writer-{i:02d}"])
        assert (started.status, done.status) == ("Started", "Succeeded"), argv
        assert started.correlation_id == done.correlation_id != ""
        correlation_ids.add(started.correlation_id)
        assert started.command == done.command == shlex.join(["vmss", *argv])
        assert started.time <= done.time
        expected_operation = {
            "protect": PROTECT_OPERATION,
            "restart": RESTART_OPERATION,
            "scale": SCALE_OPERATION,
        }[kind]
        assert started.operation == done.operation == expected_operation
        assert f"/resourceGroups/{target['rg']}/" in started.resource_id
        assert f"/virtualMachineScaleSets/{target['name']}" in started.resource_id
        if kind == "restart":
            assert started.instance_ids == [str(target["instance"])]
        if kind == "scale":
            assert started.instance_ids == ["1", "2"]
    assert len(correlation_ids) == WRITERS

    # Every mutation is in the state.
    for rg, name, inst_id in [*PROTECT_TARGETS, ("rg-web", "web-vmss", 9)]:
        inst = state.resource_groups[rg].scale_sets[name].instance(inst_id)
        assert inst is not None
        assert inst.protection is not None and inst.protection.scale_in, (rg, name, inst_id)
        assert inst.model_definition_applied == "VirtualMachine"
    for k in range(GROW_SETS):
        grown = state.resource_groups["rg-grow"].scale_sets[f"grow-{k:02d}"]
        assert [i.id for i in grown.instances] == [0, 1, 2]
        assert grown.next_instance_id == 3
        assert all(i.operation is None for i in grown.instances)
        assert {(i.power_state, i.provisioning_state) for i in grown.instances} == {
            ("running", "Succeeded")
        }
    web = state.resource_groups["rg-web"].scale_sets["web-vmss"]
    for inst_id in set(RESTART_TARGETS):
        inst = web.instance(inst_id)
        assert inst is not None
        assert (inst.operation, inst.power_state, inst.provisioning_state) == (
            None,
            "running",
            "Succeeded",
        )
        # The last of its three restarts (in lock order) is the boot the instance shows.
        restarts = [
            e.time
            for e in log
            if e.operation == RESTART_OPERATION
            and e.status == "Succeeded"
            and e.instance_ids == [str(inst_id)]
        ]
        assert len(restarts) == 3
        assert inst.booted == max(restarts)
    assert [i.id for i in web.instances] == [
        i.id for i in before.resource_groups["rg-web"].scale_sets["web-vmss"].instances
    ]

    assert _temp_files(state_path.parent) == []
    backup_raw = state_path.with_name(state_path.name + ".bak").read_bytes()
    backup = validate(parse(backup_raw, state_path), state_path)
    # The backup names an earlier generation of the same history: the log one write ago.
    attach(backup, state_path)
    assert len(list(backup.activity_log)) == 2 * (WRITERS - 1)


# --- a lock held by another process --------------------------------------------------------------


def test_writer_blocked_past_the_timeout_names_the_holding_process_pid_command_and_since(
    state_path,
):
    before = state_path.read_bytes()
    holder = _start_holder(state_path)
    try:
        started = time.monotonic()
        blocked = run_vmss(
            "update",
            "-g",
            "rg-web",
            "-n",
            "web-vmss",
            "--instance-id",
            "4",
            "--protect-from-scale-in",
            "true",
            state=state_path,
            env={"VMSSCLI_LOCK_TIMEOUT": "1"},
            timeout=60,
        )
        waited = time.monotonic() - started
        # Readers never wait for the lock, even while a writer is stuck behind it.
        reader = run_vmss("list", "--query", "length(@)", state=state_path, timeout=60)
        assert holder.poll() is None, "the holder must still hold the lock"
    finally:
        holder.stdin.close()  # lets it release the lock and exit
        holder.wait(30)
        _stop(holder)

    assert blocked.exit_code == 1
    assert blocked.stdout == ""
    lines = blocked.stderr.splitlines()
    assert len(lines) == 1, blocked.stderr
    line = lines[0]
    assert line.startswith("ERROR: Could not lock state file ")
    assert str(state_path) in line
    assert "within 1 seconds" in line
    assert "VMSSCLI_LOCK_TIMEOUT" in line
    assert holder.pid != os.getpid()
    assert f"pid {holder.pid} ({shlex.join(['vmss', *HOLDER_ARGS])})" in line
    since = re.search(r" since (\S+?)\.(?: |$)", line)
    assert since, line
    held_since = datetime.strptime(since.group(1), "%Y-%m-%dT%H:%M:%S%z")
    assert abs(held_since - datetime.now().astimezone()) < timedelta(minutes=2)
    assert waited >= 0.9  # it waited out the timeout before giving up
    assert state_path.read_bytes() == before
    assert reader.exit_code == 0 and reader.stdout.strip() == "3"

    after = run_vmss(
        "update", "-g", "rg-web", "-n", "web-vmss", "--instance-id", "4",
        "--protect-from-scale-in", "true", "-o", "none",
        state=state_path, env={"VMSSCLI_LOCK_TIMEOUT": "10"}, timeout=60,
    )  # fmt: skip
    assert after.exit_code == 0, after.stderr
    inst = read_file(state_path).resource_groups["rg-web"].scale_sets["web-vmss"].instance(4)
    assert inst is not None and inst.protection is not None and inst.protection.scale_in


def test_writer_waiting_on_a_holder_killed_with_sigkill_gets_the_lock_and_succeeds(state_path):
    holder = _start_holder(state_path)
    try:
        waiter = _start(
            ["scale", "-g", "rg-web", "-n", "web-vmss", "--new-capacity", "13", "-o", "none"],
            _env(state_path, VMSSCLI_LOCK_TIMEOUT="30"),
        )
        try:
            # Let the waiter reach the lock and queue on it, then kill the holder mid-hold.
            time.sleep(1.0)
            assert waiter.poll() is None, waiter.communicate()
            assert read_file(state_path).activity_log == []
            holder.send_signal(signal.SIGKILL)
            holder.wait(30)
            assert holder.returncode == -signal.SIGKILL
            out, err = waiter.communicate(timeout=45)
        finally:
            _stop(waiter)
    finally:
        _stop(holder)

    assert waiter.returncode == 0, err
    assert (out, err) == ("", "")
    state = read_file(state_path)
    assert state.resource_groups["rg-web"].scale_sets["web-vmss"].capacity == 13
    assert [e.status for e in state.activity_log] == ["Started", "Succeeded"]
    assert _temp_files(state_path.parent) == []
