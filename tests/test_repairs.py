"""Automatic instance repairs: the policy as az sets and prints it, and the service as Azure
runs it on the simulated clock (grace period, 5% at a time, protection, suspend/resume,
Restart/Reimage/Replace, causes outside the guest); the real az driving it through the
endpoint."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from conftest import REAL_HOME, invoke, start_endpoint, stop_endpoint, vmss_executable
from realaz import ensure_az

from vmsscli.domain.creation import CreateSpec, create_scale_set
from vmsscli.domain.health import effective_health
from vmsscli.domain.repairs import CALLER
from vmsscli.model import ClockSettings, Extension, State
from vmsscli.store import read_file, serialize

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
SET = ["-g", "rg-r", "-n", "r-vmss"]
SCRIPT = Extension(
    name="configure",
    publisher="Microsoft.Azure.Extensions",
    type="CustomScript",
    type_handler_version="2.1",
    settings={"fileUris": ["https://telemetry.contoso.com/setup.sh"]},
)


def fleet(count: int = 10, *, script: bool = False) -> State:
    """rg-r/r-vmss: Manual upgrades, the application health extension, ids 0..count-1, all
    created an hour before NOW; the clock manual at NOW."""
    state = State(clock=ClockSettings(mode="manual", now=NOW))
    create_scale_set(
        state,
        "rg-r",
        "r-vmss",
        CreateSpec(instance_count=count, upgrade_policy_mode="Manual", app_health_extension=True),
        NOW - timedelta(hours=1),
    )
    if script:
        scale_set = state.resource_groups["rg-r"].scale_sets["r-vmss"]
        scale_set.model.extensions.append(SCRIPT)
    return state


class Fleet:
    def __init__(self, tmp_path, state: State) -> None:
        self.path = tmp_path / "state.json"
        self.path.write_bytes(serialize(state, self.path))

    def __call__(self, *args: str, ok: bool = True):
        result = invoke(list(args), self.path)
        if ok:
            assert result.exit_code == 0, result.stderr
        return result

    def scale_set(self):
        return read_file(self.path).resource_groups["rg-r"].scale_sets["r-vmss"]

    def unhealthy(self) -> list[int]:
        s = self.scale_set()
        return sorted(i.id for i in s.instances if effective_health(s, i) == "unhealthy")

    def repairs(self) -> list[tuple[str, str, str]]:
        """(operation's last part, status, requested ids) of the repair events, oldest first."""
        events = self(
            "monitor", "activity-log", "list", "--caller", CALLER, "--offset", "30d",
            "--max-events", "500", "-o", "json",
        ).json()  # fmt: skip
        return [
            (
                e["operationName"]["value"].rsplit("/", 2)[-2]
                if e["operationName"]["value"].endswith("/action")
                else e["operationName"]["value"].rsplit("/", 1)[-1],
                e["status"]["value"],
                e["properties"].get("requestbody", ""),
            )
            for e in reversed(events)
        ]

    def enable(self, *flags: str) -> None:
        self("update", *SET, "--enable-automatic-repairs", "true", *flags, "-o", "none")

    def inject(self, kind: str, *ids: str, extra: tuple[str, ...] = ()) -> None:
        self("fault", "inject", *SET, "--kind", kind, "--instance-ids", *ids, *extra, "-o", "none")

    def advance(self, text: str) -> None:
        self("clock", "advance", text, "-o", "none")


@pytest.fixture
def r(tmp_path):
    return Fleet(tmp_path, fleet())


# --- the policy --------------------------------------------------------------------------------


def test_the_policy_is_set_and_printed_as_az_does(r):
    r.enable("--automatic-repairs-grace-period", "30", "--automatic-repairs-action", "Restart")
    shown = r("show", *SET, "-o", "json").json()
    assert shown["automaticRepairsPolicy"] == {
        "enabled": True,
        "gracePeriod": "PT30M",
        "repairAction": "Restart",
    }
    view = r("get-instance-view", *SET, "-o", "json").json()
    assert view["orchestrationServices"] == [
        {"serviceName": "AutomaticRepairs", "serviceState": "Running"}
    ]
    r("update", *SET, "--set", "automaticRepairsPolicy.enabled=false", "-o", "none")
    view = r("get-instance-view", *SET, "-o", "json").json()
    assert view["orchestrationServices"][0]["serviceState"] == "NotRunning"
    # The action alone keeps the rest (az sets only what is given).
    r("update", *SET, "--set", "automaticRepairsPolicy.enabled=true", "-o", "none")
    r("update", *SET, "--enable-automatic-repairs", "true", "--automatic-repairs-action",
      "Reimage", "-o", "none")  # fmt: skip
    shown = r("show", *SET, "-o", "json").json()
    assert shown["automaticRepairsPolicy"]["gracePeriod"] == "PT30M"
    assert shown["automaticRepairsPolicy"]["repairAction"] == "Reimage"


def test_a_policy_without_a_grace_period_takes_azures_ten_minutes(r):
    r.enable("--automatic-repairs-action", "Replace")
    assert r("show", *SET, "-o", "json").json()["automaticRepairsPolicy"]["gracePeriod"] == "PT10M"


@pytest.mark.parametrize(
    ("flags", "code", "message"),
    [
        (["--enable-automatic-repairs", "false", "--automatic-repairs-grace-period", "30"], 1,
         "ERROR: usage error: please enable --enable-automatic-repairs"),
        (["--enable-automatic-repairs", "true"], 1,
         "ERROR: usage error: please set --automatic-repairs-grace-period or "
         "--automatic-repairs-action"),
        (["--enable-automatic-repairs", "true", "--automatic-repairs-action", "Foo"], 2,
         "'Foo' is not a valid value for '--automatic-repairs-action'. Allowed values: "
         "Replace, Restart, Reimage."),
        (["--enable-automatic-repairs", "true", "--automatic-repairs-grace-period", "5"], 1,
         "ERROR: (InvalidParameter) The value 'PT5M' of parameter "
         "'automaticRepairsPolicy.gracePeriod' is out of range. The value must be between "
         "'PT10M' and 'PT90M', inclusive."),
        (["--enable-automatic-repairs", "true", "--automatic-repairs-grace-period", "ten"], 1,
         "ERROR: (InvalidParameter) The value 'PTtenM' of parameter "
         "'automaticRepairsPolicy.gracePeriod' is not valid."),
    ],
)  # fmt: skip
def test_errors_as_az_and_azure_give_them(r, flags, code, message):
    before = r.path.read_bytes()
    result = r("update", *SET, *flags, ok=False)
    assert result.exit_code == code and message in result.stderr, result.stderr
    assert r.path.read_bytes() == before


def test_repairs_need_a_health_source(tmp_path):
    state = fleet()
    state.resource_groups["rg-r"].scale_sets["r-vmss"].model.extensions = []
    bare = Fleet(tmp_path, state)
    result = bare("update", *SET, "--enable-automatic-repairs", "true",
                  "--automatic-repairs-action", "Restart", ok=False)  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "ERROR: (BadRequest) Automatic repairs not supported for this Virtual Machine Scale Set "
        "because a health probe or health extension was not provided."
    )


