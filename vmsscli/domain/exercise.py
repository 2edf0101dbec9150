"""Exercises: a scenario's starting state, its objectives checked against the final state and the
activity log, and the debrief (what was done to the fleet, in order)."""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass, field
from datetime import datetime

from vmsscli.domain.health import is_latest_model, is_serving
from vmsscli.errors import CLIError
from vmsscli.model import ActivityEntry, Baseline, ExerciseRun, ScaleSet, State
from vmsscli.resource_ids import scale_set_key

# Requests that take the instances they target out of service while they run (and, for
# stop, deallocate and delete, afterwards).
DISRUPTIVE = (
    "restart",
    "reimage",
    "stop",
    "deallocate",
    "delete-instances",
    "update-instances",
    "scale-in",
    "upgrade",
    "perform-maintenance",
    "automatic-repair",
)
STAYS_DOWN = ("stop", "deallocate", "delete-instances", "scale-in")
WHOLE_SET_CAPABLE = (
    "restart",
    "perform-maintenance",
    "reimage",
    "stop",
    "deallocate",
    "start",
    "update-instances",
    "delete-instances",
)


def start_state(scenario) -> State:
    """The scenario's fleet with its faults injected (a fresh copy every time)."""
    from vmsscli.domain import faults
    from vmsscli.domain.fleet import find_scale_set

    state = copy.deepcopy(scenario.state)
    for spec in scenario.faults:
        _rg, _key, scale_set = find_scale_set(state, spec.resource_group, spec.name)
        targets = faults.select(
            scale_set,
            spec.instance_ids or None,
            zone=spec.zone or None,
            percent=spec.percent,
            count=spec.count,
            seed=spec.seed,
        )
        fault = faults.check(
            scale_set,
            faults.Spec(
                kind=faults.kind_name(spec.kind),
                extension=spec.extension,
                host=spec.host,
                image_version=spec.image_version,
                message=spec.message,
            ),
        )
        by_id = bool(spec.instance_ids) or spec.percent is not None or spec.count is not None
        faults.inject(
            scale_set,
            targets,
            fault,
            zone=spec.zone or None,
            chosen_ids=by_id,
            now=state.clock.now,
        )
    return state


def begin(state: State, name: str, now: datetime) -> None:
    """Mark the start of an exercise: what was serving, the log so far, the images."""
    state.exercise = ExerciseRun(
        name=name,
        started=now,
        log_start=state.activity_log.end,
        baseline={
            f"{rg}/{key}": Baseline(
                serving=[i.id for i in s.instances if is_serving(s, i)],
                instances=[i.id for i in s.instances],
                image_version=s.model.image.version,
            )
            for rg, key, s in state.scale_sets()
        },
    )


# --- reading the activity log --------------------------------------------------------------------


def requested_ids(command: str) -> list[str] | None:
    """The `--instance-ids` of a recorded command line (None when none were given)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    ids: list[str] | None = None
    for position, word in enumerate(words):
        if word.startswith("--instance-id"):
            ids = []
            for value in words[position + 1 :]:
                if value.startswith("-") and not value.lstrip("-").isdigit():
                    break
                ids.append(value)
    return ids


def named_ids(entry: ActivityEntry) -> list[str] | None:
    """The instance ids a request named (None: none, a whole-set request), from the entry, or
    from its command line for entries written before requests were recorded."""
    if entry.requested is not None:
        return list(entry.requested) or None
    return requested_ids(entry.command)


def classify(entry: ActivityEntry) -> str:
    """What an operator would call the request behind an activity-log entry."""
    op = entry.operation
    from vmsscli.domain.repairs import CALLER as REPAIRS_CALLER

    if entry.caller == REPAIRS_CALLER:
        return "automatic-repair"
    suffixes = {
        "/restart/action": "restart",
        "/reimage/action": "reimage",
        "/powerOff/action": "stop",
        "/deallocate/action": "deallocate",
        "/start/action": "start",
        "/delete/action": "delete-instances",
        "/manualUpgrade/action": "update-instances",
        "/runCommand/action": "run-command",
        "/performMaintenance/action": "perform-maintenance",
        "/setOrchestrationServiceState/action": "orchestration-service",
        "/osRollingUpgrade/action": "rolling-upgrade",
        "/rollingUpgrades/action": "rolling-upgrade",  # the name before osRollingUpgrade
        "/virtualMachines/write": "protection",
    }
    for suffix, kind in suffixes.items():
        if op.endswith(suffix):
            return kind
    if op.endswith("virtualMachineScaleSets/write"):
        for direction in ("scale-in", "scale-out", "create"):
            if entry.detail.startswith(direction):
                return direction
        return "upgrade" if entry.instance_ids else "update"
    if op.endswith("virtualMachineScaleSets/delete"):
        return "delete"
    return op.rsplit("/", 2)[-2] if "/" in op else op


@dataclass
class Event:
    """A request the operator made (its Started entry) and how it ended."""

    time: datetime
    kind: str
    scale_set: str
    instance_ids: list[int]
    skipped: list[str]
    command: str
    status: str
    whole_set: bool
    detail: str = ""


def events(state: State) -> list[Event]:
    """The operator's requests since the exercise began, oldest first."""
    run = state.exercise
    entries = state.activity_log.since(run.log_start if run else 0)
    endings: dict[str, str] = {}
    requested: set[str] = set()
    for entry in entries:
        if entry.status == "Started":
            requested.add(entry.correlation_id)
        else:
            endings[entry.correlation_id] = entry.status
    out = []
    for entry in entries:
        started = entry.status == "Started"
        # An ending whose request is in the window is told by the request's event.
        if not started and entry.correlation_id in requested:
            continue
        kind = classify(entry)
        ids = named_ids(entry)
        out.append(
            Event(
                time=entry.time,
                kind=kind,
                scale_set=scale_set_key(entry.resource_id),
                instance_ids=sorted(int(i) for i in entry.instance_ids if i.isdigit()),
                skipped=[s.instance_id for s in entry.skipped],
                command=entry.command,
                status=endings.get(entry.correlation_id, "InProgress") if started else entry.status,
                whole_set=kind in WHOLE_SET_CAPABLE and (ids is None or "*" in ids),
                detail=entry.detail,
            )
        )
    return out


