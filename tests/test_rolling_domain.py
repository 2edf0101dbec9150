"""Rolling upgrades and upgrade policies on the domain (no CLI, no files, injected clock).

Rules under test (seeds/rolling-upgrades.md, seeds/upgrade-policies.md, az reference §2.5,
§6.1, §6.3; docs/semantics.md "The scale set model and upgrades"): batches of
maxBatchInstancePercent of the instance count (at least one), inside one zone unless cross-zone
upgrade is on, unhealthy first with prioritizeUnhealthyInstances; instances protected from
scale-set actions are never upgraded; the upgrade stops Faulted when more than
maxUnhealthyInstancePercent of the set is unhealthy (before or during) or more than
maxUnhealthyUpgradedInstancePercent came back unhealthy after their upgrade; rollback returns
the failed instances to their previous model; cancel stops after the batch in flight; maxSurge
creates new instances before deleting old ones; Manual changes nothing until update-instances;
Automatic upgrades everything at once; every model change bumps the model version.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vmsscli.domain import operations, rolling
from vmsscli.domain.actions import perform
from vmsscli.domain.creation import CreateSpec, create_scale_set
from vmsscli.domain.health import effective_health, is_latest_model
from vmsscli.domain.model_update import Edits, update
from vmsscli.domain.operations import next_moment, settle
from vmsscli.domain.scaling import scale
from vmsscli.errors import ServiceError
from vmsscli.model import (
    ClockSettings,
    FailingImage,
    Protection,
    RollingPolicy,
    ScaleSet,
    State,
)
from vmsscli.resource_ids import vmss_id
from vmsscli.schema import dump
from vmsscli.views import azure_time, vm_view

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
RG, NAME = "rg-shop", "shop-vmss"
OLD_IMAGE = "22.04.202410020"  # what Ubuntu2204 "latest" resolves to at creation
NEW_IMAGE = "22.04.202411200"
IMAGE_VERSION = "virtualMachineProfile.storageProfile.imageReference.version"
ROLLING_OP = "Microsoft.Compute/virtualMachineScaleSets/osRollingUpgrade/action"
FAST = settings(max_examples=60, deadline=None)


# --- helpers ------------------------------------------------------------------------------------


def fleet(
    count: int = 10, zones=(), *, mode: str = "Rolling", health: bool = True, **policy
) -> tuple[State, ScaleSet]:
    """A fresh scale set (ids 0..count-1) in a state whose clock is manual at NOW."""
    state = State(clock=ClockSettings(mode="manual", now=NOW))
    _rg, _name, scale_set = create_scale_set(
        state,
        RG,
        NAME,
        CreateSpec(
            instance_count=count,
            zones=list(zones),
            upgrade_policy_mode=mode,
            app_health_extension=health,
        ),
        NOW,
    )
    if mode == "Rolling" or policy:
        scale_set.upgrade_policy.rolling = RollingPolicy(**policy)
    return state, scale_set


def roll_out(state: State, version: str = NEW_IMAGE):
    """`vmss update --set ...imageReference.version=...`, then the world at that moment."""
    outcome = update(state, RG, NAME, Edits(sets=[f"{IMAGE_VERSION}={version}"]), state.clock.now)
    settle(state, state.clock.now)
    return outcome


def advance(state: State, **delta) -> None:
    state.clock.now += timedelta(**delta)
    settle(state, state.clock.now)


def run_to_end(state: State, limit: int = 500) -> None:
    for _ in range(limit):
        moment = next_moment(state)
        if moment is None:
            return
        state.clock.now = max(state.clock.now, moment)
        settle(state, moment)
    raise AssertionError("the simulation did not come to rest")


def counts(scale_set: ScaleSet) -> tuple[int, int, int, int]:
    """(successful, failed, in progress, pending), as get-latest's progress."""
    p = rolling.progress(scale_set)
    return (
        p["successfulInstanceCount"],
        p["failedInstanceCount"],
        p["inProgressInstanceCount"],
        p["pendingInstanceCount"],
    )


def status(scale_set: ScaleSet) -> str:
    assert scale_set.rolling_upgrade is not None
    return scale_set.rolling_upgrade.status


def ids_on_model(scale_set: ScaleSet, latest: bool) -> list[int]:
    return sorted(i.id for i in scale_set.instances if is_latest_model(scale_set, i) == latest)


def latest_model_applied(state: State, scale_set: ScaleSet, instance_id: int) -> bool:
    inst = scale_set.instance(instance_id)
    assert inst is not None
    return vm_view(state.subscription_id, RG, NAME, scale_set, inst)["latestModelApplied"]