def test_create_takes_the_flags_as_az_builds_them(tmp_path):
    r = Fleet(tmp_path, State(clock=ClockSettings(mode="manual", now=NOW)))
    made = r("create", "-g", "rg-c", "-n", "c-vmss", "--instance-count", "2", "--lb", "lb",
             "--health-probe", "probe", "--automatic-repairs-grace-period", "45",
             "--scale-in-policy", "OldestVM", "-o", "json").json()  # fmt: skip
    assert made["vmss"]["automaticRepairsPolicy"] == {
        "enabled": True,
        "gracePeriod": "PT45M",
        "repairAction": "Replace",
    }
    assert made["vmss"]["scaleInPolicy"] == {"forceDeletion": False, "rules": ["OldestVM"]}
    refused = r("create", "-g", "rg-c", "-n", "d-vmss", "--automatic-repairs-action", "Restart",
                ok=False)  # fmt: skip
    assert refused.exit_code == 1
    assert refused.stderr == (
        "ERROR: usage error: --load-balancer and --health-probe are required when creating "
        "vmss with automatic repairs\n"
    )


def test_scale_in_policy_and_force_deletion_flags(r):
    r("update", *SET, "--scale-in-policy", "OldestVM", "--force-deletion", "-o", "none")
    shown = r("show", *SET, "-o", "json").json()
    assert shown["scaleInPolicy"] == {"forceDeletion": True, "rules": ["OldestVM"]}
    r("scale", *SET, "--new-capacity", "9", "-o", "none")
    # All were created together: the oldest is the lowest id (Default would remove 9).
    assert [i.id for i in r.scale_set().instances] == list(range(1, 10))


# --- the service -------------------------------------------------------------------------------


