"""Operations in simulated time: an action puts instances into a transitional state, and the
world is brought up to "now" lazily by `settle`, deterministically (same state and clock, same
result).

What each operation does when it completes is defined here, once: power and provisioning
states, which faults it repairs, extensions re-run, the model applied.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from vmsscli.domain import activity
from vmsscli.model import (
    ExtensionState,
    Guest,
    Instance,
    OperationName,
    PendingOperation,
    ScaleSet,
    State,
)

# The power state an instance shows while the operation runs (None: unchanged), and the
# provisioning state.
TRANSITIONS: dict[str, tuple[str | None, str]] = {
    "start": ("starting", "Updating"),
    "stop": ("stopping", "Updating"),
    "deallocate": ("deallocating", "Updating"),
    "restart": ("starting", "Updating"),
    "reimage": ("starting", "Updating"),
    "upgrade": (None, "Updating"),
    "delete": (None, "Deleting"),
    "create": ("starting", "Creating"),
    # Customer-initiated platform maintenance: the VM reboots onto the updated host.
    "maintenance": ("starting", "Updating"),
}

# Faults each operation repairs: processes restart with the VM, a fresh OS disk frees it.
REPAIRS: dict[str, tuple[str, ...]] = {
    "start": ("stale-process",),
    "restart": ("stale-process",),
    "reimage": ("stale-process", "disk-full", "stuck-provisioning"),
    "upgrade": ("stale-process",),
    "maintenance": ("stale-process",),
}
# Operations that take as long as another (and have no duration of their own in a state file).
SAME_DURATION = {"maintenance": "restart"}


def duration_of(state: State, name: str) -> timedelta:
    """How long operation `name` takes: its configured duration, run `clock.speed` times
    faster in wall mode."""
    return paced(state, state.durations.of(SAME_DURATION.get(name, name)))


def paced(state: State, delta: timedelta) -> timedelta:
    speed = state.clock.speed
    return delta / speed if state.clock.mode == "wall" and speed != 1 else delta


def begin(
    inst: Instance, name: OperationName, now: datetime, duration: timedelta, correlation_id: str
) -> None:
    power, provisioning = TRANSITIONS[name]
    inst.operation = PendingOperation(
        name=name, started=now, completes=now + duration, correlation_id=correlation_id
    )
    if power is not None:
        inst.power_state = power  # type: ignore[assignment]
    inst.provisioning_state = provisioning  # type: ignore[assignment]
    inst.updated = now


def complete(scale_set: ScaleSet, inst: Instance, set_name: str = "") -> None:
    """Apply the final effects of the instance's pending operation (`set_name`: the scale set's,
    for what its extensions' commands see as the host name)."""
    op = inst.operation
    assert op is not None
    name = op.name
    inst.operation = None
    inst.updated = op.completes
    inst.provisioning_state = "Succeeded"
    if name == "delete":
        scale_set.instances.remove(inst)
        return
    repaired = REPAIRS.get(name, ())
    inst.faults = [fault for fault in inst.faults if fault.kind not in repaired]
    if name in ("start", "restart", "reimage", "create", "maintenance"):
        inst.power_state = "running"
    elif name == "stop":
        inst.power_state = "stopped"
    elif name == "deallocate":
        inst.power_state = "deallocated"
    if name == "maintenance" and inst.maintenance is not None:
        inst.maintenance.pending = False
        inst.maintenance.last_result = "MaintenanceCompleted"
        inst.maintenance.last_message = ""
    if name in ("start", "restart", "reimage", "upgrade", "create", "maintenance"):
        # The guest boots: the application starts afresh; a hung app or agent comes back.
        inst.booted = op.completes
        inst.health = "healthy"
        inst.vm_agent = "ready"
        for service in inst.guest.services.values():
            if service.status not in (None, "active"):
                service.status = "active"
    if name in ("reimage", "upgrade", "create"):
        apply_latest_model(scale_set, inst)
    if name in ("reimage", "create"):
        rerun_extensions(scale_set, inst)
        inst.guest = Guest()
    if name in ("reimage", "upgrade", "create"):
        from vmsscli.domain.extensions import run_commands

        run_commands(scale_set, set_name, inst, op.completes)
    if any(fault.kind == "stuck-provisioning" for fault in inst.faults):
        inst.provisioning_state = "Updating"


