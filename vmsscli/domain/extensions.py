"""Extensions of the scale set model (`az vmss extension`), and what they do on an instance.

Setting or deleting an extension is a change of the model like any other: it goes through
`model_update.update`, so the upgrade policy decides when instances get it (Manual: they fall
behind; Automatic: at once; Rolling: a rolling upgrade). When an instance gets the model (a
create, reimage or upgrade), a custom-script extension's `commandToExecute` runs on its
simulated guest; a non-zero exit is the extension's failure on that instance, as Azure reports
it, and with it the instance's health.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from vmsscli.domain.fleet import find_scale_set
from vmsscli.errors import CLIError
from vmsscli.model import Extension, ExtensionState, Instance, ScaleSet, State
from vmsscli.resource_ids import name_uuid

_FORCE_NAMESPACE = bytes.fromhex("3b9e1c5a7d2f4e6b8a0c1d2e3f405162")

# The extension handlers the twin knows, with the latest major.minor of each: what az picks when
# --version is not given (it asks the extension image catalogue, which the endpoint serves).
CATALOGUE: tuple[tuple[str, str, str], ...] = (
    ("Microsoft.Azure.Extensions", "CustomScript", "2.1"),
    ("Microsoft.Compute", "CustomScriptExtension", "1.10"),
    ("Microsoft.ManagedServices", "ApplicationHealthLinux", "2.0"),
    ("Microsoft.ManagedServices", "ApplicationHealthWindows", "2.0"),
    ("Microsoft.OSTCExtensions", "VMAccessForLinux", "1.5"),
    ("Microsoft.Compute", "VMAccessAgent", "2.4"),
    ("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent", "1.33"),
    ("Microsoft.Azure.Monitor", "AzureMonitorWindowsAgent", "1.30"),
    ("Microsoft.Azure.NetworkWatcher", "NetworkWatcherAgentLinux", "1.4"),
    ("Microsoft.Azure.NetworkWatcher", "NetworkWatcherAgentWindows", "1.4"),
    ("Microsoft.Azure.Security", "AzureDiskEncryptionForLinux", "1.4"),
    ("Microsoft.Azure.Security", "AzureDiskEncryption", "2.4"),
    ("Microsoft.Azure.ActiveDirectory", "AADSSHLoginForLinux", "1.0"),
    ("Microsoft.Azure.Diagnostics", "LinuxDiagnostic", "4.0"),
    ("Microsoft.GuestConfiguration", "ConfigurationforLinux", "1.26"),
    ("Microsoft.Azure.KeyVault", "KeyVaultForLinux", "3.0"),
    ("Microsoft.CPlat.Core", "RunCommandLinux", "1.0"),
)
LATEST = {(pub.casefold(), kind.casefold()): version for pub, kind, version in CATALOGUE}
# Extensions az 2.91 enables automatic upgrade for when --enable-auto-upgrade is not given.
AUTO_UPGRADED = ("codeintegrityagent",)
# The custom-script handlers whose `commandToExecute` the simulated guest runs.
CUSTOM_SCRIPT = {("microsoft.azure.extensions", "customscript"), ("microsoft.compute",
                 "customscriptextension")}  # fmt: skip
UNKNOWN_COMMAND = 127


@dataclass
class ExtensionSpec:
    """What `vmss extension set` asks for, in az 2.91's terms."""

    name: str  # the handler's type, e.g. CustomScript
    publisher: str
    version: str | None = None
    settings: dict[str, Any] | None = None
    protected_settings: dict[str, Any] | None = None
    no_auto_upgrade_minor_version: bool = False
    force_update: bool = False
    instance_name: str | None = None
    provision_after: list[str] = field(default_factory=list)
    enable_auto_upgrade: bool | None = None


def printed(extensions: list[Extension]) -> dict[str, Any]:
    """The document a model update takes for this extension list."""
    from vmsscli.views import extension_model

    return {"virtualMachineProfile": {"extensionProfile": {"extensions": [
        extension_model(e) for e in extensions]}}}  # fmt: skip


def latest_version(publisher: str, type_name: str) -> str:
    found = LATEST.get((publisher.casefold(), type_name.casefold()))
    if found is None:
        raise CLIError(f'Failed to find the latest version for the extension "{type_name}"')
    return found


def with_extension(scale_set: ScaleSet, spec: ExtensionSpec) -> list[Extension]:
    """The model's extensions with `spec` set, as az 2.91 builds them: an extension of the same
    handler (publisher and type) is replaced, the new one goes last."""
    version = spec.version or latest_version(spec.publisher, spec.name)
    version = ".".join(version.split(".")[:2])  # az sends only major.minor
    enable = spec.enable_auto_upgrade
    if enable is None and spec.name.casefold() in AUTO_UPGRADED:
        enable = True
    kept = [
        e
        for e in scale_set.model.extensions
        if e.type.casefold() != spec.name.casefold()
        or e.publisher.casefold() != spec.publisher.casefold()
    ]
    new = Extension(
        name=spec.instance_name or spec.name,
        publisher=spec.publisher,
        type=spec.name,
        type_handler_version=version,
        auto_upgrade_minor_version=not spec.no_auto_upgrade_minor_version,
        settings=dict(spec.settings or {}),
        enable_automatic_upgrade=enable,
        # az sends a new GUID; derived here, so the same state and request give the same one.
        force_update_tag=name_uuid(
            _FORCE_NAMESPACE, f"{scale_set.model.version}|{spec.publisher}|{spec.name}"
        )
        if spec.force_update
        else "",
        provision_after_extensions=list(spec.provision_after),
    )
    return [*kept, new]


