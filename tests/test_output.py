"""Unit tests of vmsscli.output: the formats az prints (reference §1.3) and --query (§1.4).

Everything here runs in-process on plain Python values; no command line is involved.
"""

from __future__ import annotations

import io
import json
from collections import OrderedDict

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from vmsscli import output
from vmsscli.errors import CLIError

# The table transformers of reference §3.2-§3.4, verbatim.
VMSS_TABLE = (
    "{Name:name, ResourceGroup:resourceGroup, Location:location, "
    "Zones: (!zones && ' ') || join(' ', zones), Capacity:sku.capacity, "
    "Overprovision:overprovision, UpgradePolicy:upgradePolicy.mode}"
)
INSTANCE_VIEW_TABLE = (
    "{ProvisioningState:statuses[0].displayStatus, PowerState:statuses[1].displayStatus}"
)


def render(result, fmt, **kwargs) -> str:
    stream = io.StringIO()
    output.write(result, fmt, stream, **kwargs)
    return stream.getvalue()


def expected_table(rows) -> str:
    return tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True) + "\n"


def az_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# --- strategies ----------------------------------------------------------------------------------

# Printable ASCII only: no newlines, tabs or other control characters.
ascii_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10)
padded_text = st.builds(
    lambda left, core, right: " " * left + core + " " * right,
    st.integers(0, 3),
    ascii_text,
    st.integers(0, 3),
)
cell_values = st.one_of(
    st.just(""),
    ascii_text,
    padded_text,
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
)


@st.composite
def table_rows(draw):
    """Rows sharing a pool of keys, each row holding a random subset of them (in random order)."""
    pool = draw(st.lists(ascii_text, min_size=0, max_size=6, unique=True))
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        keys = draw(st.permutations(pool)) if pool else []
        keys = keys[: draw(st.integers(0, len(keys)))]
        rows.append(OrderedDict((key, draw(cell_values)) for key in keys))
    return rows


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(),  # any Unicode except lone surrogates, control characters included
)
json_data = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=8), children, max_size=5),
        st.dictionaries(st.text(max_size=8), children, max_size=5).map(OrderedDict),
    ),
    max_leaves=30,
)


# --- table: tabulate's "simple" layout -----------------------------------------------------------


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(table_rows())
@example([])
@example([OrderedDict()])
@example([OrderedDict([("a", "  x  "), ("b", True)]), OrderedDict([("b", 10)])])
@example([OrderedDict([("", "")])])
def test_plain_table_is_byte_identical_to_tabulate_simple(rows):
    assert output.plain_table(rows) == expected_table(rows)


def test_plain_table_multiline_cell_matches_tabulate():
    rows = [
        OrderedDict([("Name", "web\nvmss"), ("Capacity", 3)]),
        OrderedDict([("Name", "batch"), ("Capacity", 12)]),
    ]
    assert output.plain_table(rows) == expected_table(rows)


def test_plain_table_of_no_columns_is_a_single_empty_line():
    assert output.plain_table([]) == "\n"
    assert output.plain_table([OrderedDict(), OrderedDict()]) == "\n"


def test_table_reproduces_the_reference_vmss_example():
    vmss = {
        "id": "/subscriptions/x/resourceGroups/rg1/providers/Microsoft.Compute/"
        "virtualMachineScaleSets/vmss1",
        "name": "vmss1",
        "resourceGroup": "rg1",
        "location": "westus",
        "sku": {"capacity": 3, "name": "Standard_DS1_v2", "tier": "Standard"},
        "overprovision": True,
        "upgradePolicy": {"mode": "Manual"},
    }
    assert render(vmss, "table", transformer=VMSS_TABLE) == (
        "Name    ResourceGroup    Location    Zones    Capacity    Overprovision    UpgradePolicy\n"
        "------  ---------------  ----------  -------  ----------  ---------------  "
        "---------------\n"
        "vmss1   rg1              westus               3           True             Manual\n"
    )