def apply_latest_model(scale_set: ScaleSet, inst: Instance) -> None:
    inst.model_version = scale_set.model.version
    inst.image_version = ""
    inst.model_definition_applied = "VirtualMachineScaleSet"
    check_image_health(scale_set, inst)


def check_image_health(scale_set: ScaleSet, inst: Instance) -> None:
    """An instance on an image version the scale set declares failing gets the `bad-model`
    fault; on any other version it has none."""
    from vmsscli.model import Fault

    inst.faults = [f for f in inst.faults if f.kind != "bad-model"]
    image = scale_set.model.image
    version = inst.image_version or image.exact_version
    for failing in scale_set.failing_images:
        if failing.version not in (version, image.version if not inst.image_version else ""):
            continue
        if failing.zones and inst.zone not in failing.zones:
            continue
        if failing.instance_ids and inst.id not in failing.instance_ids:
            continue
        inst.faults.append(
            Fault(
                kind="bad-model",
                message=failing.message
                or f"The application fails its health check on image version {failing.version}.",
            )
        )
        return


def rerun_extensions(scale_set: ScaleSet, inst: Instance) -> None:
    """Extensions run again on a fresh disk: they succeed, unless they need a host the
    instance cannot reach (only the application health extension needs no download)."""
    blocked = [fault for fault in inst.faults if fault.kind == "network-blocked"]
    states: dict[str, ExtensionState] = {}
    for ext in scale_set.model.extensions:
        if blocked and not ext.is_app_health:
            host = blocked[0].host or "the package repository"
            states[ext.name] = ExtensionState(
                status="failed",
                message=blocked[0].message
                or (
                    f"Command execution timed out: could not reach {host} "
                    "(Failed to connect: Connection timed out)."
                ),
            )
    inst.extensions = states


def settle(state: State, now: datetime, only: str | None = None) -> None:
    """Bring the world up to `now`: operations due complete, and rolling upgrades finish and
    start batches, in order of time (or only the operation with correlation id `only`)."""
    finished: dict[str, datetime] = {}
    while True:
        moment = _next_moment(state, now, only)
        if moment is None:
            break
        due = sorted(
            (
                (inst.id, set_name, scale_set, inst)
                for _rg, set_name, scale_set in state.scale_sets()
                for inst in scale_set.instances
                if _due(inst, moment, only) and inst.operation.completes == moment
            ),
            key=lambda item: item[0],
        )
        for _id, set_name, scale_set, inst in due:
            assert inst.operation is not None
            finished[inst.operation.correlation_id] = moment
            complete(scale_set, inst, set_name)
        if only is not None:
            continue
        for _rg, _name, scale_set in state.scale_sets():
            if not _rolling(scale_set):
                continue
            from vmsscli.domain import rolling

            if rolling.batch_done(scale_set):
                rolling.finish_batch(state, scale_set, moment)
            if rolling.next_event(scale_set) == moment:
                rolling.start_batch(state, scale_set, moment)
        if repairing(state):
            from vmsscli.domain import repairs

            # Only what just completed changed its health (an operation under way is not
            # watched); everything is looked at once more at the end.
            repairs.observe(state, moment, [(s, i) for _id, _n, s, i in due])
            repairs.act(state, moment)
    if only is None and repairing(state):
        from vmsscli.domain import repairs

        repairs.observe(state, now)
    owned = {
        s.rolling_upgrade.correlation_id
        for _rg, _name, s in state.scale_sets()
        if s.rolling_upgrade is not None
    }
    still_running = {
        inst.operation.correlation_id
        for _rg, _name, s in state.scale_sets()
        for inst in s.instances
        if inst.operation is not None
    }
    for correlation_id, moment in sorted(finished.items(), key=lambda item: item[1]):
        if correlation_id not in still_running and correlation_id not in owned:
            activity.succeeded(state, correlation_id, moment)


def repairing(state: State) -> bool:
    """Whether a scale set has an automatic repairs policy (checked before importing it)."""
    return any(s.automatic_repairs is not None for _rg, _name, s in state.scale_sets())


def _due(inst: Instance, now: datetime, only: str | None) -> bool:
    op = inst.operation
    return op is not None and op.completes <= now and only in (None, op.correlation_id)


