"""`vmss extension ...`: the extensions of the scale set model, as `az vmss extension` manages
them. A set or delete changes the model, and the upgrade policy decides when instances get it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group
from vmsscli.cli.params import (
    Ids,
    NoWaitBool,
    NoWaitFlag,
    OptName,
    OptResourceGroup,
    ResourceGroup,
    targets,
    three_state,
)
from vmsscli.errors import CLIError

VmssName = Annotated[str, typer.Option("--vmss-name", help="Scale set name.")]
ExtensionName = Annotated[str, typer.Option("--name", "-n", help="Name of the extension.")]
JSON_HINT = "Please provide a valid JSON file path or JSON string."


def file_or_dict(text: str | None, flag: str) -> Any:
    """az's `validate_file_or_dict`: a JSON file's content, or in-line JSON."""
    import json

    if text is None:
        return None
    path = Path(text).expanduser()
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise CLIError(f"Failed to parse file '{text}' as JSON for {flag}: {exc}.") from None
    if text.endswith(".json"):
        raise CLIError(f"JSON file does not exist: '{text}'. {JSON_HINT}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CLIError(
            f"Failed to parse string as JSON: {text} (Error detail: {exc}). {JSON_HINT}"
        ) from None


def _bool(flag: str, text: str) -> Any:
    return Annotated[
        str | None,
        typer.Option(flag, help=text + " Allowed values: false, true.", callback=three_state),
    ]


def register(app: typer.Typer) -> None:
    group = new_group("Manage extensions on a VM scale set.")
    app.add_typer(group, name="extension")

    @command(
        group,
        "list",
        examples=[
            (
                "List the extensions of a scale set's model.",
                "vmss extension list -g MyResourceGroup --vmss-name MyScaleSet",
            )
        ],
    )
    def list_(resource_group: ResourceGroup, vmss_name: VmssName) -> None:
        """List extensions associated with a VMSS."""
        from vmsscli.service.compute import extension_views

        state = context.read_state((resource_group, vmss_name))
        context.emit(extension_views(state, resource_group, vmss_name) or None)

    @command(
        group,
        "show",
        examples=[
            (
                "Show the custom script extension of a scale set.",
                "vmss extension show -g MyResourceGroup --vmss-name MyScaleSet -n CustomScript",
            )
        ],
    )
    def show(resource_group: ResourceGroup, vmss_name: VmssName, name: ExtensionName) -> None:
        """Show details on a VMSS extension (nothing when the model has no such extension)."""
        from vmsscli.service.compute import extension_views

        state = context.read_state((resource_group, vmss_name))
        found = [e for e in extension_views(state, resource_group, vmss_name) if e["name"] == name]
        context.emit(found[0] if found else None)

    @command(
        group,
        "set",
        examples=[
            (
                "Run a script on every instance as it gets the model.",
                "vmss extension set -g MyResourceGroup --vmss-name MyScaleSet -n CustomScript "
                "--publisher Microsoft.Azure.Extensions --version 2.1 "
                '--settings \'{"commandToExecute": "systemctl restart app"}\'',
            ),
            (
                "Add an extension and let the platform upgrade it.",
                "vmss extension set -n AzureMonitorLinuxAgent --publisher "
                "Microsoft.Azure.Monitor --vmss-name MyScaleSet -g MyResourceGroup "
                "--enable-auto-upgrade true",
            ),
        ],
        optional_value=("no_auto_upgrade", "no_auto_upgrade_minor_version", "enable_auto_upgrade"),
    )
    def set_(
        resource_group: ResourceGroup,
        vmss_name: VmssName,
        name: ExtensionName,
        publisher: Annotated[
            str, typer.Option("--publisher", help="The name of the extension publisher.")
        ],
        version: Annotated[
            str | None,
            typer.Option(
                "--version",
                help="The version of the extension. To pin extension version to this value, "
                "please specify --no-auto-upgrade-minor-version.",
            ),
        ] = None,
        settings: Annotated[
            str | None,
            typer.Option(
                "--settings",
                help="Extension settings in JSON format. A JSON file path is also accepted.",
            ),
        ] = None,
        protected_settings: Annotated[
            str | None,
            typer.Option(
                "--protected-settings",
                help="Protected settings in JSON format for sensitive information like "
                "credentials. A JSON file path is also accepted.",
            ),
        ] = None,
        no_auto_upgrade: _bool(
            "--no-auto-upgrade",
            "(Deprecated: use --no-auto-upgrade-minor-version) If set, the extension service "
            "will not automatically pick or upgrade to the latest minor version.",
        ) = None,
        no_auto_upgrade_minor_version: _bool(
            "--no-auto-upgrade-minor-version",
            "If set, the extension service will not automatically pick or upgrade to the "
            "latest minor version, even if the extension is redeployed.",
        ) = None,
        force_update: Annotated[
            bool,
            typer.Option(
                "--force-update",
                help="Force to update even if the extension configuration has not changed.",
            ),
        ] = False,
        extension_instance_name: Annotated[
            str | None,
            typer.Option(
                "--extension-instance-name",
                help="Name of extension instance, which can be customized. Default: name of "
                "the extension.",
            ),
        ] = None,
        provision_after_extensions: Annotated[
            list[str] | None,
            typer.Option(
                "--provision-after-extensions",
                help="Space-separated list of extension names after which this extension "
                "should be provisioned. These extensions must already be set on the vm.",
            ),
        ] = None,
        enable_auto_upgrade: _bool(
            "--enable-auto-upgrade",
            "Indicate the extension should be automatically upgraded by the platform if there "
            "is a newer version of the extension available.",
        ) = None,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Add an extension to a VMSS or update an existing extension.

        The change is one of the scale set model: Manual instances fall behind until they are
        upgraded, Automatic ones get it at once, Rolling ones in a rolling upgrade. A
        custom-script extension's commandToExecute runs on each instance's simulated guest as
        it gets the model; a non-zero exit fails the extension there (and its health).
        """
        from vmsscli.domain.extensions import ExtensionSpec
        from vmsscli.service.compute import change_extensions

        if no_auto_upgrade is not None:
            context.warn(
                "Option '--no-auto-upgrade' has been deprecated and will be removed in a future "
                "release. Use '--no-auto-upgrade-minor-version' instead."
            )
        parsed_settings = file_or_dict(settings, "--settings")
        parsed_protected = file_or_dict(protected_settings, "--protected-settings")
        for flag, value in (("--settings", parsed_settings),
                            ("--protected-settings", parsed_protected)):  # fmt: skip
            if value is not None and not isinstance(value, dict):
                raise CLIError(f"{flag} must be a JSON object, not {type(value).__name__}.")
        spec = ExtensionSpec(
            name=name,
            publisher=publisher,
            version=version,
            settings=parsed_settings,
            protected_settings=parsed_protected,
            no_auto_upgrade_minor_version=bool(no_auto_upgrade or no_auto_upgrade_minor_version),
            force_update=force_update,
            instance_name=extension_instance_name,
            provision_after=list(provision_after_extensions or []),
            enable_auto_upgrade=enable_auto_upgrade,
        )
        done = change_extensions(
            context.session(), resource_group, vmss_name, "set", spec=spec, wait=not no_wait
        )
        if not no_wait:
            context.emit(done.result)

    @command(
        group,
        "delete",
        examples=[
            (
                "Remove an extension from the model.",
                "vmss extension delete -g MyResourceGroup --vmss-name MyScaleSet -n CustomScript",
            )
        ],
    )
    def delete(
        resource_group: ResourceGroup,
        vmss_name: VmssName,
        name: ExtensionName,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Delete an extension from a VMSS."""
        from vmsscli.service.compute import change_extensions

        done = change_extensions(
            context.session(), resource_group, vmss_name, f"delete:{name}", wait=not no_wait
        )
        if not no_wait:
            context.emit(done.result)

    @command(
        group,
        "upgrade",
        examples=[
            (
                "Upgrade the extensions that allow it to their latest versions.",
                "vmss extension upgrade -g MyResourceGroup -n MyScaleSet",
            )
        ],
        optional_value=("no_wait",),
    )
    def upgrade(
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        ids: Ids = None,
        no_wait: NoWaitBool = None,
    ) -> None:
        """Upgrade all extensions for all VMSS instances to the latest version.

        Extensions with enableAutomaticUpgrade move to the latest version the catalogue knows;
        the new model reaches instances as the upgrade policy says.
        """
        from vmsscli.service.compute import change_extensions

        for rg, vmss, _ in targets(resource_group, name, ids):
            change_extensions(context.session(), rg, vmss, "upgrade", wait=not no_wait)
