"""The scale-set operations both front doors run: each read renders from a state brought up to
"now"; each change is one unit of work (a `Session.write`) around the domain operation.

Results are the printed (flattened) Azure shapes of `vmsscli.views`; the ARM endpoint turns them
into the wire shape with `vmsscli.rest`. `wait=True` returns as az does without --no-wait (the
operation has completed: a manual clock moves to its end); `wait=False` leaves it running and
gives back what to poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmsscli.errors import ServiceError
from vmsscli.service.session import Session

# list-instances' documented $filter values, by what they keep.
FILTERS = {
    "startswith(instanceView/statuses/code, 'PowerState') eq true": "power",
    "properties/latestModelApplied eq true": "latest",
    "properties/latestModelApplied eq false": "not-latest",
}
SELECTS = ("instanceview", "instanceview/statuses")


@dataclass
class Started:
    """A change a request made: the correlation id of its operation ('' when it started
    none; the operation may already be complete) and the printed result, if it has one."""

    correlation_id: str = ""
    result: Any = None


# --- reads --------------------------------------------------------------------------------------


def scale_set_views(state, rg: str | None = None) -> list[dict[str, Any]]:
    from vmsscli.domain.fleet import find_group
    from vmsscli.views import vmss_view

    if rg is not None:
        rg_key, group = find_group(state, rg)
        items = [(rg_key, n, s) for n, s in group.scale_sets.items()]
    else:
        items = list(state.scale_sets())
    return [vmss_view(state.subscription_id, g, n, s) for g, n, s in items]


def scale_set_view(state, rg: str, name: str) -> dict[str, Any]:
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.views import vmss_view

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    return vmss_view(state.subscription_id, rg_key, key, scale_set)


def instance_views(
    state,
    rg: str,
    name: str,
    *,
    expand: str | None = None,
    select: str | None = None,
    filter_: str | None = None,
) -> list[dict[str, Any]]:
    """`list-instances` / `GET .../virtualMachines` with az's `$expand`, `$select` and the
    three documented `$filter` values."""
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.domain.health import is_latest_model
    from vmsscli.views import POWER_DISPLAY, VmViews

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    mode = None
    if filter_ is not None:
        mode = FILTERS.get(" ".join(filter_.split()))
        if mode is None:
            raise ServiceError(
                "InvalidParameter",
                f"The value '{filter_}' of parameter '$filter' is not supported.",
                target="$filter",
            )
    selected = (select or "").lower()
    expanded = (expand or "").lower() == "instanceview" or selected in SELECTS
    result = []
    views = VmViews(state.subscription_id, rg_key, key, scale_set)
    for inst in scale_set.instances:
        if mode == "latest" and not is_latest_model(scale_set, inst):
            continue
        if mode == "not-latest" and is_latest_model(scale_set, inst):
            continue
        item = views.view(inst, expand=expanded)
        if selected == "instanceview/statuses" and "instanceView" in item:
            item["instanceView"] = {"statuses": item["instanceView"]["statuses"]}
        if mode == "power":
            status = {
                "code": f"PowerState/{inst.power_state}",
                "displayStatus": POWER_DISPLAY[inst.power_state],
                "level": "Info",
            }
            view = item.get("instanceView", {})
            view["statuses"] = [
                s for s in view.get("statuses", []) if s["code"].startswith("PowerState")
            ] or [status]
            item["instanceView"] = dict(sorted(view.items()))
            item = dict(sorted(item.items()))
        result.append(item)
    return result


def instance_view(state, rg: str, name: str, instance_id: str) -> dict[str, Any]:
    """`show --instance-id` / `GET .../virtualMachines/N`."""
    from vmsscli.domain.fleet import find_instance, find_scale_set
    from vmsscli.views import vm_view

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    inst = find_instance(scale_set, key, rg_key, instance_id)
    return vm_view(state.subscription_id, rg_key, key, scale_set, inst)


def nic_views(state, rg: str, name: str, instance_id: str | None = None) -> list[dict[str, Any]]:
    """`vmss nic list` (every instance's NIC) and `nic list-vm-nics` (one instance's)."""
    from vmsscli.domain.fleet import find_instance, find_scale_set
    from vmsscli.views import VmViews

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    views = VmViews(state.subscription_id, rg_key, key, scale_set)
    if instance_id is None:
        return [views.nic_view(inst) for inst in scale_set.instances]
    return [views.nic_view(find_instance(scale_set, key, rg_key, instance_id))]


def nic_view(state, rg: str, name: str, instance_id: str, nic_name: str) -> dict[str, Any]:
    """`vmss nic show`: one NIC of one instance, by its name."""
    from vmsscli.errors import resource_not_found

    (found,) = nic_views(state, rg, name, instance_id)
    if found["name"].lower() != nic_name.lower():
        # The NIC's type path, as ARM names it: Microsoft.Compute/.../networkInterfaces.
        path = found["id"].split("/providers/", 1)[1].rsplit("/", 1)[0]
        raise resource_not_found(path, nic_name, found["resourceGroup"])
    return found


FLEX_NETWORK = (
    "This command is not available for VMSS in Flex mode. Please use the "
    '"az network public-ip list/show" to retrieve networking information.'
)


def _uniform_scale_set(state, rg: str, name: str):
    """The set's (group, name, scale set) for az's per-instance network commands, which
    refuse a Flexible set before asking the network provider anything."""
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.errors import CLIError

    found = find_scale_set(state, rg, name)
    if found[2].orchestration_mode == "Flexible":
        raise CLIError(FLEX_NETWORK)
    return found


def instance_connection_info(state, rg: str, name: str) -> dict[str, str]:
    """`list-instance-connection-info`: each instance's `public IP:port` through the load
    balancer's inbound NAT pool (port 50000 + instance id, as Azure numbers the pool's rules)."""
    from vmsscli.views import load_balancer_public_ip

    rg_key, key, scale_set = _uniform_scale_set(state, rg, name)
    address = load_balancer_public_ip(state.subscription_id, rg_key, key)
    return {f"instance {inst.id}": f"{address}:{50000 + inst.id}" for inst in scale_set.instances}


def instance_public_ips(state, rg: str, name: str) -> list[dict[str, Any]]:
    """`list-instance-public-ips`: per-instance public IPs, which the twin's model never asks
    for (instances are reached through the balancer), so `[]` as Azure answers then."""
    _uniform_scale_set(state, rg, name)
    return []


def vm_instance_view(state, rg: str, name: str, instance_id: str) -> Any:
    """`get-instance-view --instance-id N` (a list of them all for `*`)."""
    from vmsscli.domain.fleet import find_instance, find_scale_set
    from vmsscli.views import vm_instance_view as render

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    sub = state.subscription_id
    if instance_id == "*":
        return [render(sub, rg_key, key, scale_set, inst) for inst in scale_set.instances]
    inst = find_instance(scale_set, key, rg_key, instance_id)
    return render(sub, rg_key, key, scale_set, inst)


def scale_set_instance_view(state, rg: str, name: str) -> dict[str, Any]:
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.views import vmss_instance_view

    _rg, _key, scale_set = find_scale_set(state, rg, name)
    return vmss_instance_view(scale_set)


def rolling_upgrade_status(state, rg: str, name: str) -> dict[str, Any]:
    from vmsscli.domain import rolling
    from vmsscli.domain.fleet import find_scale_set

    _rg, key, scale_set = find_scale_set(state, rg, name)
    if scale_set.rolling_upgrade is None:
        raise ServiceError(
            "NotFound",
            f"The rolling upgrade of virtual machine scale set '{key}' was not found: no "
            "rolling upgrade has run on it.",
            status=404,
        )
    return rolling.status_view(scale_set)


def run_command_views(
    state, rg: str, name: str, instance_id: str, *, expand: bool
) -> list[dict[str, Any]]:
    from vmsscli.domain.fleet import find_instance, find_scale_set
    from vmsscli.views import run_command_view

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    inst = find_instance(scale_set, key, rg_key, instance_id)
    sub = state.subscription_id
    return [
        run_command_view(sub, rg_key, key, scale_set, inst, r, expand) for r in inst.run_commands
    ]


def run_command_record_view(
    state, rg: str, name: str, instance_id: str, command_name: str, *, expand: bool
) -> dict[str, Any]:
    from vmsscli.domain.fleet import find_instance, find_scale_set
    from vmsscli.views import RUN_COMMAND_TYPE, run_command_view

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    inst = find_instance(scale_set, key, rg_key, instance_id)
    record = next((r for r in inst.run_commands if r.name == command_name), None)
    if record is None:
        raise ServiceError(
            "NotFound",
            f"The Resource '{RUN_COMMAND_TYPE}/{command_name}' under resource group "
            f"'{rg_key}' was not found.",
            status=404,
        )
    return run_command_view(state.subscription_id, rg_key, key, scale_set, inst, record, expand)


# --- changes ------------------------------------------------------------------------------------


def create_scale_set(session: Session, rg: str, name: str, spec, *, wait: bool = True) -> Started:
    from vmsscli.domain.creation import create_scale_set as create
    from vmsscli.views import vmss_view

    with session.write((rg, name)) as state:
        rg_key, key, scale_set = create(
            state, rg, name, spec, session.now(state), command=session.command
        )
        return Started(result=vmss_view(state.subscription_id, rg_key, key, scale_set))


def delete_scale_set(session: Session, targets: list[tuple[str, str]]) -> None:
    from vmsscli.domain.fleet import delete_scale_set as delete

    focus = targets[0] if len(targets) == 1 else None
    with session.write(focus) as state:
        for rg, name in targets:
            delete(state, rg, name, session.now(state), command=session.command)


def warn_skipped(session: Session, outcome: Any) -> None:
    """One warning per reason a whole-set request left instances alone, as az prints it."""
    from vmsscli.domain.actions import SKIP_PROTECTED

    reasons: dict[str, list[str]] = {}
    for instance_id, reason in outcome.skipped:
        reasons.setdefault(reason, []).append(str(instance_id))
    for reason, skipped in reasons.items():
        why = (
            "protected from scale-set actions (protectFromScaleSetActions)"
            if reason == SKIP_PROTECTED
            else reason
        )
        session.warn(
            f"Skipped instance{'s' if len(skipped) > 1 else ''} "
            f"{', '.join(skipped)} of '{outcome.name}': {why}."
        )


def run_action(
    session: Session, rg: str, name: str, action: str, ids: list[str] | None, *, wait: bool
) -> Started:
    """An instance action (start, stop, restart, deallocate, reimage, upgrade, delete) on the
    named instances, or on the whole set (skipping protected instances, with a warning)."""
    from vmsscli.domain import operations
    from vmsscli.domain.actions import perform

    with session.write((rg, name)) as state:
        outcome = perform(state, rg, name, action, ids, session.now(state), command=session.command)
        warn_skipped(session, outcome)
        if wait:
            operations.wait_for(state, outcome.correlation_id)
        return Started(correlation_id=outcome.correlation_id)


def set_protection(
    session: Session,
    rg: str,
    name: str,
    instance_id: str,
    scale_in: bool | None,
    scale_set_actions: bool | None,
) -> dict[str, Any]:
    """An instance-level update of the protection policy; the instance as it is afterwards."""
    from vmsscli.domain.protection import set_protection as protect
    from vmsscli.views import vm_view

    with session.write((rg, name)) as state:
        rg_key, key, inst = protect(
            state,
            rg,
            name,
            instance_id,
            scale_in,
            scale_set_actions,
            session.now(state),
            command=session.command,
        )
        scale_set = state.resource_groups[rg_key].scale_sets[key]
        return vm_view(state.subscription_id, rg_key, key, scale_set, inst)


def update_scale_set(
    session: Session, rg: str, name: str, *, edits=None, document=None, wait: bool = True
) -> Started:
    """The scale set's model and policies: az's generic edits (`edits`) or a whole printed
    document (a PUT or PATCH through the endpoint); a new capacity scales."""
    from vmsscli.domain import operations
    from vmsscli.domain.model_update import Edits, update
    from vmsscli.domain.scaling import scale
    from vmsscli.views import vmss_view

    with session.write((rg, name)) as state:
        now = session.now(state)
        outcome = update(
            state, rg, name, edits or Edits(), now, command=session.command, document=document
        )
        waits = [outcome.correlation_id]
        if outcome.capacity is not None:
            resized = scale(
                state, outcome.rg, outcome.name, outcome.capacity, now, command=session.command
            )
            waits.insert(0, resized.correlation_id)
        waits = [c for c in waits if c]
        if wait:
            for correlation_id in waits:
                operations.wait_for(state, correlation_id)
        result = vmss_view(state.subscription_id, outcome.rg, outcome.name, outcome.scale_set)
        return Started(correlation_id=waits[0] if waits else "", result=result)


def os_upgrade_history(state, rg: str, name: str, now) -> list[dict[str, Any]]:
    """`vmss get-os-upgrade-history`: the set's rolling upgrades, newest first."""
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.domain.rolling import os_upgrade_history as history
    from vmsscli.resource_ids import vmss_id
    from vmsscli.views import os_upgrade_view

    rg_key, key, scale_set = find_scale_set(state, rg, name)
    resource_id = vmss_id(state.subscription_id, rg_key, key)
    return [
        os_upgrade_view(scale_set.location, record, ended)
        for record, ended in history(state, scale_set, resource_id, now)
    ]


