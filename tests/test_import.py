"""`vmss state import`: a scale set built from what the real az prints.

Inputs are the recorded outputs in the reference samples (SAMPLES, see its README and
SOURCES.json): `vmss-show.cli-output.json` and `list-instances.cli-output-2024.json` are one real
scale set (vmss-000002; the list holds its first instance only, so capacity 2 vs 1 instance);
`list-instances-expand-instanceView.cli-output.json` and `get-instance-view-star.cli-output.json`
are another one (test-run-command-vmss). `production` derives a larger, zonal, Rolling fleet
from the same recorded shapes, with the states an operator meets (unhealthy with a failed
extension, stopped, behind the model, protected). The round trips import and then read back
through `vmss list-instances` / `vmss show` / `vmss get-instance-view`.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SAMPLES, invoke, schema_errors

from vmsscli.errors import CLIError
from vmsscli.importer import import_scale_set, merge, parse_json
from vmsscli.model import ResourceGroup, ScaleSet, State
from vmsscli.schema import dump
from vmsscli.store import read_file

RG = "cli_test_vmss_run_command_v2000001"
NAME = "vmss-000002"
OTHER_RG = "cli_test_vmss_run_command000001"
OTHER_NAME = "test-run-command-vmss"
CAPACITY_NOTE = (
    "sku.capacity is 2 but 1 instance(s) were imported; the capacity here is always the "
    "number of instances (1)"
)
FOREIGN_VIEW_NOTE = (
    "--instance-views item 0 (computer name testr6ae7000000): matches no instance in --instances"
)


def sample(name: str):
    return json.loads((SAMPLES / name).read_text())


def show_of_other_set():
    """vmss-show renamed to the scale set the expand/star samples were recorded from."""
    text = (SAMPLES / "vmss-show.cli-output.json").read_text()
    text = text.replace(RG, OTHER_RG).replace(NAME, OTHER_NAME).replace("vmssb6649", "testr6ae7")
    return json.loads(text)


def write(folder: Path, name: str, data) -> str:
    path = folder / name
    path.write_text(json.dumps(data, indent=2))
    return str(path)


# --- a production-like fleet, derived from the recorded shapes -----------------------------

HEALTH_EXT = {
    "autoUpgradeMinorVersion": True,
    "name": "HealthExtension",
    "publisher": "Microsoft.ManagedServices",
    "settings": {"port": 80, "protocol": "http", "requestPath": "/health"},
    "type": "ApplicationHealthLinux",
    "typeHandlerVersion": "1.0",
}
SCRIPT_EXT = {
    "autoUpgradeMinorVersion": True,
    "name": "configure",
    "publisher": "Microsoft.Azure.Extensions",
    "settings": {"commandToExecute": "bash configure.sh"},
    "type": "CustomScript",
    "typeHandlerVersion": "2.1",
}
FAILED_MESSAGE = "Enable failed: the script returned exit code 1"
PROD_IDS = [0, 2, 5, 9]
PROD_ZONES = {0: "1", 2: "3", 5: "3", 9: "1"}


def _status(code: str, display: str, level: str = "Info", **extra):
    return {"code": code, "displayStatus": display, "level": level, **extra}


@pytest.fixture
def production():
    """(show, list-instances, get-instance-view '*') of a zonal Rolling set of 4 instances:
    0 healthy; 2 unhealthy with the 'configure' extension failed; 5 stopped and behind the
    model (an older image); 9 protected from scale-in (so on an instance-level model). One
    extra view belongs to no listed instance."""
    show = sample("vmss-show.cli-output.json")
    show["zones"] = ["1", "2", "3"]
    show["sku"]["capacity"] = 4
    show["tags"] = {"env": "prod", "tier": "web"}
    show["scaleInPolicy"] = {"forceDeletion": False, "rules": ["OldestVM"]}
    show["upgradePolicy"] = {
        "mode": "Rolling",
        "rollingUpgradePolicy": {
            "enableCrossZoneUpgrade": False,
            "maxBatchInstancePercent": 25,
            "maxUnhealthyInstancePercent": 30,
            "maxUnhealthyUpgradedInstancePercent": 10,
            "pauseTimeBetweenBatches": "PT1M",
            "prioritizeUnhealthyInstances": True,
        },
    }
    show["virtualMachineProfile"]["extensionProfile"] = {"extensions": [HEALTH_EXT, SCRIPT_EXT]}

    template = sample("list-instances.cli-output-2024.json")[0]
    text = json.dumps(template)
    instances = []
    for i in PROD_IDS:
        item = json.loads(
            text.replace("/virtualMachines/0", f"/virtualMachines/{i}")
            .replace(f"{NAME}_0", f"{NAME}_{i}")
            .replace("vmssb6649000000", f"vmssb664900000{i}")
            .replace(f"{NAME}_{NAME}_0_OsDisk", f"{NAME}_{NAME}_{i}_OsDisk")
        )
        item["instanceId"] = str(i)
        item["provisioningState"] = "Succeeded"
        item["zones"] = [PROD_ZONES[i]]
        instances.append(item)
    instances[2]["latestModelApplied"] = False
    instances[2]["storageProfile"]["imageReference"]["exactVersion"] = "18.04.202312010"
    instances[3]["latestModelApplied"] = False
    instances[3]["modelDefinitionApplied"] = "VirtualMachine"
    instances[3]["protectionPolicy"] = {
        "protectFromScaleIn": True,
        "protectFromScaleSetActions": False,
    }

    base = sample("get-instance-view-instance.cli-output.json")
    views = []
    for i in [*PROD_IDS, 35]:
        view = copy.deepcopy(base)
        view["computerName"] = f"vmssb6649{i:06X}" if i != 35 else "vmssb66490000ZZ"
        view["platformFaultDomain"] = view["platformUpdateDomain"] = i % 5
        view["extensions"] = [
            {
                "name": ext["name"],
                "statuses": [
                    _status(
                        "ProvisioningState/succeeded",
                        "Provisioning succeeded",
                        message="Enable succeeded",
                    )
                ],
                "type": f"{ext['publisher']}.{ext['type']}",
                "typeHandlerVersion": ext["typeHandlerVersion"],
            }
            for ext in (HEALTH_EXT, SCRIPT_EXT)
        ]
        view["vmHealth"] = {"status": _status("HealthState/healthy", "The VM is healthy")}
        views.append(view)
    views[1]["vmHealth"] = {
        "status": _status("HealthState/unhealthy", "The VM is unhealthy", "Error")
    }
    views[1]["extensions"][1]["statuses"] = [
        _status("ProvisioningState/failed", "Provisioning failed", "Error", message=FAILED_MESSAGE)
    ]
    views[2]["statuses"][1] = _status("PowerState/stopped", "VM stopped")
    views[2]["vmHealth"] = {
        "status": _status("HealthState/unknown", "The VM health is unknown", "Warning")
    }
    return show, instances, views


# --- the importer on the recorded samples ----------------------------------------------------


def test_the_recorded_show_and_list_become_the_scale_set_they_describe():
    result = import_scale_set(
        sample("vmss-show.cli-output.json"), sample("list-instances.cli-output-2024.json")
    )
    assert (result.resource_group, result.name) == (RG, NAME)
    assert result.not_imported == [CAPACITY_NOTE]
    assert result.instance_views == 0
    s = result.scale_set
    assert s.location == "westus"
    assert s.created == datetime(2024, 8, 26, 9, 0, 43, 322003, tzinfo=UTC)
    assert s.vm_sku == "Standard_DS1_v2"
    assert s.zones == []
    assert s.orchestration_mode == "Uniform"
    assert (s.fault_domain_count, s.overprovision, s.single_placement_group) == (5, True, True)
    assert s.upgrade_policy.mode == "Manual" and s.upgrade_policy.rolling is None
    assert s.scale_in_policy == [] and s.tags == {}
    image = s.model.image
    assert (image.publisher, image.offer, image.sku, image.version) == (
        "Canonical",
        "UbuntuServer",
        "18.04-LTS",
        "latest",
    )
    assert image.exact_version == "18.04.202401161"
    assert s.model.os_type == "Linux" and s.model.os_disk_size_gb == 30
    assert s.model.storage_account_type == "Premium_LRS"
    assert s.model.computer_name_prefix == "vmssb6649"
    assert s.model.admin_username == "user-000004"
    assert s.model.extensions == [] and s.model.health_probe == ""
    assert s.model.version == 1
    assert [i.id for i in s.instances] == [0]
    inst = s.instances[0]
    assert inst.provisioning_state == "Updating"
    assert inst.power_state == "running" and inst.health == "healthy"
    assert inst.model_version == 1 and inst.model_definition_applied == "VirtualMachineScaleSet"
    assert inst.protection is None and inst.extensions == {}
    assert inst.created == datetime(2024, 8, 26, 9, 0, 43, 384504, tzinfo=UTC)
    assert inst.image_version == ""
    assert (inst.zone, inst.fault_domain, inst.update_domain) == ("", 0, 0)
    assert s.next_instance_id == 1


def test_the_raw_rest_bodies_give_the_same_scale_set_as_what_az_prints():
    printed = import_scale_set(
        sample("vmss-show.cli-output.json"), sample("list-instances.cli-output-2024.json")
    )
    raw = import_scale_set(
        sample("vmss-show.raw-rest-2024.json"), sample("vmss-vm-list.raw-rest-2024.json")
    )
    assert (raw.resource_group, raw.name) == (RG, NAME)
    assert raw.scale_set == printed.scale_set
    assert raw.not_imported == printed.not_imported


def test_views_of_another_scale_set_are_listed_as_not_imported():
    result = import_scale_set(
        sample("vmss-show.cli-output.json"),
        sample("list-instances.cli-output-2024.json"),
        sample("get-instance-view-star.cli-output.json"),
    )
    assert result.not_imported == [FOREIGN_VIEW_NOTE, CAPACITY_NOTE]
    assert result.instance_views == 0
    assert result.scale_set.instances[0].provisioning_state == "Updating"


def test_the_recorded_expanded_list_and_star_views_fill_power_agent_and_domains():
    result = import_scale_set(
        show_of_other_set(),
        sample("list-instances-expand-instanceView.cli-output.json"),
        sample("get-instance-view-star.cli-output.json"),
    )
    assert (result.resource_group, result.name) == (OTHER_RG, OTHER_NAME)
    assert result.not_imported == [CAPACITY_NOTE]
    assert result.instance_views == 1
    s = result.scale_set
    # The instance's image names a concrete version: that is what "latest" resolved to.
    assert s.model.image.exact_version == "18.04.201909030"
    inst = s.instances[0]
    assert (inst.id, inst.power_state, inst.provisioning_state) == (0, "running", "Succeeded")
    assert (inst.vm_agent, inst.health) == ("ready", "healthy")
    assert (inst.fault_domain, inst.update_domain) == (0, 0)
    # No timeCreated in that list item: the scale set's; the 2019 status time is older than
    # that, so the status time is raised to the creation time.
    assert inst.created == s.created
    assert inst.updated == s.created


def test_the_rest_example_view_gives_unknown_health_and_an_agent_not_ready():
    view = sample("get-instance-view-instance-restexample.cli-output.json")
    listed = sample("list-instances.cli-output-2024.json")
    view["disks"][0]["name"] = listed[0]["storageProfile"]["osDisk"]["name"]
    result = import_scale_set(sample("vmss-show.cli-output.json"), listed, [view])
    inst = result.scale_set.instances[0]
    assert result.instance_views == 1
    assert (inst.vm_agent, inst.health, inst.power_state) == ("not_ready", "unknown", "running")
    # The list's provisioning state wins over the view's.
    assert inst.provisioning_state == "Updating"
    assert result.not_imported == [
        "vmHealth of 1 instance(s): kept as the instances' health, but the scale set model in "
        "--vmss has no health probe or application health extension, so no vmHealth is shown",
        CAPACITY_NOTE,
    ]


def test_a_production_fleet_keeps_zones_health_protection_extensions_and_model(production):
    show, instances, views = production
    result = import_scale_set(show, instances, views)
    assert result.not_imported == [
        "--instance-views item 4 (computer name vmssb66490000ZZ): matches no instance in "
        "--instances"
    ]
    assert result.instance_views == 4
    s = result.scale_set
    assert s.zones == ["1", "2", "3"] and s.tags == {"env": "prod", "tier": "web"}
    assert s.scale_in_policy == ["OldestVM"]
    policy = s.upgrade_policy
    assert policy.mode == "Rolling"
    assert dump(policy.rolling) == {
        "max_batch_instance_percent": 25,
        "max_unhealthy_instance_percent": 30,
        "max_unhealthy_upgraded_instance_percent": 10,
        "pause_time_between_batches": "PT1M",
        "prioritize_unhealthy_instances": True,
        "enable_cross_zone_upgrade": False,
        "max_surge": None,
        "rollback_failed_instances_on_policy_breach": None,
    }
    assert [e.name for e in s.model.extensions] == ["HealthExtension", "configure"]
    assert s.model.app_health_extension.settings == {
        "port": 80,
        "protocol": "http",
        "requestPath": "/health",
    }
    assert s.model.extensions[1].type_handler_version == "2.1"
    assert s.model.version == 2 and s.model.image.exact_version == "18.04.202401161"
    by_id = {i.id: i for i in s.instances}
    assert sorted(by_id) == PROD_IDS
    assert {i: by_id[i].zone for i in PROD_IDS} == PROD_ZONES
    assert {i: by_id[i].fault_domain for i in PROD_IDS} == {0: 0, 2: 2, 5: 0, 9: 4}
    assert {i: by_id[i].health for i in PROD_IDS} == {
        0: "healthy",
        2: "unhealthy",
        5: "healthy",  # stopped: Azure's "unknown" is derived from the power state
        9: "healthy",
    }
    assert {i: by_id[i].power_state for i in PROD_IDS} == {
        0: "running",
        2: "running",
        5: "stopped",
        9: "running",
    }
    assert dump(by_id[2].extensions["configure"]) == {
        "status": "failed",
        "message": FAILED_MESSAGE,
        "applied": "",  # an imported failure is not a configuration this twin ran
    }
    assert all(by_id[i].extensions == {} for i in (0, 5, 9))
    assert {i: by_id[i].model_version for i in PROD_IDS} == {0: 2, 2: 2, 5: 1, 9: 2}
    assert by_id[5].image_version == "18.04.202312010"
    assert by_id[9].model_definition_applied == "VirtualMachine"
    assert dump(by_id[9].protection) == {"scale_in": True, "scale_set_actions": False}
    assert all(by_id[i].protection is None for i in (0, 2, 5))
    assert s.next_instance_id == 10 and s.capacity == 4


def test_without_views_a_failed_extension_resource_in_the_list_still_counts(production):
    show, instances, _views = production
    instances[1]["resources"] = [
        {"name": "configure", "provisioningState": "Failed", "publisher": "x"},
        {"name": "HealthExtension", "provisioningState": "Succeeded"},
        {"name": "not-in-model", "provisioningState": "Failed"},
    ]
    result = import_scale_set(show, instances)
    assert result.not_imported == []
    by_id = {i.id: i for i in result.scale_set.instances}
    assert {i: sorted(by_id[i].extensions) for i in PROD_IDS} == {
        0: [],
        2: ["configure"],
        5: [],
        9: [],
    }
    assert dump(by_id[2].extensions["configure"]) == {
        "status": "failed",
        "message": "",
        "applied": "",
    }


def test_malformed_entries_are_skipped_and_listed(production):
    show, instances, views = production
    flexible = copy.deepcopy(instances[0])
    flexible["instanceId"] = "vmss-000002_a1b2c3"
    flexible["id"] = flexible["id"].replace("/virtualMachines/0", "/virtualMachines/x")
    instances += [42, copy.deepcopy(instances[1]), flexible]
    views[0]["platformFaultDomain"] = -1
    views[3]["extensions"].append({"name": "unknown-ext", "statuses": [{"code": "x"}]})
    views += [None, "nonsense"]
    result = import_scale_set(show, instances, views)
    assert result.not_imported == [
        "--instances item 4: not an object (42)",
        "--instances item 5: a second instance with id 2",
        "--instances item 6 (vmss-000002_0): instance id 'vmss-000002_a1b2c3' is not a number "
        "(vmsscli keeps Uniform-style numeric ids)",
        "--instance-views item 4 (computer name vmssb66490000ZZ): matches no instance in "
        "--instances",
        "--instance-views item 5: null (the instance had no instance view)",
        "--instance-views item 6: not an instance view",
        "instance 9: status of extension 'unknown-ext': the scale set model in --vmss has no "
        "such extension",
        "instance 0: platformFaultDomain -1 is not valid (Input should be greater than or "
        "equal to 0); the default is used",
    ]
    assert [i.id for i in result.scale_set.instances] == PROD_IDS
    assert result.scale_set.instance(0).fault_domain == 0


def test_settings_without_a_place_are_listed_and_bad_values_defaulted():
    show = sample("vmss-show.cli-output.json")
    show["platformFaultDomainCount"] = 7
    show["automaticRepairsPolicy"] = {"enabled": True, "gracePeriod": "PT30M"}
    show["upgradePolicy"] = {
        "mode": "Manual",
        "automaticOSUpgradePolicy": {"enableAutomaticOSUpgrade": True},
        "rollingUpgradePolicy": {"maxBatchInstancePercent": 3, "pauseTimeBetweenBatches": "x"},
    }
    show["virtualMachineProfile"]["priority"] = "Spot"
    show["virtualMachineProfile"]["storageProfile"]["dataDisks"] = [{"lun": 0}, {"lun": 1}]
    show["virtualMachineProfile"]["storageProfile"]["imageReference"] = {
        "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/galleries/gal/"
        "images/web/versions/1.2.3"
    }
    show["fooBar"] = {"unknown": "ignored"}
    listed = sample("list-instances.cli-output-2024.json")
    listed[0]["zones"] = ["2"]
    listed[0]["provisioningState"] = "Migrating"
    result = import_scale_set(show, listed)
    assert result.not_imported == [
        "upgradePolicy.rollingUpgradePolicy.pauseTimeBetweenBatches 'x' is not a duration; "
        "PT0S is used",
        "upgradePolicy.rollingUpgradePolicy.maxBatchInstancePercent 3 is not valid (Input "
        "should be greater than or equal to 5); the default is used",
        "upgradePolicy.automaticOSUpgradePolicy: automatic OS image upgrades are not "
        "simulated (change the image with 'vmss update --set ...')",
        "virtualMachineProfile.priority 'Spot': Spot evictions are not simulated; instances "
        "behave as Regular VMs",
        "virtualMachineProfile.storageProfile.dataDisks: 2 data disk(s) have no place in the "
        "state; instances show no data disks",
        "virtualMachineProfile.storageProfile.imageReference.id '1.2.3': custom and gallery "
        "images have no place in the state; the marketplace fields (or the default Ubuntu "
        "image) are used",
        "instance 0: provisioningState 'Migrating' has no equivalent here; Succeeded is used",
        "instance 0: zone 2 is dropped: the scale set in --vmss is regional",
        CAPACITY_NOTE,
        "platformFaultDomainCount 7 is not valid (Input should be less than or equal to 5); "
        "the default is used",
    ]
    s = result.scale_set
    assert s.fault_domain_count == 5 and s.upgrade_policy.rolling.max_batch_instance_percent == 20
    assert s.upgrade_policy.rolling.pause_time_between_batches == "PT0S"
    assert s.model.image.publisher == "Canonical" and s.model.image.offer != "UbuntuServer"
    assert s.instances[0].zone == "" and s.instances[0].provisioning_state == "Succeeded"
    # Automatic repairs are simulated: the policy is imported as it was.
    repairs = s.automatic_repairs
    assert (repairs.enabled, repairs.grace_period, repairs.repair_action) == (
        True,
        "PT30M",
        "Replace",
    )


def test_minus_g_and_minus_n_override_the_names_in_the_show_output():
    result = import_scale_set(
        sample("vmss-show.cli-output.json"),
        sample("list-instances.cli-output-2024.json"),
        resource_group="rg-rehearsal",
        name="copy",
    )
    assert (result.resource_group, result.name) == ("rg-rehearsal", "copy")
    show = sample("vmss-show.cli-output.json")
    del show["resourceGroup"], show["name"]  # parsed from the id instead
    assert import_scale_set(show, []).resource_group == RG


@pytest.mark.parametrize(
    ("show", "instances", "views", "message"),
    [
        (
            [],
            [],
            None,
            "--vmss: expected the JSON object printed by 'az vmss show', got a list",
        ),
        ("x", [], None, "--vmss: expected the JSON object printed by 'az vmss show', got str."),
        (
            sample("rolling-upgrade-get-latest.cli-output.json"),
            [],
            None,
            "--vmss: expected a scale set (type 'Microsoft.Compute/virtualMachineScaleSets'), "
            "got type 'Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades'.",
        ),
        (
            sample("run-command-invoke.cli-output.json"),
            [],
            None,
            "--vmss: not the output of 'az vmss show' (it has neither 'sku' nor "
            "'virtualMachineProfile').",
        ),
        (
            {"sku": {"name": "Standard_B2s"}},
            [],
            None,
            "--vmss does not say the scale set's resource group or name (it has no "
            "'resourceGroup', 'name' or 'id'); give -g and -n.",
        ),
        (
            sample("vmss-show.cli-output.json"),
            sample("vmss-show.cli-output.json"),
            None,
            "--instances: expected the JSON array printed by 'az vmss list-instances', got an "
            "object.",
        ),
        (
            sample("vmss-show.cli-output.json"),
            sample("get-instance-view-star.cli-output.json"),
            None,
            "--instances: not the output of 'az vmss list-instances' (no item has an "
            "instanceId or a virtualMachines/N id).",
        ),
        (
            sample("vmss-show.cli-output.json"),
            sample("list-instances-expand-instanceView.cli-output.json"),
            None,
            f"--instances lists VMs of scale set '{OTHER_NAME}' in resource group '{OTHER_RG}', "
            f"but --vmss is scale set '{NAME}' in resource group '{RG}'. Save both from the "
            "same scale set.",
        ),
        (
            sample("vmss-show.cli-output.json"),
            sample("list-instances.cli-output-2024.json"),
            sample("get-instance-view-vmss.cli-output.json"),
            "--instance-views: this is the scale set's own instance view; save the instances' "
            "views with \"az vmss get-instance-view --instance-id '*'\".",
        ),
        (
            sample("vmss-show.cli-output.json"),
            sample("list-instances.cli-output-2024.json"),
            sample("list-instances.cli-output-2024.json"),
            '--instance-views: not the output of "az vmss get-instance-view --instance-id '
            "'*'\" (no item has statuses, disks or a computer name).",
        ),
    ],
)
def test_input_of_the_wrong_shape_is_an_error(show, instances, views, message):
    with pytest.raises(CLIError) as caught:
        import_scale_set(show, instances, views)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_parse_json_reads_utf8_with_a_bom_and_powershell_utf16():
    data = {"a": [1, "é"]}
    text = json.dumps(data, ensure_ascii=False)
    assert parse_json(text.encode(), "x") == data
    assert parse_json(b"\xef\xbb\xbf" + text.encode(), "x") == data
    assert parse_json(text.encode("utf-16"), "x") == data  # with its BOM


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "--vmss file 'f' is empty."),
        (b"  \n", "--vmss file 'f' is empty."),
        (b"{nope", "--vmss file 'f' is not valid JSON: Expecting property name enclosed in "),
        (b"\xff\xfe\xff", "--vmss file 'f' is not"),
        (b"\x80abc", "--vmss file 'f' is not UTF-8 text (byte 0)."),
    ],
)
def test_parse_json_errors_are_one_line(raw, message):
    with pytest.raises(CLIError) as caught:
        parse_json(raw, "--vmss file 'f'")
    assert str(caught.value).startswith(message)


def test_merge_adds_a_group_or_replaces_a_scale_set_in_place():
    imported = import_scale_set(
        sample("vmss-show.cli-output.json"), sample("list-instances.cli-output-2024.json")
    )
    state = State()
    assert merge(state, imported) == (RG, NAME, False)
    assert state.resource_groups[RG].location == "westus"

    first, second = ScaleSet(location="northeurope"), ScaleSet(location="northeurope")
    state = State(
        resource_groups={
            "RG-Prod": ResourceGroup(
                location="northeurope", scale_sets={"A": first, "Web": second, "Z": ScaleSet()}
            )
        }
    )
    imported.resource_group, imported.name = "rg-prod", "web"
    assert merge(state, imported) == ("RG-Prod", "web", True)
    group = state.resource_groups["RG-Prod"]
    assert list(group.scale_sets) == ["A", "web", "Z"]
    assert group.scale_sets["A"] is first and group.scale_sets["web"] is imported.scale_set


# --- through the CLI ---------------------------------------------------------------------------


def _import_args(folder: Path, show, instances, views=None) -> list[str]:
    args = [
        "state",
        "import",
        "--vmss",
        write(folder, "show.json", show),
        "--instances",
        write(folder, "instances.json", instances),
    ]
    if views is not None:
        args += ["--instance-views", write(folder, "views.json", views)]
    return args


def test_import_prints_the_result_warns_and_leaves_the_other_scale_sets(state_path):
    raw = state_path.read_bytes()
    before = json.loads(raw)
    result = invoke(
        [
            "state",
            "import",
            "--vmss",
            str(SAMPLES / "vmss-show.cli-output.json"),
            "--instances",
            str(SAMPLES / "list-instances.cli-output-2024.json"),
            "--instance-views",
            str(SAMPLES / "get-instance-view-star.cli-output.json"),
        ],
        state_path,
    )
    assert result.exit_code == 0, result.stderr
    assert result.json() == {
        "instanceViews": 0,
        "instances": 1,
        "location": "westus",
        "name": NAME,
        "notImported": [FOREIGN_VIEW_NOTE, CAPACITY_NOTE],
        "path": str(state_path),
        "replaced": False,
        "resourceGroup": RG,
    }
    assert result.stderr.splitlines() == [
        f"WARNING: Not imported: {FOREIGN_VIEW_NOTE}",
        f"WARNING: Not imported: {CAPACITY_NOTE}",
    ]
    after = json.loads(state_path.read_text())
    assert after["resource_groups"]["rg-web"] == before["resource_groups"]["rg-web"]
    assert after["resource_groups"]["rg-batch"] == before["resource_groups"]["rg-batch"]
    assert list(after["resource_groups"]) == ["rg-web", "rg-batch", RG]
    assert state_path.with_name("state.json.bak").read_bytes() == raw
    assert invoke(["state", "validate"], state_path).exit_code == 0


def test_round_trip_list_instances_and_show_give_back_the_samples_facts(cli, state_path):
    assert (
        cli(
            "state",
            "import",
            "--vmss",
            str(SAMPLES / "vmss-show.cli-output.json"),
            "--instances",
            str(SAMPLES / "list-instances.cli-output-2024.json"),
        ).exit_code
        == 0
    )
    listed = cli("list-instances", "-g", RG, "-n", NAME, "-o", "json").json()
    recorded = sample("list-instances.cli-output-2024.json")
    keys = [
        "id",
        "instanceId",
        "name",
        "latestModelApplied",
        "modelDefinitionApplied",
        "provisioningState",
        "location",
        "resourceGroup",
        "sku",
        "hardwareProfile",
        "tags",
        "type",
    ]
    assert [{k: i.get(k) for k in keys} for i in listed] == [
        {k: i.get(k) for k in keys} for i in recorded
    ]
    assert [i.get("zones") for i in listed] == [None]
    assert [i.get("protectionPolicy") for i in listed] == [None]
    assert listed[0]["osProfile"]["computerName"] == "vmssb6649000000"
    assert listed[0]["osProfile"]["adminUsername"] == "user-000004"
    assert (
        listed[0]["storageProfile"]["imageReference"]
        == (recorded[0]["storageProfile"]["imageReference"])
    )
    # Seven fractional digits in, six kept (the state holds microseconds).
    assert recorded[0]["timeCreated"] == "2024-08-26T09:00:43.3845041+00:00"
    assert listed[0]["timeCreated"] == "2024-08-26T09:00:43.3845040+00:00"

    shown = cli("show", "-g", RG, "-n", NAME).json()
    recorded = sample("vmss-show.cli-output.json")
    for key in [
        "id",
        "name",
        "resourceGroup",
        "location",
        "orchestrationMode",
        "overprovision",
        "platformFaultDomainCount",
        "singlePlacementGroup",
        "upgradePolicy",
        "tags",
        "type",
        "doNotRunExtensionsOnOverprovisionedVMs",
        "provisioningState",
    ]:
        assert shown.get(key) == recorded.get(key), key
    # The recorded list holds the first instance only: capacity is what was imported.
    assert shown["sku"] == {**recorded["sku"], "capacity": 1}
    profile, recorded_profile = shown["virtualMachineProfile"], recorded["virtualMachineProfile"]
    assert profile["storageProfile"] == recorded_profile["storageProfile"]
    for key in ("adminUsername", "computerNamePrefix"):
        assert profile["osProfile"][key] == recorded_profile["osProfile"][key]
    assert shown["timeCreated"] == "2024-08-26T09:00:43.3220030+00:00"


def test_round_trip_of_a_production_fleet(cli, tmp_path, production):
    show, instances, views = production
    result = cli(*_import_args(tmp_path, show, instances, views))
    assert result.exit_code == 0, result.stderr
    assert result.json()["instances"] == 4
    listed = cli("list-instances", "-g", RG, "-n", NAME).json()
    for got, recorded in zip(listed, instances, strict=True):
        for key in (
            "instanceId",
            "zones",
            "provisioningState",
            "latestModelApplied",
            "modelDefinitionApplied",
            "protectionPolicy",
            "name",
            "osProfile",
        ):
            if key == "osProfile":
                assert got[key]["computerName"] == recorded[key]["computerName"]
            else:
                assert got.get(key) == recorded.get(key), (recorded["instanceId"], key)
        assert (
            got["storageProfile"]["imageReference"]
            == (recorded["storageProfile"]["imageReference"])
        )
    star = cli("get-instance-view", "-g", RG, "-n", NAME, "--instance-id", "*").json()
    assert [v["statuses"][1]["code"] for v in star] == [v["statuses"][1]["code"] for v in views[:4]]
    assert [v.get("vmHealth", {}).get("status", {}).get("code") for v in star] == [
        "HealthState/healthy",
        "HealthState/unhealthy",
        "HealthState/unknown",  # stopped
        "HealthState/healthy",
    ]
    assert [v["platformFaultDomain"] for v in star] == [0, 2, 0, 4]
    failed = star[1]["extensions"][1]
    assert failed["name"] == "configure"
    assert failed["statuses"][0]["code"] == "ProvisioningState/failed"
    assert failed["statuses"][0]["message"] == FAILED_MESSAGE
    shown = cli("show", "-g", RG, "-n", NAME).json()
    assert shown["sku"]["capacity"] == show["sku"]["capacity"] == 4
    for key in ("zones", "upgradePolicy", "scaleInPolicy", "tags"):
        assert shown[key] == show[key], key
    profile = shown["virtualMachineProfile"]
    assert profile["extensionProfile"] == show["virtualMachineProfile"]["extensionProfile"]
    triage = cli("triage", "-g", RG, "-n", NAME, "-o", "json").json()
    assert triage  # the imported fleet is usable by every command
    for data, schema in (
        (listed, "vmss-vm"),
        (shown, "vmss"),
        (star, "vmss-vm-instance-view"),
    ):
        assert schema_errors(schema, data) == []


def test_the_imported_fleet_can_be_rehearsed_on(cli, tmp_path, production):
    show, instances, views = production
    assert cli(*_import_args(tmp_path, show, instances, views)).exit_code == 0
    behind = cli(
        "list-instances", "-g", RG, "-n", NAME, "--query", "[?!latestModelApplied].instanceId"
    ).json()
    assert behind == ["5", "9"]
    assert cli("update-instances", "-g", RG, "-n", NAME, "--instance-ids", "5").exit_code == 0
    assert cli(
        "list-instances", "-g", RG, "-n", NAME, "--query", "[?!latestModelApplied].instanceId"
    ).json() == ["9"]
    scaled = cli("scale", "-g", RG, "-n", NAME, "--new-capacity", "5")
    assert scaled.exit_code == 0, scaled.stderr
    ids = cli("list-instances", "-g", RG, "-n", NAME, "--query", "[].instanceId").json()
    assert ids == ["0", "2", "5", "9", "10"]  # new ids start above the highest imported one


def test_exporting_the_demo_fleet_and_importing_it_gives_identical_output(tmp_path, state_path):
    """vmsscli's own output is az's shape, so export -> import -> export is the identity,
    for every scale set of the demo fleet (failed extension, unhealthy, stopped, behind the
    model, protected, health probe, Rolling policy, regional and zonal)."""
    fresh = tmp_path / "fresh.json"
    fresh.write_text("{}")
    reads = [
        ["show"],
        ["list-instances", "--expand", "instanceView"],
        ["get-instance-view", "--instance-id", "*"],
        ["get-instance-view"],
    ]
    for rg, name in [
        ("rg-web", "web-vmss"),
        ("rg-batch", "batch-vmss"),
        ("rg-batch", "tools-vmss"),
    ]:
        names = ["-g", rg, "-n", name]
        paths = {}
        for part, command in [
            ("show", ["show"]),
            ("list", ["list-instances"]),
            ("views", ["get-instance-view", "--instance-id", "*"]),
        ]:
            paths[part] = tmp_path / f"{name}-{part}.json"
            paths[part].write_text(invoke([*command, *names], state_path).stdout)
        result = invoke(
            [
                "state",
                "import",
                "--vmss",
                str(paths["show"]),
                "--instances",
                str(paths["list"]),
                "--instance-views",
                str(paths["views"]),
            ],
            fresh,
        )
        assert result.exit_code == 0, result.stderr
        assert result.json()["notImported"] == [] and result.stderr == ""
        for read in reads:
            original = invoke([*read, *names], state_path)
            again = invoke([*read, *names], fresh)
            assert again.stdout == original.stdout, (name, read)


def test_importing_again_replaces_the_scale_set_and_says_so(cli, tmp_path, production, state_path):
    show, instances, views = production
    assert cli(*_import_args(tmp_path, show, instances, views)).exit_code == 0
    others = json.loads(state_path.read_text())["resource_groups"]["rg-web"]
    result = cli(*_import_args(tmp_path, show, instances[:2]), "-g", RG.upper())
    assert result.exit_code == 0, result.stderr
    assert result.json()["replaced"] is True
    assert result.json()["resourceGroup"] == RG  # the stored casing
    assert result.stderr.splitlines()[0] == (
        f"WARNING: Replaced scale set '{NAME}' in resource group '{RG}' with the imported one; "
        "the other scale sets and resource groups are unchanged."
    )
    state = read_file(state_path)
    assert [i.id for i in state.resource_groups[RG].scale_sets[NAME].instances] == [0, 2]
    assert json.loads(state_path.read_text())["resource_groups"]["rg-web"] == others


def test_minus_n_imports_a_copy_next_to_the_original(cli, tmp_path, production):
    show, instances, views = production
    assert cli(*_import_args(tmp_path, show, instances, views)).exit_code == 0
    result = cli(*_import_args(tmp_path, show, instances, views), "-n", "web-copy")
    assert result.json()["replaced"] is False
    listed = cli("list", "-g", RG, "--query", "[].[name, sku.capacity]").json()
    assert listed == [[NAME, 4], ["web-copy", 4]]


def test_only_show_errors_silences_the_warnings(cli):
    result = cli(
        "state",
        "import",
        "--vmss",
        str(SAMPLES / "vmss-show.cli-output.json"),
        "--instances",
        str(SAMPLES / "list-instances.cli-output-2024.json"),
        "--only-show-errors",
    )
    assert result.exit_code == 0 and result.stderr == ""
    assert result.json()["notImported"] == [CAPACITY_NOTE]


def test_one_input_can_come_from_standard_input(cli):
    result = cli(
        "state",
        "import",
        "--vmss",
        "-",
        "--instances",
        str(SAMPLES / "list-instances.cli-output-2024.json"),
        stdin=(SAMPLES / "vmss-show.cli-output.json").read_text(),
    )
    assert result.exit_code == 0, result.stderr
    assert result.json()["name"] == NAME


def test_a_toml_state_file_takes_an_import(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text('[resource_groups.rg-a]\nlocation = "westus"\n')
    result = invoke(
        [
            "state",
            "import",
            "--vmss",
            str(SAMPLES / "vmss-show.cli-output.json"),
            "--instances",
            str(SAMPLES / "list-instances.cli-output-2024.json"),
        ],
        path,
    )
    assert result.exit_code == 0, result.stderr
    state = read_file(path)
    assert list(state.resource_groups) == ["rg-a", RG]
    assert state.resource_groups[RG].scale_sets[NAME].instances[0].provisioning_state == (
        "Updating"
    )


BAD_INPUTS = {
    "missing file": (
        ["--vmss", "{tmp}/nope.json", "--instances", "{list}"],
        "ERROR: --vmss file '{tmp}/nope.json' does not exist.",
    ),
    "a directory": (
        ["--vmss", "{tmp}", "--instances", "{list}"],
        "ERROR: --vmss file '{tmp}' is a directory.",
    ),
    "not json": (
        ["--vmss", "{tmp}/text.json", "--instances", "{list}"],
        "ERROR: --vmss file '{tmp}/text.json' is not valid JSON: Expecting value (line 1, "
        "column 1).",
    ),
    "empty": (
        ["--vmss", "{show}", "--instances", "{tmp}/empty.json"],
        "ERROR: --instances file '{tmp}/empty.json' is empty.",
    ),
    "list as show": (
        ["--vmss", "{list}", "--instances", "{list}"],
        "ERROR: --vmss: expected the JSON object printed by 'az vmss show', got a list (the "
        "output of 'az vmss list'? Save one scale set with 'az vmss show -g RG -n NAME').",
    ),
    "two scale sets": (
        ["--vmss", "{show}", "--instances", "{expand}"],
        f"ERROR: --instances lists VMs of scale set '{OTHER_NAME}' in resource group "
        f"'{OTHER_RG}', but --vmss is scale set '{NAME}' in resource group '{RG}'. Save both "
        "from the same scale set.",
    ),
    "scale set view": (
        ["--vmss", "{show}", "--instances", "{list}", "--instance-views", "{vmssview}"],
        "ERROR: --instance-views: this is the scale set's own instance view; save the "
        "instances' views with \"az vmss get-instance-view --instance-id '*'\".",
    ),
    "two from stdin": (
        ["--vmss", "-", "--instances", "-"],
        "ERROR: Only one of --vmss, --instances and --instance-views can be '-'.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_error_line_and_leaves_the_state_file_byte_identical(
    case, state_path, tmp_path
):
    (tmp_path / "text.json").write_text("not json\n")
    (tmp_path / "empty.json").write_text("")
    args, expected = BAD_INPUTS[case]
    values = {
        "tmp": str(tmp_path),
        "show": str(SAMPLES / "vmss-show.cli-output.json"),
        "list": str(SAMPLES / "list-instances.cli-output-2024.json"),
        "expand": str(SAMPLES / "list-instances-expand-instanceView.cli-output.json"),
        "vmssview": str(SAMPLES / "get-instance-view-vmss.cli-output.json"),
    }
    before = state_path.read_bytes()
    result = invoke(["state", "import", *(a.format(**values) for a in args)], state_path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [expected.format(**values)]
    assert state_path.read_bytes() == before
    assert not state_path.with_name("state.json.bak").exists()


def test_a_missing_required_flag_is_a_usage_error(state_path):
    before = state_path.read_bytes()
    result = invoke(["state", "import", "--instances", "x.json"], state_path)
    assert result.exit_code == 2
    assert result.stderr.startswith("ERROR: the following arguments are required: --vmss\n")
    assert state_path.read_bytes() == before


def test_a_broken_state_file_is_reported_and_left_as_it_is(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"resource_groups": {"rg": {"scale_sets": {"s": {"vm_sku": 5}}}}}')
    before = path.read_bytes()
    result = invoke(
        [
            "state",
            "import",
            "--vmss",
            str(SAMPLES / "vmss-show.cli-output.json"),
            "--instances",
            str(SAMPLES / "list-instances.cli-output-2024.json"),
        ],
        path,
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"ERROR: State file '{path}' is invalid at ")
    assert path.read_bytes() == before


def test_the_example_in_the_import_doc_prints_what_it_shows(tmp_path, monkeypatch):
    import re
    import shlex

    from conftest import REPO

    text = (REPO / "docs" / "import.md").read_text()
    block = re.search(r"```\n(\$ echo .*?)```", text.split("## A real example", 1)[1], re.S)
    steps = re.split(r"^\$ ", block.group(1), flags=re.M)[1:]
    assert steps[0].startswith("echo '{}' > rehearsal.json; export VMSSCLI_STATE=rehearsal.json")
    monkeypatch.chdir(tmp_path)
    for name, source in [
        ("show.json", "vmss-show.cli-output.json"),
        ("instances.json", "list-instances.cli-output-2024.json"),
        ("views.json", "get-instance-view-star.cli-output.json"),
    ]:
        (tmp_path / name).write_text((SAMPLES / source).read_text())
    (tmp_path / "rehearsal.json").write_text("{}")
    assert len(steps) == 4
    for step in steps[1:]:
        command, expected = step.split("\n", 1)
        result = invoke(shlex.split(command)[1:], Path("rehearsal.json"))
        assert result.exit_code == 0, result.stderr
        assert result.stderr + result.stdout == expected, command
