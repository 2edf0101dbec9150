"""Azure Monitor's activity-log query over the twin's history.

Azure answers `GET /subscriptions/S/providers/Microsoft.Insights/eventtypes/management/values`
(api 2015-04-01) for a `$filter` of a narrow form: a time range, then at most one of resource
group, resource id, resource provider or correlation id, and optionally caller, status and
levels. `az monitor activity-log list` builds that text from its flags; `vmss monitor
activity-log list` builds the same text and both doors apply it here, so they cannot disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vmsscli.errors import ServiceError
from vmsscli.model import ActivityEntry, ActivityLog, time_key

# How far back Azure keeps (and lets a query reach) the activity log.
RETENTION = timedelta(days=90)

# The one-of fields of a filter, by their $filter spelling (case-insensitive).
SCOPES = {
    "resourcegroupname": "resourceGroupName",
    "resourceid": "resourceId",
    "resourceuri": "resourceId",
    "resourceprovider": "resourceProvider",
    "correlationid": "correlationId",
}
# The fields that may be added to any filter.
EXTRAS = {"caller": "caller", "status": "status", "substatus": "subStatus", "levels": "levels"}
# Accepted and ignored: the twin records only the Administrative channel's events.
IGNORED = {"eventchannels"}

_CLAUSE = re.compile(
    r"^\s*(?P<field>[A-Za-z]+)\s+(?P<op>ge|le|eq)\s+(?P<value>'(?:[^']|'')*'|\S+)\s*$", re.I
)


def invalid(detail: str) -> ServiceError:
    return ServiceError("BadRequest", f"$filter searching parameters invalid: {detail}")


@dataclass(frozen=True)
class EventQuery:
    start: datetime
    end: datetime
    # (field, value) of the one scope clause, if any: resourceGroupName, resourceId,
    # resourceProvider or correlationId.
    scope: tuple[str, str] | None = None
    # Other equality clauses: caller, status, subStatus, levels.
    extras: dict[str, str] = field(default_factory=dict)


def _time(text: str) -> datetime:
    value = text.strip("'")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"'{value}' is not a valid eventTimestamp.") from None
    if moment.tzinfo is None:  # az sends the machine's UTC time without an offset
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_filter(text: str | None, now: datetime) -> EventQuery:
    """The query a `$filter` asks for; Azure's BadRequest for any other form."""
    if not text or not text.strip():
        raise ServiceError(
            "BadRequest",
            "The $filter query parameter is required: at least "
            "'eventTimestamp ge <start time>' must be given.",
        )
    start = end = None
    scope: tuple[str, str] | None = None
    extras: dict[str, str] = {}
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.I):
        found = _CLAUSE.match(clause)
        if found is None:
            raise invalid(f"'{clause.strip()}' is not a supported condition.")
        name, op, raw = found["field"].lower(), found["op"].lower(), found["value"]
        value = raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
        if name == "eventtimestamp" and op in ("ge", "le"):
            if op == "ge":
                start = _time(raw)
            else:
                end = _time(raw)
        elif op != "eq":
            raise invalid(f"'{found['field']}' can only be compared with 'eq'.")
        elif name in SCOPES:
            if scope is not None:
                raise invalid(
                    "only one of resourceGroupName, resourceUri, resourceProvider and "
                    "correlationId may be given."
                )
            scope = (SCOPES[name], value)
        elif name in EXTRAS:
            extras[EXTRAS[name]] = value
        elif name not in IGNORED:
            raise invalid(f"'{found['field']}' is not a field the activity log is queried by.")
    if start is None:
        raise invalid("'eventTimestamp ge <start time>' is required.")
    if end is None:
        end = now
    if end < start:
        raise invalid("the start time is later than the end time.")
    if start < now - RETENTION:
        raise ServiceError(
            "BadRequest",
            f"The start time {start.strftime('%Y-%m-%dT%H:%M:%SZ')} is more than 90 days in the "
            "past: the activity log keeps 90 days of events.",
        )
    return EventQuery(start=start, end=end, scope=scope, extras=extras)


def level(entry: ActivityEntry) -> str:
    """Azure Monitor's level of an event: a failure is an Error."""
    return "Error" if entry.status == "Failed" else "Informational"


def _matches(entry: ActivityEntry, query: EventQuery, caller: str) -> bool:
    if query.scope is not None:
        name, value = query.scope
        wanted = value.casefold()
        if name == "correlationId" and entry.correlation_id.casefold() != wanted:
            return False
        if name == "resourceId" and entry.resource_id.casefold() != wanted:
            return False
        parts = entry.resource_id.split("/")
        if name == "resourceGroupName" and (len(parts) < 5 or parts[4].casefold() != wanted):
            return False
        if name == "resourceProvider" and entry.operation.split("/")[0].casefold() != wanted:
            return False
    for name, value in query.extras.items():
        wanted = value.casefold()
        if name == "caller" and (entry.caller or caller).casefold() != wanted:
            return False
        if name == "status" and entry.status.casefold() != wanted:
            return False
        if name == "subStatus" and wanted:
            return False  # the twin's events carry no sub-status
        if name == "levels" and level(entry).casefold() not in {
            level.strip().casefold() for level in value.split(",")
        }:
            return False
    return True


def events(log: ActivityLog, query: EventQuery, *, caller: str) -> list[ActivityEntry]:
    """The events a query selects, newest first (as Azure lists them); `caller` is who the
    events that name nobody are shown as."""
    low, high = time_key(query.start), time_key(query.end)
    name, value = query.scope or ("", "")
    # The indexed reads first, then the time range.
    if name == "correlationId":
        candidates = [e for e in log.with_correlation(value.lower()) if low <= time_key(e.time)]
    elif name == "resourceId":
        candidates = [e for e in log.for_resource(value) if low <= time_key(e.time)]
    else:
        candidates = log.between(query.start, query.end)
    found = [e for e in candidates if time_key(e.time) <= high and _matches(e, query, caller)]
    # Recorded order breaks ties in time: of two events at the same moment, the later one
    # recorded is listed first.
    ordered = sorted(enumerate(found), key=lambda pair: (pair[1].time, pair[0]), reverse=True)
    return [entry for _, entry in ordered]
