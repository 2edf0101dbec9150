"""Rolling upgrades: batches of instances brought to the latest model, one after another.

As the rolling-upgrade documents describe: batches of `maxBatchInstancePercent` of the
instance count (at least one), inside one availability zone unless cross-zone upgrade is on,
unhealthy instances first when `prioritizeUnhealthyInstances` is set; instances protected from
scale-set actions are never upgraded; `pauseTimeBetweenBatches` between batches; with
`maxSurge` each batch's new instances are created on the new model first and the old ones
deleted after. The upgrade stops (`Faulted`) when more than `maxUnhealthyInstancePercent` of the
whole scale set is unhealthy (before it starts or after a batch), or when the instances that
came back unhealthy after their upgrade are more than `maxUnhealthyUpgradedInstancePercent` of
it; with `rollbackFailedInstancesOnPolicyBreach` those go back to their previous model. A cancel
stops after the batch in flight. Everything happens at simulated times computed from the state,
so progress is a pure function of the state and the clock (`operations.settle` drives it).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from vmsscli.domain import activity, operations
from vmsscli.domain.fleet import add_instances
from vmsscli.domain.health import effective_health, is_latest_model
from vmsscli.errors import ServiceError
from vmsscli.model import (
    Instance,
    PreviousModel,
    RollingPolicy,
    RollingUpgrade,
    ScaleSet,
    State,
    UpgradeRecord,
)

OPERATION = "Microsoft.Compute/virtualMachineScaleSets/osRollingUpgrade/action"
NO_HEALTH = (
    "Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a "
    "health probe or health extension was not provided."
)


def _policy(scale_set: ScaleSet) -> RollingPolicy:
    return scale_set.upgrade_policy.rolling or RollingPolicy()


def _protected(inst: Instance) -> bool:
    return inst.protection is not None and inst.protection.scale_set_actions


def _percent(count: int, total: int) -> int:
    return round(100 * count / total) if total else 0


def _exceeds(count: int, total: int, limit: int) -> bool:
    """More than `limit` percent, compared exactly (1 of 8 is more than 12%)."""
    return count * 100 > limit * total


def unhealthy_count(scale_set: ScaleSet) -> int:
    return sum(1 for i in scale_set.instances if effective_health(scale_set, i) == "unhealthy")


def plan_batches(scale_set: ScaleSet, targets: list[Instance]) -> list[list[int]]:
    """Batches of instance ids, in the order they will be upgraded."""
    policy = _policy(scale_set)
    size = max(1, len(scale_set.instances) * policy.max_batch_instance_percent // 100)

    def order(inst: Instance) -> tuple:
        unhealthy = effective_health(scale_set, inst) != "healthy"
        return (
            not unhealthy if policy.prioritize_unhealthy_instances else False,
            inst.update_domain,
            inst.id,
        )

    groups: list[list[Instance]]
    if scale_set.zones and not policy.enable_cross_zone_upgrade:
        groups = [[i for i in targets if i.zone == zone] for zone in scale_set.zones]
    else:
        groups = [list(targets)]
    batches = []
    for group in groups:
        ordered = sorted(group, key=order)
        batches += [[i.id for i in ordered[n : n + size]] for n in range(0, len(ordered), size)]
    if policy.prioritize_unhealthy_instances:
        unhealthy = {i.id for i in targets if effective_health(scale_set, i) != "healthy"}
        batches.sort(key=lambda batch: not any(i in unhealthy for i in batch))
    return [b for b in batches if b]


def unhealthy_breach(scale_set: ScaleSet) -> int | None:
    """The percentage of unhealthy instances when it is more than maxUnhealthyInstancePercent
    (None when within the limit)."""
    count, total = unhealthy_count(scale_set), len(scale_set.instances)
    if _exceeds(count, total, _policy(scale_set).max_unhealthy_instance_percent):
        return _percent(count, total)
    return None


def start(
    state: State, scale_set: ScaleSet, resource_id: str, now: datetime, *, command: str = ""
) -> RollingUpgrade:
    """Start a rolling upgrade of every instance not on the latest model."""
    if not scale_set.model.has_health_monitoring:
        raise ServiceError("BadRequest", NO_HEALTH)
    current = scale_set.rolling_upgrade
    if current is not None and current.status == "RollingForward":
        _end(state, scale_set, current, "Cancelled", now)
    targets = [
        i
        for i in scale_set.instances
        if not is_latest_model(scale_set, i)
        and not _protected(i)
        and i.provisioning_state != "Deleting"
    ]
    entry = activity.record(
        state,
        now=now,
        operation=OPERATION,
        resource_id=resource_id,
        status="Started",
        instance_ids=[str(i.id) for i in targets],
        skipped=[
            (str(i.id), "protectFromScaleSetActions")
            for i in scale_set.instances
            if _protected(i) and not is_latest_model(scale_set, i)
        ],
        command=command,
    )
    upgrade = RollingUpgrade(
        started=now,
        last_action_time=now,
        correlation_id=entry.correlation_id,
        target_version=scale_set.model.version,
        batches=plan_batches(scale_set, targets),
        next_batch_at=now,
        previous={
            str(i.id): PreviousModel(
                model_version=i.model_version,
                image_version=i.image_version or _image_of(scale_set, i),
            )
            for i in targets
        },
    )
    scale_set.rolling_upgrade = upgrade
    policy = _policy(scale_set)
    before = unhealthy_breach(scale_set)
    if before is not None:
        _fault(
            state,
            scale_set,
            upgrade,
            now,
            "MaxUnhealthyInstancePercentExceededBeforeRollingUpgrade",
            f"Rolling upgrade did not start: {before}% of the instances in the scale set are "
            f"unhealthy, more than the MaxUnhealthyInstancePercent of "
            f"{policy.max_unhealthy_instance_percent}% allowed by the rolling upgrade policy.",
        )
    elif not upgrade.batches:
        _end(state, scale_set, upgrade, "Completed", now)
    return upgrade


def _image_of(scale_set: ScaleSet, inst: Instance) -> str:
    return inst.image_version or scale_set.model.image.exact_version


def cancel(state: State, scale_set: ScaleSet, now: datetime) -> None:
    upgrade = scale_set.rolling_upgrade
    if upgrade is None or upgrade.status != "RollingForward":
        raise ServiceError(
            "OperationNotAllowed", "There is no ongoing Rolling Upgrade to cancel.", status=409
        )
    upgrade.cancel_requested = True
    upgrade.last_action = "Cancel"
    upgrade.last_action_time = now
    if upgrade.phase == "waiting":
        _end(state, scale_set, upgrade, "Cancelled", now)


def next_event(scale_set: ScaleSet) -> datetime | None:
    """When this upgrade next starts a batch by itself (batch ends come with operations)."""
    upgrade = scale_set.rolling_upgrade
    if upgrade is None or upgrade.status != "RollingForward" or upgrade.phase != "waiting":
        return None
    return upgrade.next_batch_at


def start_batch(state: State, scale_set: ScaleSet, when: datetime) -> None:
    upgrade = scale_set.rolling_upgrade
    assert upgrade is not None
    present = {i.id: i for i in scale_set.instances}
    batch = [present[i] for i in upgrade.batches[upgrade.batch] if i in present]
    upgrade.next_batch_at = None
    if not batch:
        _after_batch(state, scale_set, upgrade, when)
        return
    if _policy(scale_set).max_surge:
        new = add_instances(scale_set, len(batch), when)
        upgrade.surge_ids = [i.id for i in new]
        for inst in new:
            operations.begin(
                inst,
                "create",
                when,
                operations.duration_of(state, "create"),
                upgrade.correlation_id,
            )
        upgrade.phase = "surging"
    else:
        for inst in batch:
            operations.begin(
                inst,
                "upgrade",
                when,
                operations.duration_of(state, "upgrade"),
                upgrade.correlation_id,
            )
        upgrade.phase = "upgrading"


def batch_done(scale_set: ScaleSet) -> bool:
    """Whether the batch in flight has no operation left."""
    upgrade = scale_set.rolling_upgrade
    if upgrade is None or upgrade.status != "RollingForward" or upgrade.phase == "waiting":
        return False
    watched = set(upgrade.batches[upgrade.batch]) | set(upgrade.surge_ids)
    return not any(i.operation is not None and i.id in watched for i in scale_set.instances)


def finish_batch(state: State, scale_set: ScaleSet, when: datetime) -> None:
    upgrade = scale_set.rolling_upgrade
    assert upgrade is not None
    present = {i.id: i for i in scale_set.instances}
    batch = [i for i in upgrade.batches[upgrade.batch] if i in present]
    if upgrade.phase == "surging":
        # The new instances are up: now the old ones go.
        upgrade.phase = "replacing"
        for instance_id in batch:
            operations.begin(
                present[instance_id],
                "delete",
                when,
                operations.duration_of(state, "delete"),
                upgrade.correlation_id,
            )
        if batch:
            return
    if upgrade.phase == "replacing":
        judged = [present[i] for i in upgrade.surge_ids if i in present]
        for old, new in zip(batch or upgrade.batches[upgrade.batch], judged, strict=False):
            healthy = effective_health(scale_set, new) == "healthy"
            (upgrade.succeeded if healthy else upgrade.failed).append(old)
        upgrade.surge_ids = []
    else:
        for instance_id in batch:
            healthy = effective_health(scale_set, present[instance_id]) == "healthy"
            (upgrade.succeeded if healthy else upgrade.failed).append(instance_id)
    _after_batch(state, scale_set, upgrade, when)


def _after_batch(
    state: State, scale_set: ScaleSet, upgrade: RollingUpgrade, when: datetime
) -> None:
    policy = _policy(scale_set)
    total = len(scale_set.instances)
    upgraded_unhealthy = sum(
        1
        for i in scale_set.instances
        if i.id in set(upgrade.succeeded) | set(upgrade.failed)
        and effective_health(scale_set, i) == "unhealthy"
    )
    upgraded_percent = _percent(upgraded_unhealthy, total)
    batch_ids = upgrade.batches[upgrade.batch]
    failed_here = [i for i in batch_ids if i in upgrade.failed]
    _log(
        state,
        upgrade,
        when,
        "Failed" if failed_here else "Succeeded",
        [str(i) for i in batch_ids],
        f"batch {upgrade.batch + 1} of {len(upgrade.batches)} done: "
        f"{len(batch_ids) - len(failed_here)} healthy, {len(failed_here)} unhealthy",
    )
    if _exceeds(upgraded_unhealthy, total, policy.max_unhealthy_upgraded_instance_percent):
        _fault(
            state,
            scale_set,
            upgrade,
            when,
            "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
            f"Rolling upgrade stopped: {upgraded_percent}% of the instances in the scale set "
            f"are unhealthy after being upgraded, more than the "
            f"MaxUnhealthyUpgradedInstancePercent of "
            f"{policy.max_unhealthy_upgraded_instance_percent}% allowed by the rolling "
            "upgrade policy.",
        )
        return
    overall = unhealthy_breach(scale_set)
    if overall is not None:
        _fault(
            state,
            scale_set,
            upgrade,
            when,
            "MaxUnhealthyInstancePercentExceededInRollingUpgrade",
            f"Rolling upgrade stopped: {overall}% of the instances in the scale set are "
            f"unhealthy, more than the MaxUnhealthyInstancePercent of "
            f"{policy.max_unhealthy_instance_percent}% allowed by the rolling upgrade "
            "policy.",
        )
        return
    upgrade.batch += 1
    upgrade.phase = "waiting"
    if upgrade.cancel_requested:
        _end(state, scale_set, upgrade, "Cancelled", when)
    elif upgrade.batch >= len(upgrade.batches):
        _end(state, scale_set, upgrade, "Completed", when)
    else:
        from vmsscli.durations import parse_duration

        try:
            pause = parse_duration(policy.pause_time_between_batches)
        except ValueError:
            pause = parse_duration("PT0S")
        upgrade.next_batch_at = when + operations.paced(state, pause)


def _log(
    state: State,
    upgrade: RollingUpgrade,
    when: datetime,
    status: str,
    instance_ids: list[str],
    detail: str,
    error: str = "",
    outcome: UpgradeRecord | None = None,
) -> None:
    """An event of the upgrade, under the correlation id of its Started event."""
    events = state.activity_log.with_correlation(upgrade.correlation_id)
    if not events:
        return
    started = events[0]
    activity.record(
        state,
        now=when,
        operation=started.operation,
        resource_id=started.resource_id,
        status=status,
        instance_ids=instance_ids,
        error=error,
        command=started.command,
        correlation_id=upgrade.correlation_id,
        detail=detail,
        upgrade=outcome,
    )


def _fault(
    state: State,
    scale_set: ScaleSet,
    upgrade: RollingUpgrade,
    when: datetime,
    code: str,
    message: str,
) -> None:
    upgrade.error_code, upgrade.error_message = code, message
    rolled_back = 0
    if _policy(scale_set).rollback_failed_instances_on_policy_breach:
        for inst in scale_set.instances:
            previous = upgrade.previous.get(str(inst.id))
            if inst.id in upgrade.failed and previous is not None:
                inst.model_version = previous.model_version
                inst.image_version = previous.image_version
                operations.check_image_health(scale_set, inst)
                rolled_back += 1
    _end(
        state, scale_set, upgrade, "Faulted", when, error=f"({code}) {message}",
        rolled_back=rolled_back,
    )  # fmt: skip


def _end(
    state: State,
    scale_set: ScaleSet,
    upgrade: RollingUpgrade,
    status: str,
    when: datetime,
    error: str = "",
    rolled_back: int = 0,
) -> None:
    upgrade.status = status  # type: ignore[assignment]
    upgrade.phase = "waiting"
    upgrade.next_batch_at = None
    counts = progress_of(upgrade)
    outcome = UpgradeRecord(
        code=status,  # type: ignore[arg-type]
        started=upgrade.started,
        successful=counts["successfulInstanceCount"],
        failed=counts["failedInstanceCount"],
        pending=counts["pendingInstanceCount"],
        rolled_back=rolled_back,
        image=replace(scale_set.model.image),
        error_code=upgrade.error_code,
        error_message=upgrade.error_message,
    )
    _log(
        state,
        upgrade,
        when,
        "Failed" if status == "Faulted" else "Succeeded",
        [str(i) for i in upgrade.succeeded + upgrade.failed],
        f"rolling upgrade {status.lower()}: {len(upgrade.succeeded)} upgraded, "
        f"{len(upgrade.failed)} unhealthy",
        error,
        outcome,
    )


def progress(scale_set: ScaleSet) -> dict[str, int]:
    upgrade = scale_set.rolling_upgrade
    assert upgrade is not None
    return progress_of(upgrade)


def progress_of(upgrade: RollingUpgrade) -> dict[str, int]:
    total = sum(len(b) for b in upgrade.batches)
    in_progress = (
        len(upgrade.batches[upgrade.batch])
        if (upgrade.status == "RollingForward" and upgrade.phase != "waiting")
        else 0
    )
    done = len(upgrade.succeeded) + len(upgrade.failed)
    return {
        "failedInstanceCount": len(upgrade.failed),
        "inProgressInstanceCount": in_progress,
        "pendingInstanceCount": total - done - in_progress,
        "successfulInstanceCount": len(upgrade.succeeded),
    }


# Azure returns the latest five OS upgrade attempts of the last two months.
HISTORY_COUNT = 5
HISTORY_DAYS = 60


def os_upgrade_history(
    state: State, scale_set: ScaleSet, resource_id: str, now: datetime
) -> list[tuple[UpgradeRecord, datetime | None]]:
    """The set's rolling upgrades, newest first, each with its end (None: still under way):
    those that ended, from their last activity event, and the one rolling forward."""
    from datetime import timedelta

    found: list[tuple[UpgradeRecord, datetime | None]] = [
        (e.upgrade, e.time)
        for e in state.activity_log.for_resource(resource_id)
        if e.operation == OPERATION and e.upgrade is not None
    ]
    upgrade = scale_set.rolling_upgrade
    if upgrade is not None and upgrade.status == "RollingForward":
        counts = progress_of(upgrade)
        found.append(
            (
                UpgradeRecord(
                    code="RollingForward",
                    started=upgrade.started,
                    successful=counts["successfulInstanceCount"],
                    failed=counts["failedInstanceCount"],
                    in_progress=counts["inProgressInstanceCount"],
                    pending=counts["pendingInstanceCount"],
                    image=replace(scale_set.model.image),
                ),
                None,
            )
        )
    since = now - timedelta(days=HISTORY_DAYS)
    recent = [item for item in found if item[0].started >= since]
    recent.sort(key=lambda item: item[0].started, reverse=True)
    return recent[:HISTORY_COUNT]


def status_view(scale_set: ScaleSet) -> dict[str, Any]:
    """`az vmss rolling-upgrade get-latest`."""
    from vmsscli.views import azure_time, rolling_policy_view

    upgrade = scale_set.rolling_upgrade
    assert upgrade is not None
    out: dict[str, Any] = {}
    if upgrade.error_code:
        out["error"] = {"code": upgrade.error_code, "message": upgrade.error_message}
    out.update(
        {
            "location": scale_set.location,
            "policy": rolling_policy_view(_policy(scale_set)),
            "progress": progress(scale_set),
            "runningStatus": {
                "code": upgrade.status,
                "lastAction": upgrade.last_action,
                "lastActionTime": azure_time(upgrade.last_action_time),
                "startTime": azure_time(upgrade.started),
            },
            "type": "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades",
        }
    )
    return out
