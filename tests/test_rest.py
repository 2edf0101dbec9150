"""One mapping for both doors: every object `vmss` prints is the flattening (az's client
flatten, `resourceGroup` added, nulls dropped) of what the endpoint sends for it."""

from __future__ import annotations

import json

import pytest
import requests
from conftest import run_vmss

from vmsscli import rest
from vmsscli.demo import demo_state
from vmsscli.service import compute

SUB = "00000000-0000-0000-0000-000000000000"
SETS = f"subscriptions/{SUB}/resourceGroups/{{rg}}/providers/Microsoft.Compute/" + (
    "virtualMachineScaleSets"
)


def _states():
    from vmsscli.domain.exercise import start_state
    from vmsscli.scenarios import available, load

    yield "demo", demo_state()
    for name, path in available().items():
        yield name, start_state(load(path))


@pytest.mark.parametrize(
    ("label", "state"), list(_states()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_printed_object_survives_the_wire_and_back(label, state):
    for rg, name, _scale_set in state.scale_sets():
        cases = [
            (compute.scale_set_view(state, rg, name), rest.VMSS),
            (compute.instance_views(state, rg, name), rest.VMSS_VM),
            (compute.instance_views(state, rg, name, expand="instanceView"), rest.VMSS_VM),
            (compute.scale_set_instance_view(state, rg, name), rest.PLAIN),
            (compute.vm_instance_view(state, rg, name, "*"), rest.PLAIN),
        ]
        for printed, shape in cases:
            wire = rest.to_rest(printed, shape)
            assert '"resourceGroup":' not in json.dumps(wire)
            assert rest.flatten(wire, shape) == printed, (label, rg, name)


def test_the_wire_shape_wraps_properties_where_azure_does():
    state = demo_state()
    vm = rest.to_rest(compute.instance_views(state, "rg-web", "web-vmss")[0], rest.VMSS_VM)
    assert set(vm) == {
        "id", "instanceId", "location", "name", "properties", "resources", "sku", "tags", "type",
        "zones",
    }  # fmt: skip
    assert vm["properties"]["latestModelApplied"] is True
    nic = vm["properties"]["networkProfileConfiguration"]["networkInterfaceConfigurations"][0]
    assert set(nic) == {"name", "properties"}
    assert set(nic["properties"]["ipConfigurations"][0]) == {"name", "properties"}
    assert set(vm["resources"][0]) == {"id", "location", "name", "properties"}
    scale_set = rest.to_rest(compute.scale_set_view(state, "rg-web", "web-vmss"), rest.VMSS)
    extension = scale_set["properties"]["virtualMachineProfile"]["extensionProfile"]["extensions"][
        0
    ]
    assert extension["properties"]["type"] == "ApplicationHealthLinux"
    assert "type" not in extension


def test_flatten_refuses_a_key_in_both_levels_as_az_does():
    with pytest.raises(ValueError, match="Conflict key"):
        rest.flatten({"name": "x", "properties": {"name": "y"}}, rest.VMSS)


def test_resource_groups_are_added_as_azs_transform_adds_them():
    value = {
        "id": "/subscriptions/s/resourceGroups/RG-One/providers/P/t/n",
        "sub": {"id": "/subscriptions/s/resourceGroups/two/providers/P/t/n/c/d"},
        "sourceVault": {"id": "/subscriptions/s/resourceGroups/three/providers/P/t/n"},
        "short": {"id": "/subscriptions/s/resourceGroups/four"},
        "kept": {
            "id": "/subscriptions/s/resourceGroups/five/providers/P/t/n",
            "ResourceGroup": "x",
        },
    }
    rest.add_resource_groups(value)
    assert value["resourceGroup"] == "RG-One"
    assert value["sub"]["resourceGroup"] == "two"
    assert "resourceGroup" not in value["sourceVault"]
    assert "resourceGroup" not in value["short"]
    assert "resourceGroup" not in value["kept"]


WEB = SETS.format(rg="rg-web") + "/web-vmss"
READS = [
    (["list"], f"subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets",
     rest.VMSS, True),
    (["show", "-g", "rg-web", "-n", "web-vmss"], WEB, rest.VMSS, False),
    (["list-instances", "-g", "rg-web", "-n", "web-vmss", "--expand", "instanceView"],
     WEB + "/virtualMachines?$expand=instanceView", rest.VMSS_VM, True),
    (["show", "-g", "rg-batch", "-n", "batch-vmss", "--instance-id", "3"],
     SETS.format(rg="rg-batch") + "/batch-vmss/virtualMachines/3", rest.VMSS_VM, False),
    (["get-instance-view", "-g", "rg-web", "-n", "web-vmss", "--instance-id", "5"],
     WEB + "/virtualMachines/5/instanceView", rest.PLAIN, False),
    (["get-instance-view", "-g", "rg-web", "-n", "web-vmss"],
     WEB + "/instanceView", rest.PLAIN, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "path", "shape", "listing"), READS, ids=[" ".join(r[0][:3]) for r in READS]
)
def test_what_vmss_prints_is_the_flattening_of_what_the_endpoint_sends(
    endpoint, argv, path, shape, listing
):
    endpoint.reset()
    joiner = "&" if "?" in path else "?"
    response = requests.get(
        f"{endpoint.url}{path}{joiner}api-version=2024-11-01",
        headers={"Authorization": f"Bearer {endpoint.token}"},
        verify=endpoint.ca,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    wire = response.json()
    if listing:
        assert set(wire) == {"value"}
        wire = wire["value"]
    printed = run_vmss(*argv, state=endpoint.state)
    assert printed.exit_code == 0, printed.stderr
    assert rest.flatten(wire, shape) == json.loads(printed.stdout)
