"""Crash safety and hostile file systems, with the installed `vmss` as a real process.

The SIGKILL loop runs independent chains of writers (one state file each, so the chains can
be killed in parallel batches): every round starts one writer per chain and kills it at a
random moment. The clock is manual, so a command's result depends only on the state it starts
from; the test computes the "next" state in-process on a scratch copy before each round and
checks that the file is always exactly the previous or the next version. (The scratch copy has
no recorded stamp, so it is validated and written whole, while the writers load only the scale
set they change: equal bytes also show that focused loading writes what a full load would.)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import invoke, vmss_executable

from vmsscli.demo import demo_state
from vmsscli.store import parse, read_file, serialize, validate

CHAINS = 6
MIN_KILLS = 200
MAX_ROUNDS = 150
LOOP_BUDGET_SECONDS = 100

# The mutating commands, each of which changes the demo fleet.
MUTATIONS = {
    "update-protect": [
        "update", "-g", "rg-web", "-n", "web-vmss", "--instance-id", "4",
        "--protect-from-scale-in", "true",
    ],
    "restart": ["restart", "-g", "rg-web", "-n", "web-vmss", "--instance-ids", "4"],
    "scale-out": ["scale", "-g", "rg-web", "-n", "web-vmss", "--new-capacity", "14"],
    "create": ["create", "-g", "rg-new", "-n", "new-vmss", "--instance-count", "2"],
    "clock-manual": ["clock", "mode", "manual"],
}  # fmt: skip


# --- helpers -------------------------------------------------------------------------------------


def _env(state_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    env["VMSSCLI_STATE"] = str(state_path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _load_bytes(raw: bytes, like: Path):
    """Validate bytes as a state file named like `like` (for `.bak` copies)."""
    return validate(parse(raw, like), like)


def _manual_demo_bytes(path: Path) -> bytes:
    state = demo_state()
    state.clock.mode = "manual"
    return serialize(state, path)


def _pick_command(raw: bytes, rng: random.Random) -> list[str]:
    """A random mutation that applies to the fleet in `raw`."""
    data = json.loads(raw)
    web = data["resource_groups"]["rg-web"]["scale_sets"]["web-vmss"]
    ids = [str(inst["id"]) for inst in web["instances"]]
    kind = rng.choice(["protect", "restart", "scale", "clock"])
    if kind == "protect":
        value = rng.choice(["true", "false"])
        return [
            "update", "-g", "rg-web", "-n", "web-vmss", "--instance-id", rng.choice(ids),
            "--protect-from-scale-in", value, "-o", "none",
        ]  # fmt: skip
    if kind == "restart":
        return [
            "restart", "-g", "rg-web", "-n", "web-vmss", "--instance-ids", rng.choice(ids),
            "-o", "none",
        ]  # fmt: skip
    if kind == "scale":
        capacity = str(rng.randint(10, 16))
        return ["scale", "-g", "rg-web", "-n", "web-vmss", "--new-capacity", capacity, "-o", "none"]
    return ["clock", "advance", rng.choice(["30s", "2m", "1h"]), "-o", "none"]


class Chain:
    """One state file and its history of versions."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.path = folder / "state.json"
        self.current = _manual_demo_bytes(self.path)
        self.path.write_bytes(self.current)
        self.history = {self.current}
        self.argv: list[str] = []
        self._next: bytes | None = self.current
        # Temp files found right after a writer that was not killed.
        self.leftovers: list[tuple[list[str], list[str]]] = []

    def prepare(self, rng: random.Random, scratch: Path, monkeypatch) -> None:
        """Choose the round's command; the state it must produce is computed when needed."""
        self.argv = _pick_command(self.current, rng)
        self._next: bytes | None = None
        self._scratch, self._monkeypatch = scratch, monkeypatch

    @property
    def next(self) -> bytes:
        """The state the round's command produces from the current one (in-process)."""
        if self._next is None:
            scratch = self._scratch
            for leftover in scratch.parent.iterdir():
                leftover.unlink()
            scratch.write_bytes(self.current)
            self._monkeypatch.setenv("VMSSCLI_STATE", str(scratch))
            result = invoke(self.argv)
            self._monkeypatch.delenv("VMSSCLI_STATE")
            self._next = scratch.read_bytes()
            if result.exit_code != 0:
                assert self._next == self.current, (self.argv, result.stderr)
        return self._next

    def start(self) -> subprocess.Popen:
        return subprocess.Popen(
            [vmss_executable(), *self.argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_env(self.path),
        )

    def check(self, returncode: int, stderr: bytes) -> str:
        """The file after the round's writer ended; returns which version it holds."""
        assert returncode in (0, 1, -signal.SIGKILL), (self.argv, returncode, stderr)
        raw = self.path.read_bytes()
        # (The next version is only computed when the file changed or the writer finished.)
        assert raw == self.current or raw == self.next, (
            f"{self.path} holds neither the previous nor the next version after "
            f"{self.argv} (exit {returncode})"
        )
        read_file(self.path)  # it loads
        backup = self.path.with_name("state.json.bak")
        if backup.exists():
            backup_raw = backup.read_bytes()
            assert backup_raw in self.history, "the .bak is not a version the file ever had"
            _load_bytes(backup_raw, self.path)
        temps = _temp_files(self.path.parent)
        # Temp files never pile up: each writer removes its predecessors' before writing, so
        # at most the killed writer's own temp file and its backup staging link remain.
        assert len(temps) <= 2, temps
        if returncode >= 0:
            # A writer that ran to the end left exactly the next version and, having cleaned
            # up under the lock, no temp files (collected, to report after the whole loop).
            assert raw == self.next, (self.argv, stderr)
            if temps:
                self.leftovers.append((self.argv, temps))
        if raw != self.current:
            self.current = raw
            self.history.add(raw)
            return "next"
        return "previous"


def _holds_lock(chain: Chain, pid: int) -> bool:
    """Whether the writer `pid` has taken the lock (it records itself in the lock file)."""
    try:
        info = json.loads(chain.path.with_name("state.json.lock").read_text() or "{}")
    except (OSError, ValueError):  # not there yet, or caught half written
        return False
    return isinstance(info, dict) and info.get("pid") == pid


def _run_round(
    chains: list[Chain], plans: list[tuple[str, float] | None]
) -> list[tuple[int, bytes]]:
    """Start one writer per chain and SIGKILL it as planned: ("early", d) kills it d seconds
    after it started, ("locked", d) d seconds after it took the writer lock, ("committed", 0)
    as soon as its state file has been replaced; None lets it finish. Returns (exit code,
    stderr) per chain; a killed writer's code is -SIGKILL."""
    procs, starts = [], []
    files = [os.stat(chain.path).st_ino for chain in chains]
    for chain in chains:
        procs.append(chain.start())
        starts.append(time.monotonic())
    locked_at: list[float | None] = [None] * len(procs)
    pending = {i for i, plan in enumerate(plans) if plan is not None}
    deadline = time.monotonic() + 60
    try:
        while pending and time.monotonic() < deadline:
            now = time.monotonic()
            for i in sorted(pending):
                proc, (mode, delay) = procs[i], plans[i]
                if proc.poll() is not None:
                    pending.discard(i)
                    continue
                if mode == "committed":
                    with contextlib.suppress(OSError):
                        if os.stat(chains[i].path).st_ino != files[i]:
                            proc.send_signal(signal.SIGKILL)
                            pending.discard(i)
                    continue
                if mode == "locked" and locked_at[i] is None:
                    if _holds_lock(chains[i], proc.pid):
                        locked_at[i] = now
                    continue
                since = starts[i] if mode == "early" else locked_at[i]
                if now >= since + delay:
                    proc.send_signal(signal.SIGKILL)
                    pending.discard(i)
            time.sleep(0.001)
        results = []
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            results.append((proc.returncode, err))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def _plan(rng: random.Random) -> tuple[str, float]:
    """60% of the kills at a random moment of start-up (0-150 ms), 40% once the writer holds
    the lock: within its first 10 ms (reading, writing the temp file, linking the backup,
    replacing) or later (after the commit: output, unlock, exit); and some the moment the file
    is seen replaced (between the commit and the exit, a window of a few milliseconds that
    random times alone hit too rarely on a loaded machine)."""
    if rng.random() < 0.6:
        return ("early", rng.uniform(0.0, 0.15))
    if rng.random() < 0.25:
        return ("committed", 0.0)
    if rng.random() < 0.6:
        return ("locked", rng.uniform(0.0, 0.01))
    return ("locked", rng.uniform(0.0, 0.05))


# --- SIGKILL at random moments -------------------------------------------------------------------


def test_writers_killed_at_random_moments_leave_the_previous_or_next_state_and_no_temp_pileup(
    tmp_path, monkeypatch
):
    rng = random.Random(os.environ.get("VMSSCLI_CRASH_SEED", "vmss-crash"))
    scratch_folder = tmp_path / "scratch"
    scratch_folder.mkdir()
    scratch = scratch_folder / "state.json"
    chains = [Chain(tmp_path / f"chain-{c}") for c in range(CHAINS)]

    kills = rounds = 0
    outcomes = {"killed-before-commit": 0, "killed-after-commit": 0, "temp-left": 0, "finished": 0}
    started = time.monotonic()
    while kills < MIN_KILLS and rounds < MAX_ROUNDS:
        assert time.monotonic() - started < LOOP_BUDGET_SECONDS, (kills, rounds, outcomes)
        rounds += 1
        for chain in chains:
            chain.prepare(rng, scratch, monkeypatch)
        plans = [_plan(rng) for _ in chains]
        for chain, (returncode, err) in zip(chains, _run_round(chains, plans), strict=True):
            version = chain.check(returncode, err)
            if returncode == -signal.SIGKILL:
                kills += 1
                outcomes[f"killed-{'after' if version == 'next' else 'before'}-commit"] += 1
                if _temp_files(chain.path.parent):
                    outcomes["temp-left"] += 1
            else:
                outcomes["finished"] += 1

    print(f"\n{kills} kills in {rounds} rounds ({time.monotonic() - started:.1f}s): {outcomes}")
    assert kills >= MIN_KILLS, (kills, rounds, outcomes)
    # Kills landed on both sides of the commit, and some in the middle of a write.
    assert outcomes["killed-after-commit"] > 0, outcomes
    assert outcomes["temp-left"] > 0, outcomes

    # One more successful write per chain cleans up whatever the kills left behind.
    for chain in chains:
        chain.prepare(rng, scratch, monkeypatch)
    for chain, (returncode, err) in zip(chains, _run_round(chains, [None] * CHAINS), strict=True):
        assert returncode == 0, err
        chain.check(returncode, err)
        assert chain.path.read_bytes() == chain.next
    leftovers = [(c.path.parent.name, argv, t) for c in chains for argv, t in c.leftovers]
    assert leftovers == [], "temp files left behind by writers that were not killed"


def test_a_write_after_a_crash_between_backup_and_replace_leaves_no_temp_files(tmp_path):
    # What a writer killed after linking the backup but before replacing the file leaves:
    # its temp file, and a `.bak` that is a hard link to the current file.
    state_path = tmp_path / "state.json"
    original = serialize(demo_state(), state_path)
    state_path.write_bytes(original)
    os.link(state_path, tmp_path / "state.json.bak")
    (tmp_path / ".state.json.k1ll3d.tmp").write_bytes(original[:100])

    result = subprocess.run(
        [vmss_executable(), *MUTATIONS["clock-manual"], "-o", "none"],
        capture_output=True,
        text=True,
        env=_env(state_path),
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert read_file(state_path).clock.mode == "manual"
    assert (tmp_path / "state.json.bak").read_bytes() == original
    assert _temp_files(tmp_path) == []


# --- hostile file systems: one clear error, exit 1, the file intact ------------------------------


def _run_mutations(state_path: Path, preexec_fn=None) -> dict[str, subprocess.CompletedProcess]:
    """Every mutating command against `state_path`, in parallel processes."""
    procs = {
        name: subprocess.Popen(
            [vmss_executable(), *argv, "-o", "none"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(state_path, VMSSCLI_LOCK_TIMEOUT="20"),
            preexec_fn=preexec_fn,
        )
        for name, argv in MUTATIONS.items()
    }
    results = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=60)
            results[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return results


def _assert_clear_failures(results, state_path: Path, *fragments: str) -> None:
    for name, result in results.items():
        assert result.returncode == 1, (name, result.returncode, result.stderr)
        assert result.stdout == "", name
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (name, result.stderr)
        assert lines[0].startswith("ERROR: "), (name, lines[0])
        assert str(state_path) in lines[0], (name, lines[0])
        for fragment in fragments:
            assert fragment in lines[0], (name, lines[0])
        assert "Traceback" not in result.stderr


@contextlib.contextmanager
def _mounted(target: Path, *commands: list[str]):
    """Run mount commands (as root), skipping the test when the system refuses them."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to build the file system")
    target.mkdir(exist_ok=True)
    done = 0
    try:
        for command in commands:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                pytest.skip(f"cannot mount here ({' '.join(command)}): {proc.stderr.strip()}")
            done += 1
        yield target
    finally:
        if done:
            subprocess.run(["umount", str(target)], capture_output=True, timeout=30)
            if os.path.ismount(target):
                subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30)


def _fill(folder: Path) -> None:
    """Write a filler file until the file system is full."""
    chunk = b"\0" * 4096
    with open(folder / "filler", "wb", buffering=0) as handle:
        while True:
            try:
                handle.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                return


def test_disk_full_on_a_small_tmpfs_fails_every_write_cleanly_and_keeps_the_file(tmp_path):
    mount_point = tmp_path / "small"
    with _mounted(
        mount_point, ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)]
    ):
        state_path = mount_point / "state.json"
        original = serialize(demo_state(), state_path)
        state_path.write_bytes(original)
        inode = state_path.stat().st_ino
        _fill(mount_point)

        results = _run_mutations(state_path)

        _assert_clear_failures(results, state_path, os.strerror(errno.ENOSPC))
        assert state_path.read_bytes() == original
        assert state_path.stat().st_ino == inode
        assert _temp_files(mount_point) == []
        assert not state_path.with_name("state.json.bak").exists()
        # Once there is room again, the same command works.
        (mount_point / "filler").unlink()
        again = subprocess.run(
            [vmss_executable(), *MUTATIONS["clock-manual"], "-o", "none"],
            capture_output=True,
            text=True,
            env=_env(state_path),
            timeout=60,
        )
        assert again.returncode == 0, again.stderr
        assert read_file(state_path).clock.mode == "manual"


def test_file_size_limit_makes_every_write_fail_cleanly_and_keeps_the_file(tmp_path):
    state_path = tmp_path / "state.json"
    original = serialize(demo_state(), state_path)
    state_path.write_bytes(original)
    inode = state_path.stat().st_ino
    limit = 1024  # room for the lock file's holder record, not for a state file
    assert len(original) > 4 * limit

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    results = _run_mutations(state_path, preexec_fn=limit_file_size)

    _assert_clear_failures(results, state_path, os.strerror(errno.EFBIG))
    assert state_path.read_bytes() == original
    assert state_path.stat().st_ino == inode
    assert _temp_files(tmp_path) == []
    assert not state_path.with_name("state.json.bak").exists()


@pytest.mark.parametrize("how", ["read-only-bind-mount", "immutable-folder"])
def test_read_only_folder_fails_every_write_cleanly_and_readers_still_work(tmp_path, how):
    folder = tmp_path / "ro"
    folder.mkdir()
    state_path = folder / "state.json"
    original = serialize(demo_state(), state_path)
    state_path.write_bytes(original)
    inode = state_path.stat().st_ino

    if how == "read-only-bind-mount":
        # chmod 0o555 does not stop root; a read-only bind mount does.
        guard = _mounted(
            folder,
            ["mount", "--bind", str(folder), str(folder)],
            ["mount", "-o", "remount,bind,ro", str(folder)],
        )
        reason = os.strerror(errno.EROFS)
    else:
        guard = _immutable(folder)
        reason = os.strerror(errno.EPERM)
    with guard:
        results = _run_mutations(state_path)
        reader = subprocess.run(
            [vmss_executable(), "list", "--query", "length(@)"],
            capture_output=True,
            text=True,
            env=_env(state_path),
            timeout=60,
        )
        names = sorted(p.name for p in folder.iterdir())

    _assert_clear_failures(results, state_path, reason)
    assert state_path.read_bytes() == original
    assert state_path.stat().st_ino == inode
    assert names == ["state.json"]
    assert (reader.returncode, reader.stdout, reader.stderr) == (0, "3\n", "")


@contextlib.contextmanager
def _immutable(folder: Path):
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("needs root and chattr(1) to make a folder immutable")
    proc = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"chattr +i is not supported here: {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)


def test_state_path_in_a_missing_folder_fails_every_write_cleanly_and_creates_nothing(tmp_path):
    state_path = tmp_path / "nowhere" / "state.json"

    results = _run_mutations(state_path)

    _assert_clear_failures(results, state_path, "does not exist")
    assert not state_path.parent.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_state_path_that_is_a_directory_fails_every_write_cleanly_and_stays_empty(tmp_path):
    state_path = tmp_path / "state.json"
    state_path.mkdir()

    results = _run_mutations(state_path)

    _assert_clear_failures(results, state_path, "is a directory")
    assert state_path.is_dir()
    assert list(state_path.iterdir()) == []
    assert _temp_files(tmp_path) == []
