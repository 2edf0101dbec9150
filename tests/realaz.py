"""The real Azure CLI for the oracle tests: az 2.91.0 installed once into a virtual environment
in a cache folder outside the repository (`~/.cache/vmsscli/az-2.91.0`, or under
`$VMSSCLI_AZ_CACHE`), and reused by later runs. Installing takes two to three minutes; a
failure fails the tests that need az (they never skip)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

AZ_VERSION = "2.91.0"


def cache_folder(real_home: Path) -> Path:
    chosen = os.environ.get("VMSSCLI_AZ_CACHE")
    base = Path(chosen) if chosen else real_home / ".cache" / "vmsscli"
    return base / f"az-{AZ_VERSION}"


def ensure_az(real_home: Path) -> str:
    """The path of az 2.91.0, installing it first when the cache does not have it."""
    folder = cache_folder(real_home)
    az = folder / "bin" / "az"
    marker = folder / ".installed"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"az-{AZ_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time
        if marker.exists() and az.exists():
            return str(az)
        python = sys.executable
        base = getattr(sys, "_base_executable", python)
        subprocess.run([base, "-m", "venv", "--clear", str(folder)], check=True)
        done = subprocess.run(
            [str(folder / "bin" / "python"), "-m", "pip", "install", "-q",
             f"azure-cli=={AZ_VERSION}"],
            capture_output=True,
            text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"installing azure-cli {AZ_VERSION} failed:\n{done.stderr[-3000:]}")
        marker.write_text(AZ_VERSION)
    return str(az)
