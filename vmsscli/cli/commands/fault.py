"""`vmss fault ...`: inject, clear and list faults (vmsscli's own commands, for trainers)."""

from typing import Annotated, Any

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group
from vmsscli.cli.params import OptName, OptResourceGroup, ResourceGroup, integer
from vmsscli.errors import CLIError

SELECT_IDS_HELP = "Space-separated list of IDs (ex: 1 2 3 ...) or * for all instances (default)."
InstanceIds = Annotated[list[str] | None, typer.Option("--instance-ids", help=SELECT_IDS_HELP)]
Zone = Annotated[str | None, typer.Option("--zone", help="Only instances in this zone.")]
KIND_HELP = (
    "The fault. Allowed values: app-unhealthy, extension-failed, stale-process, disk-full, "
    "vm-agent-not-ready, network-blocked, bad-model, stuck-provisioning, maintenance-pending."
)
Name = Annotated[str, typer.Option("--name", "-n", help="Scale set name.")]


def _row(rg: str, name: str, inst, found) -> dict[str, Any]:
    return {
        "detail": found.detail,
        "external": found.external,
        "instanceId": str(inst.id) if inst is not None else "*",
        "kind": found.kind,
        "message": found.message,
        "name": name,
        "repairedBy": found.repaired_by,
        "resourceGroup": rg,
        "zone": inst.zone if inst is not None else "",
    }


def _failing_image_row(rg: str, name: str, failing) -> dict[str, Any]:
    from vmsscli.domain.faults import FoundFault

    where = []
    if failing.zones:
        where.append(f"zone {', '.join(failing.zones)}")
    if failing.instance_ids:
        where.append(f"instances {', '.join(map(str, failing.instance_ids))}")
    row = _row(rg, name, None, FoundFault("bad-model", failing.version, failing.message))
    row["detail"] = f"image version {failing.version} fails health" + (
        f" ({'; '.join(where)})" if where else " (every instance)"
    )
    return row