def _rolling(scale_set: ScaleSet) -> bool:
    """Whether a rolling upgrade is under way (checked before importing the machinery)."""
    upgrade = scale_set.rolling_upgrade
    return upgrade is not None and upgrade.status == "RollingForward"


def _next_moment(state: State, now: datetime, only: str | None) -> datetime | None:
    moments = []
    for _rg, _name, scale_set in state.scale_sets():
        moments += [
            inst.operation.completes for inst in scale_set.instances if _due(inst, now, only)
        ]
        upcoming = None
        if only is None and _rolling(scale_set):
            from vmsscli.domain import rolling

            upcoming = rolling.next_event(scale_set)
        if upcoming is not None and upcoming <= now:
            moments.append(upcoming)
    if only is None and repairing(state):
        from vmsscli.domain import repairs

        upcoming = repairs.next_due(state)
        if upcoming is not None and upcoming <= now:
            moments.append(upcoming)
    return min(moments) if moments else None


def next_moment(state: State, *, repairs_too: bool = True) -> datetime | None:
    """When anything next happens by itself (an operation completing, a batch starting, an
    automatic repair falling due)."""
    moments = []
    for _rg, _name, scale_set in state.scale_sets():
        moments += [i.operation.completes for i in scale_set.instances if i.operation]
        if _rolling(scale_set):
            from vmsscli.domain import rolling

            upcoming = rolling.next_event(scale_set)
            if upcoming is not None:
                moments.append(upcoming)
    if repairs_too and repairing(state):
        from vmsscli.domain import repairs

        upcoming = repairs.next_due(state)
        if upcoming is not None:
            moments.append(upcoming)
    return min(moments) if moments else None


# How many simulated events `play_out` follows at most (a guard against a schedule that never
# ends; any rolling upgrade needs far fewer).
MAX_STEPS = 10_000


def play_out(state: State, done: Callable[[], bool] = lambda: False) -> None:
    """Move the world from event to event until `done()` or nothing is left to happen. In
    manual clock mode the clock moves to each event; in wall mode nothing sleeps and events
    are recorded at their simulated times."""
    for _ in range(MAX_STEPS):
        if done():
            return
        # Repairs are not followed: one that cannot cure its cause would fall due again forever.
        moment = next_moment(state, repairs_too=False)
        if moment is None:
            return
        if state.clock.mode == "manual":
            state.clock.now = max(state.clock.now, moment)
        settle(state, moment)


def pending_until(state: State, correlation_id: str) -> datetime | None:
    """When the last instance of an operation completes (None: nothing pending)."""
    times = [
        inst.operation.completes
        for _rg, _name, s in state.scale_sets()
        for inst in s.instances
        if inst.operation is not None and inst.operation.correlation_id == correlation_id
    ]
    return max(times) if times else None


def wait_for(state: State, correlation_id: str) -> None:
    """Return as Azure does without --no-wait: when the operation is complete. In manual
    clock mode the clock moves to that moment; in wall mode nothing sleeps, the operation
    completes now and records its end time."""
    until = pending_until(state, correlation_id)
    if until is None:
        return
    if state.clock.mode == "manual":
        state.clock.now = max(state.clock.now, until)
        settle(state, until)
    else:
        settle(state, until, only=correlation_id)


def launch(
    state: State,
    *,
    name: OperationName,
    azure_operation: str,
    resource_id: str,
    targets: list[Instance],
    now: datetime,
    skipped: list[tuple[int, str]] | None = None,
    command: str = "",
    detail: str = "",
    requested: list[str] | None = None,
) -> str:
    """Log the Started event of a request and start its operation on every target; a request
    with nothing to do succeeds at once. Returns the correlation id to wait on."""
    entry = activity.record(
        state,
        now=now,
        operation=azure_operation,
        resource_id=resource_id,
        status="Started",
        instance_ids=[str(i.id) for i in targets],
        skipped=[(str(i), why) for i, why in (skipped or [])],
        command=command,
        detail=detail,
        requested=requested,
    )
    duration = duration_of(state, name)
    for inst in targets:
        begin(inst, name, now, duration, entry.correlation_id)
    if not targets:
        activity.succeeded(state, entry.correlation_id, now)
    return entry.correlation_id