def extension_views(state, rg: str, name: str) -> list[dict[str, Any]]:
    """The model's extensions as `vmss extension list` prints them."""
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.views import extension_model

    _, _, scale_set = find_scale_set(state, rg, name)
    return [extension_model(e) for e in scale_set.model.extensions]


def change_extensions(
    session: Session, rg: str, name: str, change: str, *, spec=None, wait: bool = True
) -> Started:
    """Set, delete or upgrade the model's extensions (see `domain.extensions`): a model update,
    waited for as `update_scale_set` waits."""
    from vmsscli.domain import operations
    from vmsscli.domain.extensions import set_extensions
    from vmsscli.views import vmss_view

    with session.write((rg, name)) as state:
        outcome = set_extensions(
            state, rg, name, change, session.now(state), spec=spec, command=session.command
        )
        if wait and outcome.correlation_id:
            operations.wait_for(state, outcome.correlation_id)
        result = vmss_view(state.subscription_id, outcome.rg, outcome.name, outcome.scale_set)
        return Started(correlation_id=outcome.correlation_id, result=result)


def scale(session: Session, rg: str, name: str, capacity: int, *, wait: bool) -> Started:
    from vmsscli.domain import operations
    from vmsscli.domain.scaling import scale as scale_to
    from vmsscli.views import vmss_view

    with session.write((rg, name)) as state:
        outcome = scale_to(state, rg, name, capacity, session.now(state), command=session.command)
        if wait:
            operations.wait_for(state, outcome.correlation_id)
        result = vmss_view(state.subscription_id, outcome.rg, outcome.name, outcome.scale_set)
        return Started(correlation_id=outcome.correlation_id, result=result)


