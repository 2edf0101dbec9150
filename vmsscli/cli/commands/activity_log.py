"""`vmss activity-log list`: what was done to the fleet, as Azure's activity log records it."""

from collections import OrderedDict
from typing import Annotated, Any

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group
from vmsscli.cli.params import OptName, OptResourceGroup
from vmsscli.errors import CLIError


def entry_view(entry) -> dict[str, Any]:
    from vmsscli.views import azure_time

    parts = entry.resource_id.split("/")
    out: dict[str, Any] = {
        "command": entry.command,
        "correlationId": entry.correlation_id,
        "eventTimestamp": azure_time(entry.time),
        "instanceIds": list(entry.instance_ids),
        "operationName": entry.operation,
        "resourceGroup": parts[4] if len(parts) > 4 else "",
        "resourceId": entry.resource_id,
        "skipped": [{"instanceId": s.instance_id, "reason": s.reason} for s in entry.skipped],
        "status": entry.status,
    }
    if entry.error:
        out["error"] = entry.error
    if entry.detail:
        out["detail"] = entry.detail
    return out


def _table(rows: list[dict[str, Any]]) -> list[OrderedDict]:
    out = []
    for row in rows:
        parts = row["resourceId"].split("/")
        operation = row["operationName"].split("virtualMachineScaleSets/", 1)[-1]
        out.append(
            OrderedDict(
                [
                    ("Time", row["eventTimestamp"][:19].replace("T", " ")),
                    ("Status", row["status"]),
                    ("Operation", operation),
                    ("ScaleSet", parts[8] if len(parts) > 8 else ""),
                    ("Instances", " ".join(row["instanceIds"]) or "-"),
                    ("Skipped", " ".join(s["instanceId"] for s in row["skipped"]) or "-"),
                ]
            )
        )
    return out


def _since(text: str, now):
    from vmsscli.domain.clock import parse_time
    from vmsscli.durations import parse_duration

    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_time(text)
    except CLIError:
        raise CLIError(
            f"--since takes a time (2026-11-23T10:00:00Z) or a duration back from "
            f"now (30m, PT2H), not '{text}'."
        ) from None


def register(app: typer.Typer) -> None:
    group = new_group("The activity log of the simulated subscription (vmsscli's own commands).")
    app.add_typer(group, name="activity-log")

    @command(
        group,
        "list",
        examples=[
            (
                "What happened to a scale set, as a table.",
                "vmss activity-log list -g rg-web -n web-vmss -o table",
            ),
            (
                "What was done to one instance in the last hour.",
                "vmss activity-log list -g rg-web -n web-vmss --instance-id 5 --since 1h",
            ),
        ],
    )
    def list_(
        resource_group: OptResourceGroup = None,
        name: OptName = None,
        instance_id: Annotated[
            str | None,
            typer.Option("--instance-id", help="Only events that targeted this instance."),
        ] = None,
        since: Annotated[
            str | None,
            typer.Option(
                "--since", help="Only events at or after this time, or this long ago (e.g. 30m)."
            ),
        ] = None,
    ) -> None:
        """List activity-log events: time, operation, targets, skipped instances, status and
        the command line, oldest first."""
        state = context.read_state()
        start = _since(since, context.now(state)) if since else None
        rows = []
        # Events are kept in the order they were recorded; an operation on a scale set that
        # no command touched for a while records its completion late, so show them by time.
        for entry in sorted(state.activity_log.between(start, None), key=lambda e: e.time):
            parts = entry.resource_id.split("/")
            if resource_group and (
                len(parts) < 5 or parts[4].casefold() != resource_group.casefold()
            ):
                continue
            if name and (len(parts) < 9 or parts[8].casefold() != name.casefold()):
                continue
            if (
                instance_id is not None
                and instance_id not in entry.instance_ids
                and instance_id not in [s.instance_id for s in entry.skipped]
            ):
                continue
            rows.append(entry_view(entry))
        context.report(rows, transformer=_table)