def start_upgrade(state: State, scale_set: ScaleSet):
    return rolling.start(state, scale_set, vmss_id(state.subscription_id, RG, NAME), NOW)


# --- the batch planner, property-based ----------------------------------------------------------


@st.composite
def fleets(draw) -> dict:
    """The facts of a Rolling scale set whose model moved on (built by `build`, so a failing
    example prints short): some instances behind the model, some protected from scale-set
    actions, some unhealthy; limits high enough that nothing breaches."""
    count = draw(st.integers(1, 20))
    flags = st.lists(st.booleans(), min_size=count, max_size=count)
    return {
        "count": count,
        "zones": draw(st.sampled_from([(), ("1",), ("1", "2"), ("1", "2", "3")])),
        "batch": draw(st.integers(5, 100)),
        "cross_zone": draw(st.sampled_from([None, False, True])),
        "prioritize": draw(st.sampled_from([None, False, True])),
        "surge": draw(st.sampled_from([None, False, True])),
        "behind": draw(flags),
        "protected": draw(flags),
        "unhealthy": draw(flags),
    }


def build(facts: dict) -> tuple[State, ScaleSet, list[int]]:
    """The state, the scale set and the ids the upgrade must target."""
    state, scale_set = fleet(
        facts["count"],
        facts["zones"],
        max_batch_instance_percent=facts["batch"],
        max_unhealthy_instance_percent=100,
        max_unhealthy_upgraded_instance_percent=100,
        enable_cross_zone_upgrade=facts["cross_zone"],
        prioritize_unhealthy_instances=facts["prioritize"],
        max_surge=facts["surge"],
    )
    scale_set.model.version = 2
    for inst, late, guarded, sick in zip(
        scale_set.instances, facts["behind"], facts["protected"], facts["unhealthy"], strict=True
    ):
        inst.model_version = 1 if late else 2
        if guarded:
            inst.protection = Protection(scale_in=True, scale_set_actions=True)
        if sick:
            inst.health = "unhealthy"
    targets = sorted(
        i.id for i in scale_set.instances if i.model_version == 1 and i.protection is None
    )
    return state, scale_set, targets


def _batch_of(batches: list[list[int]]) -> dict[int, int]:
    return {i: n for n, batch in enumerate(batches) for i in batch}


@FAST
@given(fleets())
def test_planned_batches_hold_every_target_exactly_once_and_nothing_else(facts):
    state, scale_set, targets = build(facts)
    upgrade = start_upgrade(state, scale_set)
    planned = [i for batch in upgrade.batches for i in batch]
    assert sorted(planned) == targets
    assert len(planned) == len(set(planned))
    protected = {i.id for i in scale_set.instances if i.protection is not None}
    assert not protected & set(planned)
    assert all(batch for batch in upgrade.batches)


@FAST
@given(fleets())
def test_no_batch_exceeds_the_batch_percent_of_the_instance_count(facts):
    state, scale_set, _targets = build(facts)
    upgrade = start_upgrade(state, scale_set)
    policy = scale_set.upgrade_policy.rolling
    limit = max(1, len(scale_set.instances) * policy.max_batch_instance_percent / 100)
    assert all(1 <= len(batch) <= limit for batch in upgrade.batches)


@FAST
@given(fleets())
def test_batches_stay_inside_one_zone_unless_cross_zone_upgrade_is_enabled(facts):
    assume(len(facts["zones"]) > 1 and not facts["cross_zone"])
    state, scale_set, _targets = build(facts)
    upgrade = start_upgrade(state, scale_set)
    zone = {i.id: i.zone for i in scale_set.instances}
    assert all(len({zone[i] for i in batch}) == 1 for batch in upgrade.batches)
    if not facts["prioritize"]:
        # zone by zone, in the scale set's zone order
        order = [zone[batch[0]] for batch in upgrade.batches]
        assert order == sorted(order, key=scale_set.zones.index)


@FAST
@given(fleets())
def test_prioritized_unhealthy_instances_are_upgraded_before_healthy_ones(facts):
    state, scale_set, _targets = build(facts)
    scale_set.upgrade_policy.rolling.prioritize_unhealthy_instances = True
    upgrade = start_upgrade(state, scale_set)
    where = _batch_of(upgrade.batches)
    sick = {i.id for i in scale_set.instances if i.health == "unhealthy"} & set(where)
    well = set(where) - sick
    if not scale_set.zones or scale_set.upgrade_policy.rolling.enable_cross_zone_upgrade:
        # Without zone boundaries: no healthy instance goes in an earlier batch than any
        # unhealthy one.
        if sick and well:
            assert max(where[i] for i in sick) <= min(where[i] for i in well)
    else:
        # Zone by zone: every batch holding an unhealthy instance comes before every batch
        # holding none (the stricter rule is test_..._zonal_... below, xfail).
        holding = [any(i in sick for i in batch) for batch in upgrade.batches]
        assert holding == sorted(holding, reverse=True)


