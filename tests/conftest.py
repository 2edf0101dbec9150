"""Shared test helpers: a fresh state file per test, and three ways to run `vmss`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
# Recorded Azure samples and the JSON Schemas of az's output: see tests/data/reference/README.md.
REFERENCE = REPO / "tests" / "data" / "reference"
SCHEMAS = REFERENCE / "schemas"
SAMPLES = REFERENCE / "samples"


# --- a clone stands alone ------------------------------------------------------------------------
# A user's clone has nothing beside it, so a test that opens a file in a folder next to the
# repository (a reference checkout, a tool library) passes here and fails there. Every open()
# in this process is audited; a test that opened such a path fails with the path named.


def _outside_roots() -> list[Path]:
    """The folders beside the repository that exist now. When the repository sits directly in
    the temporary folder, its neighbours are every test's scratch space, so there only a
    `shared` folder counts."""
    import tempfile

    parent = REPO.parent
    if parent == Path(tempfile.gettempdir()).resolve():
        return [parent / "shared"]
    try:
        return [p for p in parent.iterdir() if p.resolve() != REPO] + [parent / "shared"]
    except OSError:
        return [parent / "shared"]


OUTSIDE_ROOTS = _outside_roots()
outside_reads: list[str] = []


def reaches_outside(path: str | bytes | os.PathLike) -> bool:
    """Whether opening `path` reads from a folder beside the repository."""
    try:
        text = os.fsdecode(path)
    except TypeError:
        return False  # a file descriptor
    if not os.path.isabs(text):
        text = os.path.join(os.getcwd(), text)
    target = os.path.normpath(text)
    return any(
        target == str(root) or target.startswith(str(root) + os.sep) for root in OUTSIDE_ROOTS
    )


def _audit(event: str, args: tuple) -> None:
    if event == "open" and args and not isinstance(args[0], int) and reaches_outside(args[0]):
        outside_reads.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def _stays_inside_repository():
    outside_reads.clear()
    yield
    if outside_reads:
        found = sorted(set(outside_reads))
        outside_reads.clear()
        pytest.fail(f"the test read outside the repository: {', '.join(found)}", pytrace=False)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture(scope="session")
def _schema_cache(tmp_path_factory) -> Path:
    """One schema cache for the whole run (see vmsscli.schema), outside every test's folder."""
    return tmp_path_factory.mktemp("schema-cache")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path, _schema_cache):
    """No test reads the developer's ~/.vmsscli or inherits their output settings."""
    for name in (
        "VMSSCLI_STATE",
        "VMSSCLI_OUTPUT",
        "VMSSCLI_NOW",
        "VMSSCLI_LOCK_TIMEOUT",
        "VMSSCLI_CALLER",
        "NO_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VMSSCLI_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(_schema_cache))


@pytest.fixture
def state_path(tmp_path) -> Path:
    """A fresh copy of the demo fleet as JSON."""
    from vmsscli.demo import demo_state
    from vmsscli.store import serialize

    path = tmp_path / "state.json"
    path.write_bytes(serialize(demo_state(), path))
    return path


def invoke(args: list[str], state: Path | None = None, stdin: str | None = None) -> Result:
    """Run a command line through Typer's CliRunner (in-process)."""
    from vmsscli.cli.app import build_app

    full = list(args) + (["--state", str(state)] if state is not None else [])
    runner = CliRunner()
    outcome = runner.invoke(build_app(full), full, input=stdin, prog_name="vmss")
    if outcome.exception and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    return Result(outcome.exit_code, outcome.stdout, outcome.stderr)


@pytest.fixture
def cli(state_path):
    """`cli("list-instances", "-g", ...)` runs against the test's own state file."""

    def run(*args: str, stdin: str | None = None) -> Result:
        return invoke(list(args), state_path, stdin)

    return run


def vmss_executable() -> str:
    """The installed console script next to the interpreter running the tests."""
    candidate = Path(sys.executable).parent / "vmss"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("vmss")
    if not found:
        pytest.skip("the vmss console script is not installed")
    return found


def run_vmss(
    *args: str,
    state: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> Result:
    """Run the installed `vmss` in a subprocess, as a shell script would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    if state is not None:
        full_env["VMSSCLI_STATE"] = str(state)
    full_env.update(env or {})
    proc = subprocess.run(
        [vmss_executable(), *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def schema_errors(name: str, data) -> list[str]:
    """Validation errors of `data` (an object or a list of objects) against a reference schema."""
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    validator = Draft202012Validator(schema)
    items = data if isinstance(data, list) else [data]
    return [
        f"[{i}] {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for i, item in enumerate(items)
        for e in validator.iter_errors(item)
    ]


# --- the ARM endpoint ---------------------------------------------------------------------------

# The real home, before any test points HOME at its own folder: caches outside the repository
# (the real az) live under it.
REAL_HOME = Path.home()


@dataclass
class Served:
    """A `vmss serve` running in a subprocess for a test module."""

    url: str
    ca: str
    state: Path
    home: Path
    process: subprocess.Popen
    token: str

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
        env.update({"HOME": str(self.home), "VMSSCLI_STATE": str(self.state), **extra})
        return env

    def reset(self, state=None) -> None:
        """Give the endpoint a fresh demo fleet (or `state`) through the file, as a user would
        replace it."""
        from vmsscli.demo import demo_state
        from vmsscli.store import Store

        Store(self.state).replace(state if state is not None else demo_state())


def start_endpoint(folder: Path, *, state=None, speed: float = 120) -> Served:
    """`vmss serve` on a fresh copy of the demo fleet (or `state`), with the folder's `home`
    as HOME (so its config folder is `home/.vmsscli`)."""
    from vmsscli.arm.server import launch
    from vmsscli.demo import demo_state
    from vmsscli.store import serialize

    home = folder / "home"
    home.mkdir(parents=True, exist_ok=True)
    path = folder / "state.json"
    path.write_bytes(serialize(state if state is not None else demo_state(), path))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    env["HOME"] = str(home)
    launched = launch(path, home / ".vmsscli", speed=speed, env=env)
    return Served(
        url=launched.url,
        ca=launched.ca,
        state=path,
        home=home,
        process=launched.process,
        token=launched.info()["token"],
    )


def stop_endpoint(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """One endpoint per test module, on a fresh demo fleet; `endpoint.reset()` starts a test
    from the demo fleet again."""
    served = start_endpoint(tmp_path_factory.mktemp("endpoint"))
    yield served
    stop_endpoint(served)
