"""Unit tests of the domain and the views: no CLI, no files (except the shipped demo files)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from vmsscli.demo import demo_state
from vmsscli.domain import activity
from vmsscli.domain.clock import parse_time, resolve_now
from vmsscli.domain.creation import CreateSpec, create_scale_set
from vmsscli.domain.fleet import (
    add_instances,
    delete_scale_set,
    find_instance,
    find_scale_set,
    parse_image,
    resolve_instance_ids,
)
from vmsscli.domain.triage import triage
from vmsscli.errors import CLIError, ServiceError
from vmsscli.model import ClockSettings, ScaleSet, State
from vmsscli.views import (
    azure_time,
    computer_name,
    vm_instance_view,
    vm_view,
    vmss_instance_view,
    vmss_view,
)

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
SUB = "00000000-0000-0000-0000-000000000000"


def web():
    state = demo_state()
    return state, *find_scale_set(state, "rg-web", "web-vmss")


# --- lookups --------------------------------------------------------------------------------


def test_resource_group_and_scale_set_names_match_case_insensitively_and_keep_their_casing():
    state = demo_state()
    rg, name, _ = find_scale_set(state, "RG-WEB", "Web-VMSS")
    assert (rg, name) == ("rg-web", "web-vmss")


def test_missing_scale_set_is_a_404_naming_it_and_its_group():
    with pytest.raises(ServiceError) as caught:
        find_scale_set(demo_state(), "rg-web", "nope")
    assert caught.value.status == 404 and caught.value.exit_code == 3
    assert caught.value.message.startswith(
        "The Resource 'Microsoft.Compute/virtualMachineScaleSets/nope' under resource group "
        "'rg-web' was not found."
    )


def test_missing_resource_group_is_resource_group_not_found():
    with pytest.raises(ServiceError) as caught:
        find_scale_set(demo_state(), "rg-none", "web-vmss")
    assert caught.value.code == "ResourceGroupNotFound" and caught.value.exit_code == 3


def test_get_of_an_unknown_instance_is_a_404():
    _, rg, name, scale_set = web()
    with pytest.raises(ServiceError) as caught:
        find_instance(scale_set, name, rg, "3")
    assert caught.value.status == 404


def test_action_ids_are_all_checked_before_any_is_used_and_name_the_bad_one():
    _, _, _, scale_set = web()
    with pytest.raises(ServiceError) as caught:
        resolve_instance_ids(scale_set, ["0", "1", "3"])
    assert caught.value.lines() == [
        "(InvalidParameter) The provided instanceId 3 is not an active Virtual Machine Scale "
        "Set VM instanceId.",
        "Code: InvalidParameter",
        "Message: The provided instanceId 3 is not an active Virtual Machine Scale Set VM "
        "instanceId.",
        "Target: instanceIds",
    ]
    with pytest.raises(ServiceError, match="It must be a non-negative integer"):
        resolve_instance_ids(scale_set, ["x1"])


# --- create, delete, placement --------------------------------------------------------------------


def test_create_makes_the_group_implicitly_and_spreads_instances_over_zones():
    state = State()
    rg, name, scale_set = create_scale_set(
        state, "rg-new", "api", CreateSpec(instance_count=6, zones=["1", "2", "3"]), NOW
    )
    assert (rg, name) == ("rg-new", "api")
    assert [i.id for i in scale_set.instances] == list(range(6))
    assert Counter(i.zone for i in scale_set.instances) == {"1": 2, "2": 2, "3": 2}
    assert scale_set.next_instance_id == 6
    assert all(i.created == NOW for i in scale_set.instances)


def test_creating_a_scale_set_that_exists_is_refused():
    state = demo_state()
    with pytest.raises(CLIError, match="already exists"):
        create_scale_set(state, "rg-web", "WEB-VMSS", CreateSpec(), NOW)


def test_rolling_without_a_health_probe_or_extension_is_refused_with_azures_text():
    with pytest.raises(ServiceError) as caught:
        create_scale_set(State(), "rg", "x", CreateSpec(upgrade_policy_mode="Rolling"), NOW)
    assert caught.value.code == "BadRequest"
    assert caught.value.message == (
        "Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a "
        "health probe or health extension was not provided."
    )


@pytest.mark.parametrize("health", [{"health_probe": "probe"}, {"app_health_extension": True}])
def test_rolling_is_accepted_with_either_health_source(health):
    _, _, scale_set = create_scale_set(
        State(), "rg", "x", CreateSpec(upgrade_policy_mode="Rolling", **health), NOW
    )
    assert scale_set.upgrade_policy.mode == "Rolling"
    assert scale_set.upgrade_policy.rolling is not None


def test_unknown_image_alias_is_refused_and_urns_are_parsed():
    with pytest.raises(CLIError, match="Invalid image"):
        parse_image("NoSuchImage")
    image, os_type = parse_image("MicrosoftWindowsServer:WindowsServer:2022-datacenter-g2:latest")
    assert os_type == "Windows" and image.sku == "2022-datacenter-g2"


def test_delete_removes_the_scale_set_only():
    state = demo_state()
    delete_scale_set(state, "rg-batch", "tools-vmss", NOW)
    assert [n for _, n, _ in state.scale_sets()] == ["web-vmss", "batch-vmss"]


def test_new_instance_ids_grow_past_every_id_ever_used():
    state, _, _, scale_set = web()
    scale_set.instances = [i for i in scale_set.instances if i.id != 13]
    added = add_instances(scale_set, 2, NOW)
    assert [i.id for i in added] == [14, 15]


@settings(max_examples=60, deadline=None)
@given(
    zones=st.sampled_from([[], ["1"], ["1", "2"], ["1", "2", "3"]]),
    count=st.integers(min_value=1, max_value=40),
)
def test_scale_out_keeps_zones_and_fault_domains_balanced(zones, count):
    scale_set = ScaleSet(zones=zones, next_instance_id=0)
    add_instances(scale_set, count, NOW)
    if zones:
        per_zone = Counter(i.zone for i in scale_set.instances)
        assert max(per_zone.values()) - min(per_zone.get(z, 0) for z in zones) <= 1
    for zone in set(i.zone for i in scale_set.instances):
        per_fd = Counter(i.fault_domain for i in scale_set.instances if i.zone == zone)
        domains = [per_fd.get(d, 0) for d in range(scale_set.fault_domain_count)]
        assert max(domains) - min(domains) <= 1


# --- triage ----------------------------------------------------------------------------------


def test_triage_lists_problems_first_with_a_summary():
    _, _, _, scale_set = web()
    report = triage(scale_set)
    assert report.rows[0].instance_id == 5
    assert "extension configure-web failed" in report.rows[0].problems
    assert [r.instance_id for r in report.rows[1:3]] == [9, 12]
    assert report.summary == "1 of 12 unhealthy, 2 not on the latest model, 1 protected"


def test_a_stopped_instance_is_not_serving():
    state = demo_state()
    _, _, batch = find_scale_set(state, "rg-batch", "batch-vmss")
    report = triage(batch)
    assert report.rows[0].instance_id == 3 and not report.rows[0].serving
    assert report.summary.startswith("1 of 5 unhealthy")


# --- clock and activity log --------------------------------------------------------------------


def test_now_is_pinned_then_manual_then_wall():
    wall = datetime(2030, 1, 1, tzinfo=UTC)
    manual = ClockSettings(mode="manual", now=NOW)
    assert resolve_now(manual, "2026-12-01T00:00:00Z", wall) == parse_time("2026-12-01T00:00Z")
    assert resolve_now(manual, None, wall) == NOW
    assert resolve_now(ClockSettings(mode="wall"), None, wall) == wall


def test_a_bad_pinned_time_is_a_clear_error():
    with pytest.raises(CLIError, match="not a valid time"):
        parse_time("yesterday")


def test_activity_entries_get_deterministic_correlation_ids():
    def history():
        state = State()
        activity.record(state, now=NOW, operation="op/a", resource_id="/x")
        activity.record(state, now=NOW, operation="op/b", resource_id="/x")
        return [e.correlation_id for e in state.activity_log]

    first, second = history(), history()
    assert first == second and first[0] != first[1]


# --- views -----------------------------------------------------------------------------------


def _az_resource_group_transform(value):
    """az's global transform: add resourceGroup beside every resource-group-scoped id."""
    if isinstance(value, dict):
        out = {k: _az_resource_group_transform(v) for k, v in value.items()}
        rid = value.get("id")
        if (
            isinstance(rid, str)
            and len(rid.split("/")) >= 9
            and rid.split("/")[3].lower() == "resourcegroups"
            and not any(k.lower() == "resourcegroup" for k in value)
        ):
            out["resourceGroup"] = rid.split("/")[4]
        return out
    if isinstance(value, list):
        return [_az_resource_group_transform(v) for v in value]
    return value