@FAST
@given(fleets())
def test_a_rolling_upgrade_upgrades_each_target_once_and_its_progress_always_adds_up(facts):
    state, scale_set, targets = build(facts)
    first_new_id = scale_set.next_instance_id
    protected = {i.id: i.model_version for i in scale_set.instances if i.protection is not None}
    up_to_date = {i.id for i in scale_set.instances if i.model_version == 2}
    surge = bool(scale_set.upgrade_policy.rolling.max_surge)
    policy = scale_set.upgrade_policy.rolling
    batch_cap = max(1, len(scale_set.instances) * policy.max_batch_instance_percent // 100)
    begun: list[tuple[int, str]] = []
    real_begin = operations.begin

    def spy(inst, name, *args, **kwargs):
        begun.append((inst.id, name))
        return real_begin(inst, name, *args, **kwargs)

    with mock.patch.object(operations, "begin", spy):
        start_upgrade(state, scale_set)
        settle(state, NOW)
        for _ in range(500):
            assert sum(counts(scale_set)) == len(targets)
            assert counts(scale_set)[2] <= batch_cap
            moment = next_moment(state)
            if moment is None:
                break
            settle(state, moment)
    assert status(scale_set) == "Completed"
    assert counts(scale_set) == (len(targets), 0, 0, 0)
    per_instance = Counter(begun)
    if surge:
        assert per_instance == Counter(
            {(i, "delete"): 1 for i in targets}
            | {(i, "create"): 1 for i in range(first_new_id, first_new_id + len(targets))}
        )
    else:
        assert per_instance == Counter({(i, "upgrade"): 1 for i in targets})
    for inst in scale_set.instances:
        if inst.id in protected:
            assert inst.model_version == protected[inst.id]
        else:
            assert is_latest_model(scale_set, inst)
    survivors = set(protected) | up_to_date
    expected_ids = survivors | set(range(first_new_id, first_new_id + len(targets)))
    assert {i.id for i in scale_set.instances} == (
        expected_ids if surge else survivors | set(targets)
    )


# --- the batch planner, examples ----------------------------------------------------------------


def test_ten_instances_at_twenty_percent_are_upgraded_in_five_batches_of_two():
    state, scale_set = fleet(10)
    roll_out(state)
    assert scale_set.rolling_upgrade.batches == [[0, 5], [1, 6], [2, 7], [3, 8], [4, 9]]


def test_a_zonal_scale_set_is_upgraded_zone_by_zone_in_update_domain_order():
    state, scale_set = fleet(10, ("1", "2", "3"))
    roll_out(state)
    assert scale_set.rolling_upgrade.batches == [[0, 6], [3, 9], [1, 7], [4], [5, 2], [8]]


def test_cross_zone_upgrade_lets_one_batch_take_instances_from_two_zones():
    state, scale_set = fleet(10, ("1", "2", "3"), enable_cross_zone_upgrade=True)
    roll_out(state)
    batches = scale_set.rolling_upgrade.batches
    assert batches == [[0, 5], [1, 6], [2, 7], [3, 8], [4, 9]]
    zones = {i.id: i.zone for i in scale_set.instances}
    assert {zones[0], zones[5]} == {"1", "3"}


def test_prioritize_unhealthy_instances_puts_the_unhealthy_ones_in_the_first_batch():
    state, scale_set = fleet(10, prioritize_unhealthy_instances=True)
    for instance_id in (3, 7):
        scale_set.instance(instance_id).health = "unhealthy"
    roll_out(state)
    assert scale_set.rolling_upgrade.batches == [[7, 3], [0, 5], [1, 6], [2, 8], [4, 9]]


def test_without_prioritize_unhealthy_instances_wait_for_their_update_domain():
    state, scale_set = fleet(10)
    for instance_id in (3, 7):
        scale_set.instance(instance_id).health = "unhealthy"
    roll_out(state)
    assert scale_set.rolling_upgrade.batches == [[0, 5], [1, 6], [2, 7], [3, 8], [4, 9]]


@pytest.mark.xfail(
    strict=True,
    reason="rolling.py:76-77 (plan_batches) sorts whole zone batches, so a batch mixing an "
    "unhealthy and a healthy instance of one zone runs before another zone's unhealthy "
    "instance; the reference says unhealthy instances are upgraded before healthy ones "
    "(seeds/rolling-upgrades.md 'Prioritize unhealthy instances')",
)
def test_prioritized_unhealthy_instances_in_a_zonal_set_all_go_before_any_healthy_one():
    state, scale_set = fleet(10, ("1", "2"), prioritize_unhealthy_instances=True)
    # zone 1: 0 2 4 6 8, zone 2: 1 3 5 7 9
    for instance_id in (0, 1):
        scale_set.instance(instance_id).health = "unhealthy"
    roll_out(state)
    where = _batch_of(scale_set.rolling_upgrade.batches)
    healthy_first = min(where[i] for i in where if i not in (0, 1))
    assert max(where[0], where[1]) <= healthy_first


@pytest.mark.xfail(
    strict=True,
    reason="rolling.py:53-78 (plan_batches) orders by update domain but never splits a batch by "
    "fault domain; az reference §6.3: batches are 'never spanning more than one fault "
    "domain per batch unless the override feature is on'",
)
def test_a_batch_never_spans_two_fault_domains():
    state, scale_set = fleet(10, ("1", "2", "3"))
    roll_out(state)
    domain = {i.id: i.fault_domain for i in scale_set.instances}
    for batch in scale_set.rolling_upgrade.batches:
        assert len({domain[i] for i in batch}) == 1, batch


# --- protection ----------------------------------------------------------------------------------


def test_an_instance_protected_from_scale_set_actions_is_skipped_and_stays_on_its_model():
    state, scale_set = fleet(10)
    scale_set.instance(4).protection = Protection(scale_in=True, scale_set_actions=True)
    roll_out(state)
    assert scale_set.rolling_upgrade.batches == [[0, 5], [1, 6], [2, 7], [3, 8], [9]]
    run_to_end(state)
    assert status(scale_set) == "Completed"
    assert counts(scale_set) == (9, 0, 0, 0)
    assert ids_on_model(scale_set, latest=False) == [4]
    assert scale_set.instance(4).model_version == 1
    assert latest_model_applied(state, scale_set, 4) is False
    started = next(
        e for e in state.activity_log if e.operation == ROLLING_OP and e.status == "Started"
    )
    assert [(s.instance_id, s.reason) for s in started.skipped] == [
        ("4", "protectFromScaleSetActions")
    ]
    assert "4" not in started.instance_ids


def test_protection_from_scale_in_alone_does_not_stop_an_upgrade():
    state, scale_set = fleet(10)
    scale_set.instance(4).protection = Protection(scale_in=True)
    roll_out(state)
    run_to_end(state)
    assert counts(scale_set) == (10, 0, 0, 0)
    assert ids_on_model(scale_set, latest=False) == []


# --- timing and progress -------------------------------------------------------------------------


def test_batches_take_the_upgrade_duration_and_wait_the_pause_between_them():
    state, scale_set = fleet(10, pause_time_between_batches="PT30S")
    roll_out(state)
    assert (status(scale_set), counts(scale_set)) == ("RollingForward", (0, 0, 2, 8))
    advance(state, seconds=119)
    assert counts(scale_set) == (0, 0, 2, 8)
    advance(state, seconds=1)
    assert counts(scale_set) == (2, 0, 0, 8)
    advance(state, seconds=29)
    assert counts(scale_set) == (2, 0, 0, 8)
    advance(state, seconds=1)
    assert counts(scale_set) == (2, 0, 2, 6)
    run_to_end(state)
    # five batches of two minutes and four pauses of thirty seconds
    assert state.clock.now == NOW + timedelta(minutes=12)
    assert (status(scale_set), counts(scale_set)) == ("Completed", (10, 0, 0, 0))
    view = rolling.status_view(scale_set)["runningStatus"]
    assert view == {
        "code": "Completed",
        "lastAction": "Start",
        "lastActionTime": azure_time(NOW),
        "startTime": azure_time(NOW),
    }
    assert ids_on_model(scale_set, latest=True) == list(range(10))


def test_the_upgrade_logs_its_start_each_batch_and_its_end_under_one_correlation_id():
    state, scale_set = fleet(4, max_batch_instance_percent=50)
    roll_out(state)
    run_to_end(state)
    correlation = scale_set.rolling_upgrade.correlation_id
    events = [
        (e.status, e.instance_ids, e.detail)
        for e in state.activity_log
        if e.correlation_id == correlation
    ]
    assert events == [
        ("Started", ["0", "1", "2", "3"], ""),
        ("Succeeded", ["0", "1"], "batch 1 of 2 done: 2 healthy, 0 unhealthy"),
        ("Succeeded", ["2", "3"], "batch 2 of 2 done: 2 healthy, 0 unhealthy"),
        ("Succeeded", ["0", "1", "2", "3"], "rolling upgrade completed: 4 upgraded, 0 unhealthy"),
    ]


@pytest.mark.xfail(
    strict=True,
    reason="rolling.py:378-392 (progress) counts planned instances that were deleted during the "
    "upgrade as pending forever, so it ends Completed with pendingInstanceCount 1; az "
    "reference §6.3: counts move pending -> inProgress -> successful/failed, then "
    "Completed",
)
def test_a_completed_upgrade_has_no_pending_instances_even_if_one_was_deleted_meanwhile():
    state, scale_set = fleet(10)
    roll_out(state)
    perform(state, RG, NAME, "delete", ["9"], NOW)
    run_to_end(state)
    assert status(scale_set) == "Completed"
    assert counts(scale_set)[3] == 0


# --- policy breaches -----------------------------------------------------------------------------


def test_too_many_unhealthy_instances_before_the_start_fault_it_and_touch_nothing():
    state, scale_set = fleet(10)
    for instance_id in (2, 5, 8):
        scale_set.instance(instance_id).health = "unhealthy"
    roll_out(state)
    upgrade = scale_set.rolling_upgrade
    assert status(scale_set) == "Faulted"
    assert counts(scale_set) == (0, 0, 0, 10)
    assert upgrade.error_code == "MaxUnhealthyInstancePercentExceededBeforeRollingUpgrade"
    assert upgrade.error_message == (
        "Rolling upgrade did not start: 30% of the instances in the scale set are unhealthy, "
        "more than the MaxUnhealthyInstancePercent of 20% allowed by the rolling upgrade policy."
    )
    assert all(i.operation is None for i in scale_set.instances)
    advance(state, hours=1)
    assert ids_on_model(scale_set, latest=True) == []
    assert rolling.status_view(scale_set)["error"] == {
        "code": upgrade.error_code,
        "message": upgrade.error_message,
    }


def test_unhealthy_instances_exactly_at_the_limit_do_not_stop_the_start():
    state, scale_set = fleet(10)
    for instance_id in (2, 5):
        scale_set.instance(instance_id).health = "unhealthy"
    roll_out(state)
    assert (status(scale_set), counts(scale_set)) == ("RollingForward", (0, 0, 2, 8))


def test_one_unhealthy_instance_of_eight_is_more_than_twelve_percent_and_stops_the_start():
    state, scale_set = fleet(8, max_unhealthy_instance_percent=12)
    scale_set.instance(3).health = "unhealthy"
    roll_out(state)
    assert status(scale_set) == "Faulted"


def test_instances_turning_unhealthy_during_the_upgrade_stop_it_after_the_batch():
    state, scale_set = fleet(10)
    roll_out(state)
    assert scale_set.rolling_upgrade.batches[0] == [0, 5]
    for instance_id in (2, 3, 4):
        scale_set.instance(instance_id).health = "unhealthy"
    advance(state, minutes=2)
    upgrade = scale_set.rolling_upgrade
    assert (status(scale_set), counts(scale_set)) == ("Faulted", (2, 0, 0, 8))
    assert upgrade.error_code == "MaxUnhealthyInstancePercentExceededInRollingUpgrade"
    assert upgrade.error_message == (
        "Rolling upgrade stopped: 30% of the instances in the scale set are unhealthy, more "
        "than the MaxUnhealthyInstancePercent of 20% allowed by the rolling upgrade policy."
    )
    advance(state, hours=1)
    assert ids_on_model(scale_set, latest=True) == [0, 5]


def _failing_zone_two(**policy) -> tuple[State, ScaleSet]:
    """The seed's example: 10 instances, 20% limits; the new image fails in zone 2 (1 4 7)."""
    state, scale_set = fleet(10, ("1", "2", "3"), **policy)
    scale_set.failing_images = [FailingImage(version=NEW_IMAGE, zones=["2"])]
    roll_out(state)
    assert scale_set.rolling_upgrade.batches == [[0, 6], [3, 9], [1, 7], [4], [5, 2], [8]]
    return state, scale_set


UPGRADED_BREACH = (
    "Rolling upgrade stopped: 30% of the instances in the scale set are unhealthy after being "
    "upgraded, more than the MaxUnhealthyUpgradedInstancePercent of 20% allowed by the rolling "
    "upgrade policy."
)


def test_a_third_upgraded_instance_back_unhealthy_faults_ten_instances_at_twenty_percent():
    state, scale_set = _failing_zone_two()
    advance(state, minutes=4)
    assert (status(scale_set), counts(scale_set)) == ("RollingForward", (4, 0, 2, 4))
    advance(state, minutes=2)  # 1 and 7 come back unhealthy: 2 of 10 is not more than 20%
    assert (status(scale_set), counts(scale_set)) == ("RollingForward", (4, 2, 1, 3))
    assert [effective_health(scale_set, scale_set.instance(i)) for i in (1, 7)] == [
        "unhealthy",
        "unhealthy",
    ]
    advance(state, minutes=2)  # 4 is the third
    upgrade = scale_set.rolling_upgrade
    assert (status(scale_set), counts(scale_set)) == ("Faulted", (4, 3, 0, 3))
    assert upgrade.failed == [1, 7, 4]
    assert upgrade.error_code == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert upgrade.error_message == UPGRADED_BREACH
    last = list(state.activity_log)[-1]
    assert (last.status, last.error) == (
        "Failed",
        f"(MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade) {UPGRADED_BREACH}",
    )
    advance(state, hours=1)
    # no later batch ran; without rollback the failed instances stay on the new model
    assert ids_on_model(scale_set, latest=False) == [2, 5, 8]
    assert all(scale_set.instance(i).model_version == 2 for i in (1, 4, 7))


def test_rollback_on_policy_breach_returns_the_failed_instances_to_the_previous_model():
    state, scale_set = _failing_zone_two(rollback_failed_instances_on_policy_breach=True)
    run_to_end(state)
    assert (status(scale_set), counts(scale_set)) == ("Faulted", (4, 3, 0, 3))
    assert ids_on_model(scale_set, latest=True) == [0, 3, 6, 9]
    assert ids_on_model(scale_set, latest=False) == [1, 2, 4, 5, 7, 8]
    for instance_id in (1, 4, 7):
        inst = scale_set.instance(instance_id)
        assert (inst.model_version, inst.image_version) == (1, OLD_IMAGE)
        assert inst.faults == []
        assert effective_health(scale_set, inst) == "healthy"
        assert latest_model_applied(state, scale_set, instance_id) is False


@pytest.mark.xfail(
    strict=True,
    reason="rolling.py:245-250 (_after_batch) counts upgraded instances by their old ids, which "
    "maxSurge deletes, so maxUnhealthyUpgradedInstancePercent never applies with "
    "maxSurge; seeds/rolling-upgrades.md 'Max unhealthy upgrade %': more than the limit "
    "back unhealthy after being upgraded stops the upgrade",
)
def test_with_max_surge_unhealthy_new_instances_count_against_the_upgraded_limit():
    state, scale_set = fleet(
        10,
        max_surge=True,
        max_unhealthy_instance_percent=50,
        max_unhealthy_upgraded_instance_percent=10,
    )
    scale_set.failing_images = [FailingImage(version=NEW_IMAGE)]
    roll_out(state)
    run_to_end(state)
    upgrade = scale_set.rolling_upgrade
    assert upgrade.error_code == "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade"
    assert counts(scale_set) == (0, 2, 0, 8)


# --- cancel ---------------------------------------------------------------------------------------


def test_cancel_lets_the_batch_in_flight_finish_and_starts_no_other():
    state, scale_set = fleet(10)
    roll_out(state)
    advance(state, minutes=1)
    rolling.cancel(state, scale_set, state.clock.now)
    upgrade = scale_set.rolling_upgrade
    assert (status(scale_set), counts(scale_set)) == ("RollingForward", (0, 0, 2, 8))
    assert (upgrade.last_action, upgrade.last_action_time) == ("Cancel", NOW + timedelta(minutes=1))
    advance(state, minutes=1)
    assert (status(scale_set), counts(scale_set)) == ("Cancelled", (2, 0, 0, 8))
    advance(state, hours=1)
    assert counts(scale_set) == (2, 0, 0, 8)
    assert ids_on_model(scale_set, latest=True) == [0, 5]
    assert rolling.status_view(scale_set)["runningStatus"] == {
        "code": "Cancelled",
        "lastAction": "Cancel",
        "lastActionTime": azure_time(NOW + timedelta(minutes=1)),
        "startTime": azure_time(NOW),
    }


def test_cancel_during_the_pause_between_batches_stops_at_once():
    state, scale_set = fleet(10, pause_time_between_batches="PT1M")
    roll_out(state)
    advance(state, minutes=2, seconds=30)
    assert counts(scale_set) == (2, 0, 0, 8)
    rolling.cancel(state, scale_set, state.clock.now)
    assert (status(scale_set), counts(scale_set)) == ("Cancelled", (2, 0, 0, 8))
    advance(state, hours=1)
    assert ids_on_model(scale_set, latest=True) == [0, 5]


@pytest.mark.parametrize("history", ["never", "completed", "cancelled"])
def test_cancel_with_no_upgrade_running_is_operation_not_allowed(history):
    state, scale_set = fleet(4)
    if history != "never":
        roll_out(state)
        if history == "cancelled":
            rolling.cancel(state, scale_set, NOW)
        run_to_end(state)
    before = dump(state)
    with pytest.raises(ServiceError) as caught:
        rolling.cancel(state, scale_set, state.clock.now)
    error = caught.value
    assert (error.code, error.message, error.status, error.exit_code) == (
        "OperationNotAllowed",
        "There is no ongoing Rolling Upgrade to cancel.",
        409,
        1,
    )
    assert dump(state) == before


# --- maxSurge -------------------------------------------------------------------------------------


def test_max_surge_creates_new_instances_on_the_new_model_before_deleting_old_ones():
    state, scale_set = fleet(10, max_surge=True)
    scale_set.next_instance_id = 40  # ids up to 39 were used once and must not come back
    roll_out(state)
    old = set(range(10))
    assert (status(scale_set), counts(scale_set)) == ("RollingForward", (0, 0, 2, 8))
    new = {i.id: i for i in scale_set.instances if i.id not in old}
    assert sorted(new) == [40, 41]
    assert all(i.provisioning_state == "Creating" for i in new.values())
    assert all(is_latest_model(scale_set, i) for i in new.values())
    assert all(scale_set.instance(i).provisioning_state == "Succeeded" for i in (0, 5))
    advance(state, minutes=2)  # created: now the old ones go
    assert [scale_set.instance(i).provisioning_state for i in (0, 5, 40, 41)] == [
        "Deleting",
        "Deleting",
        "Succeeded",
        "Succeeded",
    ]
    assert counts(scale_set) == (0, 0, 2, 8)
    advance(state, minutes=1)
    assert scale_set.instance(0) is None and scale_set.instance(5) is None
    assert counts(scale_set) == (2, 0, 2, 6)
    assert sorted(i.id for i in scale_set.instances if i.id not in old) == [40, 41, 42, 43]
    lowest = len(scale_set.instances)
    while next_moment(state) is not None:
        run_step = next_moment(state)
        settle(state, run_step)
        lowest = min(lowest, scale_set.capacity)
    assert lowest >= 10
    assert (status(scale_set), counts(scale_set)) == ("Completed", (10, 0, 0, 0))
    assert sorted(i.id for i in scale_set.instances) == list(range(40, 50))
    assert all(is_latest_model(scale_set, i) for i in scale_set.instances)
    assert scale_set.next_instance_id == 50


def test_max_surge_never_deletes_an_instance_protected_from_scale_set_actions():
    state, scale_set = fleet(5, max_surge=True)
    scale_set.instance(2).protection = Protection(scale_in=True, scale_set_actions=True)
    roll_out(state)
    run_to_end(state)
    assert counts(scale_set) == (4, 0, 0, 0)
    assert sorted(i.id for i in scale_set.instances) == [2, 5, 6, 7, 8]
    assert ids_on_model(scale_set, latest=False) == [2]


# --- upgrade policy modes and model versions ------------------------------------------------------


def test_manual_mode_leaves_existing_instances_alone_until_update_instances():
    state, scale_set = fleet(3, mode="Manual", health=False)
    roll_out(state)
    assert scale_set.model.version == 2
    advance(state, hours=6)
    assert scale_set.rolling_upgrade is None
    assert all(i.operation is None for i in scale_set.instances)
    assert [latest_model_applied(state, scale_set, i) for i in (0, 1, 2)] == [False] * 3
    assert {i.image_version for i in scale_set.instances} == {OLD_IMAGE}
    perform(state, RG, NAME, "upgrade", ["1"], state.clock.now)
    advance(state, minutes=2)
    assert [latest_model_applied(state, scale_set, i) for i in (0, 1, 2)] == [False, True, False]
    assert scale_set.instance(1).image_version == ""


def test_automatic_mode_upgrades_every_instance_at_once_except_protected_ones():
    state, scale_set = fleet(4, mode="Automatic", health=False)
    scale_set.instance(2).protection = Protection(scale_in=True, scale_set_actions=True)
    outcome = update(state, RG, NAME, Edits(sets=[f"{IMAGE_VERSION}={NEW_IMAGE}"]), NOW)
    assert outcome.correlation_id
    pending = {
        i.id: (i.operation.name, i.operation.completes)
        for i in scale_set.instances
        if i.operation is not None
    }
    done = NOW + timedelta(minutes=2)
    assert pending == {0: ("upgrade", done), 1: ("upgrade", done), 3: ("upgrade", done)}
    assert scale_set.rolling_upgrade is None
    advance(state, minutes=2)
    assert ids_on_model(scale_set, latest=True) == [0, 1, 3]
    assert ids_on_model(scale_set, latest=False) == [2]


def test_every_model_change_bumps_the_model_version_and_leaves_instances_behind():
    state, scale_set = fleet(2, mode="Manual", health=False)
    assert scale_set.model.version == 1
    update(state, RG, NAME, Edits(sets=[f"{IMAGE_VERSION}={NEW_IMAGE}"]), NOW)
    assert scale_set.model.version == 2
    disk = "virtualMachineProfile.storageProfile.osDisk.diskSizeGB=64"
    update(state, RG, NAME, Edits(sets=[disk]), NOW)
    assert scale_set.model.version == 3
    update(state, RG, NAME, Edits(sets=["tags.owner=ops"]), NOW)  # not the VM model
    update(state, RG, NAME, Edits(), NOW)
    assert scale_set.model.version == 3
    assert [i.model_version for i in scale_set.instances] == [1, 1]
    assert [latest_model_applied(state, scale_set, i) for i in (0, 1)] == [False, False]
    grown = scale(state, RG, NAME, 3, NOW)
    settle(state, NOW + timedelta(hours=1))
    assert grown.acted == [2]
    assert [latest_model_applied(state, scale_set, i) for i in (0, 1, 2)] == [False, False, True]


def test_a_model_change_in_rolling_mode_starts_a_rolling_upgrade_of_the_instances_behind():
    state, scale_set = fleet(4, max_batch_instance_percent=50)
    assert scale_set.rolling_upgrade is None
    roll_out(state)
    upgrade = scale_set.rolling_upgrade
    assert (upgrade.status, upgrade.last_action, upgrade.started) == (
        "RollingForward",
        "Start",
        NOW,
    )
    assert upgrade.target_version == scale_set.model.version == 2
    assert counts(scale_set) == (0, 0, 2, 2)


def test_an_update_with_no_change_restarts_a_cancelled_upgrade_for_the_rest():
    state, scale_set = fleet(10)
    roll_out(state)
    rolling.cancel(state, scale_set, NOW)
    advance(state, minutes=2)
    assert (status(scale_set), counts(scale_set)) == ("Cancelled", (2, 0, 0, 8))
    update(state, RG, NAME, Edits(), state.clock.now)
    settle(state, state.clock.now)
    upgrade = scale_set.rolling_upgrade
    assert (upgrade.status, upgrade.last_action) == ("RollingForward", "Start")
    assert upgrade.started == NOW + timedelta(minutes=2)
    assert counts(scale_set) == (0, 0, 2, 6)
    assert sorted(i for batch in upgrade.batches for i in batch) == [1, 2, 3, 4, 6, 7, 8, 9]
    run_to_end(state)
    assert (status(scale_set), counts(scale_set)) == ("Completed", (8, 0, 0, 0))
    assert ids_on_model(scale_set, latest=True) == list(range(10))


def test_an_update_with_no_change_restarts_an_upgrade_stopped_by_a_breach():
    state, scale_set = _failing_zone_two(rollback_failed_instances_on_policy_breach=True)
    run_to_end(state)
    assert status(scale_set) == "Faulted"
    update(state, RG, NAME, Edits(), state.clock.now)
    upgrade = scale_set.rolling_upgrade
    assert upgrade.status == "RollingForward"
    assert sorted(i for batch in upgrade.batches for i in batch) == [1, 2, 4, 5, 7, 8]


def test_an_update_with_no_change_does_not_restart_a_running_upgrade():
    state, scale_set = fleet(10)
    roll_out(state)
    advance(state, minutes=3)
    running = scale_set.rolling_upgrade
    update(state, RG, NAME, Edits(), state.clock.now)
    assert scale_set.rolling_upgrade is running
    assert (running.started, counts(scale_set)) == (NOW, (2, 0, 2, 6))


def test_a_rolling_upgrade_needs_a_health_probe_or_extension():
    state, scale_set = fleet(3, mode="Manual", health=False)
    scale_set.model.version = 2
    with pytest.raises(ServiceError) as caught:
        start_upgrade(state, scale_set)
    assert (caught.value.code, caught.value.message, caught.value.exit_code) == (
        "BadRequest",
        "Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a "
        "health probe or health extension was not provided.",
        1,
    )
    assert scale_set.rolling_upgrade is None
