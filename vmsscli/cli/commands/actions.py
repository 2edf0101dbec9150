"""Instance actions: start, stop, restart, deallocate, reimage, delete-instances,
update-instances, scale, and the instance-level `update` (protection)."""

import json
from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command
from vmsscli.cli.params import (
    Ids,
    Name,
    NoWaitBool,
    NoWaitFlag,
    OptName,
    OptResourceGroup,
    ResourceGroup,
    integer,
    targets,
    three_state,
)
from vmsscli.errors import CLIError

IDS_HELP = (
    "Space-separated list of IDs (ex: 1 2 3 ...) or * for all instances. If not "
    "provided, the action will be applied on the scaleset itself."
)
REQUIRED_IDS_HELP = "Space-separated list of IDs (ex: 1 2 3 ...) or * for all instances."

InstanceIds = Annotated[list[str] | None, typer.Option("--instance-ids", help=IDS_HELP)]
RequiredInstanceIds = Annotated[list[str], typer.Option("--instance-ids", help=REQUIRED_IDS_HELP)]
STOP_WARNING = (
    "About to power off the VMSS instances...\nThey will continue to be billed. To "
    "deallocate VMSS instances, run: az vmss deallocate."
)


def aaz_list(values: list[str] | None) -> list[str] | None:
    """az's generated commands also take one JSON/shorthand list: `--instance-ids "[0,1]"`."""
    if values and len(values) == 1 and values[0].strip().startswith("["):
        text = values[0].strip()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = [part.strip() for part in text[1:-1].split(",") if part.strip()]
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
    return values


def aaz_target(rg: str | None, name: str | None, ids: list[str] | None) -> tuple[str, str]:
    """-g/-n or --ids (the scale set part only), with az's generated-command messages."""
    if not ids:
        if rg is None:
            raise CLIError("InvalidArgumentValue: Missing required field: --resource-group")
        if name is None:
            raise CLIError("InvalidArgumentValue: Missing required field: -n")
    chosen = targets(rg, name, ids)
    if len(chosen) > 1:
        raise CLIError("usage error: give one scale set per command")
    return chosen[0][0], chosen[0][1]


def act(rg: str, name: str, action: str, ids: list[str] | None, no_wait: bool) -> None:
    """Run an action; without --no-wait return when it has completed."""
    from vmsscli.service.compute import run_action

    run_action(context.session(), rg, name, action, ids, wait=not no_wait)


