"""Instance actions, scaling, protection and simulated time, on the domain (no CLI, no files).

Rules under test (az reference §4, §6.1, §6.2, §6.4; docs/semantics.md): explicitly named
instances are acted on even when protected; whole-set requests (no ids or `*`) skip instances
protected from scale-set actions; every id is checked before anything changes; scale-in balances
zones, then fault domains, then removes the highest id, and never removes a protected instance;
operations run in simulated time and complete when the clock reaches them.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmsscli.demo import demo_state
from vmsscli.domain.actions import ACTIONS, SKIP_PROTECTED, perform
from vmsscli.domain.fleet import find_scale_set
from vmsscli.domain.health import effective_health, is_latest_model, is_serving
from vmsscli.domain.operations import pending_until, settle, wait_for
from vmsscli.domain.protection import set_protection
from vmsscli.domain.scaling import scale, scale_in_order
from vmsscli.errors import ServiceError
from vmsscli.model import (
    ClockSettings,
    Fault,
    Instance,
    Protection,
    ResourceGroup,
    ScaleSet,
    State,
)
from vmsscli.schema import dump

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
WEB = ("rg-web", "web-vmss")
BATCH = ("rg-batch", "batch-vmss")
VMSS_OP = "Microsoft.Compute/virtualMachineScaleSets"


def manual_demo() -> State:
    """The demo fleet with the clock in manual mode at NOW."""
    state = demo_state()
    state.clock = ClockSettings(mode="manual", now=NOW)
    return state


def scale_set_of(state: State, rg: str = WEB[0], name: str = WEB[1]) -> ScaleSet:
    return find_scale_set(state, rg, name)[2]


def inst(state: State, instance_id: int, rg: str = WEB[0], name: str = WEB[1]) -> Instance:
    found = scale_set_of(state, rg, name).instance(instance_id)
    assert found is not None
    return found


def act(state: State, action: str, ids: list[str] | None, rg=WEB[0], name=WEB[1]):
    """An action as the CLI runs it without --no-wait: start it, then wait for it."""
    outcome = perform(state, rg, name, action, ids, state.clock.now)
    wait_for(state, outcome.correlation_id)
    return outcome


def protect(state: State, instance_id: int, scale_in=None, actions=None, rg=WEB[0], name=WEB[1]):
    return set_protection(state, rg, name, str(instance_id), scale_in, actions, state.clock.now)


def snapshot(state: State) -> dict:
    return dump(state)


def instances_by_id(scale_set: ScaleSet) -> dict[int, dict]:
    return {i.id: dump(i) for i in scale_set.instances}


# --- actions: targets and transitions -----------------------------------------------------------


def test_restart_of_one_instance_is_transitional_until_its_duration_has_passed():
    state = manual_demo()
    outcome = perform(state, *WEB, "restart", ["0"], NOW)
    target = inst(state, 0)
    assert outcome.acted == [0]
    assert target.provisioning_state == "Updating"
    assert target.operation is not None and target.operation.completes == NOW + timedelta(minutes=1)
    settle(state, NOW + timedelta(seconds=59))
    assert target.provisioning_state == "Updating" and target.operation is not None
    settle(state, NOW + timedelta(minutes=1))
    assert (target.power_state, target.provisioning_state) == ("running", "Succeeded")
    assert target.operation is None and target.updated == NOW + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("action", "ids", "rg_name", "transitional", "seconds", "final"),
    [
        ("stop", ["0"], WEB, "stopping", 30, "stopped"),
        ("start", ["3"], BATCH, "starting", 30, "running"),
        ("deallocate", ["0"], WEB, "deallocating", 60, "deallocated"),
        ("restart", ["0"], WEB, None, 60, "running"),
        ("reimage", ["0"], WEB, None, 180, "running"),
        ("upgrade", ["12"], WEB, None, 120, "running"),
    ],
)
def test_each_action_has_its_default_duration_and_final_power_state(
    action, ids, rg_name, transitional, seconds, final
):
    state = manual_demo()
    perform(state, *rg_name, action, ids, NOW)
    target = inst(state, int(ids[0]), *rg_name)
    assert target.provisioning_state == "Updating"
    if transitional:
        assert target.power_state == transitional
    settle(state, NOW + timedelta(seconds=seconds - 1))
    assert target.provisioning_state == "Updating"
    settle(state, NOW + timedelta(seconds=seconds))
    assert (target.power_state, target.provisioning_state) == (final, "Succeeded")


def test_delete_removes_the_instance_after_a_minute_and_capacity_drops_at_once():
    state = manual_demo()
    web = scale_set_of(state)
    perform(state, *WEB, "delete", ["4", "9"], NOW)
    assert web.capacity == 10
    assert inst(state, 4).provisioning_state == "Deleting"
    settle(state, NOW + timedelta(seconds=59))
    assert web.instance(4) is not None
    settle(state, NOW + timedelta(minutes=1))
    assert web.instance(4) is None and web.instance(9) is None
    assert len(web.instances) == 10


def test_wait_for_in_manual_mode_moves_the_clock_to_completion():
    state = manual_demo()
    act(state, "reimage", ["0"])
    assert state.clock.now == NOW + timedelta(minutes=3)
    assert inst(state, 0).operation is None


def test_wait_for_in_wall_mode_completes_without_moving_the_stored_clock():
    state = demo_state()
    stored = state.clock.now
    outcome = perform(state, *WEB, "stop", ["0"], NOW)
    assert pending_until(state, outcome.correlation_id) == NOW + timedelta(seconds=30)
    wait_for(state, outcome.correlation_id)
    assert state.clock.now == stored
    assert inst(state, 0).power_state == "stopped"
    assert pending_until(state, outcome.correlation_id) is None


def test_settle_completes_only_operations_that_are_due_in_completion_order():
    state = manual_demo()
    perform(state, *WEB, "reimage", ["1"], NOW)
    perform(state, *WEB, "stop", ["2"], NOW)
    settle(state, NOW + timedelta(minutes=1))
    assert inst(state, 2).power_state == "stopped"
    assert inst(state, 1).operation is not None
    succeeded = [e for e in state.activity_log if e.status == "Succeeded"]
    assert [e.operation for e in succeeded] == [f"{VMSS_OP}/powerOff/action"]


def test_whole_set_requests_skip_instances_protected_from_scale_set_actions():
    state = manual_demo()
    protect(state, 4, actions=True)
    for ids in (None, ["*"]):
        outcome = act(state, "restart", ids)
        assert 4 not in outcome.acted
        assert (4, SKIP_PROTECTED) in outcome.skipped
    assert inst(state, 4).operation is None


def test_protection_from_scale_in_alone_does_not_exclude_from_whole_set_actions():
    state = manual_demo()
    outcome = act(state, "restart", None)
    assert 9 in outcome.acted  # 9 is protected from scale-in only
    assert sorted(outcome.acted) == [0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13]


def test_explicitly_named_instances_are_acted_on_even_when_protected():
    state = manual_demo()
    protect(state, 4, actions=True)
    outcome = act(state, "stop", ["4", "9"])
    assert outcome.acted == [4, 9] and outcome.skipped == []
    assert inst(state, 4).power_state == "stopped" and inst(state, 9).power_state == "stopped"


def test_whole_set_restart_skips_stopped_and_deallocated_instances_with_a_reason():
    state = manual_demo()
    act(state, "deallocate", ["1"], *BATCH)
    outcome = act(state, "restart", None, *BATCH)
    assert sorted(outcome.acted) == [0, 2, 4]
    assert dict(outcome.skipped) == {1: "VM deallocated", 3: "VM stopped"}
    assert inst(state, 1, *BATCH).power_state == "deallocated"


def test_restart_of_a_deallocated_instance_by_id_is_not_allowed_and_changes_nothing():
    state = manual_demo()
    act(state, "deallocate", ["1"], *BATCH)
    before = snapshot(state)
    with pytest.raises(ServiceError) as caught:
        perform(state, *BATCH, "restart", ["0", "1"], state.clock.now)
    assert caught.value.code == "OperationNotAllowed" and caught.value.exit_code == 1
    assert "batch-vmss_1" in caught.value.message
    assert snapshot(state) == before


@pytest.mark.parametrize("bad", ["99", "3", "abc", "1.5", ""])
def test_unknown_or_malformed_ids_fail_the_whole_request_before_anything_changes(bad):
    state = manual_demo()
    before = snapshot(state)
    with pytest.raises(ServiceError) as caught:
        perform(state, *WEB, "restart", ["0", "1", bad], NOW)
    error = caught.value
    assert (error.code, error.target, error.exit_code) == ("InvalidParameter", "instanceIds", 1)
    assert f"instanceId {bad.strip()} " in error.message
    assert snapshot(state) == before


def test_a_named_instance_already_in_the_target_state_needs_nothing():
    state = manual_demo()
    outcome = act(state, "start", ["0", "3"], *BATCH)
    assert outcome.acted == [3]
    assert inst(state, 0, *BATCH).operation is None


def test_an_action_on_an_instance_with_an_operation_in_flight_is_refused():
    state = manual_demo()
    perform(state, *WEB, "reimage", ["0"], NOW)
    with pytest.raises(ServiceError) as caught:
        perform(state, *WEB, "restart", ["0"], NOW + timedelta(seconds=5))
    assert caught.value.code == "OperationNotAllowed"
    outcome = perform(state, *WEB, "restart", None, NOW + timedelta(seconds=5))
    assert 0 not in outcome.acted and 0 in dict(outcome.skipped)


# --- what actions repair ------------------------------------------------------------------------


def faulty_web() -> State:
    """Web instances 0 (stale process), 1 (full disk), 2 (blocked network), 4 (all three)."""
    state = manual_demo()
    inst(state, 0).faults = [Fault(kind="stale-process")]
    inst(state, 1).faults = [Fault(kind="disk-full")]
    inst(state, 2).faults = [Fault(kind="network-blocked", host="packages.example.com")]
    inst(state, 4).faults = [
        Fault(kind="stale-process"),
        Fault(kind="disk-full"),
        Fault(kind="network-blocked", host="packages.example.com"),
    ]
    return state


def health(state: State, instance_id: int) -> str:
    return effective_health(scale_set_of(state), inst(state, instance_id))


def kinds(state: State, instance_id: int) -> list[str]:
    return [f.kind for f in inst(state, instance_id).faults]


def test_guest_faults_make_an_instance_unhealthy_and_a_blocked_network_does_not_by_itself():
    state = faulty_web()
    assert [health(state, i) for i in (0, 1, 2, 4)] == [
        "unhealthy",
        "unhealthy",
        "healthy",
        "unhealthy",
    ]


def test_restart_repairs_a_stale_process_but_not_a_full_disk_nor_a_failed_extension():
    state = faulty_web()
    act(state, "restart", ["0", "1", "4", "5"])
    assert kinds(state, 0) == [] and health(state, 0) == "healthy"
    assert kinds(state, 1) == ["disk-full"] and health(state, 1) == "unhealthy"
    assert kinds(state, 4) == ["disk-full", "network-blocked"]
    assert inst(state, 5).extensions["configure-web"].status == "failed"
    assert health(state, 5) == "unhealthy"


def test_stop_then_start_repairs_a_stale_process():
    state = faulty_web()
    act(state, "stop", ["0"])
    assert kinds(state, 0) == ["stale-process"]
    act(state, "start", ["0"])
    assert kinds(state, 0) == [] and health(state, 0) == "healthy"


def test_reimage_repairs_guest_faults_reruns_extensions_and_applies_the_latest_model():
    state = faulty_web()
    web = scale_set_of(state)
    act(state, "reimage", ["0", "1", "5", "12"])
    for i in (0, 1, 5, 12):
        assert kinds(state, i) == [] and health(state, i) == "healthy"
        assert is_serving(web, inst(state, i))
    assert inst(state, 5).extensions == {}
    assert inst(state, 12).model_version == web.model.version
    assert inst(state, 12).image_version == ""
    assert is_latest_model(web, inst(state, 12))


def test_a_blocked_network_survives_restart_and_reimage_and_fails_download_extensions():
    state = faulty_web()
    act(state, "restart", ["2"])
    assert kinds(state, 2) == ["network-blocked"]
    act(state, "reimage", ["2", "4"])
    for i in (2, 4):
        assert kinds(state, i) == ["network-blocked"]
        extensions = inst(state, i).extensions
        assert extensions["configure-web"].status == "failed"
        assert "packages.example.com" in extensions["configure-web"].message
        assert "HealthExtension" not in extensions  # needs no download
        assert health(state, i) == "unhealthy"


def test_reimage_puts_an_instance_level_model_back_on_the_scale_set_model_keeping_protection():
    state = manual_demo()
    web = scale_set_of(state)
    assert not is_latest_model(web, inst(state, 9))  # instance-level model (protection set)
    act(state, "reimage", ["9"])
    assert is_latest_model(web, inst(state, 9))
    assert inst(state, 9).protection == Protection(scale_in=True)


def test_update_instances_brings_instances_to_the_latest_model():
    state = manual_demo()
    web = scale_set_of(state)
    act(state, "upgrade", ["9", "12"])
    assert is_latest_model(web, inst(state, 9)) and is_latest_model(web, inst(state, 12))


@pytest.mark.parametrize("action", ["stop", "deallocate"])
def test_stopped_or_deallocated_instances_do_not_serve_and_report_unknown_health(action):
    state = manual_demo()
    act(state, action, ["0"])
    web = scale_set_of(state)
    assert health(state, 0) == "unknown"
    assert not is_serving(web, inst(state, 0))
    act(state, "start", ["0"])
    assert health(state, 0) == "healthy" and is_serving(web, inst(state, 0))


def test_instances_in_transition_do_not_serve():
    state = manual_demo()
    perform(state, *WEB, "restart", ["0"], NOW)
    assert not is_serving(scale_set_of(state), inst(state, 0))
    assert health(state, 0) == "unknown"


# --- the activity log ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "operation"),
    [
        ("start", "start/action"),
        ("stop", "powerOff/action"),
        ("deallocate", "deallocate/action"),
        ("restart", "restart/action"),
        ("reimage", "reimage/action"),
        ("upgrade", "manualUpgrade/action"),
        ("delete", "delete/action"),
    ],
)
def test_an_action_logs_started_then_succeeded_with_one_correlation_id(action, operation):
    state = manual_demo()
    protect(state, 4, actions=True)
    start = state.activity_log.end
    outcome = perform(state, *WEB, action, None, NOW, command=f"vmss {action}")
    wait_for(state, outcome.correlation_id)
    started, done = state.activity_log.since(start)
    assert (started.status, done.status) == ("Started", "Succeeded")
    assert started.operation == done.operation == f"{VMSS_OP}/{operation}"
    assert started.correlation_id == done.correlation_id == outcome.correlation_id
    assert started.resource_id.endswith("/resourceGroups/rg-web/providers/" + VMSS_OP + "/web-vmss")
    assert started.instance_ids == [str(i) for i in outcome.acted]
    assert ("4", SKIP_PROTECTED) in [(s.instance_id, s.reason) for s in started.skipped]
    assert started.command == f"vmss {action}"
    assert started.time <= done.time


def test_a_request_with_nothing_to_do_still_logs_started_and_succeeded():
    state = manual_demo()
    start = state.activity_log.end
    outcome = act(state, "start", None, *("rg-batch", "tools-vmss"))
    assert outcome.acted == []
    assert [e.status for e in state.activity_log.since(start)] == ["Started", "Succeeded"]


def test_same_state_and_same_clock_give_the_same_result():
    def history() -> dict:
        state = manual_demo()
        protect(state, 4, actions=True)
        act(state, "restart", None)
        perform(state, *WEB, "stop", ["0", "1"], state.clock.now)
        scale(state, *WEB, 15, state.clock.now)
        settle(state, state.clock.now + timedelta(minutes=5))
        return snapshot(state)

    assert history() == history()


# --- protection ---------------------------------------------------------------------------------


def test_protection_is_set_on_the_instance_only_and_moves_it_to_an_instance_level_model():
    state = manual_demo()
    web = scale_set_of(state)
    model_before = dump(web.model)
    _, _, target = protect(state, 4, scale_in=True)
    assert target.protection == Protection(scale_in=True, scale_set_actions=False)
    assert target.model_definition_applied == "VirtualMachine"
    assert not is_latest_model(web, target)
    assert dump(web.model) == model_before
    last = list(state.activity_log)[-1]
    assert last.operation == f"{VMSS_OP}/virtualMachines/write"
    assert last.instance_ids == ["4"]


def test_protection_from_scale_set_actions_alone_implies_protection_from_scale_in():
    state = manual_demo()
    _, _, target = protect(state, 4, actions=True)
    assert target.protection == Protection(scale_in=True, scale_set_actions=True)


def test_a_flag_not_given_keeps_its_value():
    state = manual_demo()
    protect(state, 4, actions=True)
    _, _, target = protect(state, 4, actions=False)
    assert target.protection == Protection(scale_in=True, scale_set_actions=False)
    _, _, target = protect(state, 4, scale_in=False)
    assert target.protection == Protection(scale_in=False, scale_set_actions=False)


@pytest.mark.parametrize(
    ("existing", "scale_in", "actions"),
    [
        (None, False, True),
        (Protection(scale_in=True, scale_set_actions=True), False, None),
        (Protection(scale_in=False), None, True),
    ],
)
def test_scale_set_actions_protection_with_scale_in_explicitly_off_is_refused(
    existing, scale_in, actions
):
    state = manual_demo()
    inst(state, 4).protection = existing
    before = snapshot(state)
    with pytest.raises(ServiceError) as caught:
        protect(state, 4, scale_in=scale_in, actions=actions)
    assert (caught.value.code, caught.value.target) == ("InvalidParameter", "protectionPolicy")
    assert caught.value.exit_code == 1
    assert snapshot(state) == before


def test_protection_of_an_unknown_instance_is_not_found():
    state = manual_demo()
    before = snapshot(state)
    with pytest.raises(ServiceError) as caught:
        protect(state, 3, scale_in=True)
    assert caught.value.exit_code == 3
    assert snapshot(state) == before


# --- scaling ------------------------------------------------------------------------------------


def test_scale_out_creates_new_ids_on_the_current_model_spread_over_zones():
    state = manual_demo()
    web = scale_set_of(state)
    outcome = scale(state, *WEB, 15, NOW)
    assert outcome.acted == [14, 15, 16]
    assert inst(state, 14).provisioning_state == "Creating"
    wait_for(state, outcome.correlation_id)
    assert state.clock.now == NOW + timedelta(minutes=2)
    assert web.capacity == 15 and web.next_instance_id == 17
    for i in (14, 15, 16):
        new = inst(state, i)
        assert new.power_state == "running" and new.provisioning_state == "Succeeded"
        assert is_latest_model(web, new) and new.created == NOW
    assert Counter(i.zone for i in web.instances) == {"1": 5, "2": 5, "3": 5}


def test_ids_are_never_reused_after_the_highest_instance_is_deleted():
    state = manual_demo()
    act(state, "delete", ["13"])
    outcome = scale(state, *WEB, 12, state.clock.now)
    assert outcome.acted == [14]


def test_scale_in_balances_zones_then_removes_the_highest_id():
    state = manual_demo()
    web = scale_set_of(state)
    # zone 1: 0 6 9(protected) 12; zone 2: 1 4 7 10 13; zone 3: 2 5 11
    assert [i.id for i in scale_in_order(web, 3)] == [13, 12, 10]
    outcome = scale(state, *WEB, 9, NOW)
    wait_for(state, outcome.correlation_id)
    assert sorted(i.id for i in web.instances) == [0, 1, 2, 4, 5, 6, 7, 9, 11]
    assert Counter(i.zone for i in web.instances) == {"1": 3, "2": 3, "3": 3}


def test_scale_in_never_removes_a_protected_instance():
    state = manual_demo()
    web = scale_set_of(state)
    protect(state, 13, actions=True)
    protect(state, 12, scale_in=True)
    outcome = scale(state, *WEB, 3, NOW)
    wait_for(state, outcome.correlation_id)
    assert {9, 12, 13} <= {i.id for i in web.instances}
    assert web.capacity == 3


def test_scale_in_made_impossible_by_protection_raises_and_changes_nothing():
    state = manual_demo()
    protect(state, 4, actions=True)
    before = snapshot(state)
    with pytest.raises(ServiceError) as caught:
        scale(state, *WEB, 1, NOW)
    assert caught.value.exit_code == 1
    assert "protect" in caught.value.message
    assert snapshot(state) == before


@pytest.mark.parametrize("capacity", [-1, 1001])
def test_capacity_out_of_range_is_refused(capacity):
    state = manual_demo()
    before = snapshot(state)
    with pytest.raises(ServiceError) as caught:
        scale(state, *WEB, capacity, NOW)
    assert caught.value.target == "sku.capacity"
    assert snapshot(state) == before


def test_scale_to_the_current_capacity_changes_no_instance():
    state = manual_demo()
    before = instances_by_id(scale_set_of(state))
    outcome = scale(state, *WEB, 12, NOW)
    wait_for(state, outcome.correlation_id)
    assert outcome.acted == []
    assert instances_by_id(scale_set_of(state)) == before


# --- property: scale-in over random fleets --------------------------------------------------------

PROTECTIONS = {
    "none": None,
    "off": Protection(),
    "in": Protection(scale_in=True),
    "actions": Protection(scale_in=True, scale_set_actions=True),
}


def is_protected(instance: Instance) -> bool:
    p = instance.protection
    return p is not None and (p.scale_in or p.scale_set_actions)


@st.composite
def fleets(draw, zonal: bool = True, protection: bool = True):
    zones = draw(st.sampled_from([[], ["1"], ["1", "2"], ["1", "2", "3"]])) if zonal else []
    ids = draw(st.lists(st.integers(0, 60), max_size=16, unique=True))
    instances = []
    for i in draw(st.permutations(ids)):
        kind = draw(st.sampled_from(sorted(PROTECTIONS))) if protection else "none"
        instances.append(
            Instance(
                id=i,
                zone=draw(st.sampled_from(zones)) if zones else "",
                fault_domain=draw(st.integers(0, 4)),
                protection=PROTECTIONS[kind],
            )
        )
    scale_set = ScaleSet(zones=zones, instances=instances)
    state = State(
        clock=ClockSettings(mode="manual", now=NOW),
        resource_groups={"rg": ResourceGroup(scale_sets={"ss": scale_set})},
    )
    target = draw(st.integers(0, len(ids)))
    return state, target


def zone_spread(scale_set: ScaleSet, instances) -> int:
    counts = Counter(i.zone for i in instances)
    values = [counts.get(z, 0) for z in scale_set.zones]
    return max(values) - min(values)


def best_zone_spread(scale_set: ScaleSet, removals: int) -> int:
    """The smallest max-min zone count reachable by removing `removals` unprotected instances."""
    zones = scale_set.zones
    counts = Counter(i.zone for i in scale_set.instances)
    free = Counter(i.zone for i in scale_set.instances if not is_protected(i))
    best = None
    for split in product(*(range(min(free[z], removals) + 1) for z in zones)):
        if sum(split) != removals:
            continue
        final = [counts[z] - r for z, r in zip(zones, split, strict=True)]
        spread = max(final) - min(final)
        best = spread if best is None else min(best, spread)
    assert best is not None
    return best


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleets())
def test_scale_in_over_random_fleets_respects_protection_count_and_zone_balance(fleet):
    state, target = fleet
    scale_set = scale_set_of(state, "rg", "ss")
    current = len(scale_set.instances)
    originals = list(scale_set.instances)
    protected = {i.id for i in originals if is_protected(i)}
    before = snapshot(state)
    if current - target > current - len(protected):
        with pytest.raises(ServiceError):
            scale(state, "rg", "ss", target, NOW)
        assert snapshot(state) == before
        return
    best = best_zone_spread(scale_set, current - target) if scale_set.zones else 0
    outcome = scale(state, "rg", "ss", target, NOW)
    assert len(outcome.acted) == current - target
    assert not set(outcome.acted) & protected
    wait_for(state, outcome.correlation_id)
    remaining = {i.id for i in scale_set.instances}
    assert len(remaining) == target == scale_set.capacity
    assert protected <= remaining
    if scale_set.zones and target < current:
        spread_after = zone_spread(scale_set, scale_set.instances)
        assert spread_after == best, "zone balance is not the best protection allows"
        # Step by step: a removal never makes zones less balanced while a fullest zone still
        # has an unprotected instance to give.
        left = {i.id: i for i in originals}
        for victim in outcome.acted:
            counts = Counter(i.zone for i in left.values())
            fullest = max(counts.values())
            spread_before = zone_spread(scale_set, left.values())
            has_free = any(
                counts[i.zone] == fullest and i.id not in protected for i in left.values()
            )
            del left[victim]
            if has_free:
                assert zone_spread(scale_set, left.values()) <= max(spread_before, 1)


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.integers(0, 80), min_size=1, max_size=20, unique=True),
    data=st.data(),
)
def test_without_zones_protection_or_distinct_fault_domains_the_highest_ids_go_first(ids, data):
    scale_set = ScaleSet(
        fault_domain_count=1, instances=[Instance(id=i) for i in data.draw(st.permutations(ids))]
    )
    count = data.draw(st.integers(0, len(ids)))
    chosen = [i.id for i in scale_in_order(scale_set, count)]
    assert chosen == sorted(ids, reverse=True)[:count]


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 30), data=st.data())
def test_a_round_robin_regional_fleet_loses_its_highest_ids(size, data):
    scale_set = ScaleSet(instances=[Instance(id=i) for i in range(size)])  # fault domain id % 5
    count = data.draw(st.integers(0, size))
    assert [i.id for i in scale_in_order(scale_set, count)] == list(
        range(size - 1, size - 1 - count, -1)
    )


@settings(max_examples=100, deadline=None)
@given(fleets(zonal=False, protection=False))
def test_without_zones_or_protection_fault_domains_never_get_less_balanced(fleet):
    state, target = fleet
    scale_set = scale_set_of(state, "rg", "ss")

    def fd_spread(instances) -> int:
        counts = Counter(i.fault_domain for i in instances)
        values = [counts.get(d, 0) for d in range(scale_set.fault_domain_count)]
        return max(values) - min(values)

    before = fd_spread(scale_set.instances)
    removed = {i.id for i in scale_in_order(scale_set, len(scale_set.instances) - target)}
    after = fd_spread([i for i in scale_set.instances if i.id not in removed])
    assert after <= max(before, 1)


# --- property: random sequences of actions -------------------------------------------------------

WEB_IDS = [0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13]
FINAL_POWER = {
    "restart": "running",
    "stop": "stopped",
    "start": "running",
    "deallocate": "deallocated",
    "reimage": "running",
}


@st.composite
def steps(draw):
    action = draw(st.sampled_from(sorted(FINAL_POWER)))
    kind = draw(st.sampled_from(["omitted", "star", "explicit"]))
    if kind == "omitted":
        return action, None
    if kind == "star":
        return action, ["*"]
    return action, [str(i) for i in draw(st.lists(st.sampled_from(WEB_IDS), min_size=1))]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    protections=st.dictionaries(st.sampled_from(WEB_IDS), st.sampled_from(sorted(PROTECTIONS))),
    plan=st.lists(steps(), min_size=1, max_size=6),
)
def test_random_action_sequences_honour_targets_and_protection(protections, plan):
    state = manual_demo()
    web = scale_set_of(state)
    for i, kind in protections.items():
        inst(state, i).protection = PROTECTIONS[kind]
    guarded = {i for i, kind in protections.items() if kind == "actions"}
    for action, ids in plan:
        before = instances_by_id(web)
        snap = snapshot(state)
        allowed = ACTIONS[action].acts_on + ACTIONS[action].done
        named = None if ids is None or ids == ["*"] else [int(i) for i in ids]
        if named is not None and any(before[i]["power_state"] not in allowed for i in named):
            with pytest.raises(ServiceError) as caught:
                perform(state, *WEB, action, ids, state.clock.now)
            assert caught.value.code == "OperationNotAllowed"
            assert snapshot(state) == snap
            continue
        outcome = act(state, action, ids)
        after = instances_by_id(web)
        acted = set(outcome.acted)
        if named is None:
            assert not acted & guarded
            assert guarded <= {i for i, _ in outcome.skipped}
            expected = {
                i
                for i, facts in before.items()
                if i not in guarded and facts["power_state"] in ACTIONS[action].acts_on
            }
        else:
            expected = {i for i in named if before[i]["power_state"] in ACTIONS[action].acts_on}
        assert acted == expected
        for i in before:
            if i in acted:
                assert after[i]["power_state"] == FINAL_POWER[action]
                assert after[i]["provisioning_state"] == "Succeeded"
            else:
                assert after[i] == before[i], f"instance {i} changed by {action} {ids}"
