"""`vmss rolling-upgrade start|get-latest|cancel`."""

from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group
from vmsscli.cli.params import Ids, NoWaitBool, OptResourceGroup, targets
from vmsscli.errors import CLIError

VmssName = Annotated[
    str | None,
    typer.Option(
        "--name",
        "-n",
        "--vm-scale-set-name",
        "--virtual-machine-scale-set-name",
        help="The name of the VM scale set.",
    ),
]
Watch = Annotated[
    bool,
    typer.Option(
        "--watch",
        help="On a terminal, show the upgrade's progress live, batch by batch, until it "
        "ends (vmsscli's own flag).",
    ),
]


def _target(rg: str | None, name: str | None, ids: list[str] | None) -> tuple[str, str]:
    if not ids:
        if rg is None:
            raise CLIError("InvalidArgumentValue: Missing required field: --resource-group")
        if name is None:
            raise CLIError("InvalidArgumentValue: Missing required field: -n")
    chosen = targets(rg, name, ids)
    return chosen[0][0], chosen[0][1]


def register(app: typer.Typer) -> None:
    group = new_group("Manage rolling upgrades.")
    app.add_typer(group, name="rolling-upgrade")

    @command(
        group,
        "start",
        what_if=True,
        examples=[
            (
                "Start a rolling upgrade of the instances that are not on the latest model.",
                "vmss rolling-upgrade start -g MyResourceGroup -n MyScaleSet --no-wait",
            ),
        ],
        optional_value=("no_wait",),
    )
    def start(
        resource_group: OptResourceGroup = None,
        name: VmssName = None,
        ids: Ids = None,
        no_wait: NoWaitBool = None,
        watch: Watch = False,
    ) -> None:
        """Start a rolling upgrade to move all virtual machine scale set instances to the latest
        available Platform Image OS version.

        Instances not on the latest model are upgraded in batches by the rolling upgrade
        policy. Without --no-wait the command returns when the upgrade has ended.
        """
        from vmsscli.service.compute import start_rolling_upgrade

        rg, vmss = _target(resource_group, name, ids)
        # On a terminal, --watch follows the upgrade live instead of waiting silently.
        wait = not no_wait and not (watch and _on_terminal())
        start_rolling_upgrade(context.session(), rg, vmss, wait=wait)
        if watch:
            _watch(rg, vmss)

    @command(
        group,
        "get-latest",
        examples=[
            (
                "Get the status of the latest rolling upgrade.",
                "vmss rolling-upgrade get-latest -g MyResourceGroup -n MyScaleSet",
            ),
            (
                "Just the counts.",
                "vmss rolling-upgrade get-latest -g MyResourceGroup -n MyScaleSet --query progress",
            ),
        ],
    )
    def get_latest(
        resource_group: OptResourceGroup = None,
        name: VmssName = None,
        ids: Ids = None,
        watch: Watch = False,
    ) -> None:
        """Get the status of the latest virtual machine scale set rolling upgrade."""
        from vmsscli.service.compute import rolling_upgrade_status

        rg, vmss = _target(resource_group, name, ids)
        if watch:
            _watch(rg, vmss)
        state = context.read_state((rg, vmss))
        context.emit(rolling_upgrade_status(state, rg, vmss))

    @command(
        group,
        "cancel",
        what_if=True,
        examples=[
            (
                "Cancel the current rolling upgrade (it stops after the batch in flight).",
                "vmss rolling-upgrade cancel -g MyResourceGroup -n MyScaleSet",
            ),
        ],
        optional_value=("no_wait",),
    )
    def cancel(
        resource_group: OptResourceGroup = None,
        name: VmssName = None,
        ids: Ids = None,
        no_wait: NoWaitBool = None,
    ) -> None:
        """Cancel the current virtual machine scale set rolling upgrade.

        The batch in flight finishes; no later batch starts. Without --no-wait the command
        returns when the upgrade has stopped.
        """
        from vmsscli.service.compute import cancel_rolling_upgrade

        rg, vmss = _target(resource_group, name, ids)
        cancel_rolling_upgrade(context.session(), rg, vmss, wait=not no_wait)


def _on_terminal() -> bool:
    import sys

    return sys.stdout.isatty()


def _watch(rg: str, name: str) -> None:
    """A live view of the upgrade on a terminal; nothing without one."""
    import sys
    import time

    if not sys.stdout.isatty():
        return
    from rich.live import Live

    from vmsscli.domain.fleet import find_scale_set

    def frame():
        state = context.read_state((rg, name))
        _rg, _key, scale_set = find_scale_set(state, rg, name)
        return _progress_table(scale_set, context.now(state)), scale_set, state

    table, scale_set, state = frame()
    with Live(table, refresh_per_second=4, transient=False) as live:
        while (
            scale_set.rolling_upgrade is not None
            and scale_set.rolling_upgrade.status == "RollingForward"
            and state.clock.mode == "wall"
        ):
            time.sleep(0.5)
            table, scale_set, state = frame()
            live.update(table)


def _progress_table(scale_set, now):
    from rich.table import Table
    from rich.text import Text

    from vmsscli.domain.rolling import progress
    from vmsscli.views import azure_time

    upgrade = scale_set.rolling_upgrade
    table = Table(
        title=Text(
            f"Rolling upgrade: {upgrade.status if upgrade else 'none'}"
            f"  (simulated time {azure_time(now)[:19]})"
        )
    )
    for column in ("Batch", "Instances", "State"):
        table.add_column(column, no_wrap=True)
    if upgrade is None:
        return table
    counts = progress(scale_set)
    for index, batch in enumerate(upgrade.batches):
        if index < upgrade.batch:
            failed = [i for i in batch if i in upgrade.failed]
            status = f"done ({len(batch) - len(failed)} healthy, {len(failed)} unhealthy)"
        elif index == upgrade.batch and upgrade.phase != "waiting":
            status = "in progress"
        else:
            status = "pending"
        table.add_row(str(index + 1), " ".join(map(str, batch)), status)
    table.caption = (
        f"succeeded {counts['successfulInstanceCount']}  failed "
        f"{counts['failedInstanceCount']}  in progress "
        f"{counts['inProgressInstanceCount']}  pending "
        f"{counts['pendingInstanceCount']}"
    )
    return table
