"""Rolling upgrades through the CLI: `vmss update` (scale-set form), `vmss rolling-upgrade
start|get-latest|cancel` and the manual clock, in-process (Typer's CliRunner) and, for one
whole rehearsal, the installed `vmss` in a subprocess.

Expectations come from the az reference: get-latest's shape (§2.5, schema
rolling-upgrade-status), cancel with nothing running (§1.5, §3.13), argument conventions and
preview warnings (§1.5, §1.6), --no-wait kinds (§1.7, §3.15), `vmss update` and its generic
update paths (§3.5), upgrade semantics (§6.3); and from docs/semantics.md where Azure is
silent (get-latest before any upgrade, --watch, invalid --set values).
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import invoke, run_vmss, schema_errors

from vmsscli.domain.creation import CreateSpec, create_scale_set
from vmsscli.model import ClockSettings, FailingImage, RollingPolicy, State
from vmsscli.store import serialize
from vmsscli.views import azure_time

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
SHOP = ["-g", "rg-shop", "-n", "shop-vmss"]
WEB = ["-g", "rg-web", "-n", "web-vmss"]
BATCH = ["-g", "rg-batch", "-n", "batch-vmss"]
TOOLS = ["-g", "rg-batch", "-n", "tools-vmss"]
NEW_IMAGE = "22.04.202411200"
SET_IMAGE = ["--set", f"virtualMachineProfile.storageProfile.imageReference.version={NEW_IMAGE}"]
ROLLING_TYPE = "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades"
NO_ONGOING = (
    "ERROR: (OperationNotAllowed) There is no ongoing Rolling Upgrade to cancel.\n"
    "Code: OperationNotAllowed\n"
    "Message: There is no ongoing Rolling Upgrade to cancel.\n"
)
NO_HEALTH_MESSAGE = (
    "Rolling Upgrade mode is not supported for this Virtual Machine Scale Set because a health "
    "probe or health extension was not provided."
)
NO_HEALTH = (
    f"ERROR: (BadRequest) {NO_HEALTH_MESSAGE}\nCode: BadRequest\nMessage: {NO_HEALTH_MESSAGE}\n"
)
MAX_SURGE_WARNING = (
    "WARNING: Argument '--max-surge' is in preview and under development. Reference and "
    "support levels: https://aka.ms/CLI_refstatus\n"
)
DEFAULT_POLICY = {
    "maxBatchInstancePercent": 20,
    "maxUnhealthyInstancePercent": 20,
    "maxUnhealthyUpgradedInstancePercent": 20,
    "pauseTimeBetweenBatches": "PT0S",
}


# --- helpers ------------------------------------------------------------------------------------


def at(**delta) -> str:
    return azure_time(NOW + timedelta(**delta))


def shop_state(count: int = 10, zones=(), *, behind: bool = False, failing=(), **policy) -> State:
    """rg-shop/shop-vmss: a Rolling scale set with the application health extension, ids
    0..count-1, the clock manual at NOW. `behind`: every instance is on an older model and no
    upgrade has run. `failing`: zones where the new image fails its health check."""
    state = State(clock=ClockSettings(mode="manual", now=NOW))
    _rg, _name, scale_set = create_scale_set(
        state,
        "rg-shop",
        "shop-vmss",
        CreateSpec(
            instance_count=count,
            zones=list(zones),
            upgrade_policy_mode="Rolling",
            app_health_extension=True,
        ),
        NOW,
    )
    scale_set.upgrade_policy.rolling = RollingPolicy(**policy)
    if behind:
        scale_set.model.version = 2
        for inst in scale_set.instances:
            inst.model_version = 1
    if failing:
        scale_set.failing_images = [FailingImage(version=NEW_IMAGE, zones=list(failing))]
    return state


class Vmss:
    """`vmss ARGS --state FILE`, in-process, against a state file of the test's own."""

    def __init__(self, path: Path, state: State) -> None:
        self.path = path
        path.write_bytes(serialize(state, path))

    def __call__(self, *args: str):
        return invoke(list(args), self.path)

    def ok(self, *args: str):
        result = self(*args)
        assert result.exit_code == 0, result.stderr
        return result

    def latest(self, where=SHOP) -> dict:
        """get-latest as JSON, checked against the reference schema."""
        doc = self.ok("rolling-upgrade", "get-latest", *where, "-o", "json").json()
        assert schema_errors("rolling-upgrade-status", doc) == []
        return doc

    def now(self) -> str:
        return self.ok("clock", "show").json()["now"]


