"""The oracle: the real az 2.91 against `vmss serve` prints byte for byte what `vmss` prints for
the same state — every read command in every output format, `--query`, the not-found and
validation errors (stderr and exit code), how `wait` ends — and each mutating command through
az changes the state as the same command through `vmss` does.

az is installed once into a cache folder outside the repository (tests/realaz.py); these
tests fail, never skip, when it cannot be installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from conftest import REAL_HOME, start_endpoint, stop_endpoint, vmss_executable
from realaz import ensure_az

WEB = ["-g", "rg-web", "-n", "web-vmss"]
BATCH = ["-g", "rg-batch", "-n", "batch-vmss"]
FORMATS = ["json", "jsonc", "yaml", "yamlc", "table", "tsv", "none"]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    az = ensure_az(REAL_HOME)
    served = start_endpoint(tmp_path_factory.mktemp("oracle"))
    served.az = az
    yield served
    stop_endpoint(served)


def run(served, *argv: str, through_az: bool) -> tuple[int, str, str]:
    args = ["az", "vmss", *argv] if through_az else list(argv)
    done = subprocess.run(
        [vmss_executable(), *args],
        capture_output=True,
        text=True,
        env=served.env(VMSSCLI_AZ=served.az),
        timeout=300,
    )
    return done.returncode, done.stdout, done.stderr


def same(served, *argv: str, stderr: bool = False) -> None:
    expected = run(served, *argv, through_az=False)
    got = run(served, *argv, through_az=True)
    assert got[0] == expected[0], f"exit codes differ for {argv}: az {got}, vmss {expected}"
    assert got[1] == expected[1], f"stdout differs for {argv}"
    if stderr:
        assert got[2] == expected[2], f"stderr differs for {argv}"


READS = [
    ["list"],
    ["list", "-g", "rg-batch"],
    ["show", *WEB],
    ["show", *WEB, "--instance-id", "9"],
    ["list-instances", *WEB],
    ["list-instances", *WEB, "--expand", "instanceView"],
    ["get-instance-view", *WEB],
    ["get-instance-view", *WEB, "--instance-id", "5"],
    ["get-instance-view", *WEB, "--instance-id", "*"],
    ["get-instance-view", *BATCH, "--instance-id", "3"],
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("argv", READS, ids=[" ".join(a) for a in READS])
def test_reads_print_the_same_bytes(oracle, argv, fmt):
    same(oracle, *argv, "-o", fmt)


@pytest.mark.parametrize(
    "argv",
    [
        ["list-instances", *WEB, "--query", "[?!latestModelApplied].instanceId", "-o", "tsv"],
        ["list-instances", *WEB, "--query", "[].{id: instanceId, zone: zones[0]}", "-o", "table"],
        ["get-instance-view", *WEB, "--instance-id", "*", "--query",
         "[].vmHealth.status.code", "-o", "tsv"],
        ["show", *WEB, "--query", "virtualMachineProfile.extensionProfile.extensions[].name"],
        ["list-instances", *WEB, "--filter", "properties/latestModelApplied eq false",
         "--query", "[].name", "-o", "tsv"],
        ["list-instances", *WEB, "--query", "length(@)"],
    ],
    ids=["not-latest", "table-projection", "health", "extensions", "filter", "length"],
)  # fmt: skip
def test_queries_print_the_same_bytes(oracle, argv):
    same(oracle, *argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "-g", "rg-web", "-n", "nope"],
        ["show", "-g", "rg-nope", "-n", "web-vmss"],
        ["get-instance-view", *WEB, "--instance-id", "99"],
        ["show", *WEB, "--instance-id", "99"],
        ["restart", *WEB, "--instance-ids", "99"],
        ["rolling-upgrade", "get-latest", "-g", "rg-batch", "-n", "batch-vmss"],
        ["rolling-upgrade", "cancel", *WEB],
        ["update", *WEB, "--instance-id", "4", "--protect-from-scale-in", "false",
         "--protect-from-scale-set-actions", "true"],
    ],
    ids=["no-set", "no-group", "no-instance-view", "no-instance", "bad-id", "no-upgrade",
         "nothing-to-cancel", "protection-conflict"],
)  # fmt: skip
def test_errors_print_the_same_text_and_exit_code(oracle, argv):
    oracle.reset()
    same(oracle, *argv, stderr=True)


WAITS = [
    ["wait", *WEB, "--created"],
    ["wait", *WEB, "--instance-id", "5", "--exists"],
    ["wait", *WEB, "--instance-id", "99", "--deleted"],
    ["wait", "-g", "rg-web", "-n", "nope", "--created", "--timeout", "1", "--interval", "1"],
    ["wait", *WEB, "--instance-id", "9", "--custom", "latestModelApplied", "--timeout", "1",
     "--interval", "1"],
    ["wait", "-g", "rg-web", "-n", "nope", "--updated"],
    ["wait", *WEB, "--instance-id", "99", "--updated"],
    ["wait", *WEB, "--custom", "[?"],
    ["wait", *WEB],
]  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    WAITS,
    ids=["created", "instance-exists", "instance-deleted", "time-out", "custom-time-out",
         "updated-missing", "updated-missing-instance", "bad-custom", "no-condition"],
)  # fmt: skip
def test_wait_ends_as_the_real_az_wait_ends(oracle, argv):
    """Met: nothing printed; timed out: `{}` and exit 0 (az returns its time-out error); the
    not-found and usage errors with az's text and exit code."""
    oracle.reset()
    same(oracle, *argv, stderr=True)


