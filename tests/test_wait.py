"""`vmss wait`: az 2.91's polling loop (WaitCommandOperation), its exits and its quirks.

What the real az 2.91 does was recorded against `vmss serve` (the oracle cases are in
tests/test_endpoint_az.py): a met condition prints nothing and exits 0; a time-out prints `{}`
and exits 0; `--updated` on a missing resource is the 404 error (exit 3); `--created`, `--exists`
and `--custom` keep polling a missing resource; `--deleted` on one is met at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import run_vmss

from vmsscli.errors import CLIError, ServiceError
from vmsscli.service.waiting import USAGE, Condition, wait

WEB = ["-g", "rg-web", "-n", "web-vmss"]
BATCH = ["-g", "rg-batch", "-n", "batch-vmss"]


def _missing() -> ServiceError:
    return ServiceError("ResourceNotFound", "not there", status=404)


class Polls:
    """A getter that answers from a script (a dict, or an exception to raise) and counts."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0
        self.slept: list[float] = []

    def get(self):
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        if isinstance(answer, Exception):
            raise answer
        return answer

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def _wait(polls: Polls, condition: Condition, timeout: int = 10, interval: int = 2):
    return wait(polls.get, condition, timeout=timeout, interval=interval, sleep=polls.sleep)


# --- the loop ------------------------------------------------------------------------------------


def test_no_condition_is_az_usage_error():
    with pytest.raises(CLIError, match="incorrect usage: --created"):
        _wait(Polls({}), Condition())
    assert USAGE.startswith("incorrect usage")


def test_created_is_met_when_provisioning_succeeded():
    polls = Polls(_missing(), {"provisioningState": "Updating"}, {"provisioningState": "Succeeded"})
    assert _wait(polls, Condition(created=True)) is None
    assert polls.calls == 3
    assert polls.slept == [2, 2]


def test_time_out_returns_an_empty_object_after_timeout_over_interval_polls():
    polls = Polls({"provisioningState": "Updating"})
    assert _wait(polls, Condition(updated=True), timeout=10, interval=3) == {}
    # range(0, 10, 3): polls at 0, 3, 6, 9 and a sleep after each, as az does.
    assert polls.calls == 4
    assert polls.slept == [3, 3, 3, 3]


def test_timeout_zero_never_polls():
    polls = Polls({"provisioningState": "Succeeded"})
    assert _wait(polls, Condition(created=True), timeout=0) == {}
    assert polls.calls == 0


def test_updated_on_a_missing_resource_is_the_not_found_error():
    with pytest.raises(ServiceError) as raised:
        _wait(Polls(_missing()), Condition(updated=True))
    assert raised.value.status == 404


@pytest.mark.parametrize(
    "condition",
    [Condition(created=True), Condition(exists=True), Condition(custom="name")],
    ids=["created", "exists", "custom"],
)
def test_conditions_that_keep_polling_a_missing_resource(condition):
    polls = Polls(_missing(), _missing(), {"name": "x", "provisioningState": "Succeeded"})
    assert _wait(polls, condition) is None
    assert polls.calls == 3


def test_deleted_is_met_by_a_not_found_and_not_by_a_resource():
    polls = Polls({"provisioningState": "Succeeded"}, _missing())
    assert _wait(polls, Condition(deleted=True)) is None
    assert polls.calls == 2


def test_errors_other_than_not_found_end_the_wait():
    with pytest.raises(ServiceError):
        _wait(Polls(ServiceError("Conflict", "busy", status=409)), Condition(deleted=True))


def test_failed_provisioning_stops_with_az_message():
    with pytest.raises(CLIError, match="^The operation failed$"):
        _wait(Polls({"provisioningState": "Failed"}), Condition(custom="nothing"))


def test_custom_is_a_jmespath_truth_test():
    polls = Polls({"latestModelApplied": False}, {"latestModelApplied": True})
    assert _wait(polls, Condition(custom="latestModelApplied")) is None
    assert polls.calls == 2


