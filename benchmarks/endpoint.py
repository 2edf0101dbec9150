#!/usr/bin/env python3
"""Load on `vmss serve` with a 1000-instance scale set, written to benchmarks/ENDPOINT.md.

    .venv/bin/python benchmarks/endpoint.py [--seconds 8] [--az PATH]

For `GET .../virtualMachines` (the listing az's `list-instances` sends) and for protection
PUTs (an instance-level update: lock, load, change, save), with 1, 8 and 32 concurrent clients
on keep-alive HTTPS connections: requests per second and p50/p99 latency. Clients ask for gzip,
as az and the SDKs do, and do not parse the bodies (the client's cost is not the endpoint's).
With `--az`, also `vmss az vmss list-instances` end to end against `az vmss list-instances` run
directly against the same endpoint. Every run is bounded (`--seconds` per case) and stops the
endpoint it started.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SUB = "00000000-0000-0000-0000-000000000000"
BASE = (
    f"/subscriptions/{SUB}/resourceGroups/rg-bench/providers/Microsoft.Compute/"
    "virtualMachineScaleSets/vmss0"
)
V = "api-version=2024-11-01"


def fleet_state():
    sys.path.insert(0, str(REPO))
    from vmsscli.domain.creation import CreateSpec, create_scale_set
    from vmsscli.model import State

    state = State()
    create_scale_set(
        state,
        "rg-bench",
        "vmss0",
        CreateSpec(
            instance_count=1000,
            zones=["1", "2", "3"],
            upgrade_policy_mode="Rolling",
            app_health_extension=True,
        ),
        dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC),
    )
    return state


def client_loop(host, port, context, token, method, make_path, body_of, stop_at, out, errors):
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=60)
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    count = 0
    while time.monotonic() < stop_at:
        path = make_path(count)
        body = body_of(count) if body_of else None
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(str(exc))
            connection.close()
            connection = http.client.HTTPSConnection(host, port, context=context, timeout=60)
            continue
        elapsed = time.perf_counter() - started
        if response.status >= 400:
            errors.append(f"{response.status}")
        out.append(elapsed)
        count += 1
    connection.close()


def run_case(url, ca, token, method, make_path, body_of, clients, seconds):
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    context = ssl.create_default_context(cafile=ca)
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=client_loop,
            args=(host, int(port), context, token, method, make_path, body_of, stop_at,
                  latencies, errors),
        )
        for _ in range(clients)
    ]  # fmt: skip
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {
        "requests": len(latencies),
        "rps": len(latencies) / wall,
        "p50": pick(0.50) if latencies else float("nan"),
        "p99": pick(0.99) if latencies else float("nan"),
        "errors": len(errors),
    }


def protection_body(index: int) -> bytes:
    return json.dumps(
        {"properties": {"protectionPolicy": {"protectFromScaleIn": index % 2 == 0}}}
    ).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--az", help="the real az, for the end-to-end comparison")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from vmsscli.arm.server import launch
    from vmsscli.store import serialize

    rows = []
    with tempfile.TemporaryDirectory(prefix="vmss-endpoint-bench-") as folder:
        work = Path(folder)
        state_path = work / "state.json"
        state_path.write_bytes(serialize(fleet_state(), state_path))
        launched = launch(state_path, work / "home")
        try:
            token = launched.info()["token"]
            cases = [
                ("GET .../virtualMachines", "GET", lambda i: f"{BASE}/virtualMachines?{V}", None),
                (
                    "PUT .../virtualMachines/N (protection)",
                    "PUT",
                    lambda i: f"{BASE}/virtualMachines/{i % 1000}?{V}",
                    protection_body,
                ),
            ]
            for label, method, make_path, body_of in cases:
                for clients in (1, 8, 32):
                    result = run_case(
                        launched.url, launched.ca, token, method, make_path, body_of, clients,
                        args.seconds,
                    )  # fmt: skip
                    rows.append((label, clients, result))
                    print(f"{label:40} {clients:>2} clients: {result}", flush=True)
            az_rows = compare_az(args.az, launched, work) if args.az else []
        finally:
            launched.stop()
    write_results(rows, az_rows, args.seconds)
    listing = next(r for label, c, r in rows if label.startswith("GET") and c == 8)
    met = listing["rps"] >= 100 and listing["p99"] < 100 and listing["errors"] == 0
    print("targets met" if met else "TARGETS MISSED: 8-client listing needs >=100 rps, p99<100 ms")
    return 0 if met else 1


def compare_az(az: str, launched, work: Path) -> list[tuple[str, float]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    env.update({"VMSSCLI_HOME": str(launched.home), "VMSSCLI_AZ": az})
    vmss = [sys.executable, "-m", "vmsscli"]
    command = ["vmss", "list-instances", "-g", "rg-bench", "-n", "vmss0", "-o", "json"]
    subprocess.run([*vmss, "az", "account", "show", "-o", "none"], env=env, check=True)
    direct_env = dict(env)
    direct_env.update(
        {
            "AZURE_CONFIG_DIR": str(launched.home / "az"),
            "REQUESTS_CA_BUNDLE": launched.ca,
        }
    )
    timings: dict[str, list[float]] = {
        "vmss az vmss list-instances": [],
        "az vmss list-instances": [],
    }
    for _ in range(5):
        for label, argv, use in (
            ("vmss az vmss list-instances", [*vmss, "az", *command], env),
            ("az vmss list-instances", [az, *command], direct_env),
        ):
            started = time.perf_counter()
            subprocess.run(argv, env=use, check=True, stdout=subprocess.DEVNULL)
            timings[label].append(time.perf_counter() - started)
    return [(label, statistics.median(values)) for label, values in timings.items()]


def write_results(rows, az_rows, seconds) -> None:
    lines = [
        "# Endpoint benchmark",
        "",
        f"`.venv/bin/python benchmarks/endpoint.py --seconds {seconds:g}"
        + (" --az PATH`" if az_rows else "`"),
        f"({dt.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}). One scale set of 1000 instances; clients and "
        "the endpoint share the machine.",
        "",
        "| request | clients | requests | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, clients, r in rows:
        lines.append(
            f"| {label} | {clients} | {r['requests']} | {r['rps']:.0f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['errors']} |"
        )
    if az_rows:
        lines += ["", "| end to end, median of 5 | seconds |", "|---|---|"]
        lines += [f"| `{label}` | {value:.2f} |" for label, value in az_rows]
    listing = next(r for label, c, r in rows if label.startswith("GET") and c == 8)
    lines += [
        "",
        "Target: at least 100 listings per second with p99 under 100 ms at 8 clients — "
        + (
            "**met**."
            if listing["rps"] >= 100 and listing["p99"] < 100 and not listing["errors"]
            else "**not met**."
        ),
        "",
    ]
    (HERE / "ENDPOINT.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