# --- serving capacity over time ------------------------------------------------------------------


def low_water_mark(state: State, key: str) -> tuple[int, int]:
    """(fewest instances serving at any moment since the start, instances serving at the
    start), replaying the log: an instance serving at the start leaves service while an
    operation runs on it, and after a stop, deallocate or delete until it is started again.
    Repairs are not counted as gains, so the mark is the worst the operator caused."""
    run = state.exercise
    baseline = run.baseline.get(key) if run else None
    if baseline is None:
        return 0, 0
    serving = set(baseline.serving)
    down: set[int] = set()
    running: dict[str, tuple[str, list[int]]] = {}
    lowest = len(serving)
    for entry in state.activity_log.since(run.log_start):
        if scale_set_key(entry.resource_id) != key:
            continue
        kind = classify(entry)
        ids = [int(i) for i in entry.instance_ids if i.isdigit()]
        if entry.status == "Started" and kind in DISRUPTIVE + ("start",):
            running[entry.correlation_id] = (kind, ids)
            if kind != "start":
                down |= set(ids) & serving
        elif entry.status != "Started" and entry.correlation_id in running:
            kind, ids = running.pop(entry.correlation_id)
            if kind not in STAYS_DOWN:
                down -= set(ids)
        lowest = min(lowest, len(serving - down))
    return lowest, len(serving)


# --- objectives ----------------------------------------------------------------------------------


@dataclass
class Result:
    text: str
    check: str
    passed: bool
    evidence: list[str] = field(default_factory=list)


def _target(state: State, objective) -> tuple[str, ScaleSet | None]:
    sets = list(state.scale_sets())
    if objective.resource_group and objective.name:
        for rg, key, scale_set in sets:
            if rg.lower() == objective.resource_group.lower() and key.lower() == (
                objective.name.lower()
            ):
                return f"{rg}/{key}", scale_set
        return f"{objective.resource_group}/{objective.name}", None
    run = state.exercise
    if run and run.baseline:
        key = next(iter(run.baseline))
        rg, _, name = key.partition("/")
        for r, k, scale_set in sets:
            if r == rg and k == name:
                return key, scale_set
        return key, None
    if sets:
        rg, key, scale_set = sets[0]
        return f"{rg}/{key}", scale_set
    return "", None


def _line(event: Event) -> str:
    ids = ", ".join(map(str, event.instance_ids)) or "none"
    extra = f"; skipped {', '.join(event.skipped)}" if event.skipped else ""
    detail = f" ({event.detail})" if event.detail else ""
    return f"{event.time:%H:%M:%S} {event.kind} of {ids}{extra}{detail}: {event.command}"