def test_bad_custom_expression_is_worded_as_a_query_error():
    with pytest.raises(CLIError) as raised:
        _wait(Polls({}), Condition(custom="[?"))
    assert str(raised.value).startswith("Invalid jmespath query supplied for `--query`: ")
    assert "query-azure-cli" in raised.value.recommendations[0]


def test_interval_zero_is_a_clear_error_not_a_traceback():
    with pytest.raises(CLIError, match="--interval"):
        _wait(Polls({}), Condition(created=True), interval=0)


# --- through the CLI -----------------------------------------------------------------------------


@pytest.fixture
def moving_clock(monkeypatch):
    """Every sleep of the wait moves the pinned time on by that many seconds, without waiting."""
    now = [datetime(2026, 12, 7, 12, 0, tzinfo=UTC)]
    slept: list[float] = []
    monkeypatch.setenv("VMSSCLI_NOW", now[0].isoformat())

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += timedelta(seconds=seconds)
        monkeypatch.setenv("VMSSCLI_NOW", now[0].isoformat())

    monkeypatch.setattr("time.sleep", sleep)
    return slept


def test_cli_met_condition_prints_nothing(cli, moving_clock):
    done = cli("wait", *WEB, "--created")
    assert (done.exit_code, done.stdout, moving_clock) == (0, "", [])


def test_cli_waits_for_a_scale_out_to_finish(cli, moving_clock):
    assert cli("scale", *BATCH, "--new-capacity", "7", "--no-wait").exit_code == 0
    shown = cli("show", *BATCH, "--query", "provisioningState", "-o", "tsv")
    assert shown.stdout == "Updating\n"
    done = cli("wait", *BATCH, "--updated", "--interval", "15")
    assert (done.exit_code, done.stdout) == (0, "")
    assert moving_clock and set(moving_clock) == {15}
    shown = cli("show", *BATCH, "--query", "[provisioningState, sku.capacity]", "-o", "tsv")
    assert shown.stdout == "Succeeded\n7\n"
    instances = cli("list-instances", *BATCH, "--query", "[].provisioningState", "-o", "tsv")
    assert set(instances.stdout.split()) == {"Succeeded"}


def test_cli_waits_for_an_instance_to_reach_the_latest_model(cli, moving_clock):
    query = ["--query", "latestModelApplied", "-o", "tsv"]
    assert cli("show", *WEB, "--instance-id", "9", *query).stdout == "false\n"
    assert cli("update-instances", *WEB, "--instance-ids", "9", "--no-wait").exit_code == 0
    done = cli("wait", *WEB, "--instance-id", "9", "--custom", "latestModelApplied")
    assert (done.exit_code, done.stdout) == (0, "")
    assert moving_clock, "the upgrade took no time"
    assert cli("show", *WEB, "--instance-id", "9", *query).stdout == "true\n"


def test_cli_time_out_prints_an_empty_object_and_exits_zero(cli, moving_clock):
    done = cli("wait", "-g", "rg-web", "-n", "nope", "--created", "--timeout", "60")
    assert (done.exit_code, done.stdout) == (0, "{}\n")
    assert moving_clock == [30, 30]


def test_cli_waits_until_an_instance_is_deleted(cli, moving_clock):
    assert cli("delete-instances", *BATCH, "--instance-ids", "4", "--no-wait").exit_code == 0
    done = cli("wait", *BATCH, "--instance-id", "4", "--deleted", "--interval", "5")
    assert (done.exit_code, done.stdout) == (0, "")
    assert moving_clock
    gone = cli("show", *BATCH, "--instance-id", "4")
    assert gone.exit_code == 3


def test_cli_accepts_ids(cli, moving_clock):
    shown = cli("show", *WEB, "--query", "id", "-o", "tsv").stdout.strip()
    done = cli("wait", "--ids", f"{shown}/virtualMachines/0", "--exists")
    assert (done.exit_code, done.stdout) == (0, "")


