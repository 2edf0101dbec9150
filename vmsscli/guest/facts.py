"""The simulated guest of one instance: what it looks like now, and how scripts change it.

What a guest holds comes in three layers: clean defaults derived from the instance (hostname,
OS, disks, memory, the usual services), what the image provides to every instance
(`model.guest`), and what differs on this instance (`instance.guest`, cleared by a reimage).
Faults show through: a stale process hangs the application and fills its journal, a full disk
fills `/`, an agent that is not ready shows as a failed `walinuxagent`, and a blocked host does
not answer. Changes a script makes (restarting a service, writing or removing a file) go into
`instance.guest`, so they are in the state file afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta

from vmsscli.guest.journal import stamp
from vmsscli.model import Guest, Instance, Mount, ScaleSet, Service

DEFAULT_APP_SERVICE = "app"
SERVICE_FIELDS = tuple(f.name for f in fields(Service))
# Memory of a few common sizes, in MB; others get 8 GB.
SKU_MEMORY_MB = {
    "standard_b1s": 1024,
    "standard_b2s": 4096,
    "standard_ds1_v2": 3584,
    "standard_d2s_v3": 8192,
    "standard_d2s_v5": 8192,
    "standard_d4s_v5": 16384,
    "standard_f4s_v2": 8192,
}


def app_service_name(scale_set: ScaleSet, inst: Instance) -> str:
    return inst.guest.app_service or scale_set.model.guest.app_service or DEFAULT_APP_SERVICE


def _effective(*layers: Service | None) -> Service:
    """A service with every field filled: each layer's given (not None) fields over the ones
    before, over the defaults (active, no description, ports or logs)."""
    merged = Service(status="active", description="", ports=[], logs=[])
    for layer in layers:
        if layer is None:
            continue
        for name in SERVICE_FIELDS:
            value = getattr(layer, name)
            if value is not None:
                setattr(merged, name, list(value) if isinstance(value, list) else value)
    return merged


def app_service_status(scale_set: ScaleSet, inst: Instance) -> str:
    """The status of the service that answers health probes (active unless changed)."""
    name = app_service_name(scale_set, inst)
    status = "active"
    for layer in (scale_set.model.guest, inst.guest):
        service = layer.services.get(name)
        if service is not None and service.status is not None:
            status = service.status
    return status


def health_endpoint(scale_set: ScaleSet) -> tuple[int, str]:
    """(port, path) the health extension or probe asks."""
    ext = scale_set.model.app_health_extension
    if ext is not None:
        return int(ext.settings.get("port", 80)), str(ext.settings.get("requestPath", "/"))
    return 80, "/health"


@dataclass
class GuestView:
    """The effective facts of one guest at one moment."""

    hostname: str
    os_name: str
    os_version: str
    os_type: str
    booted: datetime
    now: datetime
    memory_mb: int
    memory_used_mb: int
    app_service: str
    private_ip: str
    health_port: int
    health_path: str
    services: dict[str, Service] = field(default_factory=dict)
    mounts: dict[str, Mount] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    blocked_hosts: dict[str, str] = field(default_factory=dict)
    app_hung: bool = False
    # When the application stopped answering (a stale-process fault), else None.
    hung_since: datetime | None = None
    app_healthy: bool = True


def _default_services(view: GuestView, scale_set: ScaleSet) -> dict[str, Service]:
    host = view.hostname
    boot = view.booted
    app = view.app_service
    app_logs = [
        f"{stamp(boot + timedelta(seconds=14))} {host} systemd[1]: Started {app}.service "
        "- Application.",
        f"{stamp(boot + timedelta(seconds=15))} {host} {app}[812]: listening on "
        f"0.0.0.0:{view.health_port}",
    ]
    for minutes in (10, 5, 1):
        moment = view.now - timedelta(minutes=minutes)
        # A hung process answers no health check: its journal stops where it hung.
        if moment > boot and (view.hung_since is None or moment < view.hung_since):
            code = "200 1ms" if view.app_healthy else "503 2ms"
            app_logs.append(f"{stamp(moment)} {host} {app}[812]: GET {view.health_path} {code}")
    application = Service(description="Application", ports=[view.health_port], logs=app_logs)
    if view.os_type == "Windows":
        return {
            "WinRM": Service(description="Windows Remote Management (WS-Management)", ports=[5985]),
            "WindowsAzureGuestAgent": Service(description="Windows Azure Guest Agent"),
            "RdAgent": Service(description="RdAgent"),
            app: application,
        }
    return {
        "ssh": Service(
            description="OpenBSD Secure Shell server",
            ports=[22],
            logs=[
                f"{stamp(boot + timedelta(seconds=9))} {host} systemd[1]: Started ssh.service - "
                "OpenBSD Secure Shell server."
            ],
        ),
        "walinuxagent": Service(
            description="Azure Linux Agent",
            logs=[
                f"{stamp(boot + timedelta(seconds=11))} {host} python3[640]: INFO Daemon Azure "
                "Linux Agent Version: 2.12.0.2"
            ],
        ),
        app: application,
    }


def _default_files(view: GuestView) -> dict[str, str]:
    if view.os_type == "Windows":
        return {
            "C:/WindowsAzure/Logs/WaAppAgent.log": (
                f"[{view.booted.isoformat()}] WindowsAzureGuestAgent started.\n"
            ),
            "C:/Windows/System32/drivers/etc/hosts": "127.0.0.1 localhost\n",
        }
    return {
        "/etc/hostname": view.hostname + "\n",
        "/etc/os-release": (
            f'NAME="{view.os_name.capitalize()}"\nVERSION_ID='
            f'"{view.os_version}"\nID={view.os_name}\n'
        ),
        "/var/log/syslog": f"{stamp(view.booted)} {view.hostname} kernel: Linux version 6.5.0\n",
    }


def guest_view(scale_set: ScaleSet, name: str, inst: Instance, now: datetime) -> GuestView:
    from vmsscli.domain.health import app_health
    from vmsscli.views import computer_name, os_name_version

    model = scale_set.model
    layers: list[Guest] = [model.guest, inst.guest]
    hostname = next((g.hostname for g in reversed(layers) if g.hostname), "") or computer_name(
        scale_set, name, inst.id
    )
    os_name, os_version = os_name_version(scale_set)
    memory = next((g.memory_mb for g in reversed(layers) if g.memory_mb), 0) or SKU_MEMORY_MB.get(
        scale_set.vm_sku.lower(), 8192
    )
    used = next((g.memory_used_mb for g in reversed(layers) if g.memory_used_mb), 0) or int(
        memory * 0.31
    )
    port, path = health_endpoint(scale_set)
    assert inst.booted is not None
    view = GuestView(
        hostname=hostname,
        os_name=os_name,
        os_version=os_version,
        os_type=model.os_type,
        booted=inst.booted,
        now=now,
        memory_mb=memory,
        memory_used_mb=min(used, memory),
        app_service=app_service_name(scale_set, inst),
        private_ip=f"10.0.{inst.id // 250}.{inst.id % 250 + 4}",
        health_port=port,
        health_path=path,
    )
    view.app_healthy = app_health(scale_set, inst) == "healthy"
    if any(fault.kind == "stale-process" for fault in inst.faults):
        view.hung_since = max(inst.booted, now - timedelta(minutes=47))
    services = {key: _effective(s) for key, s in _default_services(view, scale_set).items()}
    mounts = {
        "/": Mount(size_gb=float(model.os_disk_size_gb), used_gb=6.2, device="/dev/sda1"),
        "/mnt": Mount(size_gb=16.0, used_gb=0.1, device="/dev/sdb1"),
    }
    files = _default_files(view)
    env = {
        "HOME": "/root",
        "USER": "root",
        "HOSTNAME": hostname,
        "SHELL": "/bin/bash",
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    }
    for layer in layers:
        for key, service in layer.services.items():
            services[key] = _effective(services.get(key), service)
        for key, mount in layer.mounts.items():
            mounts[key] = replace(mount)
        files.update(layer.files)
        for removed in layer.removed_files:
            files.pop(removed, None)
        env.update(layer.env)
    view.services, view.mounts, view.files, view.env = services, mounts, files, env
    for fault in inst.faults:
        if fault.kind == "network-blocked":
            view.blocked_hosts[fault.host or "*"] = fault.message
        elif fault.kind == "disk-full":
            root = view.mounts.setdefault("/", Mount())
            root.used_gb = root.size_gb
        elif fault.kind == "stale-process":
            view.app_hung = True
            service = view.services.setdefault(view.app_service, _effective())
            assert view.hung_since is not None
            service.logs = [
                *service.logs,
                f"{stamp(view.hung_since)} {hostname} {view.app_service}[812]: worker 3 "
                "stopped responding (heartbeat missed)",
                f"{stamp(now - timedelta(minutes=1))} {hostname} "
                f"{view.app_service}[812]: request queue full (1024 pending); "
                "health check timed out",
            ]
    _drain_queues(view, layers)
    if inst.vm_agent != "ready":
        agent = view.services[
            "walinuxagent" if model.os_type == "Linux" else "WindowsAzureGuestAgent"
        ]
        agent.status = "failed"
        agent.logs = [
            *agent.logs,
            f"{stamp(now)} {hostname} systemd[1]: walinuxagent.service: "
            "Failed with result 'exit-code'.",
        ]
    return view


def _drain_queues(view: GuestView, layers: list[Guest]) -> None:
    """A spool folder keeps its files only while its upstream host is unreachable (hidden
    files, such as a `.keep` that makes the folder exist, stay)."""
    for layer in layers:
        for folder, host in layer.queues.items():
            if host in view.blocked_hosts or "*" in view.blocked_hosts:
                continue
            prefix = folder.rstrip("/") + "/"
            for path in [p for p in view.files if p.startswith(prefix)]:
                if not path.rsplit("/", 1)[-1].startswith("."):
                    del view.files[path]


class GuestChanges:
    """Writes a script makes, recorded on the instance (never on the host)."""

    def __init__(self, scale_set: ScaleSet, inst: Instance) -> None:
        self.scale_set = scale_set
        self.inst = inst

    def set_service(self, name: str, status: str) -> None:
        service = self.inst.guest.services.get(name)
        if service is None:
            service = Service()
            self.inst.guest.services[name] = service
        service.status = status  # type: ignore[assignment]
        if name == app_service_name(self.scale_set, self.inst) and status == "active":
            # Restarting the application clears a hung process.
            self.inst.faults = [f for f in self.inst.faults if f.kind != "stale-process"]
            self.inst.health = "healthy"

    def app_healthy(self) -> bool:
        from vmsscli.domain.health import app_health

        return app_health(self.scale_set, self.inst) == "healthy"

    def write_file(self, path: str, content: str) -> None:
        self.inst.guest.files[path] = content
        if path in self.inst.guest.removed_files:
            self.inst.guest.removed_files.remove(path)

    def remove_file(self, path: str) -> None:
        self.inst.guest.files.pop(path, None)
        if path not in self.inst.guest.removed_files:
            self.inst.guest.removed_files.append(path)
