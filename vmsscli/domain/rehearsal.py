"""Runbook rehearsal: what each command of a runbook did to the fleet, and the mistakes the
field manual warns about (whole-fleet or wildcard actions, acting on protected or stateful
instances, serving capacity dropping below a threshold).

Pure: the CLI runs the runbook against a throwaway state and hands over snapshots and the
journal the `az` shim wrote; everything here works on plain data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vmsscli.domain.exercise import DISRUPTIVE, WHOLE_SET_CAPABLE, classify, named_ids
from vmsscli.model import ActivityEntry, Instance, ScaleSet, State
from vmsscli.resource_ids import scale_set_key
from vmsscli.schema import validate


def _stateful(scale_set: ScaleSet, inst: Instance, now: datetime) -> bool:
    """Holds data only it has: files waiting in a spool folder of the guest."""
    folders = {**scale_set.model.guest.queues, **inst.guest.queues}
    if not folders:
        return False
    from vmsscli.guest.facts import guest_view

    view = guest_view(scale_set, "", inst, now)
    prefixes = [folder.rstrip("/") + "/" for folder in folders]
    return any(
        path.startswith(prefix) and not path.rsplit("/", 1)[-1].startswith(".")
        for path in view.files
        for prefix in prefixes
    )


def snapshot(state: State, now: datetime) -> dict[str, Any]:
    """Per scale set ("rg/name"), the facts of each instance an operator cares about."""
    from vmsscli.domain.health import effective_health, is_latest_model, is_serving

    out: dict[str, Any] = {}
    for rg, key, scale_set in state.scale_sets():
        instances = {}
        for inst in scale_set.instances:
            protection = inst.protection
            instances[str(inst.id)] = {
                "health": effective_health(scale_set, inst),
                "latestModel": is_latest_model(scale_set, inst),
                "powerState": inst.power_state,
                "protection": (
                    "scale-set-actions"
                    if protection and protection.scale_set_actions
                    else "scale-in"
                    if protection and protection.scale_in
                    else "none"
                ),
                "provisioningState": inst.provisioning_state,
                "serving": is_serving(scale_set, inst),
                "stateful": _stateful(scale_set, inst, now),
            }
        out[f"{rg}/{key}"] = {"capacity": scale_set.capacity, "instances": instances}
    return out


def _serving(snap: dict[str, Any], key: str) -> tuple[int, int]:
    scale_set = snap.get(key, {"instances": {}})
    rows = scale_set["instances"].values()
    return sum(1 for r in rows if r["serving"]), len(rows)


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Per instance that changed: the fields before and after (an instance that appeared or
    went away shows `exists`)."""
    out = []
    for key in sorted(set(before) | set(after)):
        old = before.get(key, {"instances": {}})["instances"]
        new = after.get(key, {"instances": {}})["instances"]
        for instance_id in sorted(set(old) | set(new), key=int):
            a, b = old.get(instance_id), new.get(instance_id)
            if a == b:
                continue
            if a is None or b is None:
                diff = {"exists": [a is not None, b is not None]}
            else:
                diff = {
                    name: [a[name], b[name]]
                    for name in a
                    if a[name] != b.get(name) and name != "stateful"
                }
            if diff:
                out.append({"scaleSet": key, "instanceId": instance_id, "changes": diff})
    return out


def command_report(step: dict[str, Any], threshold: int) -> dict[str, Any]:
    """One journal step (argv, exit code, snapshots, the activity entries it added) as a
    report row with its warnings."""
    argv = step["argv"]
    row: dict[str, Any] = {
        "command": " ".join(_quote(a) for a in argv),
        "exitCode": step["exitCode"],
        "skipped": {},
        "touched": {},
        "warnings": [],
    }
    if step.get("refused"):
        reason = step.get("reason") or f"'{' '.join(argv[:2])}' is not an 'az vmss' command"
        row["warnings"].append(f"refused: {reason}; nothing ran")
        return row
    before, after = step["before"], step["after"]
    entries = [validate(ActivityEntry, e) for e in step.get("entries", [])]
    disrupted: dict[str, set[str]] = {}
    # A scale-in lowers capacity on purpose: it is not counted as lost serving capacity.
    scaled_in: dict[str, set[str]] = {}
    for entry in entries:
        if entry.status != "Started":
            continue
        kind = classify(entry)
        key = scale_set_key(entry.resource_id)
        if entry.instance_ids:
            row["touched"].setdefault(key, []).extend(entry.instance_ids)
        if entry.skipped:
            row["skipped"].setdefault(key, []).extend(
                f"{s.instance_id} ({s.reason})" for s in entry.skipped
            )
        ids = named_ids(entry)
        if kind in WHOLE_SET_CAPABLE and (ids is None or "*" in ids):
            row["warnings"].append(
                f"whole-fleet request: {kind} of every instance of {key}"
                + (" ('*')" if ids else " (no --instance-ids)")
            )
        if kind not in DISRUPTIVE:
            continue
        if kind == "scale-in":
            scaled_in.setdefault(key, set()).update(entry.instance_ids)
        else:
            disrupted.setdefault(key, set()).update(entry.instance_ids)
        facts = before.get(key, {"instances": {}})["instances"]
        # Instances the command itself made (absent before) are neither protected nor stateful.
        protected = [
            i for i in entry.instance_ids if facts.get(i, {}).get("protection", "none") != "none"
        ]
        stateful = [i for i in entry.instance_ids if facts.get(i, {}).get("stateful")]
        if protected:
            row["warnings"].append(
                f"{kind} of protected instance(s) {', '.join(protected)} of {key}"
            )
        if stateful:
            row["warnings"].append(
                f"{kind} of stateful instance(s) {', '.join(stateful)} of {key} "
                "(they hold data not yet forwarded)"
            )
    for key in sorted(set(before) | set(after)):
        serving_before, total = _serving(before, key)
        serving_after, total_after = _serving(after, key)
        gone = scaled_in.get(key, set())
        total -= len(gone)
        if total <= 0:
            continue
        during = {
            i
            for i, r in before.get(key, {"instances": {}})["instances"].items()
            if r["serving"] and i not in disrupted.get(key, set()) and i not in gone
        }
        lowest = min(len(during), serving_after)
        if lowest * 100 < threshold * total and lowest < serving_before:
            row["warnings"].append(
                f"serving capacity of {key} fell to {lowest} of {total} "
                f"({100 * lowest // total}%, below {threshold}%)"
            )
        row.setdefault("servingAfter", {})[key] = f"{serving_after}/{total_after}"
    return row


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def report(
    journal: list[dict[str, Any]],
    initial: dict[str, Any],
    final: dict[str, Any],
    *,
    runbook: str,
    exit_code: int,
    threshold: int,
) -> dict[str, Any]:
    commands = [command_report(step, threshold) for step in journal]
    warnings = [w for c in commands for w in c["warnings"]]
    failed = next((c for c in commands if c["exitCode"] != 0), None)
    return {
        "commands": commands,
        "exitCode": exit_code,
        "failedCommand": failed["command"] if failed else None,
        "runbook": runbook,
        "stateChanges": changes(initial, final),
        "threshold": threshold,
        "warnings": warnings,
    }