@pytest.fixture
def shop(tmp_path):
    """A factory: `shop(**kwargs)` gives a Vmss on shop_state(**kwargs)."""
    return lambda **kwargs: Vmss(tmp_path / "shop.json", shop_state(**kwargs))


@pytest.fixture
def demo(state_path):
    """The demo fleet (web-vmss Rolling with no upgrade yet, batch-vmss Manual with a probe,
    tools-vmss Automatic without a health source)."""
    from vmsscli.store import read_file

    return Vmss(state_path, read_file(state_path))


def progress(doc: dict) -> tuple:
    """(code, successful, failed, in progress, pending) of a get-latest document."""
    p = doc["progress"]
    return (
        doc["runningStatus"]["code"],
        p["successfulInstanceCount"],
        p["failedInstanceCount"],
        p["inProgressInstanceCount"],
        p["pendingInstanceCount"],
    )


@contextlib.contextmanager
def unchanged(path: Path):
    before = path.read_bytes()
    yield
    assert path.read_bytes() == before, "a failed command changed the state file"


# --- a whole rehearsal, as a shell script runs it ----------------------------------------------


def test_a_rolling_upgrade_driven_by_the_manual_clock_shows_each_step_in_get_latest(tmp_path):
    path = tmp_path / "rehearsal.json"
    path.write_bytes(serialize(State(clock=ClockSettings(mode="manual", now=NOW)), path))

    def vmss(*args: str):
        result = run_vmss(*args, "--state", str(path))
        assert result.exit_code == 0, result.stderr
        assert result.stderr == ""
        return result

    vmss(
        "create", *SHOP, "--instance-count", "10", "--upgrade-policy-mode", "Rolling",
        "--app-health-extension", "-o", "none",
    )  # fmt: skip
    vmss(
        "update", *SHOP, "--max-batch-instance-percent", "30",
        "--pause-time-between-batches", "PT30S", *SET_IMAGE, "-o", "none",
    )  # fmt: skip
    # 30% of 10: batches [0 5 1] [6 2 7] [3 8 4] [9]; two minutes each, 30 seconds apart
    steps = [
        (None, ("RollingForward", 0, 0, 3, 7)),
        ("1m59s", ("RollingForward", 0, 0, 3, 7)),
        ("1s", ("RollingForward", 3, 0, 0, 7)),
        ("30s", ("RollingForward", 3, 0, 3, 4)),
        ("2m", ("RollingForward", 6, 0, 0, 4)),
        ("3m", ("RollingForward", 9, 0, 1, 0)),
        ("2m", ("Completed", 10, 0, 0, 0)),
    ]
    seen = []
    for step, _expected in steps:
        if step is not None:
            assert vmss("clock", "advance", step, "-o", "none").stdout == ""
        doc = json.loads(vmss("rolling-upgrade", "get-latest", *SHOP, "-o", "json").stdout)
        assert schema_errors("rolling-upgrade-status", doc) == []
        assert {k: v for k, v in doc.items() if k not in ("progress", "runningStatus")} == {
            "location": "westeurope",
            "policy": DEFAULT_POLICY
            | {"maxBatchInstancePercent": 30, "pauseTimeBetweenBatches": "PT30S"},
            "type": ROLLING_TYPE,
        }
        assert (doc["runningStatus"]["startTime"], doc["runningStatus"]["lastAction"]) == (
            at(),
            "Start",
        )
        seen.append(progress(doc))
    assert seen == [expected for _step, expected in steps]
    listed = json.loads(vmss("list-instances", *SHOP, "--query", "[].latestModelApplied").stdout)
    assert listed == [True] * 10


# --- get-latest ---------------------------------------------------------------------------------