def register(app: typer.Typer) -> None:
    group = new_group(
        "Inject, clear and list faults on instances (vmsscli's own commands, for trainers)."
    )
    app.add_typer(group, name="fault")

    @command(
        group,
        "inject",
        what_if=True,
        examples=[
            (
                "Make instance 18's application hang.",
                "vmss fault inject -g rg-search -n search-vmss --instance-ids 18 "
                "--kind stale-process",
            ),
            (
                "Block the package repository from a third of zone 2, reproducibly.",
                "vmss fault inject -g rg-telematics -n ingest-vmss --zone 2 --percent 33 "
                "--seed 7 --kind network-blocked --host packages.example.com",
            ),
            (
                "Declare that image version 2.0.1 fails its health check.",
                "vmss fault inject -g rg-web -n web-vmss --kind bad-model --image-version 2.0.1",
            ),
        ],
    )
    def inject(
        resource_group: ResourceGroup,
        name: Name,
        kind: Annotated[str, typer.Option("--kind", help=KIND_HELP)],
        instance_ids: InstanceIds = None,
        zone: Zone = None,
        percent: Annotated[
            str | None,
            typer.Option(
                "--percent", help="Choose this percentage of them at random.", callback=integer
            ),
        ] = None,
        count: Annotated[
            str | None,
            typer.Option("--count", help="Choose this many of them at random.", callback=integer),
        ] = None,
        seed: Annotated[
            str | None,
            typer.Option(
                "--seed", help="Seed for the random choice (repeatable runs).", callback=integer
            ),
        ] = None,
        extension: Annotated[
            str | None,
            typer.Option("--extension", help="extension-failed: the extension's name."),
        ] = None,
        host: Annotated[
            str | None, typer.Option("--host", help="network-blocked: the unreachable host.")
        ] = None,
        image_version: Annotated[
            str | None,
            typer.Option(
                "--image-version",
                help="bad-model: the failing image version (default: the model's).",
            ),
        ] = None,
        message: Annotated[
            str | None, typer.Option("--message", help="The message the fault shows.")
        ] = None,
    ) -> None:
        """Inject a fault into instances, as Azure would show it.

        The fault shows up where Azure shows it (instance view statuses, vmHealth, extension
        statuses, run-command answers) and is repaired by the action that repairs it in Azure;
        network-blocked is outside the VM and survives restart and reimage until cleared.
        Faults are not operator actions: they are not written to the activity log.
        """
        from vmsscli.domain import faults
        from vmsscli.domain.actions import is_whole_set
        from vmsscli.domain.fleet import find_scale_set

        spec = faults.Spec(
            kind=faults.kind_name(kind),
            extension=extension or "",
            host=host or "",
            image_version=image_version or "",
            message=message or "",
        )
        with context.write_state((resource_group, name)) as state:
            rg, key, scale_set = find_scale_set(state, resource_group, name)
            targets = faults.select(
                scale_set, instance_ids, zone=zone, percent=percent, count=count, seed=seed
            )
            faults.check(scale_set, spec)
            by_id = not is_whole_set(instance_ids) or percent is not None or count is not None
            faults.inject(
                scale_set, targets, spec, zone=zone, chosen_ids=by_id, now=context.now(state)
            )
        detail = spec.extension or spec.host or spec.image_version
        context.report(
            {
                "detail": detail,
                "instanceIds": [str(i.id) for i in targets],
                "kind": spec.kind,
                "name": key,
                "repairedBy": faults.KINDS[spec.kind].repaired_by,
                "resourceGroup": rg,
            }
        )

    @command(
        group,
        "clear",
        what_if=True,
        examples=[
            (
                "Repair the route to the package repository (an external fault).",
                "vmss fault clear -g rg-telematics -n ingest-vmss --kind network-blocked",
            ),
            (
                "Clear every fault of one instance.",
                "vmss fault clear -g RG -n NAME --instance-ids 3",
            ),
        ],
    )
    def clear(
        resource_group: ResourceGroup,
        name: Name,
        instance_ids: InstanceIds = None,
        kind: Annotated[
            str | None, typer.Option("--kind", help=KIND_HELP + " Default: every kind.")
        ] = None,
        zone: Zone = None,
        extension: Annotated[
            str | None, typer.Option("--extension", help="extension-failed: only this one.")
        ] = None,
        host: Annotated[
            str | None, typer.Option("--host", help="network-blocked: only this host.")
        ] = None,
        image_version: Annotated[
            str | None, typer.Option("--image-version", help="bad-model: only this version.")
        ] = None,
    ) -> None:
        """Clear faults without any operation (the trainer's hand, not an operator action).

        A cleared fault stops acting at once, but what it already did stays: extensions that
        failed while the network was blocked stay failed until they run again (reimage).
        """
        from vmsscli.domain import faults
        from vmsscli.domain.actions import is_whole_set
        from vmsscli.domain.fleet import find_scale_set

        wanted = faults.kind_name(kind) if kind is not None else None
        with context.write_state((resource_group, name)) as state:
            rg, key, scale_set = find_scale_set(state, resource_group, name)
            targets = faults.select(scale_set, instance_ids, zone=zone)
            removed = faults.clear(
                scale_set,
                targets,
                wanted,
                host=host or "",
                extension=extension or "",
                image_version=image_version or "",
                zone=zone,
                whole=is_whole_set(instance_ids) and zone is None,
            )
        if not removed:
            context.warn("No fault matched; nothing was cleared.")
        context.report(
            [
                {
                    "instanceId": "*" if instance_id is None else str(instance_id),
                    "kind": cleared,
                    "name": key,
                    "resourceGroup": rg,
                }
                for instance_id, cleared in removed
            ]
        )

    @command(
        group,
        "list",
        examples=[
            ("List every fault in the subscription.", "vmss fault list -o table"),
            ("List the faults of one scale set.", "vmss fault list -g rg-search -n search-vmss"),
        ],
    )
    def list_(
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    ) -> None:
        """List the faults instances have (injected or written in the state) and what repairs
        each, with the image versions declared failing."""
        from vmsscli.domain import faults

        if name is not None and resource_group is None:
            raise CLIError("usage error: --name requires --resource-group")
        wanted = faults.kind_name(kind) if kind is not None else None
        focus = (resource_group, name) if resource_group and name else None
        state = context.read_state(focus)
        rows = []
        for rg, key, scale_set in state.scale_sets():
            if resource_group and rg.lower() != resource_group.lower():
                continue
            if name and key.lower() != name.lower():
                continue
            for failing in faults.model_faults(scale_set):
                rows.append(_failing_image_row(rg, key, failing))
            for inst in scale_set.instances:
                for found in faults.faults_of(scale_set, inst):
                    rows.append(_row(rg, key, inst, found))
        rows = [r for r in rows if wanted is None or r["kind"] == wanted]
        context.report(rows, "faults")
