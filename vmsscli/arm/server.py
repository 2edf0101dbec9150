"""Running the endpoint (`vmss serve`) and pointing the real az at it (`vmss az`).

Everything the endpoint keeps lives in vmsscli's config folder (`~/.vmsscli`, or
`$VMSSCLI_HOME`): `endpoint/` holds the CA, the server certificate, the token secret and
`endpoint.json` (the running endpoint's URL, for `vmss az` and SDK scripts); `az/` is the
isolated `AZURE_CONFIG_DIR` the real az uses, so a user's own `~/.azure` is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, TextIO

from vmsscli.errors import CLIError

CLOUD = "vmsscli"
APP_ID = "vmsscli-operator"
APP_SECRET = "vmsscli-local-secret"
# With a wall clock, simulated operations started through the endpoint run this many times
# faster than their configured durations (a one-minute restart takes two seconds).
DEFAULT_SPEED = 30.0


def config_folder() -> Path:
    chosen = os.environ.get("VMSSCLI_HOME")
    return Path(chosen).expanduser() if chosen else Path("~/.vmsscli").expanduser()


def endpoint_folder() -> Path:
    return config_folder() / "endpoint"


def endpoint_file() -> Path:
    return endpoint_folder() / "endpoint.json"


def serve(
    state_path: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8443,
    speed: float = DEFAULT_SPEED,
    advance_on_poll: bool = False,
    out: TextIO = sys.stdout,
    ready: Any = None,
) -> None:
    """Serve until interrupted. `ready`, when given, is called with the endpoint's URL once
    the socket listens (tests use it)."""
    import logging

    import uvicorn

    from vmsscli.arm import certs
    from vmsscli.arm.app import Endpoint, build_app
    from vmsscli.arm.tokens import TENANT_ID
    from vmsscli.service.session import Session

    session = Session(state_path, command="vmss serve")
    state = session.store().read()  # a broken file fails here, before listening
    folder = endpoint_folder()
    files = certs.ensure(folder)
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    shown = "localhost" if host in ("127.0.0.1", "localhost", "::1") else host
    base_url = f"https://{shown}:{bound}/"
    endpoint = Endpoint(state_path, base_url, folder, speed=speed, advance_on_poll=advance_on_poll)
    app = build_app(endpoint)
    info = {
        "url": base_url,
        "ca": str(files.ca),
        "state": str(state_path),
        "tenant": TENANT_ID,
        "pid": os.getpid(),
        "token": endpoint.signer.issue(APP_ID),
    }
    _write_json(endpoint_file(), info)
    manual = state.clock.mode == "manual"
    lines = [
        f"vmsscli ARM endpoint for {state_path}",
        f"  URL:            {base_url}",
        f"  CA certificate: {files.ca}",
        f"  Subscription:   {state.subscription_id}",
        "  Clock:          "
        + (
            (
                "manual - a client polling an operation moves the clock to its end, as vmss "
                "does when it waits"
                if advance_on_poll
                else "manual - operations complete when the clock moves (vmss clock advance "
                "...); a client polling an operation waits until then"
            )
            if manual
            else f"wall - operations run {speed:g}x faster than their simulated durations"
        ),
        "Run the real az against it with:  vmss az vmss list -o table",
        "Press Ctrl+C to stop.",
    ]
    if shown != "localhost":
        lines.insert(2, "  WARNING: the certificate names only localhost and 127.0.0.1.")
    out.write("\n".join(lines) + "\n")
    out.flush()
    logging.getLogger("vmsscli.endpoint").addHandler(logging.StreamHandler(sys.stderr))
    config = uvicorn.Config(
        app,
        ssl_certfile=str(files.certificate),
        ssl_keyfile=str(files.key),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    if ready is not None:
        ready(base_url)
    previous = _set_speed(session, speed)
    try:
        server.run(sockets=[sock])
    finally:
        # The file's speed as it was: the command line alone runs operations at their pace.
        _set_speed(session, previous)
        with contextlib.suppress(OSError, ValueError):
            if json.loads(endpoint_file().read_text()).get("pid") == os.getpid():
                endpoint_file().unlink()


def _set_speed(session, speed: float) -> float:
    """Set the clock's speed for the endpoint's lifetime; the speed it had before."""
    from vmsscli.errors import VmssError

    try:
        with session.write() as state:
            previous = state.clock.speed
            state.clock.speed = speed
        return previous
    except VmssError:
        return speed


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CLIError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)


# --- the real az against the endpoint ----------------------------------------------------------


def running_endpoint() -> dict[str, Any]:
    """The endpoint `vmss az` talks to: `$VMSSCLI_ENDPOINT` (a URL, with the CA of this
    config folder), else the one `vmss serve` last started."""
    url = os.environ.get("VMSSCLI_ENDPOINT")
    if url:
        return {"url": url.rstrip("/") + "/", "ca": str(endpoint_folder() / "ca.pem")}
    try:
        info = json.loads(endpoint_file().read_text())
    except (OSError, ValueError):
        raise CLIError(
            "No vmsscli endpoint is running. Start one with 'vmss serve' (in another "
            "terminal), or set VMSSCLI_ENDPOINT to its URL."
        ) from None
    return info


def az_executable() -> str:
    chosen = os.environ.get("VMSSCLI_AZ")
    found = chosen or shutil.which("az")
    if not found:
        raise CLIError(
            "The Azure CLI (az) was not found on PATH. Install it (pip install "
            "azure-cli==2.91.0) or set VMSSCLI_AZ to its path."
        )
    return found


def az_environment(info: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AZURE_CONFIG_DIR": str(config_folder() / "az"),
            "REQUESTS_CA_BUNDLE": info["ca"],
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_NO_COLOR": "true",
        }
    )
    return env


def prepare_az(az: str, info: dict[str, Any], env: dict[str, str]) -> None:
    """Register the endpoint as a cloud in the isolated config folder and log in there with a
    service principal, once per endpoint URL."""
    folder = Path(env["AZURE_CONFIG_DIR"])
    marker = folder / "vmsscli-endpoint.json"
    with contextlib.suppress(OSError, ValueError):
        if json.loads(marker.read_text()).get("url") == info["url"]:
            return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tenant = info.get("tenant")
    if not tenant:
        from vmsscli.arm.tokens import TENANT_ID

        tenant = TENANT_ID
    steps = [
        ["config", "set", "core.instance_discovery=false", "core.collect_telemetry=false"],
        ["cloud", "register", "-n", CLOUD, "--endpoint-resource-manager", info["url"]],
        ["cloud", "set", "-n", CLOUD],
        ["login", "--service-principal", "-u", APP_ID, "-p", APP_SECRET, "--tenant", tenant],
    ]
    for step in steps:
        done = subprocess.run(
            [az, *step, "--only-show-errors", "-o", "none"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise CLIError(
                f"Setting up az for the endpoint failed at 'az {' '.join(step[:2])}': "
                f"{(done.stderr or done.stdout).strip().splitlines()[-1:] or ['no output']}"
            )
    _write_json(marker, {"url": info["url"]})


def run_az(args: list[str]) -> int:
    info = running_endpoint()
    az = az_executable()
    env = az_environment(info)
    prepare_az(az, info, env)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(az, [az, *args], env)
    return 1  # pragma: no cover - execve does not return


# --- an endpoint in a child process -------------------------------------------------------------


class Launched:
    """A `vmss serve` started in a child process (for a rehearsal, or a test)."""

    def __init__(self, process: subprocess.Popen, url: str, ca: str, home: Path) -> None:
        self.process = process
        self.url = url
        self.ca = ca
        self.home = home

    def info(self) -> dict[str, Any]:
        return json.loads((self.home / "endpoint" / "endpoint.json").read_text())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def launch(
    state_path: Path,
    home: Path,
    *,
    speed: float = DEFAULT_SPEED,
    advance_on_poll: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Launched:
    """Start `vmss serve --port 0` on `state_path` with `home` as vmsscli's config folder, and
    return once it listens (its URL and CA read off its start-up text)."""
    import queue
    import threading
    import time

    child_env = {k: v for k, v in (env or os.environ).items() if k != "VMSSCLI_STATE"}
    child_env["VMSSCLI_HOME"] = str(home)
    process = subprocess.Popen(
        [sys.executable, "-m", "vmsscli", "serve", "--port", "0", "--state", str(state_path),
         "--speed", f"{speed:g}", *(["--advance-on-poll"] if advance_on_poll else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    url = ca = ""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (url and ca):
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if not line:
            break
        seen.append(line)
        if "URL:" in line:
            url = line.split("URL:", 1)[1].strip()
        elif "CA certificate:" in line:
            ca = line.split("CA certificate:", 1)[1].strip()
    if not (url and ca):
        process.kill()
        error = process.stderr.read() if process.stderr else ""
        raise CLIError(
            f"The endpoint did not start: {(''.join(seen) + error).strip() or 'no output'}"
        )
    return Launched(process, url, ca, home)