def test_get_latest_reports_a_breach_as_faulted_with_the_error_and_the_counts(shop):
    vmss = shop(zones=("1", "2", "3"), failing=("2",))
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")
    # batches [0 6] [3 9] [1 7] [4] [5 2] [8]; zone 2 (1 4 7) fails on the new image
    seen = [progress(vmss.latest())]
    for _ in range(4):
        vmss.ok("clock", "advance", "2m", "-o", "none")
        seen.append(progress(vmss.latest()))
    assert seen == [
        ("RollingForward", 0, 0, 2, 8),
        ("RollingForward", 2, 0, 2, 6),
        ("RollingForward", 4, 0, 2, 4),
        ("RollingForward", 4, 2, 1, 3),
        ("Faulted", 4, 3, 0, 3),
    ]
    doc = vmss.latest()
    assert doc["error"] == {
        "code": "MaxUnhealthyUpgradedInstancePercentExceededInRollingUpgrade",
        "message": "Rolling upgrade stopped: 30% of the instances in the scale set are unhealthy "
        "after being upgraded, more than the MaxUnhealthyUpgradedInstancePercent of 20% allowed "
        "by the rolling upgrade policy.",
    }
    assert doc["runningStatus"] == {
        "code": "Faulted",
        "lastAction": "Start",
        "lastActionTime": at(),
        "startTime": at(),
    }
    behind = vmss.ok(
        "list-instances", *SHOP, "--query", "[?!latestModelApplied].instanceId", "-o", "tsv"
    )
    assert behind.stdout.split() == ["2", "5", "8"]


def test_get_latest_as_a_table_shows_only_the_location(shop):
    vmss = shop()
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")
    result = vmss.ok("rolling-upgrade", "get-latest", *SHOP, "-o", "table")
    assert result.stdout == "Location\n----------\nwesteurope\n"


def test_get_latest_on_a_scale_set_that_never_had_an_upgrade_is_not_found(demo):
    with unchanged(demo.path):
        result = demo("rolling-upgrade", "get-latest", *WEB)
    assert result.exit_code == 3
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("ERROR: (NotFound) ") and "'web-vmss'" in lines[0]
    assert lines[1] == "Code: NotFound"
    assert lines[2] == "Message: " + lines[0].removeprefix("ERROR: (NotFound) ")
    assert len(lines) == 3


@pytest.mark.parametrize("command", ["get-latest", "start", "cancel"])
@pytest.mark.parametrize(
    ("names", "missing"),
    [(["-n", "web-vmss"], "--resource-group"), (["-g", "rg-web"], "-n")],
    ids=["no-group", "no-name"],
)
def test_rolling_upgrade_commands_need_a_group_and_a_name(demo, command, names, missing):
    with unchanged(demo.path):
        result = demo("rolling-upgrade", command, *names)
    assert result.exit_code == 1
    assert result.stderr == f"ERROR: InvalidArgumentValue: Missing required field: {missing}\n"


# --- cancel -------------------------------------------------------------------------------------


def test_cancel_with_no_upgrade_ever_run_is_azures_operation_not_allowed(demo):
    with unchanged(demo.path):
        result = demo("rolling-upgrade", "cancel", *WEB)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", NO_ONGOING)


def test_cancel_after_the_upgrade_completed_is_operation_not_allowed(shop):
    vmss = shop(count=4, max_batch_instance_percent=50)
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")
    vmss.ok("clock", "advance", "4m", "-o", "none")
    assert progress(vmss.latest()) == ("Completed", 4, 0, 0, 0)
    with unchanged(vmss.path):
        result = vmss("rolling-upgrade", "cancel", *SHOP)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", NO_ONGOING)


