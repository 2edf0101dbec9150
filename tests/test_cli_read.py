"""The read commands through the CLI (in-process, Typer's CliRunner) against the demo fleet.

Expectations come from the az reference: output formats (§1.3), --query (§1.4), errors and exit
codes (§1.5), the commands (§3.1-§3.4) and their table columns (§3.16). The demo fleet:
rg-web/web-vmss (zonal, Rolling, ids 0 1 2 4 5 6 7 9 10 11 12 13; 5 unhealthy with a failed
'configure-web' extension; 9 protected from scale-in; 9 and 12 behind the model),
rg-batch/batch-vmss (Manual, 5 instances, 3 stopped), rg-batch/tools-vmss (Automatic, 2).
"""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import invoke, schema_errors

WEB = ["-g", "rg-web", "-n", "web-vmss"]
BATCH = ["-g", "rg-batch", "-n", "batch-vmss"]
WEB_IDS = ["0", "1", "2", "4", "5", "6", "7", "9", "10", "11", "12", "13"]
QUERY_HELP = (
    "To learn more about --query, please visit: "
    "'https://learn.microsoft.com/cli/azure/query-azure-cli'"
)
FORMATS = ["json", "jsonc", "yaml", "yamlc", "table", "tsv", "none"]
VMSS_COLUMNS = [
    "Name",
    "ResourceGroup",
    "Location",
    "Zones",
    "Capacity",
    "Overprovision",
    "UpgradePolicy",
]

# id -> (command line, schema of the object or of each list item, or None)
READ_COMMANDS: dict[str, tuple[list[str], str | None]] = {
    "list": (["list"], "vmss"),
    "list-rg": (["list", "-g", "rg-web"], "vmss"),
    "show": (["show", *WEB], "vmss"),
    "show-no-zones": (["show", *BATCH], "vmss"),
    "show-instance": (["show", *WEB, "--instance-id", "5"], "vmss-vm"),
    "show-protected-instance": (["show", *WEB, "--instance-id", "9"], "vmss-vm"),
    "list-instances": (["list-instances", *WEB], "vmss-vm"),
    "list-instances-batch": (["list-instances", *BATCH], "vmss-vm"),
    "list-instances-expand": (
        ["list-instances", *WEB, "--expand", "instanceView"],
        "vmss-vm",
    ),
    "list-instances-expand-batch": (
        ["list-instances", *BATCH, "--expand", "instanceView"],
        "vmss-vm",
    ),
    "get-instance-view": (["get-instance-view", *WEB], "vmss-instance-view"),
    "get-instance-view-id": (
        ["get-instance-view", *WEB, "--instance-id", "5"],
        "vmss-vm-instance-view",
    ),
    "get-instance-view-stopped": (
        ["get-instance-view", *BATCH, "--instance-id", "3"],
        "vmss-vm-instance-view",
    ),
    "get-instance-view-star": (
        ["get-instance-view", *WEB, "--instance-id", "*"],
        "vmss-vm-instance-view",
    ),
    "triage": (["triage", *WEB], None),
}
SCHEMA_COMMANDS = {k: v for k, v in READ_COMMANDS.items() if v[1] is not None}


def ok(result):
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result