def all_views():
    state = demo_state()
    for rg, name, scale_set in state.scale_sets():
        yield vmss_view(SUB, rg, name, scale_set)
        yield vmss_instance_view(scale_set)
        for inst in scale_set.instances:
            yield vm_view(SUB, rg, name, scale_set, inst, expand=True)
            yield vm_instance_view(SUB, rg, name, scale_set, inst)


def test_views_already_carry_every_resource_group_az_would_inject():
    for view in all_views():
        assert _az_resource_group_transform(view) == view


def test_views_never_contain_null_values():
    def has_null(value) -> bool:
        if isinstance(value, dict):
            return any(v is None or has_null(v) for v in value.values())
        if isinstance(value, list):
            return any(has_null(v) for v in value)
        return False

    assert not any(has_null(view) for view in all_views())


def test_azure_times_have_seven_fraction_digits_and_an_explicit_offset():
    moment = datetime(2024, 8, 26, 8, 27, 8, 77895, tzinfo=UTC)
    assert azure_time(moment) == "2024-08-26T08:27:08.0778950+00:00"


@pytest.mark.parametrize(
    ("instance_id", "suffix"), [(0, "000000"), (10, "00000A"), (1146, "0000VU")]
)
def test_computer_names_use_the_base36_instance_id(instance_id, suffix):
    _, _, _, scale_set = web()
    assert computer_name(scale_set, "web-vmss", instance_id) == "webvm" + suffix