@pytest.mark.parametrize(
    ("no_wait", "waited"),
    [
        ([], True),
        (["--no-wait"], False),
        (["--no-wait", "true"], False),
        (["--no-wait", "yes"], False),
        (["--no-wait", "1"], False),
        (["--no-wait", "false"], True),
        (["--no-wait", "no"], True),
        (["--no-wait", "0"], True),
    ],
)
def test_cancel_takes_an_aaz_boolean_no_wait_and_stops_after_the_batch_in_flight(
    shop, no_wait, waited
):
    vmss = shop()
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")
    vmss.ok("clock", "advance", "1m", "-o", "none")
    result = vmss.ok("rolling-upgrade", "cancel", *SHOP, *no_wait)
    assert (result.stdout, result.stderr) == ("", "")
    doc = vmss.latest()
    assert doc["runningStatus"]["lastAction"] == "Cancel"
    assert doc["runningStatus"]["lastActionTime"] == at(minutes=1)
    if waited:
        assert vmss.now() == at(minutes=2)
        assert progress(doc) == ("Cancelled", 2, 0, 0, 8)
    else:
        assert vmss.now() == at(minutes=1)
        assert progress(doc) == ("RollingForward", 0, 0, 2, 8)
        vmss.ok("clock", "advance", "1m", "-o", "none")
        assert progress(vmss.latest()) == ("Cancelled", 2, 0, 0, 8)
    vmss.ok("clock", "advance", "30m", "-o", "none")
    assert progress(vmss.latest()) == ("Cancelled", 2, 0, 0, 8)


# --- start --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("no_wait", "waited"),
    [
        ([], True),
        (["--no-wait"], False),
        (["--no-wait", "true"], False),
        (["--no-wait", "y"], False),
        (["--no-wait", "t"], False),
        (["--no-wait", "false"], True),
        (["--no-wait", "n"], True),
        (["--no-wait", "f"], True),
    ],
)
def test_start_takes_an_aaz_boolean_no_wait_and_otherwise_returns_at_the_end(shop, no_wait, waited):
    vmss = shop(behind=True)
    result = vmss.ok("rolling-upgrade", "start", *SHOP, *no_wait)
    assert (result.stdout, result.stderr) == ("", "")
    if waited:
        # five batches of two minutes, no pause: the manual clock moved to the end
        assert vmss.now() == at(minutes=10)
        assert progress(vmss.latest()) == ("Completed", 10, 0, 0, 0)
    else:
        assert vmss.now() == at()
        assert progress(vmss.latest()) == ("RollingForward", 0, 0, 2, 8)


@pytest.mark.parametrize("command", ["start", "cancel"])
def test_an_invalid_no_wait_value_on_start_or_cancel_is_an_argparse_error(shop, command):
    vmss = shop(behind=True)
    with unchanged(vmss.path):
        result = vmss("rolling-upgrade", command, *SHOP, "--no-wait", "maybe")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"ERROR: vmss rolling-upgrade {command}: 'maybe' is not a valid value for "
        "'--no-wait'. Allowed values: true, t, yes, y, 1, false, f, no, n, 0."
    )


def test_start_on_a_scale_set_without_a_health_source_is_refused(demo):
    with unchanged(demo.path):
        result = demo("rolling-upgrade", "start", *TOOLS)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", NO_HEALTH)


# --- --watch without a terminal -----------------------------------------------------------------


def test_get_latest_watch_prints_nothing_extra_without_a_terminal(shop):
    vmss = shop()
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")
    plain = vmss.ok("rolling-upgrade", "get-latest", *SHOP)
    watched = vmss.ok("rolling-upgrade", "get-latest", *SHOP, "--watch")
    assert (watched.stdout, watched.stderr) == (plain.stdout, "")


def test_start_watch_prints_nothing_without_a_terminal(shop):
    vmss = shop(behind=True)
    result = vmss.ok("rolling-upgrade", "start", *SHOP, "--watch")
    assert (result.stdout, result.stderr) == ("", "")
    status = vmss.latest()["runningStatus"]
    assert (status["lastAction"], status["startTime"]) == ("Start", at())


def test_start_watch_without_a_terminal_waits_for_the_end_like_start(shop):
    vmss = shop(behind=True)
    vmss.ok("rolling-upgrade", "start", *SHOP, "--watch")
    assert vmss.now() == at(minutes=10)
    assert progress(vmss.latest()) == ("Completed", 10, 0, 0, 0)


# --- vmss update: upgrade policy, rolling flags, generic update ---------------------------------