def register(app: typer.Typer) -> None:  # noqa: C901 - one place that lists the commands
    @command(
        app,
        "restart",
        what_if=True,
        examples=[
            ("Restart all VMs in a VMSS.", "vmss restart -g MyResourceGroup -n MyScaleSet"),
            (
                "Restart one instance.",
                "vmss restart -g MyResourceGroup -n MyScaleSet --instance-ids 18",
            ),
        ],
    )
    def restart(
        resource_group: ResourceGroup,
        name: Name,
        instance_ids: InstanceIds = None,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Restart VMs within a VMSS.

        Instances protected from scale-set actions are skipped when no ids (or *) are given;
        instances named explicitly are restarted even when protected.
        """
        act(resource_group, name, "restart", instance_ids, no_wait)

    @command(
        app,
        "start",
        what_if=True,
        examples=[
            ("Start all instances of a scale set.", "vmss start -g MyResourceGroup -n MyScaleSet"),
            (
                "Start two instances.",
                "vmss start -g MyResourceGroup -n MyScaleSet --instance-ids 1 3",
            ),
        ],
        optional_value=("no_wait",),
    )
    def start(
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        ids: Ids = None,
        instance_ids: InstanceIds = None,
        no_wait: NoWaitBool = None,
    ) -> None:
        """Start VMs within a VMSS."""
        rg, vmss_name = aaz_target(resource_group, name, ids)
        act(rg, vmss_name, "start", aaz_list(instance_ids), bool(no_wait))

    @command(
        app,
        "stop",
        what_if=True,
        examples=[
            ("Power off all VMs in a VMSS.", "vmss stop -g MyResourceGroup -n MyScaleSet"),
            (
                "Power off one instance without shutting the OS down.",
                "vmss stop -g MyResourceGroup -n MyScaleSet --instance-ids 2 --skip-shutdown",
            ),
        ],
    )
    def stop(
        resource_group: ResourceGroup,
        name: Name,
        instance_ids: InstanceIds = None,
        skip_shutdown: Annotated[
            bool, typer.Option("--skip-shutdown", help="Skip shutdown and power off immediately.")
        ] = False,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Power off (stop) VMs within a VMSS.

        The VMs continue to be billed. To avoid this, you can deallocate VM instances within a
        VMSS through "vmss deallocate".
        """
        context.warn(STOP_WARNING)
        act(resource_group, name, "stop", instance_ids, no_wait)

    @command(
        app,
        "deallocate",
        what_if=True,
        examples=[
            ("Deallocate all VMs in a VMSS.", "vmss deallocate -g MyResourceGroup -n MyScaleSet"),
            (
                "Deallocate one instance.",
                "vmss deallocate -g MyResourceGroup -n MyScaleSet --instance-ids 4",
            ),
        ],
        optional_value=("hibernate",),
    )
    def deallocate(
        resource_group: ResourceGroup,
        name: Name,
        instance_ids: InstanceIds = None,
        hibernate: Annotated[
            str | None,
            typer.Option(
                "--hibernate",
                help="Hibernate a virtual machine from the VM scale set. "
                "Available for VMSS with Flexible OrchestrationMode only.",
                callback=three_state,
            ),
        ] = None,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Deallocate VMs within a VMSS."""
        if hibernate:
            raise CLIError(
                "usage error: --hibernate is available for VMSS with Flexible "
                "OrchestrationMode only, and is not simulated."
            )
        act(resource_group, name, "deallocate", instance_ids, no_wait)

    @command(
        app,
        "reimage",
        what_if=True,
        examples=[
            (
                "Reimage all instances of a scale set.",
                "vmss reimage -g MyResourceGroup -n MyScaleSet",
            ),
            (
                "Reimage one instance.",
                "vmss reimage -g MyResourceGroup -n MyScaleSet --instance-ids 18",
            ),
        ],
        optional_value=("force_update_os_disk_for_ephemeral",),
    )
    def reimage(
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        ids: Ids = None,
        instance_ids: InstanceIds = None,
        instance_id: Annotated[
            list[str] | None,
            typer.Option("--instance-id", hidden=True, help="Deprecated: use --instance-ids."),
        ] = None,
        force_update_os_disk_for_ephemeral: Annotated[
            str | None,
            typer.Option(
                "--force-update-os-disk-for-ephemeral",
                "--update-os-disk",
                help="Force update ephemeral OS disk for a reimage request; only used "
                "when no instance ids are given.",
                callback=three_state,
            ),
        ] = None,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Reimage VMs within a VMSS: a fresh OS disk from the current model.

        Guest-level faults and local data are gone and extensions run again; faults outside
        the guest (a blocked network path) stay. As in az, --ids names the scale set: an
        instance part of an id is ignored and the whole set is reimaged.
        """
        if instance_id:
            context.warn(
                "Option '--instance-id' has been deprecated and will be removed in "
                "a future release. Use '--instance-ids' instead."
            )
            instance_ids = [*(instance_ids or []), *instance_id]
        chosen = targets(resource_group, name, ids)
        for rg, vmss_name, _ in chosen:
            act(rg, vmss_name, "reimage", instance_ids, no_wait)

    @command(
        app,
        "delete-instances",
        what_if=True,
        examples=[
            (
                "Delete VMs within a VMSS.",
                "vmss delete-instances --instance-ids 0 --name MyScaleSet --resource-group "
                "MyResourceGroup",
            ),
        ],
        optional_value=("no_wait",),
    )
    def delete_instances(
        instance_ids: RequiredInstanceIds,
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        ids: Ids = None,
        no_wait: NoWaitBool = None,
    ) -> None:
        """Delete VMs within a VMSS. The capacity goes down by the number deleted.

        Instances named explicitly are deleted even when protected; * deletes every instance
        not protected from scale-set actions (the scale set remains).
        """
        rg, vmss_name = aaz_target(resource_group, name, ids)
        act(rg, vmss_name, "delete", aaz_list(instance_ids), bool(no_wait))

    @command(
        app,
        "update-instances",
        what_if=True,
        examples=[
            (
                "Upgrade an instance to the latest scale set model.",
                "vmss update-instances -g MyResourceGroup -n MyScaleSet --instance-ids 12",
            ),
            (
                "Upgrade all instances.",
                "vmss update-instances -g MyResourceGroup -n MyScaleSet --instance-ids '*'",
            ),
        ],
    )
    def update_instances(
        resource_group: ResourceGroup,
        name: Name,
        instance_ids: RequiredInstanceIds,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Upgrade VMs within a VMSS to the latest scale set model."""
        act(resource_group, name, "upgrade", instance_ids, no_wait)

    @command(
        app,
        "scale",
        what_if=True,
        examples=[
            (
                "Change the number of VMs within a VMSS.",
                "vmss scale -g MyResourceGroup -n MyScaleSet --new-capacity 6",
            ),
        ],
    )
    def scale(
        new_capacity: Annotated[
            str, typer.Option("--new-capacity", help="Number of VMs in the VMSS.", callback=integer)
        ],
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        ids: Ids = None,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Change the number of VMs within a VMSS.

        Scale-out adds instances with new ids on the current model, spread over zones and fault
        domains. Scale-in removes instances in Azure's default order (balance zones, then fault
        domains, then the highest id) and never removes a protected instance.
        """
        from vmsscli.service.compute import scale as scale_to

        for rg, vmss_name, _ in targets(resource_group, name, ids):
            done = scale_to(
                context.session(),
                rg,
                vmss_name,
                new_capacity,  # type: ignore[arg-type]
                wait=not no_wait,
            )
            if not no_wait:
                context.emit(done.result)
