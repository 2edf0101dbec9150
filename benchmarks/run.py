#!/usr/bin/env python3
"""Start-up cost of `vmss`, measured in paired runs against its floors; writes RESULTS.md.

    .venv/bin/python benchmarks/run.py [--pairs 21] [--no-az] [--quick]

Each measured command is grouped with the floors it is compared with. A round runs every
group once, the members of a group back to back in a random order, so a command and its floor
always see the same machine; a ratio is the median of the per-round ratios. Peak memory is each
process's own maximum resident set (wait4's rusage), compared as medians. The real az 2.91.0 is
taken from the same cache folder the oracle tests install it into (installed on first use).

Exits 1 when a target is missed: a person runs this, CI does not (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FLEETS = HERE / "fleets"
VENV_BIN = Path(sys.executable).parent
VMSS = str(VENV_BIN / "vmss")
PY = sys.executable

SHAPES = {"1x10": (1, 10), "1x100": (1, 100), "1x1000": (1, 1000), "10x1000": (10, 1000)}
SET = ["-g", "rg-bench", "-n", "vmss0"]


def make_fleets() -> None:
    sys.path.insert(0, str(REPO))
    from vmsscli.domain.creation import CreateSpec, create_scale_set
    from vmsscli.model import State
    from vmsscli.store import serialize

    FLEETS.mkdir(exist_ok=True)
    now = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    for label, (sets, count) in SHAPES.items():
        state = State()
        for index in range(sets):
            create_scale_set(
                state,
                "rg-bench",
                f"vmss{index}",
                CreateSpec(
                    instance_count=count,
                    zones=["1", "2", "3"],
                    upgrade_policy_mode="Rolling",
                    app_health_extension=True,
                ),
                now,
            )
        for ext in ("json", "toml"):
            path = FLEETS / f"{label}.{ext}"
            path.write_bytes(serialize(state, path))


@dataclass
class Program:
    label: str
    argv: list[str]
    ms: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)


# The processes are started by this small helper, not by the benchmark itself: a child's peak
# resident set counts the memory of the process it was forked from, and the benchmark has
# imported vmsscli to write the fleets. The helper is smaller than any Python program measured.
LAUNCHER = """
import os, sys, time
null = os.open(os.devnull, os.O_WRONLY)
actions = [(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
for line in sys.stdin:
    argv = line.rstrip("\\n").split("\\0")
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    print(elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status), flush=True)
"""


class Launcher:
    def __init__(self) -> None:
        self.child = subprocess.Popen(
            [PY, "-I", "-S", "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, bufsize=1,
        )  # fmt: skip

    def run(self, program: Program) -> None:
        """One whole process: wall time from spawn to reap, and its own peak resident set."""
        self.child.stdin.write("\0".join(program.argv) + "\n")
        elapsed, rss, code = self.child.stdout.readline().split()
        if code != "0":
            sys.exit(f"benchmark: {program.label} exited {code}: {' '.join(program.argv)}")
        program.ms.append(float(elapsed))
        program.rss_kib.append(int(rss))

    def close(self) -> None:
        self.child.stdin.close()
        self.child.wait()


def vmss(*args: str) -> list[str]:
    return [VMSS, *args]


def framework_floor(path: Path) -> list[str]:
    return [PY, "-c", f"import typer, pydantic, json; json.load(open({str(path)!r}))"]


def json_floor(path: Path) -> list[str]:
    return [PY, "-c", "import json,sys; json.load(open(sys.argv[1]))", str(path)]


def app_floor(*args: str) -> list[str]:
    """A process that imports typer and builds the app vmss builds for this command line."""
    code = (
        "import sys; from typer.main import get_command; "
        "from vmsscli.cli.app import build_app; get_command(build_app(sys.argv[1:]))"
    )
    return [PY, "-c", code, *args]


@dataclass
class Target:
    what: str
    program: str
    baseline: str
    kind: str  # "time": ratio at most limit; "memory": likewise; "faster": baseline/program
    limit: float


def plan(scratch: Path, with_az: bool, quick: bool):
    """(groups of program labels, programs by label, targets)."""
    programs: dict[str, Program] = {}
    groups: list[list[str]] = []

    def group(*members: tuple[str, list[str]]) -> None:
        for label, argv in members:
            programs.setdefault(label, Program(label, argv))
        groups.append([label for label, _ in members])

    big = FLEETS / "1x1000.json"
    writable = scratch / "1x1000.json"
    shutil.copyfile(big, writable)
    floor_big = "framework floor: typer + pydantic + json.load (1x1000.json)"
    listing = "vmss list-instances -o json (1x1000.json)"
    az_help = "az vmss list-instances --help (az 2.91.0)"
    listing_group = [
        (listing, vmss("list-instances", *SET, "-o", "json", "--state", str(big))),
        (floor_big, framework_floor(big)),
        ("python json.load (1x1000.json)", json_floor(big)),
    ]
    if with_az:
        sys.path.insert(0, str(REPO / "tests"))
        from realaz import ensure_az

        listing_group.append((az_help, [ensure_az(Path.home()), "vmss", "list-instances", "-h"]))
    group(*listing_group)
    update = "vmss update --instance-id 7 --protect-from-scale-in true (1x1000.json)"
    group(
        (
            update,
            vmss("update", *SET, "--instance-id", "7", "--protect-from-scale-in", "true",
                 "-o", "none", "--state", str(writable)),
        ),
        (floor_big, framework_floor(big)),
    )  # fmt: skip
    help_lines = {
        "vmss --help": ["--help"],
        "vmss list-instances --help": ["list-instances", "--help"],
    }
    for label, args in help_lines.items():
        group((label, vmss(*args)), (f"app floor: {' '.join(args)}", app_floor(*args)))
    completions = {
        "completion: flags of list-instances": ["list-instances", "--"],
        "completion: instance ids (1x1000.json)": [
            "restart", "--state", str(big), *SET, "--instance-ids", ""],
    }  # fmt: skip
    for label, words in completions.items():
        group(
            (label, vmss("__complete", "bash", "--", "vmss", *words)),
            (f"app floor: {' '.join(words[:2])}", app_floor(*words)),
        )
    targets = [
        Target("list-instances -o json, 1000 instances: at most 1.25x the framework floor",
               listing, floor_big, "time", 1.25),
        Target("list-instances -o json, 1000 instances: at most 4x python json.load",
               listing, "python json.load (1x1000.json)", "time", 4.0),
        Target("update --protect-from-scale-in, 1000 instances: at most 1.3x the framework floor",
               update, floor_big, "time", 1.3),
    ]  # fmt: skip
    for label in [*help_lines, *completions]:
        floor = groups[[g[0] for g in groups].index(label)][1]
        targets.append(Target(f"{label}: at most 1.1x the app floor", label, floor, "time", 1.1))
    for label in [listing, update]:
        targets.append(Target(f"{label}: peak memory at most 1.5x the floor's", label,
                              floor_big, "memory", 1.5))  # fmt: skip
    for label in [*help_lines, *completions]:
        floor = groups[[g[0] for g in groups].index(label)][1]
        targets.append(Target(f"{label}: peak memory at most 1.5x the floor's", label, floor,
                              "memory", 1.5))  # fmt: skip
    if with_az:
        faster = "list-instances -o json, 1000 instances: at least 5x faster than az --help"
        targets.append(Target(faster, listing, az_help, "faster", 5.0))
    if not quick:
        for label in ("1x10", "1x100", "10x1000"):
            path = FLEETS / f"{label}.json"
            group(
                (f"vmss list-instances -o json ({label}.json)",
                 vmss("list-instances", *SET, "-o", "json", "--state", str(path))),
                (f"framework floor ({label}.json)", framework_floor(path)),
            )  # fmt: skip
        others = {
            "vmss list-instances -o table (1x1000.json)":
                vmss("list-instances", *SET, "-o", "table", "--state", str(big)),
            "vmss list-instances -o json (1x1000.toml)":
                vmss("list-instances", *SET, "--state", str(FLEETS / "1x1000.toml")),
            "vmss get-instance-view --instance-id '*' (1x1000.json)":
                vmss("get-instance-view", *SET, "--instance-id", "*", "--state", str(big)),
            "vmss --version": vmss("--version"),
        }  # fmt: skip
        for label, argv in others.items():
            group((label, argv), (floor_big, framework_floor(big)))
        many = scratch / "10x1000.json"
        shutil.copyfile(FLEETS / "10x1000.json", many)
        group(
            ("vmss update --instance-id 7 --protect-from-scale-in true (10x1000.json)",
             vmss("update", *SET, "--instance-id", "7", "--protect-from-scale-in", "true",
                  "-o", "none", "--state", str(many))),
            (floor_big, framework_floor(big)),
        )  # fmt: skip
    history_update = "vmss update --protect-from-scale-in (1x100, 100 000 events)"
    history_listing = "vmss list-instances -o json (1x100, 100 000 events)"
    empty_update = "vmss update --protect-from-scale-in (1x100, no events)"
    empty_listing = "vmss list-instances -o json (1x100, no events)"
    full, empty = history_fleets(scratch, HISTORY_EVENTS), history_fleets(scratch, 0)
    protect = ["update", *SET, "--instance-id", "7", "--protect-from-scale-in", "true",
               "-o", "none"]  # fmt: skip
    listing_args = ["list-instances", *SET, "-o", "json"]
    group((history_update, vmss(*protect, "--state", str(full))),
          (empty_update, vmss(*protect, "--state", str(empty))))  # fmt: skip
    group((history_listing, vmss(*listing_args, "--state", str(full))),
          (empty_listing, vmss(*listing_args, "--state", str(empty))))  # fmt: skip
    history_query = "vmss monitor activity-log list --correlation-id (1x100, 100 000 events)"
    empty_query = "vmss monitor activity-log list --correlation-id (1x100, no events)"
    query_args = ["monitor", "activity-log", "list", "--offset", "89d", "--correlation-id",
                  "00012345-0000-4000-8000-000000000000", "-o", "json"]  # fmt: skip
    group((history_query, vmss(*query_args, "--state", str(full))),
          (empty_query, vmss(*query_args, "--state", str(empty))))  # fmt: skip
    for label, floor in (
        (history_update, empty_update),
        (history_listing, empty_listing),
        (history_query, empty_query),
    ):
        targets.append(Target(f"{label}: at most 1.15x with an empty history", label, floor,
                              "time", 1.15))  # fmt: skip
    return groups, programs, targets


HISTORY_EVENTS = 100_000


def history_fleets(scratch: Path, events: int) -> Path:
    """The 1x100 fleet with `events` activity-log events kept beside it (Started/Succeeded
    pairs over the 60 days before now, as protection changes and restarts write them)."""
    sys.path.insert(0, str(REPO))
    from vmsscli.model import ActivityEntry
    from vmsscli.store import Store, read_file

    folder = scratch / f"history-{events}"
    folder.mkdir()
    path = folder / "state.json"
    state = read_file(FLEETS / "1x100.json")
    resource = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-bench/providers/"
        "Microsoft.Compute/virtualMachineScaleSets/vmss0"
    )
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    for index in range(events):
        pair, second = divmod(index, 2)
        instance = str(pair % 100)
        state.activity_log.append(
            ActivityEntry(
                time=start + dt.timedelta(seconds=25 * pair + 30 * second),
                operation="Microsoft.Compute/virtualMachineScaleSets/restart/action",
                resource_id=resource,
                status="Succeeded" if second else "Started",
                instance_ids=[instance],
                command=f"vmss restart -g rg-bench -n vmss0 --instance-ids {instance}",
                correlation_id=f"{pair:08d}-0000-4000-8000-000000000000",
                requested=[instance],
            )
        )
    Store(path).replace(state)
    return path


def measure(groups, programs, pairs: int, seed: int) -> dict[tuple[str, str], list[float]]:
    """Per-round ratios for every (program, floor) pair of a group; one warm-up round first."""
    rng = random.Random(seed)
    launcher = Launcher()
    ratios: dict[tuple[str, str], list[float]] = {}
    for round_index in range(pairs + 1):
        for members in groups:
            order = members[:]
            rng.shuffle(order)
            before = {label: len(programs[label].ms) for label in members}
            for label in order:
                launcher.run(programs[label])
            if round_index == 0:
                for label in members:  # the warm-up is not counted
                    programs[label].ms.pop()
                    programs[label].rss_kib.pop()
                continue
            head = programs[members[0]].ms[before[members[0]]]
            for floor in members[1:]:
                ratios.setdefault((members[0], floor), []).append(
                    head / programs[floor].ms[before[floor]]
                )
    launcher.close()
    return ratios


def judge(target: Target, programs, ratios) -> tuple[float, bool]:
    if target.kind == "time":
        value = statistics.median(ratios[(target.program, target.baseline)])
        return value, value <= target.limit
    if target.kind == "faster":
        value = 1 / statistics.median(ratios[(target.program, target.baseline)])
        return value, value >= target.limit
    mine = statistics.median(programs[target.program].rss_kib)
    floor = statistics.median(programs[target.baseline].rss_kib)
    return mine / floor, mine / floor <= target.limit


def report(groups, programs, ratios, targets, pairs: int, seed: int, argv: list[str]) -> bool:
    import importlib.metadata as md

    versions = ", ".join(
        f"{name} {md.version(name)}" for name in ("typer", "pydantic", "pydantic-core", "orjson")
    )
    lines = [
        "# Start-up benchmark",
        "",
        f"`{' '.join(argv)}` on {dt.date.today().isoformat()}: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {versions}; "
        f"{pairs} paired rounds after a warm-up round (seed {seed}). Every command runs back "
        "to back with its floors in a random order each round; a ratio is the median of the "
        "per-round ratios. Bytecode is compiled first and the schema cache warm, as after any "
        "first run. Memory is each process's own peak resident set.",
        "",
        "| command | median ms | min–max ms | peak MiB | floor | × floor (median of pairs) |",
        "|---|---|---|---|---|---|",
    ]
    for members in groups:
        head = programs[members[0]]
        for floor in members[1:]:
            lines.append(
                f"| {head.label} | {statistics.median(head.ms):.0f} | {min(head.ms):.0f}–"
                f"{max(head.ms):.0f} | {statistics.median(head.rss_kib) / 1024:.1f} | "
                f"{floor} ({statistics.median(programs[floor].ms):.0f} ms, "
                f"{statistics.median(programs[floor].rss_kib) / 1024:.1f} MiB) | "
                f"{statistics.median(ratios[(head.label, floor)]):.2f} |"
            )
    lines += ["", "## Targets", ""]
    all_met = True
    for target in targets:
        value, met = judge(target, programs, ratios)
        all_met &= met
        unit = "x faster" if target.kind == "faster" else "x"
        lines.append(f"- {target.what}: **{value:.2f}{unit}**, {'met' if met else 'NOT MET'}.")
    lines += ["", "All targets met." if all_met else "Some targets are NOT met."]
    text = "\n".join(lines) + "\n"
    (HERE / "RESULTS.md").write_text(text)
    print(text)
    return all_met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=21, help="paired rounds (at least 15)")
    parser.add_argument("--no-az", action="store_true", help="leave out the real az")
    parser.add_argument("--quick", action="store_true", help="only the targets' commands")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", help="only the groups whose command contains this text")
    args = parser.parse_args()
    if args.pairs < 15:
        parser.error("--pairs: at least 15 paired rounds")
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "vmsscli")], check=True)
    make_fleets()
    with tempfile.TemporaryDirectory() as scratch:
        groups, programs, targets = plan(Path(scratch), not args.no_az, args.quick)
        if args.only:
            groups = [g for g in groups if args.only in g[0]]
            kept = {g[0] for g in groups}
            targets = [t for t in targets if t.program in kept]
        ratios = measure(groups, programs, args.pairs, args.seed)
        met = report(groups, programs, ratios, targets, args.pairs, args.seed,
                     ["benchmarks/run.py", *sys.argv[1:]])  # fmt: skip
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
