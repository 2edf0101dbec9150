"""What a person sees on a terminal: vmsscli's own commands are drawn with Rich when stdout is a
terminal and no format or query was asked for; piped (or with -o json) they print JSON, and az's
commands print az's JSON on a terminal too. Each case runs the installed `vmss` with its stdout
on a pseudo-terminal, as a person's shell would."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios

import pytest
from conftest import run_vmss, vmss_executable

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
WEB = ("-g", "rg-web", "-n", "web-vmss")


def on_terminal(*args: str, state, columns: int = 120, env: dict[str, str] | None = None):
    """Run `vmss ARGS` with stdout and stderr on a pseudo-terminal of the given width: the raw
    bytes drawn (with colour codes), and the exit code."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    full_env.pop("NO_COLOR", None)
    full_env.pop("COLUMNS", None)
    full_env.update({"VMSSCLI_STATE": str(state), "TERM": "xterm-256color", **(env or {})})
    proc = subprocess.Popen(
        [vmss_executable(), *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
        env=full_env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            proc.kill()
            raise AssertionError("the command drew nothing for 30 s")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other side closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(timeout=30)
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n"), code


def plain(drawn: str) -> str:
    return ANSI.sub("", drawn)


@pytest.fixture
def exercise(tmp_path):
    """The search exercise started, with one careful restart of instance 18 done."""
    path = tmp_path / "exercise.json"
    for args in (
        ("exercise", "start", "search-bad-backend"),
        ("restart", "-g", "rg-search", "-n", "search-vmss", "--instance-ids", "18"),
    ):
        assert run_vmss(*args, "-o", "none", state=path).exit_code == 0
    return path


def test_triage_on_a_terminal_is_a_summary_over_a_coloured_table(state_path):
    drawn, code = on_terminal("triage", *WEB, state=state_path)
    assert code == 0
    text = plain(drawn)
    lines = text.splitlines()
    assert lines[0] == "1 of 12 unhealthy, 2 not on the latest model, 1 protected"
    header = lines[1].split()
    assert header == ["Id", "Zone", "FD", "UD", "Power", "Health", "Model", "Protected", "Problems"]
    first = lines[3].split()
    assert first[:8] == ["5", "3", "0", "0", "running", "unhealthy", "latest", "-"]
    assert "extension configure-web failed" in " ".join(text.split())
    # Problems first: the healthy, up-to-date, unprotected instances come last.
    ids = [line.split()[0] for line in lines[3:] if line.split() and line.split()[0].isdigit()]
    assert ids[:3] == ["5", "9", "12"]
    # Colour for health and power: unhealthy in red, running in green.
    assert "\x1b[1;31munhealthy" in drawn
    assert "\x1b[32mrunning" in drawn
    assert "{" not in text


def test_no_color_draws_the_same_table_without_colour(state_path):
    drawn, _ = on_terminal("triage", *WEB, state=state_path, env={"NO_COLOR": "1"})
    coloured, _ = on_terminal("triage", *WEB, state=state_path)
    assert "\x1b[31m" not in drawn and "\x1b[32m" not in drawn
    assert plain(drawn) == plain(coloured)


def test_triage_piped_or_with_o_json_prints_the_json_rows(state_path):
    piped = run_vmss("triage", *WEB, state=state_path)
    rows = json.loads(piped.stdout)
    assert [r["instanceId"] for r in rows[:3]] == ["5", "9", "12"]
    drawn, _ = on_terminal("triage", *WEB, "-o", "json", state=state_path)
    assert json.loads(plain(drawn)) == rows
    env_json, _ = on_terminal("triage", *WEB, state=state_path, env={"VMSSCLI_OUTPUT": "json"})
    assert json.loads(plain(env_json)) == rows
    queried, _ = on_terminal("triage", *WEB, "--query", "[0].instanceId", state=state_path)
    assert json.loads(plain(queried)) == "5"


def test_triage_o_table_stays_the_plain_az_table_under_its_summary(state_path):
    piped = run_vmss("triage", *WEB, "-o", "table", state=state_path)
    lines = piped.stdout.splitlines()
    assert lines[0] == "1 of 12 unhealthy, 2 not on the latest model, 1 protected"
    assert lines[1].split()[:3] == ["InstanceId", "Zone", "FaultDomain"]
    assert set(lines[2]) <= {"-", " "}


def test_az_commands_keep_az_json_on_a_terminal(state_path):
    for args in (
        ("list-instances", *WEB),
        ("get-instance-view", *WEB, "--instance-id", "5"),
        ("show", *WEB),
    ):
        drawn, code = on_terminal(*args, state=state_path)
        assert code == 0
        assert json.loads(plain(drawn)) == json.loads(run_vmss(*args, state=state_path).stdout)


def test_exercise_check_draws_a_line_per_objective_the_score_and_the_debrief(exercise):
    drawn, code = on_terminal("exercise", "check", state=exercise)
    assert code == 1  # not every objective passes
    text = plain(drawn)
    lines = text.splitlines()
    assert lines[0].startswith(" FAIL  All 24 instances are healthy and serving")
    assert lines[1].strip() == "instance 18 is not healthy and serving"
    marks = [line.split()[0] for line in lines if line.startswith((" PASS", " FAIL"))]
    assert marks == ["FAIL", "FAIL", "PASS", "PASS", "PASS", "PASS"]
    assert "Score: 4/6 objectives met" in text
    assert "Debrief" in text
    assert "restart of 18: vmss restart -g rg-search -n search-vmss --instance-ids 18" in text
    assert "none: every request named its instances" in text
    assert "Serving capacity low-water mark: 23 of 23 (100%)" in text
    assert "\x1b[1;37;41m FAIL " in drawn  # white on red
    piped = run_vmss("exercise", "check", state=exercise)
    assert piped.exit_code == 1
    assert json.loads(piped.stdout)["score"] == "4/6"


def test_exercise_status_and_hint_are_sentences_on_a_terminal(exercise):
    status, _ = on_terminal("exercise", "status", state=exercise)
    text = plain(status)
    assert text.startswith("Search tier: one bad backend before the evening peak")
    assert "Objectives met so far: 4/6   requests made: 1   hints used: 0/4" in text
    hint, _ = on_terminal("exercise", "hint", state=exercise)
    assert plain(hint).startswith("Hint 1/4: List the instances and their health:")
    # The hint was counted, and piped it is the JSON graders read.
    second = json.loads(run_vmss("exercise", "hint", state=exercise).stdout)
    assert second["number"] == "2/4"


def test_scenario_show_is_a_briefing_on_a_terminal(tmp_path):
    drawn, code = on_terminal("scenario", "show", "search-bad-backend", state=tmp_path / "s.json")
    assert code == 0
    text = plain(drawn)
    assert text.startswith("Search tier: one bad backend before the evening peak (field case 1)")
    assert "rg-search        search-vmss   24         1, 2, 3   Rolling" in text
    assert " 1. All 24 instances are healthy and serving" in text
    assert "2 fault(s) injected. 4 hint(s): vmss exercise hint." in text
    piped = run_vmss("scenario", "show", "search-bad-backend", state=tmp_path / "s.json")
    assert json.loads(piped.stdout)["name"] == "search-bad-backend"


def test_the_rehearsal_report_is_drawn_on_a_terminal_and_json_when_piped(tmp_path):
    from conftest import REPO

    book = str(REPO / "docs" / "runbooks" / "careless-search.sh")
    args = ("rehearse", book, "--scenario", "search-bad-backend")
    drawn, code = on_terminal(*args, state=tmp_path / "s.json")
    assert code == 1
    text = plain(drawn)
    assert f"Rehearsal of {book}: exit code 2" in text
    assert " 1. [0] az vmss reimage -g rg-search -n search-vmss -o none" in text
    assert re.search(r"WARNING: +whole-fleet request: reimage of every instance of", text)
    assert "Warnings: 3" in text
    assert "First failed command: az account show" in text
    piped = run_vmss(*args, state=tmp_path / "s.json")
    assert piped.exit_code == 1
    report = json.loads(piped.stdout)
    assert report["exitCode"] == 2 and len(report["warnings"]) == 3


def test_data_is_never_read_as_markup(state_path):
    inject = ("fault", "inject", *WEB, "--instance-ids", "2", "--kind", "network-blocked")
    assert run_vmss(*inject, "--host", "[bold red]x[/]", state=state_path).exit_code == 0
    drawn, _ = on_terminal("fault", "list", state=state_path)
    assert "[bold red]x[/]" in plain(drawn)


def test_a_narrow_terminal_wraps_without_losing_words(state_path):
    drawn, _ = on_terminal("triage", *WEB, state=state_path, columns=80)
    text = plain(drawn)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "configure-web" in text and "…" not in text