def test_table_joins_zones_with_spaces_through_the_vmss_transformer():
    vmss = {"name": "web", "zones": ["1", "2", "3"], "sku": {"capacity": 2}}
    assert render([vmss], "table", transformer="[]." + VMSS_TABLE) == (
        "Name    Zones    Capacity\n------  -------  ----------\nweb     1 2 3    2\n"
    )


def test_table_reproduces_the_reference_list_instances_example():
    vm = {
        "etag": '"1"',
        "hardwareProfile": {},
        "id": "/subscriptions/x/resourceGroups/rg1/providers/Microsoft.Compute/"
        "virtualMachineScaleSets/vmss1/virtualMachines/0",
        "instanceId": "0",
        "latestModelApplied": True,
        "location": "westus",
        "modelDefinitionApplied": "VirtualMachineScaleSet",
        "name": "vmss1_0",
        "networkProfile": {"networkInterfaces": []},
        "provisioningState": "Succeeded",
        "resourceGroup": "rg1",
        "resources": [],
        "timeCreated": "2024-08-26T08:27:08.0778956+00:00",
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "vmId": "c1f58359-f9bc-4b49-9b38-c476b9f69e90",
        "zones": ["1"],
    }
    assert render([vm], "table") == (
        "InstanceId    LatestModelApplied    Location    ModelDefinitionApplied    Name     "
        "ProvisioningState    ResourceGroup    TimeCreated                        VmId\n"
        "------------  --------------------  ----------  ------------------------  -------  "
        "-------------------  ---------------  ---------------------------------  "
        "------------------------------------\n"
        "0             True                  westus      VirtualMachineScaleSet    vmss1_0  "
        "Succeeded            rg1              2024-08-26T08:27:08.0778956+00:00  "
        "c1f58359-f9bc-4b49-9b38-c476b9f69e90\n"
    )


def test_table_reproduces_the_reference_instance_view_example():
    view = {
        "statuses": [
            {"code": "ProvisioningState/succeeded", "displayStatus": "Provisioning succeeded"},
            {"code": "PowerState/running", "displayStatus": "VM running"},
        ]
    }
    assert render(view, "table", transformer=INSTANCE_VIEW_TABLE) == (
        "ProvisioningState       PowerState\n"
        "----------------------  ------------\n"
        "Provisioning succeeded  VM running\n"
    )


def test_table_drops_the_power_column_when_the_transformer_yields_null():
    view = {"statuses": [{"displayStatus": "Provisioning succeeded"}]}
    assert render(view, "table", transformer=INSTANCE_VIEW_TABLE) == (
        "ProvisioningState\n----------------------\nProvisioning succeeded\n"
    )


def test_table_of_a_list_through_an_object_transformer_is_an_empty_line():
    views = [{"statuses": [{"displayStatus": "a"}, {"displayStatus": "b"}]}]
    assert render(views, "table", transformer=INSTANCE_VIEW_TABLE) == "\n"


def test_table_skips_id_type_and_etag_but_keeps_other_casings():
    rows = output.table_rows(
        [{"id": "x", "type": "t", "etag": "e", "Id": "kept", "name": "n"}], sort_keys=True
    )
    assert list(rows[0]) == ["Id", "Name"]


def test_table_skips_none_list_dict_and_set_values():
    rows = output.table_rows(
        [{"a": None, "b": [1], "c": {"x": 1}, "d": {1}, "e": "", "f": 0, "g": False}],
        sort_keys=True,
    )
    assert rows == [OrderedDict([("E", ""), ("F", 0), ("G", False)])]


def test_table_capitalises_only_the_first_character_of_headers():
    rows = output.table_rows(
        [{"latestModelApplied": True, "instance 0": "x", "vmId": "v"}], sort_keys=True
    )
    assert list(rows[0]) == ["Instance 0", "LatestModelApplied", "VmId"]


def test_table_sorts_keys_only_without_query_or_transformer():
    data = {"zeta": 1, "alpha": 2, "mid": 3}
    sorted_text = render(data, "table")
    assert sorted_text.splitlines()[0].split() == ["Alpha", "Mid", "Zeta"]

    queried = OrderedDict([("zeta", 1), ("alpha", 2), ("mid", 3)])
    query_text = render(queried, "table", query_active=True)
    assert query_text.splitlines()[0].split() == ["Zeta", "Alpha", "Mid"]

    transformed = render(data, "table", transformer=lambda r: OrderedDict(r))
    assert transformed.splitlines()[0].split() == ["Zeta", "Alpha", "Mid"]