def run_command(
    session: Session,
    targets: list[tuple[str, str, str]],
    command_id: str,
    script: list[str],
    parameters: list[str],
) -> tuple[list[dict[str, Any]], list[tuple[str, Exception]]]:
    """run-command invoke on each (resource group, scale set, instance id): the results, and
    the failures by instance resource id (one target's failure is raised as it is)."""
    from vmsscli.domain.run_command import invoke
    from vmsscli.errors import VmssError
    from vmsscli.resource_ids import vm_id

    results: list[dict[str, Any]] = []
    errors: list[tuple[str, Exception]] = []
    focus = (targets[0][0], targets[0][1]) if len(targets) == 1 else None
    with session.write(focus) as state:
        for rg, name, instance_id in targets:
            try:
                results.append(
                    invoke(
                        state,
                        rg,
                        name,
                        instance_id,
                        command_id,
                        script,
                        parameters,
                        session.now(state),
                        command=session.command,
                    )
                )
            except VmssError as exc:
                if len(targets) == 1:
                    raise
                errors.append((vm_id(state.subscription_id, rg, name, instance_id), exc))
    return results, errors


def start_rolling_upgrade(session: Session, rg: str, name: str, *, wait: bool) -> Started:
    from vmsscli.domain import rolling
    from vmsscli.domain.fleet import find_scale_set
    from vmsscli.resource_ids import vmss_id

    with session.write((rg, name)) as state:
        rg_key, key, scale_set = find_scale_set(state, rg, name)
        upgrade = rolling.start(
            state,
            scale_set,
            vmss_id(state.subscription_id, rg_key, key),
            session.now(state),
            command=session.command,
        )
        if wait:
            run_rolling_upgrade_to_end(state, scale_set)
        return Started(correlation_id=upgrade.correlation_id)


