"""`vmss list-skus`, `vmss perform-maintenance` and `vmss simulate-eviction`: the sizes a scale
set can be resized to, customer-initiated platform maintenance, and Spot eviction, with az
2.91's arguments, output and errors (docs/semantics.md, "Maintenance, eviction and sizes")."""

from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command
from vmsscli.cli.params import Ids, NoWaitBool, OptResourceGroup, ResourceGroup, targets
from vmsscli.errors import CLIError

NAME_HELP = "The name of the VM scale set."
ScaleSetName = Annotated[str, typer.Option("-n", "--name", "--vm-scale-set-name", help=NAME_HELP)]
OptScaleSetName = Annotated[
    str | None, typer.Option("-n", "--name", "--vm-scale-set-name", help=NAME_HELP)
]
MAINTENANCE_IDS_HELP = (
    "The virtual machine scale set instance ids. Omitting the virtual machine scale set "
    "instance ids will result in the operation being performed on all virtual machines in the "
    "virtual machine scale set."
)


def register(app: typer.Typer) -> None:
    @command(
        app,
        "list-skus",
        examples=[
            (
                "List the sizes a scale set can be resized to.",
                "vmss list-skus -g MyResourceGroup -n MyScaleSet --query '[].sku.name' -o tsv",
            )
        ],
    )
    def list_skus(resource_group: ResourceGroup, name: ScaleSetName) -> None:
        """List SKUs available for your VM scale set, including the minimum and maximum VM
        instances allowed for each SKU.

        The sizes come from a catalogue of Azure sizes (B, Dsv5, Dv5, Dsv3, DSv2, Fsv2, Esv5,
        Av2), narrowed to those the model can run on: premium storage for a Premium_LRS OS
        disk, and the image's VM generation.
        """
        from vmsscli.service.maintenance import sku_views

        state = context.read_state((resource_group, name))
        context.emit(sku_views(state, resource_group, name))

    @command(
        app,
        "perform-maintenance",
        what_if=True,
        examples=[
            (
                "Start the pending maintenance of two instances.",
                "vmss perform-maintenance -g MyResourceGroup -n MyScaleSet --instance-ids 1 3",
            ),
            (
                "Start the pending maintenance of every instance that has some, without waiting.",
                "vmss perform-maintenance -g MyResourceGroup -n MyScaleSet --no-wait",
            ),
        ],
        optional_value=("no_wait",),
    )
    def perform_maintenance(
        resource_group: OptResourceGroup = None,
        name: OptScaleSetName = None,
        ids: Ids = None,
        instance_ids: Annotated[
            list[str] | None, typer.Option("--instance-ids", help=MAINTENANCE_IDS_HELP)
        ] = None,
        no_wait: NoWaitBool = None,
    ) -> None:
        """Perform maintenance on one or more virtual machines in a VM scale set.

        Operation on instances which are not eligible for perform maintenance will be failed:
        an instance is eligible while its platform maintenance is pending (its instance view's
        maintenanceRedeployStatus allows customer-initiated maintenance). Each instance
        reboots and is running again, its maintenance completed. Without ids, every running
        instance with pending maintenance, skipping those protected from scale-set actions.
        """
        from vmsscli.cli.commands.actions import aaz_list, aaz_target
        from vmsscli.service.maintenance import perform_maintenance as perform

        rg, vmss_name = aaz_target(resource_group, name, ids)
        perform(context.session(), rg, vmss_name, aaz_list(instance_ids), wait=not no_wait)

    @command(
        app,
        "simulate-eviction",
        what_if=True,
        examples=[
            (
                "Simulate the eviction of a Spot virtual machine in a VM scale set.",
                "vmss simulate-eviction --resource-group MyResourceGroup --name MyScaleSet "
                "--instance-id 0",
            )
        ],
    )
    def simulate_eviction(
        resource_group: OptResourceGroup = None,
        name: OptScaleSetName = None,
        instance_id: Annotated[
            str | None,
            typer.Option("--instance-id", help="The instance ID of the virtual machine."),
        ] = None,
        ids: Ids = None,
    ) -> None:
        """Simulate the eviction of a Spot virtual machine in a VM scale set.

        Only Spot instances can be evicted; the twin's scale sets are Regular priority, so the
        request is refused as Azure refuses it for a Regular VM (OperationNotAllowed).
        """
        from vmsscli.service.maintenance import simulate_eviction as evict

        if not ids:
            for flag, given in (
                ("--instance-id", instance_id),
                ("--resource-group", resource_group),
                ("-n", name),
            ):
                if given is None:
                    raise CLIError(f"InvalidArgumentValue: Missing required field: {flag}")
        chosen = targets(
            resource_group, name, ids, instance_id=instance_id, need_instance=bool(ids)
        )
        for rg, vmss_name, vm in chosen:
            assert vm is not None
            evict(context.session(), rg, vmss_name, vm)
