"""`vmss get-os-upgrade-history`: the scale set's rolling upgrades, as Azure's OS upgrade history
lists them (newest first, the latest five of the last two months)."""

from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command
from vmsscli.cli.params import ResourceGroup

ScaleSetName = Annotated[
    str,
    typer.Option("-n", "--name", "--vm-scale-set-name", help="The name of the VM scale set."),
]


def register(app: typer.Typer) -> None:
    @command(
        app,
        "get-os-upgrade-history",
        examples=[
            (
                "How the last rolling upgrades of a scale set ended.",
                "vmss get-os-upgrade-history -g MyResourceGroup -n MyScaleSet --query "
                '"[].properties.{code: runningStatus.code, start: runningStatus.startTime}"',
            )
        ],
    )
    def get_os_upgrade_history(resource_group: ResourceGroup, name: ScaleSetName) -> None:
        """Get the OS upgrade history of a VM scale set.

        One entry per rolling upgrade (started by `rolling-upgrade start` or by a model change
        in Rolling mode): its running status, progress, target image, error and rollback counts.
        """
        from vmsscli.service.compute import os_upgrade_history

        state = context.read_state((resource_group, name))
        context.emit(os_upgrade_history(state, resource_group, name, context.now(state)))
