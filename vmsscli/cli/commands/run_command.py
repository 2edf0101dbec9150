"""`vmss run-command invoke|list|show|list-ids`: diagnostics on one instance's simulated guest."""

from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group
from vmsscli.cli.params import Ids, OptResourceGroup, ResourceGroup, targets
from vmsscli.errors import CLIError

VmssName = Annotated[str, typer.Option("--vmss-name", help="The name of the VM scale set.")]
InstanceId = Annotated[str, typer.Option("--instance-id", help="The instance ID of the VM.")]


def register(app: typer.Typer) -> None:
    group = new_group(
        "Manage run commands on a Virtual Machine Scale Set instance (answered "
        "by a simulated guest; nothing runs on this machine)."
    )
    app.add_typer(group, name="run-command")

    @command(
        group,
        "invoke",
        what_if=True,
        examples=[
            (
                "Read the last 20 journal lines of a service on instance 18.",
                "vmss run-command invoke -g MyResourceGroup -n MyScaleSet --instance-id 18 "
                '--command-id RunShellScript --scripts "journalctl -u app -n 20"',
            ),
            (
                "Check the health endpoint and the disk, reading only the output.",
                "vmss run-command invoke -g MyResourceGroup -n MyScaleSet --instance-id 0 "
                '--command-id RunShellScript --scripts "curl -s localhost/health" "df -h /" '
                '--query "value[0].message" -o tsv',
            ),
            (
                "Pass parameters: the script sees them as $1, $2.",
                "vmss run-command invoke -g MyResourceGroup -n MyScaleSet --instance-id 0 "
                "--command-id RunShellScript --scripts 'echo $1 $2' --parameters hello world",
            ),
        ],
    )
    def invoke(
        command_id: Annotated[
            str,
            typer.Option(
                "--command-id",
                help="The command id, e.g. RunShellScript or RunPowerShellScript "
                "(see 'vmss run-command list-ids').",
            ),
        ],
        resource_group: OptResourceGroup = None,
        name: Annotated[str | None, typer.Option("--name", "-n", help="Scale set name.")] = None,
        instance_id: Annotated[
            str | None, typer.Option("--instance-id", help="Scale set VM instance id.")
        ] = None,
        ids: Ids = None,
        scripts: Annotated[
            list[str] | None,
            typer.Option(
                "--scripts",
                help="Space-separated script lines. Use @{file} to load script from a file.",
            ),
        ] = None,
        parameters: Annotated[
            list[str] | None,
            typer.Option(
                "--parameters", help="Space-separated parameters in the format of '[name=]value'."
            ),
        ] = None,
    ) -> None:
        """Execute a specific run command on a Virtual Machine Scale Set instance.

        The script is interpreted by a simulated guest (its services, logs, disks, files and
        network faults come from the state file); nothing is executed on this machine. As in
        Azure, the status stays ProvisioningState/succeeded even when the script fails.
        """
        from vmsscli.service.compute import run_command

        if not ids and instance_id is None:
            raise CLIError("(--instance-id | --ids) are required")
        chosen = targets(
            resource_group, name, ids, instance_id=instance_id, need_instance=bool(ids)
        )
        results, errors = run_command(
            context.session(),
            [(rg, vmss_name, str(inst_id)) for rg, vmss_name, inst_id in chosen],
            command_id,
            list(scripts or []),
            list(parameters or []),
        )
        context.emit(context.combine_jobs(results, errors))

    @command(
        group,
        "list",
        examples=[
            (
                "List the run commands invoked on an instance.",
                "vmss run-command list -g MyResourceGroup --vmss-name MyScaleSet --instance-id 0",
            ),
        ],
        missing="aaz",
    )
    def list_(
        resource_group: ResourceGroup,
        vmss_name: VmssName,
        instance_id: InstanceId,
        expand: Annotated[
            str | None,
            typer.Option(
                "--expand", help="The expand expression to apply on the operation: instanceView."
            ),
        ] = None,
    ) -> None:
        """List the run commands invoked on an instance (its latest 20 invocations, oldest
        first; vmsscli keeps them as the instance's run-command resources)."""
        from vmsscli.service.compute import run_command_views

        state = context.read_state((resource_group, vmss_name))
        expanded = (expand or "").lower() == "instanceview"
        context.emit(
            run_command_views(state, resource_group, vmss_name, instance_id, expand=expanded)
        )

    @command(
        group,
        "show",
        examples=[
            (
                "Show a run command with its output and exit code.",
                "vmss run-command show -g MyResourceGroup --vmss-name MyScaleSet --instance-id 0 "
                "--name cmd_000001 --instance-view",
            ),
        ],
    )
    def show(
        run_command_name: Annotated[
            str,
            typer.Option(
                "--name",
                "--run-command-name",
                help="The name of the run command (cmd_NNNNNN, see 'vmss run-command list').",
            ),
        ],
        resource_group: OptResourceGroup = None,
        vmss_name: Annotated[
            str | None, typer.Option("--vmss-name", help="The name of the VM scale set.")
        ] = None,
        instance_id: Annotated[
            str | None, typer.Option("--instance-id", help="The instance ID of the VM.")
        ] = None,
        ids: Ids = None,
        instance_view: Annotated[
            bool,
            typer.Option(
                "--instance-view",
                help="The instance view of a run command: output, error, exit code, times.",
            ),
        ] = False,
    ) -> None:
        """Get one run command invoked on an instance."""
        from vmsscli.service.compute import run_command_record_view

        chosen = targets(
            resource_group, vmss_name, ids, instance_id=instance_id, need_instance=bool(ids)
        )
        rg, vmss, inst_id = chosen[0]
        if inst_id is None:
            raise CLIError("(--instance-id | --ids) are required")
        state = context.read_state((rg, vmss))
        context.emit(
            run_command_record_view(
                state, rg, vmss, inst_id, run_command_name, expand=instance_view
            )
        )

    @command(
        group,
        "list-ids",
        examples=[
            (
                "The command ids a Linux instance accepts.",
                "vmss run-command list-ids --os linux -o table",
            ),
        ],
    )
    def list_ids(
        os_type: Annotated[
            str | None, typer.Option("--os", help="Only the ids for this OS: linux or windows.")
        ] = None,
    ) -> None:
        """List the run-command ids Azure documents, with their OS (vmsscli's own command;
        az lists them with 'az vm run-command list -l LOCATION')."""
        from vmsscli.domain.run_command import catalog

        context.emit(catalog(os_type), transformer="[].{Id:id, OsType:osType, Label:label}")