def without_extension(scale_set: ScaleSet, name: str) -> list[Extension]:
    """The model's extensions without the one named `name` (az 2.91's errors otherwise)."""
    if not scale_set.model.extensions:
        raise CLIError("Scale set has no extensions to delete")
    kept = [e for e in scale_set.model.extensions if e.name != name]
    if len(kept) == len(scale_set.model.extensions):
        raise CLIError(f"Extension {name} not found")
    return kept


def upgraded(scale_set: ScaleSet) -> list[Extension]:
    """The model's extensions at the latest versions the catalogue knows, for those that allow
    the platform to upgrade them (enableAutomaticUpgrade)."""
    out = []
    for ext in scale_set.model.extensions:
        latest = LATEST.get((ext.publisher.casefold(), ext.type.casefold()))
        if ext.enable_automatic_upgrade and latest and latest != ext.type_handler_version:
            ext = replace(ext, type_handler_version=latest)
        out.append(ext)
    return out


def set_extensions(
    state: State,
    rg: str,
    name: str,
    change: str,
    now: datetime,
    *,
    spec: ExtensionSpec | None = None,
    command: str = "",
):
    """Set (`change="set"`, with `spec`), delete (`change="delete:NAME"`) or upgrade
    (`change="upgrade"`) the model's extensions: one model update."""
    from vmsscli.domain.model_update import Edits, update

    _, _, scale_set = find_scale_set(state, rg, name)
    if change == "set":
        assert spec is not None
        extensions = with_extension(scale_set, spec)
    elif change.startswith("delete:"):
        extensions = without_extension(scale_set, change.removeprefix("delete:"))
    else:
        extensions = upgraded(scale_set)
    document = printed(extensions)
    if spec is not None and spec.protected_settings is not None:
        # Sent as a PUT sends them: the model keeps only their digest, never prints them.
        items = document["virtualMachineProfile"]["extensionProfile"]["extensions"]
        items[-1]["protectedSettings"] = spec.protected_settings
    return update(state, rg, name, Edits(), now, command=command, document=document)


# --- on an instance ---------------------------------------------------------------------------


def run_commands(scale_set: ScaleSet, name: str, inst: Instance, when: datetime) -> None:
    """Run each custom-script extension's `commandToExecute` on the instance's guest, in the
    model's order (after those it must be provisioned after): its exit status is the
    extension's state there. A command the simulated guest does not know (exit 127: a script
    of the image, say) is taken to succeed, as it would on the image it was written for."""
    for ext in _in_provisioning_order(scale_set.model.extensions):
        if (ext.publisher.casefold(), ext.type.casefold()) not in CUSTOM_SCRIPT:
            continue
        script = ext.settings.get("commandToExecute")
        if not isinstance(script, str) or not script.strip():
            continue
        digest = _configuration(ext)
        known = inst.extensions.get(ext.name)
        if known is not None and known.status == "failed" and known.applied in ("", digest):
            continue  # a fault that blocks it, or the very configuration that failed
        from vmsscli.guest.runner import execute

        command_id = (
            "RunShellScript" if scale_set.model.os_type == "Linux" else "RunPowerShellScript"
        )
        result = execute(scale_set, name, inst, when, command_id, script, [])
        if result.exit_code in (0, UNKNOWN_COMMAND):
            inst.extensions.pop(ext.name, None)
            continue
        inst.extensions[ext.name] = ExtensionState(
            status="failed",
            message=(
                "Enable failed: failed to execute command: command terminated with exit "
                f"status={result.exit_code}\n[stdout]\n{result.stdout[-1024:]}\n[stderr]\n"
                f"{result.stderr[-1024:]}"
            ),
            applied=digest,
        )


def _configuration(ext: Extension) -> str:
    import hashlib
    import json

    text = json.dumps(
        [ext.type_handler_version, ext.settings, ext.protected_settings_digest,
         ext.force_update_tag], sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _in_provisioning_order(extensions: list[Extension]) -> list[Extension]:
    done: list[Extension] = []
    waiting = list(extensions)
    while waiting:
        ready = [
            e
            for e in waiting
            if all(
                a in {d.name for d in done} or a not in {w.name for w in waiting}
                for a in e.provision_after_extensions
            )
        ]
        ready = ready or waiting[:1]  # a cycle: in the model's order
        done += ready
        waiting = [e for e in waiting if e not in ready]
    return done