def test_an_unhealthy_instance_is_restarted_once_its_grace_period_has_passed(r):
    r.enable("--automatic-repairs-action", "Restart", "--automatic-repairs-grace-period", "15")
    r("restart", *SET, "--instance-ids", "3", "-o", "none")  # a state change just now
    r.inject("stale-process", "3", "4")  # 4 last changed an hour ago
    r.advance("1m")
    assert r.repairs() == [
        ("restart", "Started", '{"instanceIds":["4"]}'),
        ("restart", "Succeeded", ""),  # Azure records the request body with the request
    ]
    assert r.unhealthy() == [3]
    r.advance("10m")
    assert r.unhealthy() == [3]  # 3's grace period (15 minutes from its restart) still runs
    r.advance("10m")
    assert [e[2] for e in r.repairs() if e[1] == "Started"] == [
        '{"instanceIds":["4"]}',
        '{"instanceIds":["3"]}',
    ]
    assert r.unhealthy() == []


def test_reimage_repairs_a_full_disk_and_replace_gives_a_new_instance(tmp_path):
    r = Fleet(tmp_path, fleet())
    r.enable("--automatic-repairs-action", "Reimage")
    r.inject("disk-full", "1")
    r.advance("30m")
    assert [e[0] for e in r.repairs()] == ["reimage", "reimage"]
    assert r.unhealthy() == []

    r("update", *SET, "--enable-automatic-repairs", "true", "--automatic-repairs-action",
      "Replace", "-o", "none")  # fmt: skip
    r.inject("disk-full", "2")
    r.advance("30m")
    s = r.scale_set()
    ids = [i.id for i in s.instances]
    assert 2 not in ids and 10 in ids and len(ids) == 10
    assert s.instance(10).model_version == s.model.version
    assert r.unhealthy() == []
    replaced = [e for e in r.repairs() if e[0] in ("delete", "write")]
    assert [(e[0], e[1]) for e in replaced] == [
        ("delete", "Started"),
        ("write", "Started"),
        ("delete", "Succeeded"),
        ("write", "Succeeded"),
    ]


def test_at_most_five_percent_are_repaired_at_a_time(tmp_path):
    r = Fleet(tmp_path, fleet(40))
    r.enable("--automatic-repairs-action", "Restart")
    r.inject("stale-process", *[str(i) for i in range(6)])
    r.advance("1s")
    s = r.scale_set()
    assert sorted(i.id for i in s.instances if i.operation is not None) == [0, 1]
    r.advance("1h")
    assert r.unhealthy() == []
    started = [e[2] for e in r.repairs() if e[1] == "Started"]
    assert started == [f'{{"instanceIds":["{i}"]}}' for i in range(6)]  # oldest due first, by id


def test_protected_instances_are_never_repaired(r):
    r.enable("--automatic-repairs-action", "Restart")
    r("update", *SET, "--instance-id", "5", "--protect-from-scale-in", "true", "-o", "none")
    r("update", *SET, "--instance-id", "6", "--protect-from-scale-set-actions", "true", "-o",
      "none")  # fmt: skip
    r.inject("stale-process", "5", "6", "7")
    r.advance("2h")
    assert r.unhealthy() == [5, 6]
    assert [e[2] for e in r.repairs() if e[1] == "Started"] == ['{"instanceIds":["7"]}']


def test_a_suspended_service_repairs_nothing_until_it_is_resumed(r):
    r.enable("--automatic-repairs-action", "Restart")
    r("set-orchestration-service-state", *SET, "--service-name", "AutomaticRepairs",
      "--action", "Suspend")  # fmt: skip
    view = r("get-instance-view", *SET, "-o", "json").json()
    assert view["orchestrationServices"][0]["serviceState"] == "Suspended"
    r.inject("stale-process", "2")
    r.advance("2h")
    assert r.unhealthy() == [2] and r.repairs() == []
    r("set-orchestration-service-state", *SET, "--service-name", "AutomaticRepairs",
      "--action", "Resume")  # fmt: skip
    r.advance("5m")
    assert r.unhealthy() == []
    assert [e[1] for e in r.repairs()] == ["Started", "Succeeded"]


def test_a_disabled_policy_watches_nothing(r):
    r("update", *SET, "--set", 'automaticRepairsPolicy={"enabled": false}', "-o", "none")
    r.inject("stale-process", "2")
    r.advance("2h")
    assert r.unhealthy() == [2] and r.repairs() == []
    refused = r("set-orchestration-service-state", *SET, "--service-name", "AutomaticRepairs",
                "--action", "Suspend", ok=False)  # fmt: skip
    assert refused.exit_code == 1 and "(OperationNotAllowed)" in refused.stderr