def test_an_update_with_no_changes_restarts_a_cancelled_upgrade(shop):
    vmss = shop()
    vmss.ok("update", *SHOP, *SET_IMAGE, "-o", "none")
    vmss.ok("rolling-upgrade", "cancel", *SHOP, "--no-wait")
    vmss.ok("clock", "advance", "2m", "-o", "none")
    assert progress(vmss.latest()) == ("Cancelled", 2, 0, 0, 8)
    printed = vmss.ok("update", *SHOP).json()
    assert schema_errors("vmss", printed) == []
    assert printed["upgradePolicy"]["mode"] == "Rolling"
    doc = vmss.latest()
    assert progress(doc) == ("RollingForward", 0, 0, 2, 6)
    assert doc["runningStatus"] == {
        "code": "RollingForward",
        "lastAction": "Start",
        "lastActionTime": at(minutes=2),
        "startTime": at(minutes=2),
    }
    vmss.ok("clock", "advance", "8m", "-o", "none")
    assert progress(vmss.latest()) == ("Completed", 8, 0, 0, 0)


def test_a_model_update_in_rolling_mode_returns_at_once_and_starts_an_upgrade(shop):
    vmss = shop()
    printed = vmss.ok("update", *SHOP, *SET_IMAGE).json()
    image = printed["virtualMachineProfile"]["storageProfile"]["imageReference"]
    assert image["version"] == NEW_IMAGE
    assert vmss.now() == at()
    assert progress(vmss.latest()) == ("RollingForward", 0, 0, 2, 8)
    behind = vmss.ok("list-instances", *SHOP, "--query", "[].latestModelApplied").json()
    assert behind == [False] * 10


@pytest.mark.parametrize(
    "args",
    [
        ["--upgrade-policy-mode", "Rolling"],
        ["--upgrade-policy-mode", "rolling"],
        ["--set", "upgradePolicy.mode=Rolling"],
    ],
    ids=["flag", "flag-lowercase", "generic-set"],
)
def test_switching_to_rolling_without_a_health_probe_or_extension_is_azures_bad_request(demo, args):
    with unchanged(demo.path):
        result = demo("update", *TOOLS, *args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", NO_HEALTH)


def test_creating_a_rolling_scale_set_without_a_health_source_is_refused(demo):
    with unchanged(demo.path):
        result = demo(
            "create", "-g", "rg-new", "-n", "new-vmss", "--upgrade-policy-mode", "Rolling"
        )
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", NO_HEALTH)


def test_switching_to_rolling_with_a_health_probe_is_accepted(demo):
    result = demo.ok(
        "update", *BATCH, "--upgrade-policy-mode", "Rolling", "--query", "upgradePolicy"
    )
    assert result.json()["mode"] == "Rolling"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("value", "expected"),
    [([], True), (["true"], True), (["TRUE"], True), (["false"], False)],
    ids=["bare", "true", "upper", "false"],
)
def test_max_surge_prints_azs_preview_warning(shop, value, expected):
    vmss = shop()
    result = vmss.ok(
        "update", *SHOP, "--max-surge", *value, "--query", "upgradePolicy.rollingUpgradePolicy"
    )
    assert result.stderr == MAX_SURGE_WARNING
    assert result.json() == DEFAULT_POLICY | {"maxSurge": expected}


def test_only_show_errors_silences_the_max_surge_warning(shop):
    vmss = shop()
    result = vmss.ok("update", *SHOP, "--max-surge", "--only-show-errors", "-o", "none")
    assert (result.stdout, result.stderr) == ("", "")


def test_rolling_flags_without_max_surge_print_no_warning(shop):
    vmss = shop()
    result = vmss.ok(
        "update", *SHOP, "--max-batch-instance-percent", "50",
        "--prioritize-unhealthy-instances", "--enable-cross-zone-upgrade", "false",
        "--pause-time-between-batches", "PT5S", "--query", "upgradePolicy",
    )  # fmt: skip
    assert result.stderr == ""
    assert result.json() == {
        "mode": "Rolling",
        "rollingUpgradePolicy": DEFAULT_POLICY
        | {
            "enableCrossZoneUpgrade": False,
            "maxBatchInstancePercent": 50,
            "pauseTimeBetweenBatches": "PT5S",
            "prioritizeUnhealthyInstances": True,
        },
    }


