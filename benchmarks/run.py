#!/usr/bin/env python3
"""Whole-process timings of `vmss` against the floors, written to benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run.py [--runs 9] [--az]

Fleets (1x10, 1x100, 1x1000, 10x1000 instances, JSON and TOML) are generated into
benchmarks/fleets/. Every figure is the median of --runs rounds after one warm-up round (each
round runs every command once), with min and max, and its ratio to the framework floor for
the same file (a process that imports typer and pydantic and json.loads the file). With --az,
the real Azure CLI is installed into a separate virtual environment
(~/.cache/vmsscli-bench/az) and `az vmss list-instances --help` is timed as the peer; without
it, or when it cannot be installed, that row says so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FLEETS = HERE / "fleets"
VENV_BIN = Path(sys.executable).parent
VMSS = str(VENV_BIN / "vmss")
PY = sys.executable
AZ_VENV = Path("~/.cache/vmsscli-bench/az").expanduser()

SHAPES = {"1x10": (1, 10), "1x100": (1, 100), "1x1000": (1, 1000), "10x1000": (10, 1000)}


def make_fleets() -> None:
    sys.path.insert(0, str(REPO))
    from vmsscli.domain.fleet import CreateSpec, create_scale_set
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


def run_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - start) * 1000


def timed_rounds(commands: list[list[str]], runs: int) -> list[list[float]]:
    """Every command once per round, `runs` rounds after a warm-up round: a machine that gets
    busier or quieter during the run moves the floors and the commands alike, so the ratios
    stay fair. Commands that change their file (update) keep changing it the same way."""
    for argv in commands:  # the warm-up: caches, the schema cache, page cache
        run_once(argv)
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, argv in enumerate(commands):
            samples[index].append(run_once(argv))
    return samples


def floor_argv(path: Path) -> list[str]:
    return [PY, "-c", f"import typer, pydantic, json; json.load(open({str(path)!r}))"]


def az_argv() -> list[str] | None:
    az = AZ_VENV / "bin" / "az"
    if az.exists():
        return [str(az)]
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(AZ_VENV)], check=True, capture_output=True
        )
        subprocess.run(
            [str(AZ_VENV / "bin" / "pip"), "install", "-q", "azure-cli"],
            check=True,
            capture_output=True,
            timeout=1800,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"azure-cli could not be installed ({exc}); the az row is skipped.")
        return None
    return [str(az)] if az.exists() else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--az", action="store_true", help="install and time the real az")
    args = parser.parse_args()
    subprocess.run([PY, "-m", "compileall", "-q", str(REPO / "vmsscli")], check=False)
    make_fleets()
    # (label, argv, the floor it is compared with)
    specs: list[tuple[str, list[str], str | None]] = []

    def add(label: str, argv: list[str], floor: str | None) -> None:
        specs.append((label, argv, floor))

    add("python -c pass", [PY, "-c", "pass"], None)
    for label in SHAPES:
        path = FLEETS / f"{label}.json"
        add(
            f"python -c 'import json' + load {label}.json",
            [PY, "-c", f"import json; json.load(open({str(path)!r}))"],
            None,
        )
        add(f"framework floor: typer + pydantic + load {label}.json", floor_argv(path), None)
    floors = {label: f"framework floor: typer + pydantic + load {label}.json" for label in SHAPES}
    add("vmss --version", [VMSS, "--version"], floors["1x10"])
    for label in ("1x10", "1x100", "1x1000"):
        for fmt in ("json", "table"):
            for ext in ("json", "toml"):
                path = FLEETS / f"{label}.{ext}"
                add(
                    f"list-instances -o {fmt} ({label}.{ext})",
                    [
                        VMSS,
                        "list-instances",
                        "-g",
                        "rg-bench",
                        "-n",
                        "vmss0",
                        "-o",
                        fmt,
                        "--state",
                        str(path),
                    ],
                    floors[label],
                )
    add(
        "get-instance-view --instance-id '*' (1x1000.json)",
        [
            VMSS,
            "get-instance-view",
            "-g",
            "rg-bench",
            "-n",
            "vmss0",
            "--instance-id",
            "*",
            "--state",
            str(FLEETS / "1x1000.json"),
        ],
        floors["1x1000"],
    )
    for label in ("1x1000", "10x1000"):
        path = FLEETS / f"{label}.json"
        add(
            f"update --instance-id 7 --protect-from-scale-in true ({label}.json)",
            [
                VMSS,
                "update",
                "-g",
                "rg-bench",
                "-n",
                "vmss0",
                "--instance-id",
                "7",
                "--protect-from-scale-in",
                "true",
                "-o",
                "none",
                "--state",
                str(path),
            ],
            floors["1x1000"],
        )
    add(
        "instance-id completion (1x1000.json)",
        [
            VMSS,
            "__complete",
            "bash",
            "--",
            "vmss",
            "restart",
            "--state",
            str(FLEETS / "1x1000.json"),
            "-g",
            "rg-bench",
            "-n",
            "vmss0",
            "--instance-ids",
            "",
        ],
        floors["1x1000"],
    )
    az = az_argv() if args.az else None
    az_label = "az vmss list-instances --help"
    if az:
        add(az_label, [*az, "vmss", "list-instances", "--help"], None)
    samples = timed_rounds([argv for _, argv, _ in specs], args.runs)
    medians = {label: statistics.median(s) for (label, _, _), s in zip(specs, samples, strict=True)}
    rows = [
        (label, s, medians[floor] if floor else None)
        for (label, _, floor), s in zip(specs, samples, strict=True)
    ]
    write_results(rows, medians.get(az_label), args.runs)
    return 0


# (what, row label, the most it may be: × framework floor, or how many times faster than az)
TARGETS = [
    ("list-instances -o json on 1000 instances: at most 1.5x the framework floor",
     "list-instances -o json (1x1000.json)", "floor", 1.5),
    ("list-instances -o json on 1000 instances: at least 3.5x faster than az --help",
     "list-instances -o json (1x1000.json)", "az", 3.5),
    ("a change to one instance in the 10x1000 file: at most 2x the 1x1000 framework floor",
     "update --instance-id 7 --protect-from-scale-in true (10x1000.json)", "floor", 2.0),
]  # fmt: skip


def targets(rows, az_median) -> list[str]:
    """The issue's targets, each with the measured ratio and whether it is met."""
    medians = {label: (statistics.median(s), floor) for label, s, floor in rows}
    lines = ["## Targets", ""]
    for what, label, kind, limit in TARGETS:
        median, floor = medians[label]
        if kind == "floor":
            ratio, met = median / floor, median / floor <= limit
            lines.append(f"- {what}: {ratio:.2f}x, {'met' if met else 'NOT met'}.")
        elif az_median is None:
            lines.append(f"- {what}: not measured (no az in this run).")
        else:
            faster = az_median / median
            lines.append(
                f"- {what}: {faster:.1f}x faster, {'met' if faster >= limit else 'NOT met'}."
            )
    return lines


def write_results(rows, az_median, runs) -> None:
    import importlib.metadata as md

    versions = ", ".join(
        f"{name} {md.version(name)}" for name in ("typer", "pydantic", "orjson", "rich")
    )
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `benchmarks/run.py` on {dt.date.today().isoformat()}: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{versions}. Median of {runs} rounds after a warm-up round (min–max), whole "
        "processes; each round runs every command once, so floors and commands share the "
        "machine's ups and downs. Bytecode is compiled first and the schema cache warmed, as "
        "after any first run.",
        "",
        "| what | median ms | min–max ms | × framework floor | × az `--help` |",
        "|---|---|---|---|---|",
    ]
    for label, samples, floor in rows:
        median = statistics.median(samples)
        ratio = f"{median / floor:.2f}" if floor else ""
        vs_az = f"{median / az_median:.2f}" if az_median and floor else ""
        lines.append(
            f"| {label} | {median:.0f} | {min(samples):.0f}–{max(samples):.0f} | "
            f"{ratio} | {vs_az} |"
        )
    lines += ["", *targets(rows, az_median)]
    if az_median is None:
        lines += ["", "The real az was not timed in this run (run with --az to install it)."]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
