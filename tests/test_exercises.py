"""Every shipped exercise, played twice: a correct solution passes every objective, a careless
one fails exactly the objectives it should. The exercise is started and graded with the
installed `vmss` (as a trainee's shell would); the steps in between run in-process for speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import invoke, run_vmss

SEARCH = ["-g", "rg-search", "-n", "search-vmss"]
INGEST = ["-g", "rg-telematics", "-n", "ingest-vmss"]
IOT = ["-g", "rg-iot", "-n", "gateway-vmss"]
WEB = ["-g", "rg-web", "-n", "web-vmss"]


class Trainee:
    def __init__(self, state: Path) -> None:
        self.state = state

    def __call__(self, *args: str) -> dict | list | None:
        result = invoke([*args, "-o", "json"], self.state)
        assert result.exit_code == 0, f"vmss {' '.join(args)}\n{result.stderr}"
        return json.loads(result.stdout) if result.stdout.strip() else None

    def shell(self, script: str) -> str:
        result = invoke(
            [
                "run-command",
                "invoke",
                *self.where,
                "--command-id",
                "RunShellScript",
                "--scripts",
                script,
                "--query",
                "value[0].message",
                "-o",
                "tsv",
            ],
            self.state,
        )
        assert result.exit_code == 0, result.stderr
        return result.stdout

    where: list[str] = []


def start(tmp_path, name: str) -> Trainee:
    state = tmp_path / f"{name}.json"
    started = run_vmss("exercise", "start", name, state=state)
    assert started.exit_code == 0, started.stderr
    briefing = started.json()
    assert briefing["name"] == name and briefing["objectives"]
    return Trainee(state)


def grade(trainee: Trainee) -> tuple[int, dict[str, bool], dict]:
    result = run_vmss("exercise", "check", state=trainee.state)
    report = result.json()
    return result.exit_code, {o["objective"]: o["passed"] for o in report["objectives"]}, report


def failed(objectives: dict[str, bool]) -> set[str]:
    return {text for text, passed in objectives.items() if not passed}


def shipped() -> list[str]:
    return [row["name"] for row in run_vmss("exercise", "list").json()]


def test_every_shipped_scenario_is_an_exercise_and_every_field_case_is_shipped():
    listed = run_vmss("scenario", "list").json()
    assert {row["fieldCase"] for row in listed} >= {"1", "2", "3", "4"}
    assert sorted(shipped()) == sorted(row["name"] for row in listed)


# --- field case 1 --------------------------------------------------------------------------------


def test_search_exercise_restart_then_reimage_of_18_only_passes(tmp_path):
    trainee = start(tmp_path, "search-bad-backend")
    trainee.where = [*SEARCH, "--instance-id", "18"]
    assert "stopped responding" in trainee.shell("journalctl -u search-app -n 20")
    trainee("restart", *SEARCH, "--instance-ids", "18")
    view = trainee("get-instance-view", *SEARCH, "--instance-id", "18")
    assert view["vmHealth"]["status"]["code"] == "HealthState/unhealthy"  # extension still failed
    trainee("reimage", *SEARCH, "--instance-ids", "18")
    code, objectives, report = grade(trainee)
    assert code == 0 and all(objectives.values()), objectives
    assert report["score"] == "6/6"
    assert report["debrief"]["targetedInstances"] == [18]
    assert report["debrief"]["capacityLowWaterMark"] == {
        "percent": 100,
        "serving": 23,
        "servingAtStart": 23,
    }
    assert len(report["debrief"]["timeline"]) == 3  # run-command, restart, reimage


def test_search_exercise_reimaging_the_whole_fleet_fails_the_blast_radius_objectives(tmp_path):
    trainee = start(tmp_path, "search-bad-backend")
    trainee("reimage", *SEARCH)
    code, objectives, report = grade(trainee)
    assert code == 1
    assert failed(objectives) == {
        "No instance other than 18 was restarted, reimaged, stopped, deallocated, upgraded or "
        "deleted",
        "Every request named its instances (no whole-fleet or '*' action)",
        "No serving backend was taken out of service at any point",
    }
    assert report["debrief"]["capacityLowWaterMark"]["serving"] == 0
    assert len(report["debrief"]["wholeFleetRequests"]) == 1


def test_search_exercise_a_restart_alone_leaves_18_unhealthy(tmp_path):
    trainee = start(tmp_path, "search-bad-backend")
    trainee("restart", *SEARCH, "--instance-ids", "18")
    _code, objectives, _ = grade(trainee)
    assert failed(objectives) == {
        "All 24 instances are healthy and serving",
        "Instance 18 was reimaged (a restart alone cannot fix a failed extension)",
    }


# --- field case 2 --------------------------------------------------------------------------------

FAILED_7 = [str(i) for i in range(41, 48)]


def test_telematics_exercise_protect_then_fix_route_then_reimage_the_7_passes(tmp_path):
    trainee = start(tmp_path, "telematics-zone-failures")
    unhealthy = trainee(
        "get-instance-view",
        *INGEST,
        "--instance-id",
        "*",
        "--query",
        "length([?vmHealth.status.code=='HealthState/unhealthy'])",
    )
    listed = trainee("list-instances", *INGEST)
    bad = {vm["instanceId"]: vm for vm in listed if vm["instanceId"] in FAILED_7}
    assert {vm["zones"][0] for vm in bad.values()} == {"2"}
    assert all(vm["latestModelApplied"] for vm in bad.values())
    assert sum(not vm["latestModelApplied"] for vm in listed) == 41
    assert unhealthy == 7
    for i in range(41):
        trainee("update", *INGEST, "--instance-id", str(i), "--protect-from-scale-in", "true")
    trainee.where = [*INGEST, "--instance-id", "41"]
    assert "Failed to connect" in trainee.shell(
        "curl -sS -m 5 https://packages.telematics.example/"
    )
    trainee.where = [*INGEST, "--instance-id", "0"]  # zone 1
    assert "Failed to connect" not in trainee.shell(
        "curl -sS -m 5 https://packages.telematics.example/"
    )
    # While the route is broken, a reimage does not help.
    trainee("reimage", *INGEST, "--instance-ids", "41")
    view = trainee("get-instance-view", *INGEST, "--instance-id", "41")
    assert view["vmHealth"]["status"]["code"] == "HealthState/unhealthy"
    trainee("fault", "clear", *INGEST, "--kind", "network-blocked")
    trainee("reimage", *INGEST, "--instance-ids", *FAILED_7)
    code, objectives, _ = grade(trainee)
    assert code == 0 and all(objectives.values()), objectives
    protected = trainee(
        "list-instances", *INGEST, "--query", "[?protectionPolicy.protectFromScaleIn].instanceId"
    )
    assert len(protected) == 41


def test_telematics_exercise_reimaging_everything_before_the_route_is_fixed_fails(tmp_path):
    trainee = start(tmp_path, "telematics-zone-failures")
    trainee("reimage", *INGEST, "--instance-ids", "*")
    code, objectives, _ = grade(trainee)
    assert code == 1
    assert failed(objectives) == {
        "All 48 instances are healthy and serving",
        "None of the 41 healthy instances was restarted, reimaged, stopped, upgraded or deleted",
        "The healthy instances are protected from scale-in",
    }


# --- field case 3 --------------------------------------------------------------------------------


def test_iot_exercise_protect_scale_confirm_drain_unprotect_passes(tmp_path):
    trainee = start(tmp_path, "iot-buffered-scale-in")
    spool = {}
    for i in range(10):
        trainee.where = [*IOT, "--instance-id", str(i)]
        spool[i] = int(trainee.shell("ls /var/spool/telemetry | wc -l").split()[3])
    buffering = [i for i, n in spool.items() if n]
    assert buffering == [2, 5, 7]
    for i in buffering:
        trainee("update", *IOT, "--instance-id", str(i), "--protect-from-scale-in", "true")
    trainee("scale", *IOT, "--new-capacity", "5")
    ids = trainee("list-instances", *IOT, "--query", "[].instanceId")
    assert len(ids) == 5 and {"2", "5", "7"} <= set(ids)
    trainee("fault", "clear", *IOT, "--kind", "network-blocked")
    for i in buffering:
        trainee.where = [*IOT, "--instance-id", str(i)]
        assert trainee.shell("ls /var/spool/telemetry | wc -l").split()[3] == "0"
        trainee("update", *IOT, "--instance-id", str(i), "--protect-from-scale-in", "false")
    code, objectives, _ = grade(trainee)
    assert code == 0 and all(objectives.values()), objectives


def test_iot_exercise_scaling_in_before_protecting_loses_5_and_7(tmp_path):
    trainee = start(tmp_path, "iot-buffered-scale-in")
    trainee("scale", *IOT, "--new-capacity", "5")
    code, objectives, report = grade(trainee)
    assert code == 1
    assert failed(objectives) == {
        "The buffering gateways 2, 5 and 7 were never removed",
        "2, 5 and 7 were protected from scale-in before the scale-in",
        "Protection was removed only after the queues were confirmed drained (run-command "
        "after the network came back)",
    }
    survived = next(o for o in report["objectives"] if o["objective"].startswith("The buffering"))
    assert survived["evidence"] == ["instance 5 was removed", "instance 7 was removed"]


# --- field case 4 --------------------------------------------------------------------------------

VERSION = "virtualMachineProfile.storageProfile.imageReference.version"


def progress(trainee: Trainee) -> tuple[str, int, int, int, int]:
    latest = trainee("rolling-upgrade", "get-latest", *WEB)
    p = latest["progress"]
    counts = (
        p["successfulInstanceCount"],
        p["failedInstanceCount"],
        p["inProgressInstanceCount"],
        p["pendingInstanceCount"],
    )
    return (latest["runningStatus"]["code"], *counts)


def test_web_exercise_let_it_fault_then_roll_back_to_2_0_0_passes(tmp_path):
    trainee = start(tmp_path, "web-rolling-upgrade-gone-wrong")
    trainee("update", *WEB, "--set", f"{VERSION}=2.0.1")
    assert progress(trainee) == ("RollingForward", 0, 0, 2, 8)
    for _ in range(6):
        trainee("clock", "advance", "1m")
    assert progress(trainee) == ("Faulted", 0, 4, 0, 6)
    trainee("update", *WEB, "--set", f"{VERSION}=2.0.0")
    failed_ids = trainee(
        "list-instances",
        *WEB,
        "--query",
        "[?storageProfile.imageReference.exactVersion=='2.0.1'].instanceId",
    )
    assert len(failed_ids) == 4
    trainee("update-instances", *WEB, "--instance-ids", *failed_ids)
    trainee("update", *WEB)
    for _ in range(12):
        trainee("clock", "advance", "1m")
    assert progress(trainee)[0] == "Completed"
    code, objectives, _ = grade(trainee)
    assert code == 0 and all(objectives.values()), objectives


def test_web_exercise_pushing_the_bad_release_through_fails(tmp_path):
    trainee = start(tmp_path, "web-rolling-upgrade-gone-wrong")
    trainee("update", *WEB, "--set", f"{VERSION}=2.0.1")
    for _ in range(6):
        trainee("clock", "advance", "1m")
    trainee(
        "update",
        *WEB,
        "--max-unhealthy-instance-percent",
        "100",
        "--max-unhealthy-upgraded-instance-percent",
        "100",
    )
    for _ in range(12):
        trainee("clock", "advance", "1m")
    code, objectives, report = grade(trainee)
    assert code == 1
    assert failed(objectives) == {
        "At most two batches (4 instances) ever ran 2.0.1",
        "Every instance ends on the latest model with image 2.0.0",
        "All 10 instances are healthy and serving",
    }
    ran = next(o for o in report["objectives"] if o["objective"].startswith("At most"))
    assert ran["evidence"][0].startswith("10 instance(s) ran image version 2.0.1")


# --- the exercise commands -----------------------------------------------------------------------


def test_hint_status_and_reset(tmp_path):
    trainee = start(tmp_path, "search-bad-backend")
    first = trainee("exercise", "hint")
    second = trainee("exercise", "hint")
    assert first["number"] == "1/4" and second["number"] == "2/4"
    assert first["hint"] != second["hint"]
    trainee("restart", *SEARCH, "--instance-ids", "18")
    status = trainee("exercise", "status")
    assert status["hintsUsed"] == "2/4" and status["requests"] == 1
    assert status["objectivesMet"] == "4/6"
    trainee("exercise", "reset")
    status = trainee("exercise", "status")
    assert status["hintsUsed"] == "0/4" and status["requests"] == 0


def test_check_without_an_exercise_is_a_clear_error(tmp_path):
    result = run_vmss("exercise", "check", state=tmp_path / "plain.json")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("ERROR: No exercise is under way")


def test_unknown_scenario_suggests_the_closest_name(tmp_path):
    result = run_vmss("scenario", "load", "search-bad-backnd", state=tmp_path / "s.json")
    assert result.exit_code == 1
    assert "Did you mean 'search-bad-backend'?" in result.stderr
    assert not (tmp_path / "s.json").exists()


def test_scenario_load_replaces_the_state_and_keeps_a_backup(tmp_path):
    state = tmp_path / "s.json"
    assert run_vmss("list", state=state).exit_code == 0  # the demo fleet
    loaded = run_vmss("scenario", "load", "iot-buffered-scale-in", state=state).json()
    assert loaded["instances"] == 10 and loaded["scaleSets"] == 1
    assert Path(f"{state}.bak").exists()
    names = run_vmss("list", "--query", "[].name", state=state).json()
    assert names == ["gateway-vmss"]


@pytest.mark.parametrize("name", ["search-bad-backend", "web-rolling-upgrade-gone-wrong"])
def test_scenario_show_gives_the_briefing(name):
    shown = run_vmss("scenario", "show", name).json()
    assert shown["title"] and shown["description"] and shown["objectives"]
    assert shown["fleet"][0]["capacity"] in (24, 10)


def test_a_broken_scenario_file_is_a_one_line_error(tmp_path, monkeypatch):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "broken.toml").write_text(
        'title = "x"\n[[objectives]]\ntext = "t"\ncheck = "nonsense"\n[state]\n'
    )
    result = run_vmss("scenario", "show", "broken", env={"VMSSCLI_SCENARIOS": str(folder)})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "objectives[0].check" in lines[0]


# --- automatic repairs under an investigation ---------------------------------------------------

ORDERS = ["-g", "rg-orders", "-n", "orders-vmss"]
SERVICE = ["--service-name", "AutomaticRepairs"]
NOT_SUSPENDED = "Automatic repairs were suspended before the first look at instance 7"


def test_repairs_exercise_suspend_look_restart_resume_passes(tmp_path):
    trainee = start(tmp_path, "repairs-under-investigation")
    trainee.where = [*ORDERS, "--instance-id", "7"]
    trainee("set-orchestration-service-state", *ORDERS, *SERVICE, "--action", "Suspend")
    trainee("clock", "advance", "30m")  # long past the grace period: nothing happens
    assert "request queue full" in trainee.shell("journalctl -u orders-app -n 20")
    trainee("restart", *ORDERS, "--instance-ids", "7")
    trainee("set-orchestration-service-state", *ORDERS, *SERVICE, "--action", "Resume")
    code, objectives, report = grade(trainee)
    assert code == 0 and all(objectives.values()), objectives
    assert report["score"] == "6/6"


def test_repairs_exercise_looking_too_late_finds_the_instance_replaced(tmp_path):
    trainee = start(tmp_path, "repairs-under-investigation")
    trainee("clock", "advance", "12m")  # the grace period ends at 09:08: 7 is replaced
    instances = trainee("list-instances", *ORDERS, "--query", "[].instanceId")
    assert "7" not in instances and "10" in instances
    _code, objectives, report = grade(trainee)
    assert failed(objectives) == {
        NOT_SUSPENDED,
        "Instance 7 was investigated with run-command",
        "Instance 7 is still there (it was not replaced, its logs are kept)",
        "No instance other than 7 was restarted, reimaged, stopped, deallocated, upgraded or "
        "deleted",  # the replacement, 10, was the platform's: allowed by not suspending
    }


def test_repairs_exercise_forgetting_to_resume_leaves_the_fleet_unguarded(tmp_path):
    trainee = start(tmp_path, "repairs-under-investigation")
    trainee.where = [*ORDERS, "--instance-id", "7"]
    trainee("set-orchestration-service-state", *ORDERS, *SERVICE, "--action", "Suspend")
    trainee.shell("journalctl -u orders-app -n 20")
    trainee("restart", *ORDERS, "--instance-ids", "7")
    _code, objectives, _ = grade(trainee)
    assert failed(objectives) == {"Automatic repairs are running again at the end"}