def test_table_ignores_the_transformer_when_a_query_is_active():
    data = OrderedDict([("name", "vmss1"), ("location", "westus")])
    text = render(data, "table", query_active=True, transformer=VMSS_TABLE)
    assert text.splitlines()[0].split() == ["Name", "Location"]


def test_table_list_rows_become_numbered_columns():
    assert render([["a", 1, True], ["b", 2, False]], "table", query_active=True) == (
        "Column1    Column2    Column3\n"
        "---------  ---------  ---------\n"
        "a          1          True\n"
        "b          2          False\n"
    )


def test_table_scalar_rows_go_in_a_result_column():
    assert render(["0", "1", "10"], "table", query_active=True) == ("Result\n--------\n0\n1\n10\n")
    assert render("vmss1", "table", query_active=True) == "Result\n--------\nvmss1\n"


def test_table_of_an_empty_list_is_a_single_empty_line():
    assert render([], "table") == "\n"
    assert render([], "table", query_active=True) == "\n"


def test_table_columns_are_the_union_of_keys_in_first_seen_order():
    rows = [OrderedDict([("b", "1")]), OrderedDict([("a", "2"), ("b", "3")])]
    assert render(rows, "table", query_active=True) == ("B    A\n---  ---\n1\n3    2\n")


def test_table_failure_becomes_az_table_unavailable_error():
    def broken(_result):
        raise ValueError("boom")

    with pytest.raises(CLIError) as caught:
        render({"a": 1}, "table", transformer=broken)
    assert str(caught.value) == (
        "Table output unavailable. Use the --query option to specify an appropriate query. "
        "Use --debug for more info."
    )


# --- json ----------------------------------------------------------------------------------------


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_data)
@example({"b": 1, "a": {"d": [], "c": {}}})
@example("ünïcødé ✓ \u2028 \x00 \x1f \x7f \ud7ff \ue000 \U0001f600")
@example(OrderedDict([("z", "web-vmss"), ("a", "westeurope")]))
def test_to_json_is_byte_identical_to_sorted_indented_json_dumps(value):
    assert output.to_json(value) == az_json(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [([], "[]\n"), ({}, "{}\n"), ("vmss1", '"vmss1"\n'), (3, "3\n"), (True, "true\n")],
)
def test_to_json_of_empty_containers_and_scalars(value, text):
    assert output.to_json(value) == text


def test_to_json_sorts_keys_of_a_query_multiselect_hash():
    queried = OrderedDict([("z", "web-vmss"), ("a", "westeurope")])
    assert output.to_json(queried) == '{\n  "a": "westeurope",\n  "z": "web-vmss"\n}\n'


def test_jsonc_without_a_terminal_is_plain_json():
    data = {"b": [1, {"x": None}], "a": "é"}
    assert render(data, "jsonc") == render(data, "json") == az_json(data)


# --- yaml ----------------------------------------------------------------------------------------


def az_yaml(value) -> str:
    return yaml.safe_dump(value, default_flow_style=False, allow_unicode=True)


@pytest.mark.parametrize(
    ("value", "text"),
    [("vmss1", "vmss1\n...\n"), (3, "3\n...\n"), (True, "true\n...\n")],
)
def test_yaml_bare_scalar_ends_with_a_document_end_line(value, text):
    assert output.to_yaml(value) == text
    assert render(value, "yaml") == text


@settings(max_examples=200)
@given(json_data)
def test_yaml_equals_safe_dump(value):
    plain = json.loads(json.dumps(value))  # OrderedDicts -> dicts for the reference dump
    assert output.to_yaml(value) == az_yaml(plain)