def test_instance_view_of_a_deallocated_instance_has_no_agent_or_health():
    _, rg, name, scale_set = web()
    inst = scale_set.instance(0)
    inst.power_state = "deallocated"
    view = vm_instance_view(SUB, rg, name, scale_set, inst)
    assert "vmAgent" not in view and "vmHealth" not in view and "computerName" not in view
    assert view["statuses"][1] == {
        "code": "PowerState/deallocated",
        "displayStatus": "VM deallocated",
        "level": "Info",
    }


def test_health_shows_in_vm_health_only_where_monitoring_is_configured():
    state = demo_state()
    rg, name, tools = find_scale_set(state, "rg-batch", "tools-vmss")
    assert "vmHealth" not in vm_instance_view(SUB, rg, name, tools, tools.instances[0])
    _, rg, name, scale_set = web()
    view = vm_instance_view(SUB, rg, name, scale_set, scale_set.instance(5))
    assert view["vmHealth"]["status"]["code"] == "HealthState/unhealthy"


# --- the shipped demo files -----------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["demo.json", "demo.toml"])
def test_shipped_demo_files_hold_the_built_in_demo_fleet(filename):
    from vmsscli.store import read_file

    assert read_file(REPO / "state" / filename) == demo_state()


def test_the_demo_fleet_has_the_states_an_operator_meets():
    state = demo_state()
    assert len(state.resource_groups) >= 2
    sets = {name: s for _, name, s in state.scale_sets()}
    assert {s.upgrade_policy.mode for s in sets.values()} == {"Rolling", "Manual", "Automatic"}
    web_set = sets["web-vmss"]
    assert web_set.zones == ["1", "2", "3"] and web_set.model.app_health_extension is not None
    instances = [i for s in sets.values() for i in s.instances]
    assert any(i.health == "unhealthy" and i.extensions for i in instances)
    assert any(i.power_state == "stopped" for i in instances)
    assert any(i.protection and i.protection.scale_in for i in instances)
    assert any(i.model_version < web_set.model.version for i in web_set.instances)
