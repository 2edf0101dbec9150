"""`vmss nic ...`: the network interfaces of a scale set's instances, as `az vmss nic` prints
them (read-only: Azure manages a Uniform instance's NIC through the scale set model)."""

from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group
from vmsscli.cli.params import ResourceGroup

VmssName = Annotated[str, typer.Option("--vmss-name", help="Scale set name.")]
InstanceId = Annotated[
    str, typer.Option("--instance-id", "--virtualmachine-index", help="VM instance ID.")
]


def register(app: typer.Typer) -> None:
    group = new_group("Manage network interfaces of a VMSS.")
    app.add_typer(group, name="nic")

    @command(
        group,
        "list",
        examples=[
            (
                "The private address of every instance.",
                "vmss nic list -g MyResourceGroup --vmss-name MyScaleSet --query "
                '"[].{vm: virtualMachine.id, ip: ipConfigurations[0].privateIPAddress}"',
            )
        ],
    )
    def list_(resource_group: ResourceGroup, vmss_name: VmssName) -> None:
        """Retrieve all network interfaces in a virtual machine scale set."""
        from vmsscli.service.compute import nic_views

        state = context.read_state((resource_group, vmss_name))
        context.emit(nic_views(state, resource_group, vmss_name))

    @command(
        group,
        "list-vm-nics",
        examples=[
            (
                "The network interfaces of instance 0.",
                "vmss nic list-vm-nics -g MyResourceGroup --vmss-name MyScaleSet --instance-id 0",
            )
        ],
    )
    def list_vm_nics(
        resource_group: ResourceGroup, vmss_name: VmssName, instance_id: InstanceId
    ) -> None:
        """Get information about all network interfaces in a virtual machine in a scale set."""
        from vmsscli.service.compute import nic_views

        state = context.read_state((resource_group, vmss_name))
        context.emit(nic_views(state, resource_group, vmss_name, instance_id))

    @command(
        group,
        "show",
        examples=[
            (
                "Show the network interface of instance 0.",
                "vmss nic show -g MyResourceGroup --vmss-name MyScaleSet --instance-id 0 "
                "-n MyScaleSeNic",
            )
        ],
    )
    def show(
        resource_group: ResourceGroup,
        vmss_name: VmssName,
        instance_id: InstanceId,
        name: Annotated[str, typer.Option("--name", "-n", help="The network interface name.")],
    ) -> None:
        """Get the details of a network interface of a virtual machine in a scale set."""
        from vmsscli.service.compute import nic_view

        state = context.read_state((resource_group, vmss_name))
        context.emit(nic_view(state, resource_group, vmss_name, instance_id, name))
