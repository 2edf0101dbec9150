"""The triage view: what is wrong with which instance, worst first."""

from __future__ import annotations

from dataclasses import dataclass, field

from vmsscli.domain.health import (
    effective_health,
    failed_extensions,
    is_latest_model,
    is_serving,
)
from vmsscli.model import ScaleSet


@dataclass
class TriageRow:
    instance_id: int
    zone: str
    fault_domain: int
    update_domain: int
    power_state: str
    provisioning_state: str
    health: str
    latest_model: bool
    protect_from_scale_in: bool
    protect_from_scale_set_actions: bool
    failed_extensions: list[str]
    vm_agent_ready: bool
    serving: bool
    problems: list[str] = field(default_factory=list)

    @property
    def severity(self) -> int:
        """0: not serving; 1: serving but not on the latest model; 2: protected; 3: fine."""
        if not self.serving or self.failed_extensions or not self.vm_agent_ready:
            return 0
        if not self.latest_model:
            return 1
        if self.protect_from_scale_in or self.protect_from_scale_set_actions:
            return 2
        return 3


@dataclass
class Triage:
    rows: list[TriageRow]
    total: int
    not_serving: int
    not_latest: int
    protected: int
    # The automatic repairs service, as the operator must know it before acting ("" without a
    # policy): it may replace an instance under their feet.
    repairs: str = ""

    @property
    def summary(self) -> str:
        text = (
            f"{self.not_serving} of {self.total} unhealthy, {self.not_latest} not on the "
            f"latest model, {self.protected} protected"
        )
        return f"{text}; {self.repairs}" if self.repairs else text


def triage(scale_set: ScaleSet) -> Triage:
    rows = []
    for inst in scale_set.instances:
        protection = inst.protection
        row = TriageRow(
            instance_id=inst.id,
            zone=inst.zone,
            fault_domain=inst.fault_domain or 0,
            update_domain=inst.update_domain or 0,
            power_state=inst.power_state,
            provisioning_state=inst.provisioning_state,
            health=effective_health(scale_set, inst)
            if scale_set.model.has_health_monitoring
            else ("unknown" if inst.power_state != "running" else "not monitored"),
            latest_model=is_latest_model(scale_set, inst),
            protect_from_scale_in=bool(protection and protection.scale_in),
            protect_from_scale_set_actions=bool(protection and protection.scale_set_actions),
            failed_extensions=failed_extensions(scale_set, inst),
            vm_agent_ready=inst.vm_agent == "ready",
            serving=is_serving(scale_set, inst),
        )
        if inst.power_state != "running":
            row.problems.append(f"VM {inst.power_state}")
        if inst.provisioning_state != "Succeeded":
            row.problems.append(f"provisioning {inst.provisioning_state.lower()}")
        if row.health in ("unhealthy", "unknown") and inst.power_state == "running":
            row.problems.append(f"health {row.health}")
        elif row.health == "not monitored" and not row.serving and inst.power_state == "running":
            # No probe reports it, but the application does not answer (a guest fault).
            row.problems.append("application not answering (health not monitored)")
        row.problems += [f"extension {name} failed" for name in row.failed_extensions]
        if not row.vm_agent_ready:
            row.problems.append("VM agent not ready")
        if not row.latest_model:
            row.problems.append("not on the latest model")
        rows.append(row)
    rows.sort(key=lambda r: (r.severity, r.instance_id))
    return Triage(
        rows=rows,
        total=len(rows),
        not_serving=sum(1 for r in rows if not r.serving),
        not_latest=sum(1 for r in rows if not r.latest_model),
        protected=sum(
            1 for r in rows if r.protect_from_scale_in or r.protect_from_scale_set_actions
        ),
        repairs=_repairs_summary(scale_set),
    )


def _repairs_summary(scale_set: ScaleSet) -> str:
    repairs = scale_set.automatic_repairs
    if repairs is None:
        return ""
    if not repairs.enabled:
        return "automatic repairs off"
    state = "suspended" if repairs.suspended else "running"
    return (
        f"automatic repairs {state} ({repairs.repair_action} after {repairs.grace_period} "
        "unhealthy)"
    )