def test_yaml_quotes_timestamps_and_sorts_keys():
    data = OrderedDict(
        [("timeCreated", "2024-08-26T08:27:06.4528718+00:00"), ("empty", {}), ("none", [])]
    )
    assert output.to_yaml(data) == (
        "empty: {}\nnone: []\ntimeCreated: '2024-08-26T08:27:06.4528718+00:00'\n"
    )


def test_yamlc_without_a_terminal_is_plain_yaml():
    data = {"b": [1, 2], "a": "é"}
    assert render(data, "yamlc") == render(data, "yaml") == az_yaml(data)


# --- tsv -----------------------------------------------------------------------------------------


def test_tsv_plain_dict_values_in_alphabetical_key_order():
    assert output.to_tsv({"name": "vmss1", "capacity": 3, "b": "x"}) == "x\t3\tvmss1\n"


def test_tsv_ordered_dict_values_in_insertion_order():
    row = OrderedDict([("n", "vmss1"), ("c", 3), ("o", True), ("z", None)])
    assert output.to_tsv(row) == "vmss1\t3\tTrue\tNone\n"


def test_tsv_nested_list_is_its_length_and_nested_dict_is_empty():
    row = {"a": [1, 2, 3], "b": {"x": 1}, "c": [], "d": "end"}
    assert output.to_tsv([row]) == "3\t\t0\tend\n"


def test_tsv_none_cell_prints_none():
    assert output.to_tsv([{"a": None, "b": "x"}]) == "None\tx\n"


def test_tsv_bare_booleans_are_lower_case_and_nested_ones_capitalised():
    assert output.to_tsv(["vmss1", 3, True, False]) == "vmss1\n3\ntrue\nfalse\n"
    assert output.to_tsv(True) == "true\n"
    assert output.to_tsv([["0", True, "vmss1_0"], ["3", False, "vmss1_3"]]) == (
        "0\tTrue\tvmss1_0\n3\tFalse\tvmss1_3\n"
    )
    assert output.to_tsv({"a": True}) == "True\n"


def test_tsv_one_line_per_element_with_varying_column_counts():
    rows = [{"instanceId": "0"}, {"instanceId": "9", "protectionPolicy": {"x": True}}]
    assert output.to_tsv(rows) == "0\n9\t\n"


def test_tsv_of_an_empty_list_prints_nothing():
    assert output.to_tsv([]) == ""
    assert render([], "tsv") == ""


def test_tsv_bare_scalar_is_its_str():
    assert output.to_tsv("vmss1") == "vmss1\n"
    assert output.to_tsv(None) == "None\n"


def test_tsv_reference_instance_view_example():
    view = {
        "computerName": "vmss1a2b3000000",
        "disks": [{"name": "d"}],
        "hyperVGeneration": "V2",
        "osName": "ubuntu",
        "osVersion": "22.04",
        "platformFaultDomain": 0,
        "platformUpdateDomain": 0,
        "statuses": [{}, {}],
        "vmAgent": {"vmAgentVersion": "2.0"},
    }
    assert render(view, "tsv") == "vmss1a2b3000000\t1\tV2\tubuntu\t22.04\t0\t0\t2\t\n"


# --- write() -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", output.FORMATS)
def test_write_prints_nothing_for_a_none_result(fmt):
    assert render(None, fmt) == ""
    assert render(None, fmt, query_active=True, transformer=VMSS_TABLE) == ""


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], "x", 0, False, [], {}])
def test_write_prints_nothing_for_format_none(value):
    assert render(value, "none") == ""


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        ([], "json", "[]\n"),
        (0, "json", "0\n"),
        (False, "json", "false\n"),
        ("", "json", '""\n'),
        ([], "yaml", "[]\n"),
        (False, "tsv", "false\n"),
    ],
)
def test_write_prints_falsy_results_that_are_not_none(value, fmt, text):
    assert render(value, fmt) == text


def test_apply_query_returns_ordered_dicts_in_query_order():
    compiled = output.compile_query("{z:name, a:location}")
    result = output.apply_query(compiled, {"name": "vmss1", "location": "westus"})
    assert isinstance(result, OrderedDict)
    assert list(result) == ["z", "a"]
    assert output.to_tsv(result) == "vmss1\twestus\n"
