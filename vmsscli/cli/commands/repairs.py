"""`vmss set-orchestration-service-state`: suspend or resume a scale set's automatic repairs,
as `az vmss set-orchestration-service-state` does (docs/semantics.md, "Automatic repairs")."""

from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command
from vmsscli.cli.params import Ids, NoWaitFlag, OptName, OptResourceGroup, choice, targets


def register(app: typer.Typer) -> None:
    @command(
        app,
        "set-orchestration-service-state",
        examples=[
            (
                "Change ServiceState property for AutomaticRepairs",
                "vmss set-orchestration-service-state --service-name AutomaticRepairs --action "
                "Resume --name MyScaleSet --resource-group MyResourceGroup",
            )
        ],
    )
    def set_orchestration_service_state(
        service_name: Annotated[
            str,
            typer.Option(
                "--service-name",
                help="The name of the orchestration service. Allowed values: AutomaticRepairs.",
                callback=choice("AutomaticRepairs"),
            ),
        ],
        action: Annotated[
            str,
            typer.Option(
                "--action",
                help="The action to be performed. Allowed values: Resume, Suspend.",
                callback=choice("Resume", "Suspend"),
            ),
        ],
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        ids: Ids = None,
        no_wait: NoWaitFlag = False,
    ) -> None:
        """Change ServiceState property for a given service within a VMSS.

        Suspend stops automatic repairs (instances stay as they are, still watched); Resume
        lets them start again, at once for the instances already due. `get-instance-view`
        shows the state under `orchestrationServices`.
        """
        from vmsscli.service.compute import set_orchestration_service_state as change

        for rg, vmss_name, _ in targets(resource_group, name, ids):
            change(context.session(), rg, vmss_name, service_name, action)
