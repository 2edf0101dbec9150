"""`list-skus`, `perform-maintenance` and `simulate-eviction` for both front doors (the command
line and the ARM endpoint): reads render from a state brought up to "now"; each change is one
unit of work around `vmsscli.domain.maintenance`."""

from __future__ import annotations

from typing import Any

from vmsscli.service.compute import Started, warn_skipped
from vmsscli.service.session import Session

# How many sizes one page of `GET .../skus` carries before a `nextLink` (az follows it).
PAGE_SIZE = 20


def sku_views(state, rg: str, name: str) -> list[dict[str, Any]]:
    """`vmss list-skus`: the sizes the scale set can be resized to (VirtualMachineScaleSetSku)."""
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.domain.maintenance import maximum_capacity, resizable_sizes
    from vmsscli.views import vmss_sku_view

    _rg, _key, scale_set = find_scale_set(state, rg, name)
    maximum = maximum_capacity(scale_set)
    return [vmss_sku_view(s.name, s.tier, maximum) for s in resizable_sizes(scale_set)]


def perform_maintenance(
    session: Session, rg: str, name: str, ids: list[str] | None, *, wait: bool
) -> Started:
    """Customer-initiated maintenance of the named instances (or of every instance of the set
    with pending maintenance, skipping protected ones, with a warning)."""
    from vmsscli.domain import operations
    from vmsscli.domain.maintenance import perform_maintenance as perform

    with session.write((rg, name)) as state:
        outcome = perform(state, rg, name, ids, session.now(state), command=session.command)
        warn_skipped(session, outcome)
        if wait:
            operations.wait_for(state, outcome.correlation_id)
        return Started(correlation_id=outcome.correlation_id)


def simulate_eviction(session: Session, rg: str, name: str, instance_id: str) -> Started:
    """Evict one Spot instance (refused for a Regular one). Azure answers at once and evicts
    afterwards, so nothing waits here."""
    from vmsscli.domain.maintenance import simulate_eviction as evict

    with session.write((rg, name)) as state:
        correlation_id = evict(
            state, rg, name, instance_id, session.now(state), command=session.command
        )
        return Started(correlation_id=correlation_id)
