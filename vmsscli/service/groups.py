"""Resource groups, for both doors: create (or update tags), delete with what they hold."""

from __future__ import annotations

from typing import Any

from vmsscli.service.session import Session


def group_view(subscription: str, name: str, group) -> dict[str, Any]:
    """A resource group as az prints it (`az group show`)."""
    return {
        "id": f"/subscriptions/{subscription}/resourceGroups/{name}",
        "location": group.location,
        "managedBy": None,
        "name": name,
        "properties": {"provisioningState": "Succeeded"},
        "tags": dict(group.tags) or None,
        "type": "Microsoft.Resources/resourceGroups",
    }


def create_group(
    session: Session, name: str, location: str, tags: dict[str, str] | None
) -> tuple[dict[str, Any], bool]:
    from vmsscli.domain.fleet import create_group as create

    with session.write() as state:
        key, group, created = create(
            state, name, location, tags, session.now(state), command=session.command
        )
        return group_view(state.subscription_id, key, group), created


def delete_group(session: Session, name: str) -> str:
    from vmsscli.domain.fleet import delete_group as delete

    with session.write() as state:
        return delete(state, name, session.now(state), command=session.command)