@pytest.mark.xfail(
    strict=True,
    reason="domain/model_update.py:235-236 (update) starts from a full default "
    "RollingPolicy, so maxUnhealthyInstancePercent and maxUnhealthyUpgradedInstancePercent "
    "(20) appear too; az reference §3.5: on a VMSS without rollingUpgradePolicy 'a new one "
    "is created containing only the given keys (others absent)', with this exact [run] "
    "example",
)
def test_rolling_flags_on_a_set_without_a_rolling_policy_create_one_with_only_those_keys(demo):
    result = demo(
        "update", *BATCH, "--max-batch-instance-percent", "50",
        "--pause-time-between-batches", "PT5S", "--prioritize-unhealthy-instances", "true",
        "--max-surge", "true", "--set", "upgradePolicy.mode=Rolling", "--query", "upgradePolicy",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == MAX_SURGE_WARNING
    assert result.stdout == (
        "{\n"
        '  "mode": "Rolling",\n'
        '  "rollingUpgradePolicy": {\n'
        '    "maxBatchInstancePercent": 50,\n'
        '    "maxSurge": true,\n'
        '    "pauseTimeBetweenBatches": "PT5S",\n'
        '    "prioritizeUnhealthyInstances": true\n'
        "  }\n"
        "}\n"
    )


@pytest.mark.parametrize(
    ("where", "args", "stderr"),
    [
        (
            WEB,
            ["--set", "upgradePolicy.nope.x=1"],
            "ERROR: Couldn't find 'nope' in 'upgradePolicy'. Available options: "
            "['mode', 'rollingUpgradePolicy']\n",
        ),
        (
            TOOLS,
            ["--set", "upgradePolicy.rollingUpgradePolicy.maxSurge=true"],
            "ERROR: Couldn't find 'rollingUpgradePolicy' in 'upgradePolicy'. Available "
            "options: ['mode']\n",
        ),
        (
            # the --set runs before the rolling flags are applied
            TOOLS,
            ["--max-surge", "true", "--set", "upgradePolicy.rollingUpgradePolicy.maxSurge=true"],
            MAX_SURGE_WARNING + "ERROR: Couldn't find 'rollingUpgradePolicy' in "
            "'upgradePolicy'. Available options: ['mode']\n",
        ),
        (
            WEB,
            ["--set", "upgradePolicy.mode=Bogus"],
            "ERROR: (InvalidParameter) The value 'Bogus' of parameter 'upgradePolicy.mode' is "
            "not valid.\nCode: InvalidParameter\nMessage: The value 'Bogus' of parameter "
            "'upgradePolicy.mode' is not valid.\nTarget: upgradePolicy.mode\n",
        ),
    ],
    ids=["missing-middle-key", "no-rolling-policy", "set-before-flags", "invalid-mode"],
)
def test_generic_update_errors_are_azs_texts_and_change_nothing(demo, where, args, stderr):
    with unchanged(demo.path):
        result = demo("update", *where, *args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", stderr)


def test_generic_update_paths_are_case_sensitive_and_list_the_top_level_keys(demo):
    with unchanged(demo.path):
        result = demo("update", *BATCH, "--set", "upgradepolicy.MODE=Manual")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith(
        "ERROR: Couldn't find 'upgradepolicy' in ''. Available options: "
        "['doNotRunExtensionsOnOverprovisionedVMs', 'id', "
    )
    assert result.stderr.endswith(", 'upgradePolicy', 'virtualMachineProfile']\n")


def test_explicit_flags_win_over_generic_set(demo):
    result = demo.ok(
        "update", *BATCH, "--set", "upgradePolicy.mode=Automatic",
        "--upgrade-policy-mode", "Manual", "--query", "upgradePolicy.mode",
    )  # fmt: skip
    assert result.stdout == '"Manual"\n'


def test_generic_set_values_are_json(shop):
    vmss = shop()
    result = vmss.ok(
        "update", *SHOP, "--set", "upgradePolicy.rollingUpgradePolicy.maxBatchInstancePercent=50",
        "--query", "upgradePolicy.rollingUpgradePolicy.maxBatchInstancePercent",
    )  # fmt: skip
    assert result.stdout == "50\n"