def cancel_rolling_upgrade(session: Session, rg: str, name: str, *, wait: bool) -> Started:
    from vmsscli.domain import rolling
    from vmsscli.domain.fleet import find_scale_set

    with session.write((rg, name)) as state:
        _rg, _key, scale_set = find_scale_set(state, rg, name)
        rolling.cancel(state, scale_set, session.now(state))
        if wait:
            run_rolling_upgrade_to_end(state, scale_set)
        upgrade = scale_set.rolling_upgrade
        return Started(correlation_id=upgrade.correlation_id if upgrade else "")


def finish(session: Session, correlation_id: str) -> None:
    """Let the operation with this correlation id run to its end, as a command waiting on it
    does (a manual clock moves to that moment)."""
    from vmsscli.domain import operations

    with session.write() as state:
        for _rg, _name, scale_set in state.scale_sets():
            upgrade = scale_set.rolling_upgrade
            if upgrade is not None and upgrade.correlation_id == correlation_id:
                run_rolling_upgrade_to_end(state, scale_set)
                return
        operations.wait_for(state, correlation_id)


def run_rolling_upgrade_to_end(state, scale_set) -> None:
    """Wait as az does: until the upgrade has ended."""
    from vmsscli.domain.operations import play_out

    def ended() -> bool:
        upgrade = scale_set.rolling_upgrade
        return upgrade is None or upgrade.status != "RollingForward"

    play_out(state, ended)


def set_orchestration_service_state(
    session: Session, rg: str, name: str, service: str, action: str
) -> str:
    """Suspend or resume a set's automatic repairs; the request's correlation id."""
    from vmsscli.domain.repairs import set_service_state

    with session.write((rg, name)) as state:
        return set_service_state(
            state, rg, name, service, action, session.now(state), command=session.command
        )