def check_objective(  # noqa: C901 - one branch per check
    state: State, objective, happened: list[Event]
) -> Result:
    """One objective against the final state and the requests (`events(state)`)."""
    key, scale_set = _target(state, objective)
    result = Result(objective.text, objective.check, False)
    mine = [e for e in happened if e.scale_set.lower() == key.lower()]
    wanted = set(objective.instances)
    if scale_set is None:
        result.evidence.append(f"scale set {key} no longer exists")
        return result
    by_id = {i.id: i for i in scale_set.instances}
    chosen = [by_id[i] for i in sorted(wanted) if i in by_id] if wanted else scale_set.instances
    missing = sorted(wanted - set(by_id))
    check = objective.check
    if check == "healthy":
        bad = [i.id for i in chosen if not is_serving(scale_set, i)]
        result.passed = not bad and not missing
        result.evidence += [f"instance {i} is not healthy and serving" for i in bad]
        result.evidence += [f"instance {i} no longer exists" for i in missing]
        if result.passed:
            result.evidence.append(f"{len(chosen)} of {len(chosen)} healthy and serving")
    elif check == "capacity":
        result.passed = scale_set.capacity == objective.count
        result.evidence.append(f"capacity is {scale_set.capacity} (wanted {objective.count})")
    elif check == "only-these-disrupted":
        kinds = objective.operations or list(DISRUPTIVE)
        offending = [e for e in mine if e.kind in kinds and set(e.instance_ids) - wanted]
        result.passed = not offending
        result.evidence += [_line(e) for e in offending] or [
            f"only {', '.join(map(str, sorted(wanted)))} disrupted"
            if wanted
            else "no instance was disrupted"
        ]
    elif check == "acted-on":
        kinds = objective.operations
        hits = [e for e in mine if e.kind in kinds and set(e.instance_ids) & wanted]
        done = set().union(*(set(e.instance_ids) for e in hits)) if hits else set()
        result.passed = wanted <= done
        result.evidence += [_line(e) for e in hits]
        result.evidence += [
            f"instance {i} was never targeted by {' or '.join(kinds)}"
            for i in sorted(wanted - done)
        ]
    elif check == "survived":
        result.passed = not missing
        result.evidence += [f"instance {i} was removed" for i in missing] or [
            f"{', '.join(map(str, sorted(wanted)))} still exist"
        ]
    elif check == "protected-before":
        first = next((e for e in mine if e.kind == objective.before), None)
        if first is None:
            result.evidence.append(f"no {objective.before} happened")
        protected: set[int] = set()
        for e in mine:
            if first is not None and e.time > first.time:
                break
            if e is first:
                break
            if e.kind == "protection" and "protectFromScaleIn=true" in e.detail:
                protected |= set(e.instance_ids)
                result.evidence.append(_line(e))
        late = sorted(wanted - protected)
        result.passed = first is not None and not late
        result.evidence += [
            f"instance {i} was not protected before the {objective.before}" for i in late
        ]
        if first is not None:
            result.evidence.append(_line(first))
    elif check == "protected":
        bare = [i.id for i in chosen if not (i.protection and i.protection.scale_in)]
        result.passed = not bare and not missing
        result.evidence += [f"instance {i} is not protected from scale-in" for i in bare]
        result.evidence += [f"instance {i} no longer exists" for i in missing]
        if result.passed:
            result.evidence.append(f"{len(chosen)} instance(s) protected from scale-in")
    elif check == "unprotected":
        still = [
            i.id
            for i in chosen
            if i.protection and (i.protection.scale_in or i.protection.scale_set_actions)
        ]
        result.passed = not still
        result.evidence += [f"instance {i} is still protected" for i in still] or [
            "no protection left"
        ]
    elif check == "unprotected-after-run-command":
        # Each instance: a run-command on it after the `before` request (the confirmation),
        # then its protection removed.
        start = next((e.time for e in mine if e.kind == objective.before), None)
        late = []
        for instance_id in sorted(wanted):
            confirmed = None
            cleared = None
            for e in mine:
                if instance_id not in e.instance_ids or (start is not None and e.time < start):
                    continue
                if e.kind == "run-command" and confirmed is None:
                    confirmed = e
                if e.kind == "protection" and "protectFromScaleIn=false" in e.detail:
                    cleared = e
            if confirmed is None or cleared is None or cleared.time < confirmed.time:
                late.append(instance_id)
            else:
                result.evidence += [_line(confirmed), _line(cleared)]
        result.passed = start is not None and not late
        if start is None:
            result.evidence.append(f"no {objective.before} happened")
        result.evidence += [
            f"instance {i}: protection was not removed after a run-command confirmed the drain"
            for i in late
        ]
    elif check == "min-serving":
        lowest, start = low_water_mark(state, key)
        percent = 100 * lowest / start if start else 100.0
        result.passed = percent >= objective.percent
        result.evidence.append(
            f"serving capacity low-water mark {lowest} of {start} ({percent:.0f}%, "
            f"wanted at least {objective.percent}%)"
        )
    elif check == "max-upgraded-to":
        reached = upgraded_to(state, key, objective.image_version)
        result.passed = len(reached) <= objective.count
        result.evidence.append(
            f"{len(reached)} instance(s) ran image version {objective.image_version}"
            + (f": {', '.join(map(str, sorted(reached)))}" if reached else "")
            + f" (at most {objective.count} allowed)"
        )
    elif check == "on-image":
        version = objective.image_version
        behind = [
            i.id
            for i in chosen
            if not is_latest_model(scale_set, i) or scale_set.model.image.version != version
        ]
        result.passed = not behind
        result.evidence += [
            f"instance {i} is not on the latest model with image {version}" for i in behind
        ] or [f"every instance runs the latest model, image {version}"]
    elif check == "repairs-suspended-before":
        # The repairs service suspended before the first `before` request on the instances
        # (an investigation must not race a replacement).
        first = next(
            (e for e in mine if e.kind == objective.before and set(e.instance_ids) & wanted), None
        )
        suspended = False
        for e in mine:
            if e is first:
                break
            if e.kind == "orchestration-service":
                suspended = e.detail.endswith(": Suspend")
                result.evidence.append(_line(e))
        result.passed = first is not None and suspended
        if first is None:
            result.evidence.append(
                f"no {objective.before} on {', '.join(map(str, sorted(wanted)))} happened"
            )
        else:
            result.evidence.append(_line(first))
            if not suspended:
                result.evidence.append(
                    f"automatic repairs were running at the first {objective.before}"
                )
    elif check == "repairs-running":
        repairs = scale_set.automatic_repairs
        state_now = (
            "not configured"
            if repairs is None
            else "off"
            if not repairs.enabled
            else "suspended"
            if repairs.suspended
            else "running"
        )
        result.passed = state_now == "running"
        result.evidence.append(f"automatic repairs are {state_now}")
    elif check == "no-whole-fleet":
        whole = [e for e in mine if e.whole_set]
        result.passed = not whole
        result.evidence += [f"whole-fleet request: {_line(e)}" for e in whole] or [
            "every request named its instances"
        ]
    return result


