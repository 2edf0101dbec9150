"""`vmss extension list/show/set/delete/upgrade`: az 2.91's output and errors, a set or delete
as a model change through the upgrade policy, a custom script's command run on each instance as
it gets the model, and the real az through `vmss serve` printing the same bytes."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import REAL_HOME, start_endpoint, stop_endpoint, vmss_executable
from realaz import ensure_az

from vmsscli import store

WEB = ["-g", "rg-web", "--vmss-name", "web-vmss"]
BATCH = ["-g", "rg-batch", "--vmss-name", "batch-vmss"]
SCRIPT = ["-n", "CustomScript", "--publisher", "Microsoft.Azure.Extensions"]


def _json(result):
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def _extensions(cli, *where: str) -> list[dict]:
    return _json(cli("extension", "list", *where)) or []


def test_list_and_show_print_the_model_extensions_as_az_does(cli):
    listed = _extensions(cli, *WEB)
    shown = _json(cli("extension", "show", *WEB, "-n", "configure-web"))

    assert [e["name"] for e in listed] == ["HealthExtension", "configure-web"]
    assert shown == listed[1]
    assert list(shown) == [
        "autoUpgradeMinorVersion", "name", "publisher", "settings", "type", "typeHandlerVersion"
    ]  # fmt: skip
    assert shown["settings"] == {"commandToExecute": "bash /opt/deploy/configure-web.sh"}


def test_show_of_a_missing_extension_and_list_of_a_set_without_any_print_nothing(cli):
    missing = cli("extension", "show", *WEB, "-n", "nope")
    empty = cli("extension", "list", "-g", "rg-batch", "--vmss-name", "tools-vmss")

    assert (missing.exit_code, missing.stdout) == (0, "")
    assert (empty.exit_code, empty.stdout) == (0, "")


def test_set_adds_an_extension_at_the_catalogue_version_and_manual_instances_fall_behind(cli):
    done = _json(cli("extension", "set", *BATCH, *SCRIPT,
                     "--settings", '{"commandToExecute": "echo configured"}',
                     "--protected-settings", '{"token": "s3cret"}'))  # fmt: skip

    ext = done["virtualMachineProfile"]["extensionProfile"]["extensions"][-1]
    assert ext == {
        "autoUpgradeMinorVersion": True,
        "name": "CustomScript",
        "publisher": "Microsoft.Azure.Extensions",
        "settings": {"commandToExecute": "echo configured"},
        "type": "CustomScript",
        "typeHandlerVersion": "2.1",
    }
    assert "s3cret" not in json.dumps(done)
    instances = _json(cli("list-instances", "-g", "rg-batch", "-n", "batch-vmss"))
    assert instances and not any(i["latestModelApplied"] for i in instances)


def test_set_of_the_same_handler_replaces_it_and_the_flags_land_in_the_model(cli):
    cli("extension", "set", *BATCH, *SCRIPT, "--version", "2.0.7", "-o", "none")
    done = _json(cli("extension", "set", *BATCH, *SCRIPT, "--extension-instance-name",
                     "setup", "--no-auto-upgrade-minor-version", "--enable-auto-upgrade", "true",
                     "--provision-after-extensions", "HealthExtension",
                     "--force-update"))  # fmt: skip

    extensions = done["virtualMachineProfile"]["extensionProfile"]["extensions"]
    assert [e["name"] for e in extensions] == ["setup"]
    setup = extensions[0]
    assert setup["typeHandlerVersion"] == "2.1"
    assert setup["autoUpgradeMinorVersion"] is False
    assert setup["enableAutomaticUpgrade"] is True
    assert setup["provisionAfterExtensions"] == ["HealthExtension"]
    assert len(setup["forceUpdateTag"]) == 36


def test_a_version_is_trimmed_to_major_minor_as_az_sends_it(cli):
    done = _json(cli("extension", "set", *BATCH, *SCRIPT, "--version", "2.0.7"))
    assert (
        done["virtualMachineProfile"]["extensionProfile"]["extensions"][-1]["typeHandlerVersion"]
        == "2.0"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["extension", "set", *BATCH, "-n", "Foo", "--publisher", "Bar"],
         'ERROR: Failed to find the latest version for the extension "Foo"'),
        (["extension", "set", *BATCH, *SCRIPT, "--settings", "{bad"],
         "ERROR: Failed to parse string as JSON: {bad"),
        (["extension", "set", *BATCH, *SCRIPT, "--settings", "missing.json"],
         "ERROR: JSON file does not exist: 'missing.json'"),
        (["extension", "delete", *WEB, "-n", "nope"], "ERROR: Extension nope not found"),
        (["extension", "delete", "-g", "rg-batch", "--vmss-name", "tools-vmss", "-n", "x"],
         "ERROR: Scale set has no extensions to delete"),
        (["extension", "list", "-g", "rg-web", "--vmss-name", "nope"],
         "ERROR: (ResourceNotFound)"),
    ],
    ids=["unknown-handler", "bad-json", "missing-file", "unknown-name", "none-to-delete",
         "no-scale-set"],
)  # fmt: skip
def test_bad_requests_fail_as_az_does_and_change_nothing(cli, state_path, argv, message):
    before = state_path.read_bytes()

    result = cli(*argv)

    assert result.exit_code != 0
    assert result.stderr.startswith(message), result.stderr
    if not message.startswith("ERROR: (ResourceNotFound)"):
        assert result.stderr.count("\n") == 1
    assert state_path.read_bytes() == before


def test_delete_removes_it_from_the_model_and_logs_the_write(cli, state_path):
    done = _json(cli("extension", "delete", *WEB, "-n", "configure-web"))

    names = [e["name"] for e in done["virtualMachineProfile"]["extensionProfile"]["extensions"]]
    assert names == ["HealthExtension"]
    writes = [
        e
        for e in store.read_file(state_path).activity_log
        if e.operation.endswith("/virtualMachineScaleSets/write")
    ]
    assert writes and "extension delete" in writes[-1].command


def test_a_failing_command_fails_the_extension_and_the_health_of_upgraded_instances(cli):
    cli("extension", "set", *BATCH, *SCRIPT, "--settings",
        '{"commandToExecute": "echo starting; exit 3"}', "-o", "none")  # fmt: skip
    assert cli("update-instances", "-g", "rg-batch", "-n", "batch-vmss", "--instance-ids", "0",
               "-o", "none").exit_code == 0  # fmt: skip

    view = _json(cli("get-instance-view", "-g", "rg-batch", "-n", "batch-vmss",
                     "--instance-id", "0"))  # fmt: skip
    status = next(e for e in view["extensions"] if e["name"] == "CustomScript")["statuses"][0]
    assert status["code"] == "ProvisioningState/failed"
    assert "exit status=3" in status["message"] and "starting" in status["message"]
    triage = _json(cli("triage", "-g", "rg-batch", "-n", "batch-vmss", "-o", "json"))
    row = next(r for r in triage if r["instanceId"] == "0")
    assert row["failedExtensions"] == ["CustomScript"] and row["health"] == "unhealthy"

    # The bad instance stays bad until the extension is fixed and it gets the new model.
    cli("reimage", "-g", "rg-batch", "-n", "batch-vmss", "--instance-ids", "0", "-o", "none")
    again = _json(cli("triage", "-g", "rg-batch", "-n", "batch-vmss", "-o", "json"))
    assert next(r for r in again if r["instanceId"] == "0")["failedExtensions"] == ["CustomScript"]
    cli("extension", "set", *BATCH, *SCRIPT, "--settings", '{"commandToExecute": "true"}',
        "-o", "none")  # fmt: skip
    cli("update-instances", "-g", "rg-batch", "-n", "batch-vmss", "--instance-ids", "0",
        "-o", "none")  # fmt: skip
    fixed = _json(cli("triage", "-g", "rg-batch", "-n", "batch-vmss", "-o", "json"))
    assert next(r for r in fixed if r["instanceId"] == "0")["failedExtensions"] == []


def test_a_command_the_simulated_guest_does_not_know_is_taken_to_succeed(cli):
    # The demo's configure-web runs an image script (`bash /opt/deploy/...`): it succeeds.
    cli("reimage", "-g", "rg-web", "-n", "web-vmss", "--instance-ids", "0", "-o", "none")
    triage = _json(cli("triage", "-g", "rg-web", "-n", "web-vmss", "-o", "json"))
    assert next(r for r in triage if r["instanceId"] == "0")["failedExtensions"] == []


def test_on_a_rolling_set_a_set_starts_a_rolling_upgrade(cli):
    cli("extension", "set", *WEB, *SCRIPT, "--settings", '{"commandToExecute": "true"}',
        "-o", "none", "--no-wait")  # fmt: skip
    latest = _json(cli("rolling-upgrade", "get-latest", "-g", "rg-web", "-n", "web-vmss"))
    assert latest["runningStatus"]["code"] in ("RollingForward", "Completed")


def test_upgrade_moves_auto_upgraded_extensions_to_the_latest_version(cli):
    cli("extension", "set", *BATCH, *SCRIPT, "--version", "2.0", "--enable-auto-upgrade",
        "true", "-o", "none")  # fmt: skip
    done = cli("extension", "upgrade", "-g", "rg-batch", "-n", "batch-vmss")
    assert (done.exit_code, done.stdout) == (0, "")
    listed = _extensions(cli, *BATCH)
    assert listed[-1]["typeHandlerVersion"] == "2.1"
    missing = cli("extension", "upgrade")
    assert missing.exit_code == 2 or "are required" in missing.stderr


# --- the real az through the endpoint -----------------------------------------------------------


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    az = ensure_az(REAL_HOME)
    served = start_endpoint(tmp_path_factory.mktemp("extension-oracle"))
    served.az = az
    yield served
    stop_endpoint(served)


def _run(served, *argv: str, through_az: bool) -> tuple[int, str, str]:
    args = ["az", "vmss", *argv] if through_az else list(argv)
    done = subprocess.run(
        [vmss_executable(), *args], capture_output=True, text=True,
        env=served.env(VMSSCLI_AZ=served.az), timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


READS = [
    ["extension", "list", *WEB],
    ["extension", "show", *WEB, "-n", "HealthExtension"],
    ["extension", "show", *WEB, "-n", "nope"],
    ["extension", "list", "-g", "rg-batch", "--vmss-name", "tools-vmss"],
]


@pytest.mark.parametrize("fmt", ["json", "table", "tsv"])
@pytest.mark.parametrize("argv", READS, ids=[" ".join(a[:4]) + a[-1] for a in READS])
def test_the_real_az_prints_the_same_bytes(oracle, argv, fmt):
    expected = _run(oracle, *argv, "-o", fmt, through_az=False)
    got = _run(oracle, *argv, "-o", fmt, through_az=True)
    assert got[:2] == expected[:2]


def test_a_set_through_the_real_az_changes_the_model_as_vmss_does(oracle):
    oracle.reset()
    settings = '{"commandToExecute": "echo hi"}'
    argv = ["extension", "set", *BATCH, *SCRIPT, "--settings", settings, "--query",
            "virtualMachineProfile.extensionProfile.extensions[-1]"]  # fmt: skip
    through_az = _run(oracle, *argv, through_az=True)
    oracle.reset()
    by_vmss = _run(oracle, *argv, through_az=False)

    assert through_az[0] == by_vmss[0] == 0, through_az[2]
    assert json.loads(through_az[1]) == json.loads(by_vmss[1])
    deleted = _run(oracle, "extension", "delete", *BATCH, "-n", "nope", through_az=True)
    assert (deleted[0], deleted[2]) == (1, "ERROR: Extension nope not found\n")
