"""`vmss monitor ...`: Azure Monitor as `az monitor` spells it. `activity-log list` queries the
activity log the way az 2.91 does: it builds the same `$filter` from the same flags and the
service answers it as Azure's `eventtypes/management/values` does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from vmsscli.cli import context
from vmsscli.cli.app import command, new_group
from vmsscli.cli.params import OptResourceGroup, integer
from vmsscli.errors import CLIError, UsageError

# az's --select choices, in the order az lists them (EventData's attribute map).
SELECT_CHOICES = (
    "authorization",
    "claims",
    "caller",
    "description",
    "id",
    "eventDataId",
    "correlationId",
    "eventName",
    "category",
    "httpRequest",
    "level",
    "resourceGroupName",
    "resourceProviderName",
    "resourceId",
    "resourceType",
    "operationId",
    "operationName",
    "properties",
    "status",
    "subStatus",
    "eventTimestamp",
    "submissionTimestamp",
    "subscriptionId",
    "tenantId",
)
TIME_FORMAT = "Format: date (yyyy-mm-dd) time (hh:mm:ss.xxxxx) timezone (+/-hh:mm)"
_PERIOD = re.compile(r"(p)?(\d+y)?(\d+m)?(\d+d)?(t)?(\d+h)?(\d+m)?(\d+s)?")


def period(text: str) -> timedelta:
    """az's `get_period_type(as_timedelta=True)`: `##d##h##m##s` (a lone `##m` is minutes, years
    are read and ignored)."""
    found = _PERIOD.match(text.lower())
    if found is None or found.span(0) != (0, len(text)):
        raise UsageError(f"argument --offset: invalid period_type value: '{text}'")
    if found.group(1) and found.group(5):
        # az hands an ISO 8601 period through as text and then fails subtracting it from a
        # time; say so instead of failing the same way.
        raise CLIError(
            f"--offset '{text}': az 2.91 takes ##d##h##m##s here (e.g. 1h, 7d, 1d12h); its "
            "ISO 8601 form fails with \"unsupported operand type(s) for -: 'datetime.datetime' "
            "and 'str'\"."
        )

    def number(group: int) -> int:
        value = found.group(group)
        return int(value[:-1]) if value else 0

    minutes = number(7) or number(3)
    return timedelta(days=number(4), hours=number(6), minutes=minutes, seconds=number(8))


def moment(text: str, which: str) -> datetime:
    """az's datetime argument: ISO 8601; a value without an offset is the machine's local time
    (this twin takes it as UTC)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CLIError(
            f"Unable to parse: '{text}'. Expected format: {which} {TIME_FORMAT}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def odata_filter(
    now: datetime,
    *,
    correlation_id: str | None,
    resource_group: str | None,
    resource_id: str | None,
    namespace: str | None,
    caller: str | None,
    status: str | None,
    start: datetime | None,
    end: datetime | None,
    offset: timedelta,
) -> str:
    """The `$filter` az 2.91 sends for these flags (one scope, the first given of correlation
    id, resource group, resource id and namespace; caller and status added to it)."""
    if start is None and end is None:
        end = now
    if start is None:
        start = end - offset
    elif end is None:
        end = start + offset
    text = f"eventTimestamp ge {start.isoformat()} and eventTimestamp le {end.isoformat()}"
    scope = next(
        (
            (label, value)
            for label, value in (
                ("correlationId", correlation_id),
                ("resourceGroupName", resource_group),
                ("resourceId", resource_id),
                ("resourceProvider", namespace),
            )
            if value
        ),
        None,
    )
    for label, value in (scope or ("", "")), ("caller", caller), ("status", status):
        if label and value:
            text += f" and {label} eq '{value}'"
    return text


def _select(ctx: typer.Context, param: typer.CallbackParam, values: list[str] | None):
    if not values:
        return None
    for value in values:
        if value not in SELECT_CHOICES:
            raise UsageError(
                f"{ctx.command_path}: '{value}' is not a valid value for '--select'. "
                f"Allowed values: {', '.join(SELECT_CHOICES)}."
            )
    return values


def register(app: typer.Typer) -> None:
    monitor = new_group("Monitor the simulated fleet: its activity log.")
    app.add_typer(monitor, name="monitor")
    activity_log = new_group("Manage activity logs.")
    monitor.add_typer(activity_log, name="activity-log")

    @command(
        activity_log,
        "list",
        examples=[
            (
                "List all events from July 1st, looking forward one week.",
                "vmss monitor activity-log list --start-time 2018-07-01 --offset 7d",
            ),
            (
                "List events within the past six hours based on a correlation ID.",
                "vmss monitor activity-log list --correlation-id "
                "b5eac9d2-e829-4c9a-9efb-586d19417c5f",
            ),
            (
                "List events within the past hour based on resource group.",
                "vmss monitor activity-log list -g {ResourceGroup} --offset 1h",
            ),
        ],
    )
    def list_(
        resource_group: OptResourceGroup = None,
        correlation_id: Annotated[
            str | None, typer.Option("--correlation-id", help="Correlation ID to query.")
        ] = None,
        resource_id: Annotated[
            str | None, typer.Option("--resource-id", help="ARM ID of a resource.")
        ] = None,
        namespace: Annotated[
            str | None, typer.Option("--namespace", help="Resource provider namespace.")
        ] = None,
        caller: Annotated[
            str | None,
            typer.Option(
                "--caller",
                help="Caller to query for, such as an e-mail address or service principal ID.",
            ),
        ] = None,
        status: Annotated[
            str | None, typer.Option("--status", help="Status to query for (ex: Failed).")
        ] = None,
        max_events: Annotated[
            str | None,
            typer.Option(
                "--max-events", help="Maximum number of records to return.", callback=integer
            ),
        ] = None,
        select: Annotated[
            list[str] | None,
            typer.Option(
                "--select", help="Space-separated list of properties to return.", callback=_select
            ),
        ] = None,
        start_time: Annotated[
            str | None, typer.Option("--start-time", help=f"Start time of the query. {TIME_FORMAT}")
        ] = None,
        end_time: Annotated[
            str | None,
            typer.Option(
                "--end-time",
                help=f"End time of the query. Defaults to the current time. {TIME_FORMAT}",
            ),
        ] = None,
        offset: Annotated[
            str,
            typer.Option(
                "--offset",
                help="Time offset of the query range, in ##d##h format. With --start-time, the "
                "end is the start plus the offset; otherwise the start is the end (default: "
                "now) minus the offset.",
            ),
        ] = "6h",
    ) -> None:
        """List and query activity log events, newest first, in Azure Monitor's event shape."""
        from vmsscli.service.monitor import activity_events

        start = moment(start_time, "Start time of the query.") if start_time else None
        end = (
            moment(end_time, "End time of the query. Defaults to the current time.")
            if end_time
            else None
        )
        span = period(offset)
        state = context.read_state()
        text = odata_filter(
            context.now(state),
            correlation_id=correlation_id,
            resource_group=resource_group,
            resource_id=resource_id,
            namespace=namespace,
            caller=caller,
            status=status,
            start=start,
            end=end,
            offset=span,
        )
        context.debug("vmsscli.monitor", f"OData Filter: {text}")
        found = activity_events(
            state, text, " , ".join(select) if select else None, context.now(state)
        )
        limit = 50 if max_events is None else max_events
        context.emit(found[: max(limit, 0)])