def upgraded_to(state: State, key: str, version: str) -> set[int]:
    """Instances that an upgrade (rolling batch, automatic, update-instances, reimage) moved
    to a model with this image version, since the exercise began."""
    run = state.exercise
    baseline = run.baseline.get(key) if run else None
    image = baseline.image_version if baseline else ""
    image_at_start: dict[str, str] = {}
    reached: set[int] = set()
    for entry in state.activity_log.since(run.log_start if run else 0):
        if scale_set_key(entry.resource_id).lower() != key.lower():
            continue
        kind = classify(entry)
        if kind == "update" and "image version " in entry.detail:
            image = entry.detail.rsplit("image version ", 1)[1]
        if entry.status == "Started":
            image_at_start[entry.correlation_id] = image
            continue
        if kind in ("rolling-upgrade", "upgrade", "update-instances", "reimage") and (
            image_at_start.get(entry.correlation_id, image) == version
        ):
            if kind == "rolling-upgrade" and not entry.detail.startswith("batch"):
                continue
            reached |= {int(i) for i in entry.instance_ids if i.isdigit()}
    return reached


# --- the whole check -----------------------------------------------------------------------------


@dataclass
class Report:
    exercise: str
    results: list[Result]
    timeline: list[str]
    targeted: list[int]
    whole_fleet: list[str]
    low_water: tuple[int, int]

    @property
    def score(self) -> str:
        return f"{sum(r.passed for r in self.results)}/{len(self.results)}"

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def check(state: State, scenario, name: str) -> Report:
    if state.exercise is None or state.exercise.name != name:
        raise CLIError(
            f"No exercise '{name}' is under way in this state file. Start it with "
            f"'vmss exercise start {name}'."
        )
    happened = events(state)
    results = [check_objective(state, objective, happened) for objective in scenario.objectives]
    key = next(iter(state.exercise.baseline), "")
    targeted = sorted({i for e in happened if e.kind in DISRUPTIVE for i in e.instance_ids})
    return Report(
        exercise=name,
        results=results,
        timeline=[_line(e) for e in happened],
        targeted=targeted,
        whole_fleet=[_line(e) for e in happened if e.whole_set],
        low_water=low_water_mark(state, key),
    )