NETWORK = [
    ["nic", "list", "-g", "rg-batch", "--vmss-name", "batch-vmss"],
    ["nic", "list-vm-nics", "-g", "rg-web", "--vmss-name", "web-vmss", "--instance-id", "5"],
    ["nic", "show", "-g", "rg-web", "--vmss-name", "web-vmss", "--instance-id", "5", "-n",
     "webvmNic"],
    ["nic", "show", "-g", "rg-web", "--vmss-name", "web-vmss", "--instance-id", "5", "-n",
     "nope"],
    ["nic", "list-vm-nics", "-g", "rg-web", "--vmss-name", "web-vmss", "--instance-id", "99"],
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "table", "tsv"])
@pytest.mark.parametrize(
    "argv", NETWORK, ids=["list", "list-vm-nics", "show", "show-wrong-name", "no-instance"]
)
def test_nics_print_the_same_bytes(oracle, argv, fmt):
    same(oracle, *argv, "-o", fmt, stderr=True)


def _fingerprint(served) -> dict:
    """What a mutation leaves behind, brought up to now (an operation the endpoint started
    completes as time passes, not when a client polls), without the times the two runs cannot
    share."""
    from vmsscli.service.session import Session

    state = Session(served.state).read()
    fleet = {}
    for rg, name, scale_set in state.scale_sets():
        fleet[f"{rg}/{name}"] = {
            "capacity": scale_set.capacity,
            "model": scale_set.model.version,
            "image": scale_set.model.image.version,
            "mode": scale_set.upgrade_policy.mode,
            "tags": scale_set.tags,
            "rolling": scale_set.rolling_upgrade.status if scale_set.rolling_upgrade else None,
            "instances": {
                i.id: (
                    i.power_state,
                    i.provisioning_state,
                    i.model_version,
                    i.model_definition_applied,
                    (i.protection.scale_in, i.protection.scale_set_actions)
                    if i.protection
                    else None,
                    tuple(sorted(f.kind for f in i.faults)),
                    len(i.run_commands),
                )
                for i in scale_set.instances
            },
        }
    events = [
        (e.operation, e.resource_id, e.status, tuple(e.instance_ids),
         tuple((s.instance_id, s.reason) for s in e.skipped))
        for e in state.activity_log
    ]  # fmt: skip
    return {"fleet": fleet, "events": events}


MUTATIONS = [
    ["update", *WEB, "--instance-id", "4", "--protect-from-scale-in", "true"],
    ["update", *WEB, "--instance-id", "6", "--protect-from-scale-set-actions", "true"],
    ["restart", *WEB, "--instance-ids", "0", "1"],
    ["restart", *WEB],
    ["stop", *BATCH, "--instance-ids", "1"],
    ["deallocate", *BATCH, "--instance-ids", "2"],
    ["start", *BATCH, "--instance-ids", "3"],
    ["reimage", *WEB, "--instance-ids", "5"],
    ["update-instances", *WEB, "--instance-ids", "12"],
    ["delete-instances", *BATCH, "--instance-ids", "4"],
    ["scale", *BATCH, "--new-capacity", "7"],
    ["scale", *BATCH, "--new-capacity", "3"],
    ["update", *BATCH, "--set", "tags.owner=ops"],
    ["update", *WEB, "--set",
     "virtualMachineProfile.storageProfile.imageReference.version=22.04.202411200"],
    ["rolling-upgrade", "start", *WEB],
    ["run-command", "invoke", *WEB, "--instance-id", "0", "--command-id", "RunShellScript",
     "--scripts", "systemctl restart app"],
]  # fmt: skip


@pytest.mark.parametrize("argv", MUTATIONS, ids=[" ".join(a[:1] + a[5:7]) for a in MUTATIONS])
def test_mutations_through_az_change_the_state_as_the_cli_does(oracle, tmp_path, argv):
    oracle.reset()
    got = run(oracle, *argv, "-o", "none", through_az=True)
    assert got[0] == 0, got[2]
    through_az = _fingerprint(oracle)
    oracle.reset()
    # The same command through vmss, on a copy, with the endpoint's clock speed.
    expected = run(oracle, *argv, "-o", "none", through_az=False)
    assert expected[0] == 0, expected[2]
    assert _fingerprint(oracle) == through_az


def test_vmss_az_never_touches_the_users_own_azure_folder(oracle):
    own = oracle.home / ".azure"
    shutil.rmtree(own, ignore_errors=True)
    code, _out, err = run(oracle, "list", "-o", "none", through_az=True)
    assert code == 0, err
    assert not own.exists()
    assert (oracle.home / ".vmsscli" / "az" / "vmsscli-endpoint.json").exists()


def test_rehearse_with_the_real_az_reports_what_the_twin_rehearsal_reports(oracle, tmp_path):
    from conftest import REPO

    careless = tmp_path / "careless.sh"
    careless.write_text(
        "az vmss restart -g rg-search -n search-vmss --instance-ids '*' -o none\n"
        "az vmss update -g rg-search -n search-vmss --instance-id 3 "
        "--protect-from-scale-set-actions true -o none\n"
        "az vmss reimage -g rg-search -n search-vmss -o none\n"
    )
    for book in (REPO / "docs" / "runbooks" / "fix-search-18.sh", careless):
        reports = []
        for extra in ((), ("--real-az",)):
            done = subprocess.run(
                [vmss_executable(), "rehearse", str(book), "--scenario", "search-bad-backend",
                 "-o", "json", *extra],
                capture_output=True,
                text=True,
                env=oracle.env(VMSSCLI_AZ=oracle.az),
                timeout=600,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr[-2000:]
            reports.append(json.loads(done.stdout))
        twin, real = reports
        assert real == twin, book.name
    assert any(w.startswith("whole-fleet request: reimage") for w in real["warnings"])
    assert "restart of protected instance(s)" not in " ".join(real["warnings"])
