"""Azure Monitor over the twin: the activity log's events, queried as Azure answers
`eventtypes/management/values`, for both doors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vmsscli.model import State

# Azure's page size for the activity log: a longer answer continues at its `nextLink`.
PAGE_SIZE = 200


def select_keys(text: str | None) -> list[str] | None:
    """The property names a `$select` lists (az joins them with ' , ')."""
    if not text or not text.strip():
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def activity_events(
    state: State, filter_text: str | None, select_text: str | None, now: datetime
) -> list[dict[str, Any]]:
    """Every event a `$filter` selects, newest first, in Azure's EventData shape as az prints
    it (`resourceGroup` beside the event's id)."""
    from vmsscli.activity_views import DEFAULT_CALLER, event_data, selected
    from vmsscli.domain.activity_query import events, parse_filter
    from vmsscli.rest import flatten

    query = parse_filter(filter_text, now)
    keys = select_keys(select_text)
    return flatten(
        [
            selected(event_data(entry, state.subscription_id, caller=DEFAULT_CALLER), keys)
            for entry in events(state.activity_log, query, caller=DEFAULT_CALLER)
        ]
    )