def parse_table(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Headers and rows of a tabulate "simple" table, sliced by its dashes line."""
    header, dashes, *lines = text.rstrip("\n").split("\n")
    spans = []
    start = 0
    for width in (len(run) for run in dashes.split("  ")):
        spans.append((start, start + width))
        start += width + 2
    names = [header[a:b].strip() for a, b in spans]
    rows = [
        {n: line[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)} for line in lines
    ]
    return names, rows


# --- every read command in every output format ----------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", READ_COMMANDS, ids=str)
def test_read_command_prints_consistent_output_in_every_format(cli, command, fmt):
    args, _schema = READ_COMMANDS[command]
    data = ok(cli(*args)).json()
    result = ok(cli(*args, "-o", fmt))
    if fmt in ("json", "jsonc"):
        assert json.loads(result.stdout) == data
    elif fmt in ("yaml", "yamlc"):
        assert yaml.safe_load(result.stdout) == data
    elif fmt == "none":
        assert result.stdout == ""
    elif fmt == "tsv":
        lines = result.stdout.split("\n")
        assert lines[-1] == ""  # every line ends with a newline
        assert len(lines) - 1 == (len(data) if isinstance(data, list) else 1)
    else:
        assert result.stdout.endswith("\n")


@pytest.mark.parametrize("command", READ_COMMANDS, ids=str)
def test_json_is_sorted_with_an_indent_of_two(cli, command):
    args, _schema = READ_COMMANDS[command]
    text = ok(cli(*args)).stdout
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("command", ["list-instances", "get-instance-view-id", "triage"])
def test_colour_formats_without_a_terminal_equal_the_plain_ones(cli, command):
    args, _schema = READ_COMMANDS[command]
    assert ok(cli(*args, "-o", "jsonc")).stdout == ok(cli(*args, "-o", "json")).stdout
    assert ok(cli(*args, "-o", "yamlc")).stdout == ok(cli(*args, "-o", "yaml")).stdout


# --- schemas --------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", SCHEMA_COMMANDS, ids=str)
def test_read_command_json_validates_against_the_reference_schema(cli, command):
    args, schema = SCHEMA_COMMANDS[command]
    data = ok(cli(*args)).json()
    assert data != []
    assert schema_errors(schema, data) == []


@pytest.mark.parametrize(
    "flags",
    [
        [
            "--instance-count",
            "3",
            "--zones",
            "1",
            "2",
            "3",
            "--upgrade-policy-mode",
            "Rolling",
            "--app-health-extension",
        ],
        [],
    ],
    ids=["zonal-rolling-health", "defaults"],
)
def test_create_prints_a_vmss_key_valid_against_the_vmss_schema(cli, flags):
    data = ok(cli("create", "-g", "rg-new", "-n", "new-vmss", *flags)).json()
    assert list(data) == ["vmss"]
    assert schema_errors("vmss", data["vmss"]) == []
    assert data["vmss"]["name"] == "new-vmss"
    shown = ok(cli("show", "-g", "rg-new", "-n", "new-vmss")).json()
    assert schema_errors("vmss", shown) == []
    instances = ok(cli("list-instances", "-g", "rg-new", "-n", "new-vmss")).json()
    assert schema_errors("vmss-vm", instances) == []


def test_create_of_a_zonal_rolling_set_reports_its_zones_capacity_and_mode(cli):
    vmss = ok(
        cli(
            "create",
            "-g",
            "rg-new",
            "-n",
            "new-vmss",
            "--instance-count",
            "3",
            "--zones",
            "1",
            "2",
            "3",
            "--upgrade-policy-mode",
            "Rolling",
            "--app-health-extension",
        )
    ).json()["vmss"]
    assert vmss["zones"] == ["1", "2", "3"]
    assert vmss["sku"]["capacity"] == 3
    assert vmss["upgradePolicy"]["mode"] == "Rolling"
    assert vmss["resourceGroup"] == "rg-new"


# --- table columns (§3.16) ------------------------------------------------------------------------


def test_list_instances_table_has_the_generic_sorted_scalar_columns(cli):
    text = ok(cli("list-instances", *WEB, "-o", "table")).stdout
    names, rows = parse_table(text)
    assert names == [
        "InstanceId",
        "LatestModelApplied",
        "Location",
        "ModelDefinitionApplied",
        "Name",
        "ProvisioningState",
        "ResourceGroup",
        "TimeCreated",
        "VmId",
    ]
    assert [row["InstanceId"] for row in rows] == WEB_IDS
    latest = {row["InstanceId"]: row["LatestModelApplied"] for row in rows}
    assert latest["9"] == latest["12"] == "False"
    assert latest["0"] == "True"


def test_list_instances_table_header_is_tabulate_simple_layout(cli):
    header, dashes = ok(cli("list-instances", *WEB, "-o", "table")).stdout.split("\n")[:2]
    assert header.startswith("InstanceId    LatestModelApplied    Location    ")
    assert dashes.startswith("------------  --------------------  ")
    assert header == header.rstrip()


def test_show_table_has_the_vmss_columns_and_joined_zones(cli):
    names, rows = parse_table(ok(cli("show", *WEB, "-o", "table")).stdout)
    assert names == VMSS_COLUMNS
    assert rows == [
        {
            "Name": "web-vmss",
            "ResourceGroup": "rg-web",
            "Location": "westeurope",
            "Zones": "1 2 3",
            "Capacity": "12",
            "Overprovision": "True",
            "UpgradePolicy": "Rolling",
        }
    ]


def test_show_table_zones_is_a_blank_cell_without_zones(cli):
    text = ok(cli("show", *BATCH, "-o", "table")).stdout
    names, rows = parse_table(text)
    assert names == VMSS_COLUMNS
    assert rows[0]["Zones"] == ""
    assert rows[0]["Capacity"] == "5"
    assert rows[0]["UpgradePolicy"] == "Manual"
    # the Zones column is still there, filled with blanks
    zones_start = text.split("\n")[0].index("Zones")
    assert text.split("\n")[2][zones_start : zones_start + 7] == " " * 7


def test_list_table_has_one_vmss_row_per_scale_set(cli):
    names, rows = parse_table(ok(cli("list", "-o", "table")).stdout)
    assert names == VMSS_COLUMNS
    by_name = {row["Name"]: row for row in rows}
    assert set(by_name) == {"web-vmss", "batch-vmss", "tools-vmss"}
    assert by_name["web-vmss"]["Zones"] == "1 2 3"
    assert by_name["tools-vmss"]["Zones"] == ""
    assert by_name["tools-vmss"]["UpgradePolicy"] == "Automatic"
    assert by_name["batch-vmss"]["Capacity"] == "5"


def test_list_with_resource_group_table_has_only_that_group(cli):
    names, rows = parse_table(ok(cli("list", "-g", "rg-batch", "-o", "table")).stdout)
    assert names == VMSS_COLUMNS
    assert sorted(row["Name"] for row in rows) == ["batch-vmss", "tools-vmss"]


def test_show_instance_table_has_only_name_group_location_zones(cli):
    names, rows = parse_table(ok(cli("show", *WEB, "--instance-id", "5", "-o", "table")).stdout)
    assert names == ["Name", "ResourceGroup", "Location", "Zones"]
    assert rows[0]["Name"] == "web-vmss_5"


def test_get_instance_view_of_scale_set_table_has_only_provisioning_state(cli):
    assert ok(cli("get-instance-view", *WEB, "-o", "table")).stdout == (
        "ProvisioningState\n----------------------\nProvisioning succeeded\n"
    )


def test_get_instance_view_of_instance_table_has_provisioning_and_power_state(cli):
    assert ok(cli("get-instance-view", *WEB, "--instance-id", "5", "-o", "table")).stdout == (
        "ProvisioningState       PowerState\n"
        "----------------------  ------------\n"
        "Provisioning succeeded  VM running\n"
    )


def test_get_instance_view_of_stopped_instance_table_shows_vm_stopped(cli):
    names, rows = parse_table(
        ok(cli("get-instance-view", *BATCH, "--instance-id", "3", "-o", "table")).stdout
    )
    assert names == ["ProvisioningState", "PowerState"]
    assert rows[0]["PowerState"] == "VM stopped"


def test_get_instance_view_of_all_instances_table_is_one_empty_line(cli):
    assert ok(cli("get-instance-view", *WEB, "--instance-id", "*", "-o", "table")).stdout == "\n"


# --- --query --------------------------------------------------------------------------------------


def test_query_instance_ids_as_tsv_in_ascending_order(cli):
    result = ok(cli("list-instances", *WEB, "--query", "[].instanceId", "-o", "tsv"))
    assert result.stdout == "".join(f"{i}\n" for i in WEB_IDS)


def test_query_multiselect_hash_sorted_in_json(cli):
    result = ok(cli("show", *WEB, "--query", "{z:name, a:location}"))
    assert result.stdout == '{\n  "a": "westeurope",\n  "z": "web-vmss"\n}\n'


def test_query_multiselect_hash_sorted_in_yaml(cli):
    result = ok(cli("show", *WEB, "--query", "{z:name, a:location}", "-o", "yaml"))
    assert result.stdout == "a: westeurope\nz: web-vmss\n"


def test_query_multiselect_hash_keeps_query_order_in_table(cli):
    result = ok(cli("show", *WEB, "--query", "{z:name, a:location}", "-o", "table"))
    assert result.stdout == "Z         A\n--------  ----------\nweb-vmss  westeurope\n"


def test_query_multiselect_hash_keeps_query_order_in_tsv(cli):
    result = ok(cli("show", *WEB, "--query", "{z:name, a:location}", "-o", "tsv"))
    assert result.stdout == "web-vmss\twesteurope\n"


def test_query_disables_the_table_transformer(cli):
    result = ok(cli("show", *WEB, "--query", "{name:name, cap:sku.capacity}", "-o", "table"))
    assert result.stdout.split("\n")[0].split() == ["Name", "Cap"]


def test_query_list_of_lists_gives_numbered_columns_in_table(cli):
    result = ok(
        cli(
            "list-instances",
            *WEB,
            "--query",
            "[?instanceId=='9'].[instanceId, name]",
            "-o",
            "table",
        )
    )
    assert result.stdout == "Column1    Column2\n---------  ----------\n9          web-vmss_9\n"


def test_query_scalar_list_row_tsv_uses_capitalised_nested_booleans(cli):
    result = ok(
        cli(
            "list-instances",
            *WEB,
            "--query",
            "[?instanceId=='12'].[instanceId, latestModelApplied, name]",
            "-o",
            "tsv",
        )
    )
    assert result.stdout == "12\tFalse\tweb-vmss_12\n"


def test_query_bare_boolean_tsv_is_lower_case(cli):
    result = ok(cli("show", *WEB, "--query", "[name, sku.capacity, overprovision]", "-o", "tsv"))
    assert result.stdout == "web-vmss\n12\ntrue\n"


def test_query_filter_on_scale_in_protection_finds_instance_9(cli):
    result = ok(
        cli("list-instances", *WEB, "--query", "[?protectionPolicy.protectFromScaleIn].instanceId")
    )
    assert result.json() == ["9"]


def test_query_on_instance_view_finds_the_unhealthy_instance(cli):
    result = ok(
        cli(
            "list-instances",
            *WEB,
            "--expand",
            "instanceView",
            "--query",
            "[?instanceView.vmHealth.status.code=='HealthState/unhealthy'].instanceId",
            "-o",
            "tsv",
        )
    )
    assert result.stdout == "5\n"


@pytest.mark.parametrize("fmt", FORMATS)
def test_query_returning_null_prints_nothing(cli, fmt):
    result = ok(cli("show", *BATCH, "--query", "zones", "-o", fmt))
    assert result.stdout == ""


def test_query_syntax_error_exits_2_with_az_text(cli):
    result = cli("show", *BATCH, "--query", "[?")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"ERROR: argument --query: invalid jmespath_type value: '[?'\n{QUERY_HELP}\n"
    )


def test_query_unknown_function_exits_1_with_az_text(cli):
    result = cli("show", *BATCH, "--query", "foo(@)")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "ERROR: Invalid jmespath query supplied for `--query`: Unknown function: foo()\n"
        f"{QUERY_HELP}\n"
    )


# --- errors ---------------------------------------------------------------------------------------


def not_found_text(name: str, group: str) -> str:
    message = (
        f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/{name}' under resource group "
        f"'{group}' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix"
    )
    return f"ERROR: (ResourceNotFound) {message}\nCode: ResourceNotFound\nMessage: {message}\n"


@pytest.mark.parametrize(
    "args",
    [
        ["show", "-g", "rg-web", "-n", "nope"],
        ["show", "-g", "rg-web", "-n", "nope", "--instance-id", "0"],
        ["list-instances", "-g", "rg-web", "-n", "nope"],
        ["get-instance-view", "-g", "rg-web", "-n", "nope"],
        ["get-instance-view", "-g", "rg-web", "-n", "nope", "--instance-id", "0"],
        ["get-instance-view", "-g", "rg-web", "-n", "nope", "--instance-id", "*"],
    ],
    ids=" ".join,
)
def test_missing_scale_set_exits_3_with_resource_not_found(cli, args):
    result = cli(*args)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == not_found_text("nope", "rg-web")


@pytest.mark.parametrize(
    "args",
    [
        ["show", "-g", "nope", "-n", "web-vmss"],
        ["list", "-g", "nope"],
        ["list-instances", "-g", "nope", "-n", "web-vmss"],
    ],
    ids=" ".join,
)
def test_missing_resource_group_exits_3(cli, args):
    result = cli(*args)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("ERROR: (")


def test_missing_instance_in_get_instance_view_exits_3(cli):
    result = cli("get-instance-view", *WEB, "--instance-id", "99")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("ERROR: (")


def test_missing_instance_in_show_exits_3(cli):
    result = cli("show", *WEB, "--instance-id", "3")
    assert result.exit_code == 3
    assert result.stdout == ""


def check_examples_block(stderr: str, command: str, typed: list[str]) -> None:
    """§1.5: blank line, header, up to 3 examples (command, description, blank), then the link;
    ranked by most flags in common with what was typed, then fewest flags."""
    lines = stderr.split("\n")
    assert lines[1] == ""
    assert lines[2] == "Examples from command's help:"
    assert lines[-3:] == [
        "https://aka.ms/cli_ref",
        "Read more about the command in reference docs",
        "",
    ]
    body = lines[3:-3]
    assert len(body) % 3 == 0 and 1 <= len(body) // 3 <= 3
    examples = body[0::3]
    assert all(line.startswith(f"vmss {command} ") for line in examples)
    assert all(desc for desc in body[1::3])
    assert all(blank == "" for blank in body[2::3])
    typed_flags = set(typed)

    def rank(example: str) -> tuple[int, int]:
        flags = {w for w in example.split() if w.startswith("-")}
        return (-len(flags & typed_flags), len(flags))

    assert [rank(e) for e in examples] == sorted(rank(e) for e in examples)


def test_missing_name_is_a_usage_error_with_examples(cli):
    result = cli("list-instances", "-g", "rg-web")
    assert result.exit_code == 2
    assert result.stdout == ""
    first = result.stderr.split("\n")[0]
    assert first.startswith("ERROR: the following arguments are required: ")
    assert "--name" in first and "-n" in first
    check_examples_block(result.stderr, "list-instances", ["-g"])


def test_invalid_output_format_exits_2(cli):
    result = cli("list-instances", *WEB, "-o", "xml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.split("\n")[0] == (
        "ERROR: vmss list-instances: 'xml' is not a valid value for '--output'. "
        "Allowed values: json, jsonc, yaml, yamlc, table, tsv, none."
    )


def test_unrecognized_argument_exits_2_with_only_the_reference_link(cli):
    """az 2.91 reports these from its top-level parser: no examples, only the link."""
    result = cli("list-instances", *WEB, "--foo", "bar")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "ERROR: unrecognized arguments: --foo bar\n\nhttps://aka.ms/cli_ref\n"
        "Read more about the command in reference docs\n"
    )


def test_misspelled_command_exits_2_and_suggests_the_right_one(cli):
    result = cli("list-instancez", *WEB)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "ERROR: 'list-instancez' is misspelled or not recognized by the system.\n"
        "Did you mean 'list-instances' ?\n"
    )


def test_several_instance_ids_are_unrecognized_arguments(cli):
    result = cli("get-instance-view", *WEB, "--instance-id", "0", "1")
    assert result.exit_code == 2
    assert result.stderr.split("\n")[0] == "ERROR: unrecognized arguments: 1"


# --- argument spelling ----------------------------------------------------------------------------


def test_prefix_abbreviation_of_a_long_option_works(cli):
    full = ok(cli("get-instance-view", *WEB, "--instance-id", "5")).stdout
    assert ok(cli("get-instance-view", *WEB, "--inst", "5")).stdout == full


@pytest.mark.parametrize(
    "flags",
    [["-o", "TABLE"], ["--output=table"], ["-otable"], ["--output", "Table"], ["--out", "table"]],
    ids=" ".join,
)
def test_output_flag_spellings_give_the_table(cli, flags):
    expected = ok(cli("get-instance-view", *WEB, "--instance-id", "5", "-o", "table")).stdout
    assert ok(cli("get-instance-view", *WEB, "--instance-id", "5", *flags)).stdout == expected
    assert expected.startswith("ProvisioningState       PowerState\n")


def test_global_arguments_may_come_between_command_arguments(cli):
    expected = ok(cli("list-instances", *WEB, "-o", "tsv", "--query", "[].instanceId")).stdout
    mixed = ok(
        cli(
            "list-instances",
            "--query",
            "[].instanceId",
            "-g",
            "rg-web",
            "-o",
            "tsv",
            "-n",
            "web-vmss",
        )
    )
    assert mixed.stdout == expected


def test_last_value_of_a_repeated_option_wins(cli):
    result = ok(cli("show", *WEB, "-o", "table", "-o", "json", "--query", "name"))
    assert result.json() == "web-vmss"


# --- --ids ----------------------------------------------------------------------------------------


def instance_resource_id(cli, instance_id: str) -> str:
    instances = ok(cli("list-instances", *WEB)).json()
    return next(vm["id"] for vm in instances if vm["instanceId"] == instance_id)


def test_get_instance_view_by_instance_resource_id(cli):
    vm_id = instance_resource_id(cli, "5")
    by_name = ok(cli("get-instance-view", *WEB, "--instance-id", "5")).json()
    by_id = ok(cli("get-instance-view", "--ids", vm_id)).json()
    assert by_id == by_name
    assert schema_errors("vmss-vm-instance-view", by_id) == []


def test_get_instance_view_by_scale_set_id_cannot_derive_the_instance(cli):
    vmss_id = ok(cli("show", *WEB)).json()["id"]
    result = cli("get-instance-view", "--ids", vmss_id)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"ERROR: Argument --instance-id cannot be derived from ID {vmss_id}. Please provide a "
        "complete resource ID containing all information of 'Resource Id' arguments. \n"
    )


def test_get_instance_view_with_two_instance_ids_gives_a_list_of_two(cli):
    id5, id9 = instance_resource_id(cli, "5"), instance_resource_id(cli, "9")
    views = ok(cli("get-instance-view", "--ids", id5, id9)).json()
    assert isinstance(views, list) and len(views) == 2
    assert views[0] == ok(cli("get-instance-view", *WEB, "--instance-id", "5")).json()
    assert views[1] == ok(cli("get-instance-view", *WEB, "--instance-id", "9")).json()
    assert schema_errors("vmss-vm-instance-view", views) == []


# --- list-instances --filter / --expand -----------------------------------------------------------


def test_filter_not_latest_model_returns_instances_9_and_12(cli):
    data = ok(
        cli("list-instances", *WEB, "--filter", "properties/latestModelApplied eq false")
    ).json()
    assert [vm["instanceId"] for vm in data] == ["9", "12"]
    assert all(vm["latestModelApplied"] is False for vm in data)


def test_filter_latest_model_returns_the_other_instances(cli):
    data = ok(
        cli("list-instances", *WEB, "--filter", "properties/latestModelApplied eq true")
    ).json()
    assert [vm["instanceId"] for vm in data] == [i for i in WEB_IDS if i not in ("9", "12")]


def test_expand_instance_view_adds_an_instance_view_to_every_item(cli):
    plain = ok(cli("list-instances", *WEB)).json()
    expanded = ok(cli("list-instances", *WEB, "--expand", "instanceView")).json()
    assert all("instanceView" not in vm for vm in plain)
    assert all("instanceView" in vm for vm in expanded)
    assert [vm["instanceId"] for vm in expanded] == WEB_IDS


def test_instance_view_star_is_the_list_of_per_instance_views_in_list_order(cli):
    expanded = ok(cli("list-instances", *WEB, "--expand", "instanceView")).json()
    star = ok(cli("get-instance-view", *WEB, "--instance-id", "*")).json()
    assert star == [vm["instanceView"] for vm in expanded]


def test_scale_set_instance_view_counts_instance_provisioning_states(cli):
    view = ok(cli("get-instance-view", *WEB)).json()
    total = sum(entry["count"] for entry in view["virtualMachine"]["statusesSummary"])
    assert total == len(WEB_IDS)


# --- triage ---------------------------------------------------------------------------------------


def test_triage_json_lists_problem_instances_first(cli):
    rows = ok(cli("triage", *WEB)).json()
    assert rows[0]["instanceId"] == "5"
    assert "configure-web" in rows[0]["failedExtensions"]
    assert sorted(row["instanceId"] for row in rows) == sorted(WEB_IDS)
    with_problems = [bool(row["problems"]) for row in rows]
    assert with_problems == sorted(with_problems, reverse=True)
    assert {row["instanceId"] for row in rows if row["problems"]} == {"5", "9", "12"}


def test_triage_table_starts_with_the_summary_line(cli):
    text = ok(cli("triage", *WEB, "-o", "table")).stdout
    lines = text.split("\n")
    assert lines[0] == "1 of 12 unhealthy, 2 not on the latest model, 1 protected"
    assert lines[1].split()[0] == "InstanceId"
    assert lines[3].split()[0] == "5"


def test_triage_table_of_batch_counts_the_stopped_instance_as_unhealthy(cli):
    text = ok(cli("triage", *BATCH, "-o", "table")).stdout
    lines = text.split("\n")
    assert lines[0] == "1 of 5 unhealthy, 0 not on the latest model, 0 protected"
    assert lines[3].split()[0] == "3"


def test_triage_with_query_prints_no_summary(cli):
    result = ok(cli("triage", *WEB, "--query", "[].instanceId", "-o", "table"))
    assert not result.stdout.startswith("1 of 12")
    assert result.stdout.split("\n")[0] == "Result"


# --- output shape rules shared by every read command (§1.1 step 7, §1.8) --------------------------


def walk(value, parent_key=None):
    """Every (dict, key under which it sits) in a JSON value."""
    if isinstance(value, dict):
        yield value, parent_key
        for key, item in value.items():
            yield from walk(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item, parent_key)


@pytest.mark.parametrize("command", READ_COMMANDS, ids=str)
def test_read_command_output_has_no_null_values(cli, command):
    args, _schema = READ_COMMANDS[command]
    data = ok(cli(*args)).json()
    assert data is not None
    nulls = [(key, d) for d, _ in walk(data) for key, v in d.items() if v is None]
    assert nulls == []


@pytest.mark.parametrize("command", READ_COMMANDS, ids=str)
def test_every_object_with_a_resource_group_scoped_id_names_its_resource_group(cli, command):
    args, _schema = READ_COMMANDS[command]
    data = ok(cli(*args)).json()
    for obj, parent in walk(data):
        resource_id = obj.get("id")
        if not isinstance(resource_id, str) or parent == "sourceVault":
            continue
        parts = resource_id.split("/")
        if len(parts) >= 9 and parts[3].lower() == "resourcegroups":
            assert obj.get("resourceGroup") == parts[4], resource_id


def test_instance_items_name_and_computer_name_follow_the_instance_id(cli):
    views = ok(cli("get-instance-view", *WEB, "--instance-id", "*")).json()
    instances = ok(cli("list-instances", *WEB)).json()
    for vm, view in zip(instances, views, strict=True):
        assert vm["name"] == f"web-vmss_{vm['instanceId']}"
        assert vm["osProfile"]["computerName"] == view["computerName"]
    by_id = {vm["instanceId"]: vm for vm in instances}
    # computerName = prefix + the instance id in base 36, zero-padded to 6 (§2.2)
    assert by_id["5"]["osProfile"]["computerName"].upper() == "WEBVM000005"
    assert by_id["10"]["osProfile"]["computerName"].upper() == "WEBVM00000A"


def test_only_the_protected_instance_carries_a_protection_policy(cli):
    instances = ok(cli("list-instances", *WEB)).json()
    assert [vm["instanceId"] for vm in instances if "protectionPolicy" in vm] == ["9"]
    assert instances[WEB_IDS.index("9")]["protectionPolicy"]["protectFromScaleIn"] is True


def test_tsv_rows_with_an_extra_key_have_an_extra_column(cli):
    lines = ok(cli("list-instances", *WEB, "-o", "tsv")).stdout.split("\n")[:-1]
    columns = {i: len(line.split("\t")) for i, line in zip(WEB_IDS, lines, strict=True)}
    assert columns["9"] == columns["0"] + 1


def test_instance_view_statuses_are_provisioning_then_power(cli):
    view = ok(cli("get-instance-view", *BATCH, "--instance-id", "3")).json()
    assert view["statuses"][0]["code"].startswith("ProvisioningState/")
    assert view["statuses"][1]["code"] == "PowerState/stopped"
    assert view["statuses"][1]["displayStatus"] == "VM stopped"


def test_instance_view_of_unhealthy_instance_reports_health_and_failed_extension(cli):
    view = ok(cli("get-instance-view", *WEB, "--instance-id", "5")).json()
    assert view["vmHealth"]["status"]["code"] == "HealthState/unhealthy"
    extension = next(e for e in view["extensions"] if e["name"] == "configure-web")
    assert any(s["level"] == "Error" for s in extension["statuses"])


def test_show_instance_has_no_instance_view(cli):
    vm = ok(cli("show", *WEB, "--instance-id", "5")).json()
    assert "instanceView" not in vm
    assert vm["instanceId"] == "5"


def test_yaml_quotes_timestamps(cli):
    text = ok(cli("show", *WEB, "-o", "yaml")).stdout
    assert "\ntimeCreated: '2026-11-02T08:14:05.1200000+00:00'\n" in text


def test_yaml_bare_scalar_ends_with_document_end_line(cli):
    assert ok(cli("show", *WEB, "--query", "name", "-o", "yaml")).stdout == "web-vmss\n...\n"


def test_json_scalar_and_empty_list_results(cli):
    assert ok(cli("show", *WEB, "--query", "sku.capacity")).stdout == "12\n"
    assert ok(cli("show", *WEB, "--query", "overprovision")).stdout == "true\n"
    result = ok(cli("list-instances", *WEB, "--query", "[?instanceId=='99']"))
    assert result.stdout == "[]\n"
    assert (
        ok(cli("list-instances", *WEB, "--query", "[?instanceId=='99']", "-o", "table")).stdout
        == "\n"
    )
    assert (
        ok(cli("list-instances", *WEB, "--query", "[?instanceId=='99']", "-o", "tsv")).stdout == ""
    )


def test_unrecognized_arguments_print_what_the_real_az_prints(tmp_path, state_path):
    """Checked against az 2.91 itself: its parser rejects these before any request."""
    import os
    import subprocess

    from conftest import REAL_HOME
    from realaz import ensure_az

    env = {
        **os.environ,
        "AZURE_CONFIG_DIR": str(tmp_path / "az"),
        "AZURE_CORE_COLLECT_TELEMETRY": "no",
    }
    for argv in (
        ["vmss", "list-instances", "-g", "rg", "-n", "x", "--bogus", "1"],
        ["vmss", "create", "-g", "rg", "-n", "x", "-\u2013orchestration-mode", "Uniform"],
    ):
        real = subprocess.run([ensure_az(REAL_HOME), *argv], capture_output=True, text=True,
                              env=env, timeout=300)  # fmt: skip
        ours = invoke(argv[1:], state_path)
        assert (ours.exit_code, ours.stderr) == (real.returncode, real.stderr)