@pytest.mark.parametrize(
    ("argv", "code", "first_line"),
    [
        ([*WEB], 1, "ERROR: " + USAGE),
        ([*WEB, "--custom", "[?"], 1, "ERROR: Invalid jmespath query supplied for `--query`: "),
        (["-g", "rg-web", "-n", "nope", "--updated"], 3, "ERROR: (ResourceNotFound) "),
        (["-g", "rg-nope", "-n", "nope", "--updated"], 3, "ERROR: (ResourceGroupNotFound) "),
        ([*WEB, "--timeout", "abc", "--created"], 2, "ERROR: argument --timeout: invalid int"),
        ([*WEB, "--interval", "0", "--created"], 1, "ERROR: --interval must be a positive"),
        (["--created"], 1, "ERROR: (--resource-group --name | --ids) are required"),
        ([], 1, "ERROR: (--resource-group --name | --ids) are required"),
    ],
    ids=["no-condition", "bad-custom", "no-set", "no-group", "bad-timeout", "zero-interval",
         "no-names", "nothing"],
)  # fmt: skip
def test_cli_errors(cli, moving_clock, argv, code, first_line):
    before = cli("list-instances", *WEB).stdout
    done = cli("wait", *argv)
    assert done.exit_code == code
    assert done.stderr.startswith(first_line)
    assert "Traceback" not in done.stderr
    assert cli("list-instances", *WEB).stdout == before


def test_installed_vmss_waits_while_another_process_moves_the_clock(state_path, tmp_path):
    """A script's view: `scale --no-wait`, then `wait --updated` returns once the clock (moved
    by another process, as a trainer would) lets the scale-out finish."""
    import subprocess
    import sys
    import time

    from conftest import vmss_executable

    assert run_vmss("clock", "mode", "manual", state=state_path).exit_code == 0
    scaled = run_vmss("scale", *BATCH, "--new-capacity", "8", "--no-wait", state=state_path)
    assert scaled.exit_code == 0
    env = {"VMSSCLI_STATE": str(state_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    waiting = subprocess.Popen(
        [vmss_executable(), "wait", *BATCH, "--updated", "--interval", "1", "--timeout", "60"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)
        assert waiting.poll() is None, "the wait ended before the operation could finish"
        assert run_vmss("clock", "advance", "30m", state=state_path).exit_code == 0
        out, err = waiting.communicate(timeout=30)
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert (waiting.returncode, out, err) == (0, "", ""), sys.executable


def test_rehearsed_wait_moves_the_simulated_clock_instead_of_sleeping(state_path, tmp_path):
    """A runbook's `az vmss wait` with az's default 30 s interval finishes in moments: in a
    rehearsal the pause between polls is simulated time."""
    import json
    import time

    runbook = tmp_path / "runbook.sh"
    runbook.write_text(
        "set -e\n"
        "az vmss scale -g rg-batch -n batch-vmss --new-capacity 8 --no-wait\n"
        "az vmss wait -g rg-batch -n batch-vmss --updated\n"
        'az vmss show -g rg-batch -n batch-vmss --query "[provisioningState, sku.capacity]" '
        "-o tsv\n"
        "az vmss wait -g rg-batch -n nope --created --timeout 600\n"
    )
    started = time.monotonic()
    done = run_vmss("rehearse", str(runbook), "-o", "json", state=state_path, timeout=60)
    elapsed = time.monotonic() - started
    assert done.exit_code == 0, done.stderr
    assert "Succeeded\n8\n" in done.stderr  # the runbook's own output goes to stderr
    assert "{}\n" in done.stderr
    report = json.loads(done.stdout)
    assert [c["exitCode"] for c in report["commands"]] == [0, 0, 0, 0]
    assert report["commands"][1]["servingAfter"]["rg-batch/batch-vmss"] == "7/8"
    assert elapsed < 30