def test_a_cause_outside_the_guest_survives_every_repair(tmp_path):
    """The telemetry host is unreachable from the subnet: the Custom Script fails on the
    replacement too, which comes back unhealthy and is repaired again a grace period later."""
    r = Fleet(tmp_path, fleet(script=True))
    r.enable("--automatic-repairs-action", "Replace", "--automatic-repairs-grace-period", "10")
    r.inject("network-blocked", "4", extra=("--host", "telemetry.contoso.com"))
    r("reimage", *SET, "--instance-ids", "4", "-o", "none")  # the script runs, and fails
    assert r.unhealthy() == [4]
    r.advance("15m")
    s = r.scale_set()
    assert 4 not in [i.id for i in s.instances]
    assert r.unhealthy() == [10]  # the replacement, on the same network
    assert s.instance(10).faults[0].kind == "network-blocked"
    r.advance("15m")
    assert r.unhealthy() == [11]
    assert len([e for e in r.repairs() if e[:2] == ("delete", "Started")]) == 2


def test_repairs_are_deterministic_for_the_same_clock_moves(tmp_path):
    def run(folder) -> list:
        folder.mkdir()
        r = Fleet(folder, fleet(20))
        r.enable("--automatic-repairs-action", "Replace")
        r.inject("stale-process", "1", "7", "12")
        for step in ("3m", "7m", "20m", "1h"):
            r.advance(step)
        return [(i.id, i.zone, i.fault_domain) for i in r.scale_set().instances]

    assert run(tmp_path / "a") == run(tmp_path / "b")


# --- the real az through the endpoint ---------------------------------------------------------


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    az = ensure_az(REAL_HOME)
    served = start_endpoint(tmp_path_factory.mktemp("repairs-oracle"), state=fleet())
    served.az = az
    yield served
    stop_endpoint(served)


def _run(served, *argv: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [vmss_executable(), *argv], capture_output=True, text=True,
        env=served.env(VMSSCLI_AZ=served.az), timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_the_real_az_sets_suspends_and_reads_the_repairs_service(oracle):
    done = _run(oracle, "az", "vmss", "update", *SET, "--enable-automatic-repairs", "true",
                "--automatic-repairs-grace-period", "20", "--automatic-repairs-action",
                "Restart", "-o", "none")  # fmt: skip
    assert done[0] == 0, done[2]
    done = _run(oracle, "az", "vmss", "set-orchestration-service-state", *SET,
                "--service-name", "AutomaticRepairs", "--action", "Suspend")  # fmt: skip
    assert done[:2] == (0, ""), done[2]
    for argv in (
        ["vmss", "get-instance-view", *SET, "--query", "orchestrationServices"],
        ["vmss", "show", *SET, "--query", "automaticRepairsPolicy", "-o", "yaml"],
    ):
        through_az = _run(oracle, "az", *argv)
        assert through_az[0] == 0, through_az[2]
        assert through_az[:2] == _run(oracle, *argv[1:])[:2]
    assert '"Suspended"' in _run(oracle, *["get-instance-view", *SET])[1]


def test_triage_names_the_repairs_service_in_its_summary(r):
    from vmsscli.domain.triage import triage

    assert "repairs" not in triage(r.scale_set()).summary
    r.enable("--automatic-repairs-action", "Restart", "--automatic-repairs-grace-period", "20")
    assert triage(r.scale_set()).summary.endswith(
        "; automatic repairs running (Restart after PT20M unhealthy)"
    )
    r("set-orchestration-service-state", *SET, "--service-name", "AutomaticRepairs",
      "--action", "Suspend")  # fmt: skip
    assert "automatic repairs suspended" in triage(r.scale_set()).summary


def test_a_patch_through_the_endpoint_sets_the_policies(endpoint):
    import requests

    endpoint.reset()
    url = (
        f"{endpoint.url}subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
        "rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/web-vmss"
    )
    auth = {"Authorization": f"Bearer {endpoint.token}"}
    body = {
        "properties": {
            "automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT30M"},
            "scaleInPolicy": {"rules": ["NewestVM"], "forceDeletion": True},
        }
    }
    patched = requests.patch(url, params={"api-version": "2024-11-01"}, json=body,
                             headers=auth, verify=endpoint.ca, timeout=30)  # fmt: skip
    assert patched.status_code in (200, 202), patched.text
    got = requests.get(url, params={"api-version": "2024-11-01"}, headers=auth,
                       verify=endpoint.ca, timeout=30).json()["properties"]  # fmt: skip
    assert got["automaticRepairsPolicy"] == {
        "enabled": True,
        "gracePeriod": "PT30M",
        "repairAction": "Replace",
    }
    assert got["scaleInPolicy"] == {"rules": ["NewestVM"], "forceDeletion": True}
    refused = requests.patch(
        url, params={"api-version": "2024-11-01"},
        json={"properties": {"automaticRepairsPolicy": {"enabled": True, "gracePeriod": "PT2H"}}},
        headers=auth, verify=endpoint.ca, timeout=30,
    )  # fmt: skip
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "InvalidParameter"
