"""The simulated guest and its interpreters, without the CLI: guest facts (vmsscli.guest.facts),
the bash-like shell (vmsscli.guest.shell, vmsscli.guest.commands), the PowerShell subset
(vmsscli.guest.powershell) and the run-command runner with canned outputs
(vmsscli.guest.runner).

Every test builds the demo fleet in memory (vmsscli.demo.demo_state): rg-web/web-vmss is Linux
(Ubuntu 22.04, Standard_D2s_v5, computer name prefix `webvm`) with the application health
extension on port 80 path /healthz; instance 5 is unhealthy with a failed 'configure-web'
extension; rg-batch/batch-vmss has a load balancer probe and instance 3 stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic_core import ValidationError

from vmsscli.demo import demo_state
from vmsscli.domain.health import app_health
from vmsscli.guest.facts import GuestChanges, guest_view
from vmsscli.guest.runner import execute, split_parameters
from vmsscli.guest.shell import Shell, tokenize
from vmsscli.model import (
    CannedOutput,
    Fault,
    Guest,
    ImageReference,
    Instance,
    Mount,
    ResourceGroup,
    ScaleSet,
    Service,
    State,
    VmModel,
)
from vmsscli.schema import dump, validate

NOW = datetime(2026, 11, 23, 10, 0, 0, tzinfo=UTC)
# The demo fleet was created (and so booted) at 2026-11-02 08:14:05.12.
BOOTED = datetime(2026, 11, 2, 8, 14, 5, 120000, tzinfo=UTC)


@pytest.fixture
def state() -> State:
    return demo_state()


def scale_set(state: State, rg: str = "rg-web", name: str = "web-vmss") -> ScaleSet:
    return state.resource_groups[rg].scale_sets[name]


def instance(state: State, instance_id: int = 0, rg: str = "rg-web", name: str = "web-vmss"):
    found = scale_set(state, rg, name).instance(instance_id)
    assert found is not None
    return found


def run(
    state: State,
    script: str,
    instance_id: int = 0,
    *,
    params: tuple[str, ...] = (),
    command_id: str = "RunShellScript",
    rg: str = "rg-web",
    name: str = "web-vmss",
):
    """One run-command invocation through the runner: canned outputs, then the interpreter."""
    target = scale_set(state, rg, name)
    inst = instance(state, instance_id, rg, name)
    return execute(target, name, inst, NOW, command_id, script, list(params))


def sh(state: State, script: str, instance_id: int = 0, params: tuple[str, ...] = ()):
    """The bash-like interpreter alone, on a fresh view of one web instance."""
    target = scale_set(state)
    inst = instance(state, instance_id)
    view = guest_view(target, "web-vmss", inst, NOW)
    return Shell(view, GuestChanges(target, inst), list(params)).run(script)


def out(state: State, script: str, instance_id: int = 0, **kwargs) -> str:
    result = run(state, script, instance_id, **kwargs)
    assert result.stderr == "", result.stderr
    assert result.exit_code == 0
    return result.stdout


def windows_state() -> State:
    """A small Windows scale set, for the PowerShell interpreter."""
    windows = ScaleSet(
        vm_sku="Standard_D2s_v5",
        model=VmModel(
            os_type="Windows",
            computer_name_prefix="winvm",
            image=ImageReference(
                publisher="MicrosoftWindowsServer",
                offer="WindowsServer",
                sku="2022-datacenter-g2",
                exact_version="20348.2849.241106",
            ),
            guest=Guest(files={"C:/app/settings.txt": "mode=production\n"}),
        ),
        instances=[Instance(id=0), Instance(id=1)],
    )
    return State(
        resource_groups={"rg-win": ResourceGroup(scale_sets={"win-vmss": windows})},
    )


def ps(state: State, script: str, instance_id: int = 0, params: tuple[str, ...] = ()):
    return run(
        state,
        script,
        instance_id,
        params=params,
        command_id="RunPowerShellScript",
        rg="rg-win",
        name="win-vmss",
    )


# --- parsing -----------------------------------------------------------------------------------


def test_tokenize_splits_words_and_operators_without_spaces():
    tokens = tokenize("a|b&&c||d;e>f")
    assert [(t.text, t.op) for t in tokens] == [
        ("a", False),
        ("|", True),
        ("b", False),
        ("&&", True),
        ("c", False),
        ("||", True),
        ("d", False),
        (";", True),
        ("e", False),
        (">", True),
        ("f", False),
    ]


def test_tokenize_keeps_quoted_operators_and_substitutions_inside_one_word():
    tokens = tokenize("echo 'a|b' \"c;d\" $(x && y) `p | q`")
    assert [t.text for t in tokens] == ["echo", "'a|b'", '"c;d"', "$(x && y)", "`p | q`"]
    assert not any(t.op for t in tokens)


def test_double_quotes_keep_spaces_and_single_quotes_keep_dollars_literal(state):
    assert out(state, 'X=1; echo "a  b" \'c $X\' "d $X"') == "a  b c $X d 1\n"


def test_backslash_escapes_a_space_a_dollar_and_a_quote(state):
    assert out(state, r'echo a\ b \$HOME "x\"y" "\$USER"') == 'a b $HOME x"y $USER\n'


def test_single_quotes_keep_backslashes(state):
    assert out(state, r"echo 'a\b'") == "a\\b\n"


def test_adjacent_quoted_and_unquoted_parts_form_one_word(state):
    assert out(state, 'echo "it\'s" a\'b\'"c"d') == "it's abcd\n"


def test_comments_are_ignored_but_a_hash_inside_a_word_is_literal(state):
    script = "# a comment line\necho after # trailing comment\necho a#b '#c'"
    assert out(state, script) == "after\na#b #c\n"


def test_a_backslash_newline_continues_the_line(state):
    assert out(state, "echo one \\\ntwo") == "one two\n"


def test_operators_inside_quotes_are_plain_text(state):
    assert out(state, "echo \"a;b\" 'c|d' \"e && f\" 'g > h'") == "a;b c|d e && f g > h\n"
    assert instance(state).guest.files == {}


def test_variables_expand_plain_and_in_braces_and_unset_ones_are_empty(state):
    assert out(state, 'X=5; echo $X ${X}x "$X" [$UNSET] ${UNSET}end') == "5 5x 5 [] end\n"


def test_a_quoted_assignment_keeps_its_spaces(state):
    assert out(state, 'X="a b"; echo "[$X]"') == "[a b]\n"


def test_export_sets_a_variable(state):
    assert out(state, "export GREETING=hi; echo $GREETING") == "hi\n"


def test_the_guest_environment_is_visible_as_variables(state):
    assert out(state, "echo $HOME $USER $HOSTNAME $SHELL") == "/root root webvm000000 /bin/bash\n"


def test_command_substitution_with_dollar_parens_and_backticks(state):
    assert out(state, "echo $(hostname) `whoami`") == "webvm000000 root\n"


def test_command_substitution_nests_and_trims_trailing_newlines(state):
    assert out(state, 'echo "[$(echo a; echo b)]" $(echo $(hostname))') == "[a\nb] webvm000000\n"


def test_command_substitution_inside_double_quotes_but_not_single_quotes(state):
    assert out(state, "echo \"$(whoami)\" '$(whoami)' '`whoami`'") == "root $(whoami) `whoami`\n"


def test_nested_backticks_with_escaped_inner_backticks_run_the_inner_command(state):
    # bash removes the backslashes before running the outer command: the result is `root`.
    assert out(state, r"echo `echo \`whoami\``") == "root\n"


def test_a_substitution_sees_and_sets_the_scripts_variables(state):
    assert out(state, "X=outer; echo $(echo $X)") == "outer\n"


# --- lists, pipes, exit codes ------------------------------------------------------------------


def test_a_pipe_feeds_stdout_to_the_next_command(state):
    assert out(state, "cat /etc/os-release | grep ID | head -n 1") == 'VERSION_ID="22.04"\n'


def test_the_exit_code_of_a_pipeline_is_that_of_its_last_command(state):
    assert out(state, "echo a | grep b; echo $?") == "1\n"
    result = run(state, "nosuch | echo after; echo $?")
    assert result.stdout == "after\n0\n"
    assert result.stderr == "bash: nosuch: command not found\n"


def test_and_runs_only_after_success_and_or_only_after_failure(state):
    assert out(state, "true && echo yes; false && echo no; true || echo no; false || echo yes") == (
        "yes\nyes\n"
    )
    assert out(state, "false && echo no || echo fallback") == "fallback\n"


def test_semicolons_and_newlines_run_every_command_regardless_of_status(state):
    result = run(state, "false; echo one\nfalse\necho two")
    assert (result.stdout, result.exit_code) == ("one\ntwo\n", 0)


def test_status_variable_holds_the_previous_exit_code(state):
    assert out(state, "false; echo $?; true; echo $?; nosuch 2>/dev/null; echo $?") == (
        "1\n0\n127\n"
    )


def test_the_script_exit_code_is_that_of_its_last_command(state):
    result = run(state, "echo ok; cat /nope")
    assert result.stdout == "ok\n"
    assert result.stderr == "cat: /nope: No such file or directory\n"
    assert result.exit_code == 1


def test_exit_stops_the_script_with_its_code(state):
    result = run(state, "echo before; exit 4; echo after")
    assert (result.stdout, result.exit_code) == ("before\n", 4)


def test_exit_without_a_code_uses_the_last_status(state):
    assert run(state, "false; exit").exit_code == 1
    assert run(state, "true; exit").exit_code == 0


def test_exit_inside_an_and_or_list(state):
    result = run(state, "echo a && exit 3 || echo b")
    assert (result.stdout, result.exit_code) == ("a\n", 3)
    assert run(state, "true || exit 5; echo ok").stdout == "ok\n"


def test_an_unknown_command_is_not_found_with_exit_127(state):
    result = run(state, "nginx -t")
    assert (result.stdout, result.stderr, result.exit_code) == (
        "",
        "bash: nginx: command not found\n",
        127,
    )


def test_an_interpreter_on_the_host_is_just_an_unknown_command(state):
    result = run(state, "echo hi; python3 -c 'import os; os.system(\"id\")'")
    assert result.stdout == "hi\n"
    assert result.stderr == "bash: python3: command not found\n"
    assert result.exit_code == 127


def test_a_leading_and_operator_is_a_syntax_error(state):
    result = run(state, "&& echo x")
    assert result.stdout == ""
    assert result.stderr == "bash: line 1: syntax error near unexpected token `&&'\n"
    assert result.exit_code == 2


def test_sudo_and_timeout_run_the_wrapped_command(state):
    assert out(state, "sudo whoami; timeout 5 hostname") == "root\nwebvm000000\n"


# --- parameters --------------------------------------------------------------------------------


def test_parameters_are_positional_and_counted(state):
    assert out(state, 'echo $# "$@" [$1] [$2] [$3]', params=("hello", "world")) == (
        "2 hello world [hello] [world] []\n"
    )


def test_named_parameters_are_variables_and_positional_ones_are_arg1_arg2(state):
    text = out(state, "echo $1 $2 $3 $arg1 $arg2 $name", params=("x", "name=y", "z"))
    assert text == "x y z x z y\n"


def test_split_parameters_names_only_bare_values_arg1_arg2():
    assert split_parameters(["a", "name=b", "c"]) == (
        ["a", "b", "c"],
        {"arg1": "a", "name": "b", "arg2": "c"},
    )


def test_a_parameter_that_is_not_a_name_assignment_stays_positional():
    positional, named = split_parameters(["x=1=2", "--flag=on", "a b"])
    assert positional == ["1=2", "--flag=on", "a b"]
    assert named == {"x": "1=2", "arg1": "--flag=on", "arg2": "a b"}


def test_dollar_zero_is_bash(state):
    assert out(state, "echo $0") == "bash\n"


# --- simple tools against the guest facts -----------------------------------------------------


def test_echo_with_n_leaves_out_the_newline(state):
    assert out(state, "echo -n a; echo b") == "ab\n"


def test_hostname_is_the_computer_name_in_base_36(state):
    assert out(state, "hostname") == "webvm000000\n"
    assert out(state, "hostname", 10) == "webvm00000A\n"
    assert out(state, "hostname", 1, rg="rg-batch", name="batch-vmss") == "batchvm000001\n"


def test_hostname_i_is_the_private_ip(state):
    assert out(state, "hostname -I") == "10.0.0.4 \n"
    assert out(state, "hostname -I", 13) == "10.0.0.17 \n"


def test_whoami_is_root(state):
    assert out(state, "whoami") == "root\n"


def test_date_is_the_simulated_now(state):
    assert out(state, "date") == "Mon Nov 23 10:00:00 UTC 2026\n"
    assert out(state, "date +%Y-%m-%dT%H:%M") == "2026-11-23T10:00\n"


def test_uptime_counts_from_the_last_boot(state):
    assert out(state, "uptime") == (
        " 10:00:00 up 21 days, 1:45,  0 users,  load average: 0.08, 0.05, 0.01\n"
    )
    instance(state, 1).booted = NOW - timedelta(minutes=7)
    assert " up 7 min," in out(state, "uptime", 1)


def test_df_shows_the_os_disk_and_the_temporary_disk(state):
    assert out(state, "df -h") == (
        "Filesystem       Size  Used Avail Use% Mounted on\n"
        "/dev/sda1         30G  6.2G   24G  21% /\n"
        "/dev/sdb1         16G  102M   16G   1% /mnt\n"
    )


def test_df_of_a_path_shows_only_the_file_system_holding_it(state):
    lines = out(state, "df -h /mnt").splitlines()
    assert lines[1:] == ["/dev/sdb1         16G  102M   16G   1% /mnt"]
    lines = out(state, "df -h /var/log").splitlines()
    assert [line.split()[-1] for line in lines[1:]] == ["/"]


def test_df_follows_the_os_disk_size_and_mounts_given_by_the_scenario(state):
    scale_set(state).model.os_disk_size_gb = 64
    instance(state).guest.mounts["/data"] = Mount(size_gb=100, used_gb=91, device="/dev/sdc1")
    lines = out(state, "df -h").splitlines()
    assert "/dev/sda1         64G  6.2G   58G  10% /" in lines
    assert "/dev/sdc1        100G   91G  9.0G  91% /data" in lines


def test_free_shows_memory_from_the_vm_size(state):
    lines = out(state, "free -m").splitlines()
    assert lines[0].split() == ["total", "used", "free", "shared", "buff/cache", "available"]
    assert lines[1].split()[:3] == ["Mem:", "8192", "2539"]
    tools = out(state, "free -m", 0, rg="rg-batch", name="tools-vmss").splitlines()
    assert tools[1].split()[1] == "4096"  # Standard_B2s


def test_free_follows_memory_given_by_the_scenario(state):
    instance(state).guest.memory_mb = 16384
    instance(state).guest.memory_used_mb = 15000
    assert out(state, "free -m").splitlines()[1].split()[:3] == ["Mem:", "16384", "15000"]


def test_cat_reads_the_guests_files(state):
    assert out(state, "cat /etc/hostname") == "webvm000000\n"
    assert out(state, "cat /etc/os-release") == 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n'


def test_cat_of_a_missing_file_fails(state):
    result = run(state, "cat /etc/nope")
    assert (result.stderr, result.exit_code) == ("cat: /etc/nope: No such file or directory\n", 1)


def test_ls_lists_a_directory_and_fails_for_a_missing_one(state):
    assert out(state, "ls /etc") == "hostname\nos-release\n"
    long = out(state, "ls -l /etc").splitlines()
    assert long[0].startswith("-rw-r--r-- 1 root root") and long[0].endswith(" hostname")
    result = run(state, "ls /nope")
    assert result.stderr == "ls: cannot access '/nope': No such file or directory\n"
    assert result.exit_code == 2


def test_head_and_tail_take_line_counts(state):
    assert out(state, "head -n 1 /etc/os-release") == 'NAME="Ubuntu"\n'
    assert out(state, "tail -1 /etc/os-release") == "ID=ubuntu\n"
    assert out(state, "cat /etc/os-release | tail -n 2") == 'VERSION_ID="22.04"\nID=ubuntu\n'


def test_grep_options_and_exit_codes(state):
    assert out(state, "grep ID /etc/os-release") == 'VERSION_ID="22.04"\nID=ubuntu\n'
    assert out(state, "grep -c ID /etc/os-release") == "2\n"
    assert out(state, "grep -i ubuntu /etc/os-release") == 'NAME="Ubuntu"\nID=ubuntu\n'
    assert out(state, "grep -v ID /etc/os-release") == 'NAME="Ubuntu"\n'
    assert out(state, "grep -n ^ID /etc/os-release") == "3:ID=ubuntu\n"
    assert run(state, "grep nothing /etc/os-release").exit_code == 1
    missing = run(state, "grep x /nope")
    assert (missing.stderr, missing.exit_code) == ("grep: /nope: No such file or directory\n", 2)


def test_ps_shows_the_running_services(state):
    text = out(state, "ps aux")
    assert text.startswith("USER         PID %CPU %MEM")
    assert "/usr/sbin/sshd" in text and "waagent -daemon" in text
    assert "/usr/bin/app --port 80" in text


def test_ss_and_netstat_show_the_listening_ports(state):
    listening = out(state, "ss -ltn")
    assert "0.0.0.0:22 " in listening and "0.0.0.0:80 " in listening
    assert "0.0.0.0:22 " in out(state, "netstat -tlnp")
    assert "0.0.0.0:80 " in out(state, "netstat -tlnp")


def test_systemctl_status_shows_the_service_and_its_journal(state):
    text = out(state, "systemctl status app")
    assert text.startswith("● app.service - Application\n")
    assert "Active: active (running) since Mon 2026-11-02 08:14:05 UTC" in text
    assert "app[812]: GET /healthz 200 1ms" in text


def test_systemctl_is_active(state):
    assert out(state, "systemctl is-active ssh app.service") == "active\nactive\n"


def test_systemctl_on_an_unknown_unit(state):
    status = run(state, "systemctl status nope")
    assert (status.stderr, status.exit_code) == ("Unit nope.service could not be found.\n", 4)
    restart = run(state, "systemctl restart nope")
    assert restart.stderr == "Failed to restart nope.service: Unit nope.service not found.\n"
    assert restart.exit_code == 5
    active = run(state, "systemctl is-active nope")
    assert (active.stdout, active.exit_code) == ("inactive\n", 3)


def test_journalctl_shows_a_services_recent_lines(state):
    text = out(state, "journalctl -u app")
    lines = text.splitlines()
    assert lines[0] == "Nov 02 08:14:19 webvm000000 systemd[1]: Started app.service - Application."
    assert lines[-1] == "Nov 23 09:59:00 webvm000000 app[812]: GET /healthz 200 1ms"
    assert out(state, "journalctl -u app -n 2").splitlines() == lines[-2:]
    assert out(state, "journalctl -u app.service --lines=1").splitlines() == lines[-1:]
    assert out(state, "journalctl -u nope") == "-- No entries --\n"


def test_the_journal_of_an_unhealthy_app_shows_failing_health_checks(state):
    assert "GET /healthz 503" in out(state, "journalctl -u app -n 1", 5)


def test_service_logs_given_by_the_scenario_replace_the_journal(state):
    instance(state).guest.services["app"] = Service(logs=["line one", "line two"])
    assert out(state, "journalctl -u app -n 5") == "line one\nline two\n"
    # The service keeps what the scenario did not override.
    assert "0.0.0.0:80 " in out(state, "ss -ltn")


def _stamps(text: str) -> list[datetime]:
    return [
        datetime.strptime(f"2026 {line[:15]}", "%Y %b %d %H:%M:%S").replace(tzinfo=UTC)
        for line in text.splitlines()
    ]


def test_the_whole_journal_is_one_stream_in_time_order(state):
    # Every unit's lines, and a stale process's lines (written an hour before "now"), merge.
    instance(state, 1).faults = [Fault(kind="stale-process")]
    text = out(state, "journalctl --no-pager", 1)
    assert _stamps(text) == sorted(_stamps(text))
    units = [line.split()[4].split("[")[0] for line in text.splitlines()[:4]]
    assert units == ["systemd", "python3", "systemd", "app"]  # ssh 9 s, agent 11 s, app 14 s
    assert text.splitlines()[-2:] == [
        "Nov 23 09:13:00 webvm000001 app[812]: worker 3 stopped responding (heartbeat missed)",
        "Nov 23 09:59:00 webvm000001 app[812]: request queue full (1024 pending); "
        "health check timed out",
    ]


def test_a_hung_application_logs_no_health_checks_after_it_hung(state):
    instance(state, 1).faults = [Fault(kind="stale-process")]
    assert "GET /healthz" not in out(state, "journalctl -u app --since 09:13", 1)


def test_lines_given_out_of_order_and_twice_are_read_in_order_once(state):
    instance(state).guest.services["app"] = Service(
        logs=[
            "Nov 23 09:40:00 webvm000000 app[812]: third",
            "Nov 23 09:20:00 webvm000000 app[812]: first",
            "  continuation of first",
            "Nov 23 09:30:00 webvm000000 app[812]: second",
            "Nov 23 09:20:00 webvm000000 app[812]: first",
        ]
    )
    assert out(state, "journalctl -u app") == (
        "Nov 23 09:20:00 webvm000000 app[812]: first\n"
        "  continuation of first\n"
        "Nov 23 09:30:00 webvm000000 app[812]: second\n"
        "Nov 23 09:40:00 webvm000000 app[812]: third\n"
    )
    assert out(state, "journalctl -u app -n 1") == "Nov 23 09:40:00 webvm000000 app[812]: third\n"
    assert out(state, "journalctl -u app -r -n 2").splitlines()[0].endswith("third")


def test_a_december_line_read_in_january_is_last_years():
    from vmsscli.guest.journal import line_time

    january = datetime(2027, 1, 1, 0, 5, tzinfo=UTC)
    assert line_time("Dec 31 23:59:00 host app[1]: x", january) == datetime(
        2026, 12, 31, 23, 59, tzinfo=UTC
    )
    assert line_time("Jan 01 00:04:00 host app[1]: x", january).year == 2027
    assert line_time("not a stamp", january) is None
    assert line_time("Feb 30 10:00:00 host app[1]: x", january) is None


def test_units_merge_and_the_count_applies_to_the_merged_stream(state):
    both = out(state, "journalctl -u ssh -u app").splitlines()
    assert both[0].endswith("Started ssh.service - OpenBSD Secure Shell server.")
    assert both[1].endswith("Started app.service - Application.")
    assert out(state, "journalctl -u ssh -u app -n 3").splitlines() == both[-3:]
    # Short options cluster as in `journalctl -xeu app.service`.
    assert (
        out(state, "journalctl -xeu app.service").splitlines()
        == out(state, "journalctl -u app").splitlines()
    )
    assert out(state, "journalctl --unit=app -n2").splitlines() == both[-2:]


@pytest.mark.parametrize(
    ("since", "first"),
    [
        ("2026-11-23 09:52:00", "Nov 23 09:55:00"),
        ("09:52", "Nov 23 09:55:00"),
        ("-6min", "Nov 23 09:55:00"),
        ("6 min ago", "Nov 23 09:55:00"),
        ("today", "Nov 23 09:50:00"),
        ("@1795427400", "Nov 23 09:50:00"),  # 2026-11-23 09:50:00 UTC
    ],
)
def test_since_reads_journalctls_time_specifications(state, since, first):
    text = out(state, f"journalctl -u app --since '{since}'")
    assert text.splitlines()[0].startswith(first)


def test_until_and_since_bound_the_stream(state):
    text = out(state, "journalctl -u app -S 2026-11-23 -U '2026-11-23 09:56'")
    assert [line[:15] for line in text.splitlines()] == ["Nov 23 09:50:00", "Nov 23 09:55:00"]
    assert out(state, "journalctl -u app --since now") == "-- No entries --\n"


def test_cat_output_leaves_only_the_messages(state):
    assert out(state, "journalctl -u app -n 1 -o cat") == "GET /healthz 200 1ms\n"


def test_journalctl_errors_are_the_real_tools(state):
    bad = run(state, "journalctl --since 'next blue moon'")
    assert (bad.stderr, bad.exit_code) == ("Failed to parse timestamp: next blue moon\n", 1)
    unknown = run(state, "journalctl --frobnicate")
    assert (unknown.stderr, unknown.exit_code) == (
        "journalctl: unrecognized option '--frobnicate'\n",
        1,
    )
    missing = run(state, "journalctl -u")
    assert missing.exit_code == 1 and "requires an argument" in missing.stderr


def test_systemctl_status_shows_the_units_latest_lines_in_order(state):
    instance(state, 1).faults = [Fault(kind="stale-process")]
    status = run(state, "systemctl status app", 1).stdout
    tail = status.split("\n\n", 1)[1]
    assert _stamps(tail) == sorted(_stamps(tail))
    assert tail.splitlines()[-1].endswith("health check timed out")


# --- curl and the health endpoint -------------------------------------------------------------


def test_curl_to_the_health_endpoint_of_a_healthy_instance_is_200(state):
    assert out(state, "curl -s localhost/healthz") == '{"status":"healthy"}'
    assert out(state, 'curl -s -o /dev/null -w "%{http_code}" http://localhost:80/healthz') == "200"
    assert out(state, "curl -s http://10.0.0.4/healthz") == '{"status":"healthy"}'
    assert out(state, "curl -sI localhost/healthz").startswith("HTTP/1.1 200 OK\r\n")


def test_curl_to_the_health_endpoint_of_an_unhealthy_instance_is_503(state):
    assert out(state, "curl -s localhost/healthz", 5) == '{"status":"unhealthy"}'
    assert out(state, 'curl -s -o /dev/null -w "%{http_code}" localhost/healthz', 5) == "503"
    failed = run(state, "curl -sSf localhost/healthz", 5)
    assert failed.stderr == "curl: (22) The requested URL returned error: 503\n"
    assert failed.exit_code == 22


def test_curl_without_silent_prints_the_progress_meter_on_stderr(state):
    result = run(state, "curl localhost/healthz")
    assert result.stdout == '{"status":"healthy"}'
    assert result.stderr.startswith("  % Total")


def test_curl_when_the_app_hangs_times_out_with_exit_28(state):
    instance(state, 1).faults = [Fault(kind="stale-process")]
    result = run(state, "curl -sS localhost/healthz", 1)
    assert result.stdout == ""
    assert result.stderr == (
        "curl: (28) Operation timed out after 5001 milliseconds with 0 bytes received\n"
    )
    assert result.exit_code == 28


def test_curl_when_the_app_service_is_stopped_is_refused_with_exit_7(state):
    instance(state, 1).guest.services["app"] = Service(status="inactive")
    result = run(state, "curl -sS localhost/healthz", 1)
    assert result.stderr == (
        "curl: (7) Failed to connect to localhost port 80 after 0 ms: Couldn't connect to server\n"
    )
    assert result.exit_code == 7


def test_curl_to_a_port_nothing_listens_on_is_refused(state):
    assert run(state, "curl -s localhost:8080/").exit_code == 7


def test_curl_without_a_url_is_a_usage_error(state):
    assert run(state, "curl -s").exit_code == 2


def test_a_scale_set_without_the_health_extension_answers_on_slash_health(state):
    text = out(state, "curl -s localhost/health", 0, rg="rg-batch", name="batch-vmss")
    assert text == '{"status":"healthy"}'


def test_curl_and_ping_to_external_hosts_work_without_a_fault(state):
    assert out(state, "curl -s https://packages.microsoft.com/") == "<html><body>OK</body></html>"
    assert "4 received, 0% packet loss" in out(state, "ping example.com")


# --- faults -------------------------------------------------------------------------------------


def test_a_stale_process_shows_in_the_journal_ps_uptime_and_ss(state):
    instance(state, 1).faults = [Fault(kind="stale-process")]
    journal = out(state, "journalctl -u app -n 2", 1).splitlines()
    assert journal[0] == (
        "Nov 23 09:13:00 webvm000001 app[812]: worker 3 stopped responding (heartbeat missed)"
    )
    assert "request queue full (1024 pending); health check timed out" in journal[1]
    assert " 98.7 " in out(state, "ps aux | grep app", 1)
    assert "load average: 2.91, 2.40, 1.88" in out(state, "uptime", 1)
    assert "LISTEN 1024" in out(state, "ss -ltn", 1)
    assert app_health(scale_set(state), instance(state, 1)) == "unhealthy"


def test_a_full_disk_fills_the_root_file_system(state):
    instance(state, 2).faults = [Fault(kind="disk-full")]
    lines = out(state, "df -h /", 2).splitlines()
    assert lines[1].split()[-2:] == ["100%", "/"]
    assert lines[1].split()[3] in ("0M", "0", "0G")
    # ... and the application reports unhealthy.
    assert out(state, "curl -s localhost/healthz", 2) == '{"status":"unhealthy"}'


def test_a_blocked_host_times_out_for_curl_and_loses_every_ping(state):
    instance(state, 4).faults = [Fault(kind="network-blocked", host="packages.microsoft.com")]
    result = run(state, "curl -sS https://packages.microsoft.com/repo", 4)
    assert result.stderr == (
        "curl: (28) Failed to connect to packages.microsoft.com port 443 after 130001 ms: "
        "Connection timed out\n"
    )
    assert result.exit_code == 28
    ping = run(state, "ping -c 2 packages.microsoft.com", 4)
    assert "2 packets transmitted, 0 received, 100% packet loss" in ping.stdout
    assert ping.exit_code == 1


def test_a_blocked_host_blocks_its_subdomains_but_not_other_hosts(state):
    instance(state, 4).faults = [Fault(kind="network-blocked", host="contoso.com")]
    assert run(state, "curl -s https://api.contoso.com/", 4).exit_code == 28
    assert run(state, "curl -s https://notcontoso.com/", 4).exit_code == 0
    assert out(state, "curl -s https://example.com/", 4) == "<html><body>OK</body></html>"
    assert run(state, "ping -c 1 example.com", 4).exit_code == 0
    # Its own health endpoint is not behind the block.
    assert out(state, "curl -s localhost/healthz", 4) == '{"status":"healthy"}'


def test_a_blocked_host_fault_message_is_curls_error_text(state):
    instance(state, 4).faults = [
        Fault(kind="network-blocked", host="contoso.com", message="Could not resolve host")
    ]
    result = run(state, "curl -sS https://contoso.com/", 4)
    assert (result.stderr, result.exit_code) == ("curl: (28) Could not resolve host\n", 28)


def test_a_network_block_without_a_host_blocks_every_external_host(state):
    instance(state, 4).faults = [Fault(kind="network-blocked")]
    assert run(state, "curl -s https://example.com/", 4).exit_code == 28
    assert run(state, "ping -c 1 bing.com", 4).exit_code == 1
    assert run(state, "ping -c 1 localhost", 4).exit_code == 0


def test_a_blocked_host_does_not_affect_other_instances(state):
    instance(state, 4).faults = [Fault(kind="network-blocked", host="contoso.com")]
    assert run(state, "curl -s https://contoso.com/", 6).exit_code == 0


def test_a_vm_agent_that_is_not_ready_shows_a_failed_walinuxagent(state):
    instance(state, 7).vm_agent = "not_ready"
    result = run(state, "systemctl is-active walinuxagent", 7)
    assert (result.stdout, result.exit_code) == ("failed\n", 3)
    assert out(state, "journalctl -u walinuxagent -n 1", 7) == (
        "Nov 23 10:00:00 webvm000007 systemd[1]: walinuxagent.service: "
        "Failed with result 'exit-code'.\n"
    )
    assert "waagent -daemon" not in out(state, "ps aux", 7)
    assert out(state, "systemctl is-active walinuxagent", 6) == "active\n"


# --- guest facts in layers ---------------------------------------------------------------------


def test_the_image_guest_applies_to_every_instance_and_the_instance_guest_wins(state):
    scale_set(state).model.guest = Guest(
        hostname="from-image", env={"STAGE": "image"}, files={"/etc/motd": "image motd\n"}
    )
    instance(state, 1).guest = Guest(hostname="from-instance", env={"STAGE": "instance"})
    assert out(state, "hostname; echo $STAGE; cat /etc/motd", 0) == (
        "from-image\nimage\nimage motd\n"
    )
    assert out(state, "hostname; echo $STAGE; cat /etc/motd", 1) == (
        "from-instance\ninstance\nimage motd\n"
    )


def test_service_overrides_merge_field_by_field(state):
    scale_set(state).model.guest.services["app"] = Service(description="Shop API")
    text = out(state, "systemctl status app")
    assert text.startswith("● app.service - Shop API\n")
    assert "0.0.0.0:80 " in out(state, "ss -ltn")


def test_the_scenario_can_add_services(state):
    scale_set(state).model.guest.services["nginx"] = Service(
        description="A high performance web server", ports=[443], logs=["nginx started"]
    )
    assert out(state, "systemctl is-active nginx") == "active\n"
    assert "0.0.0.0:443 " in out(state, "ss -ltn")
    assert out(state, "journalctl -u nginx") == "nginx started\n"


def test_a_renamed_app_service_answers_for_health(state):
    scale_set(state).model.guest.app_service = "shop"
    assert out(state, "systemctl is-active shop") == "active\n"
    assert out(state, "curl -s localhost/healthz") == '{"status":"healthy"}'
    run(state, "systemctl stop shop")
    assert app_health(scale_set(state), instance(state)) == "unhealthy"


def test_guest_view_derives_defaults_from_the_instance(state):
    view = guest_view(scale_set(state), "web-vmss", instance(state, 10), NOW)
    assert view.hostname == "webvm00000A"
    assert (view.os_name, view.os_version, view.os_type) == ("ubuntu", "22.04", "Linux")
    assert view.booted == BOOTED
    assert view.memory_mb == 8192
    assert view.private_ip == "10.0.0.14"
    assert (view.health_port, view.health_path) == (80, "/healthz")
    assert set(view.services) == {"ssh", "walinuxagent", "app"}
    assert view.services["ssh"].ports == [22]
    assert set(view.mounts) == {"/", "/mnt"}
    assert view.app_healthy and not view.app_hung


def test_guest_view_of_an_unhealthy_instance(state):
    view = guest_view(scale_set(state), "web-vmss", instance(state, 5), NOW)
    assert not view.app_healthy


def test_reading_the_guest_changes_nothing(state):
    before = dump(state)
    run(state, "hostname; df -h; free -m; ps aux; ss -ltn; journalctl -u app; cat /etc/hostname")
    run(state, "systemctl status app; curl -s localhost/healthz; ls -l /etc; grep ID /etc/*")
    assert dump(state) == before


# --- changes to the guest ----------------------------------------------------------------------


def test_stopping_the_app_service_is_recorded_on_the_instance_and_makes_it_unhealthy(state):
    result = run(state, "systemctl stop app; systemctl is-active app; curl -s localhost/healthz", 1)
    assert result.stdout == "inactive\n"
    assert result.exit_code == 7
    assert instance(state, 1).guest.services["app"].status == "inactive"
    assert scale_set(state).model.guest.services == {}
    assert app_health(scale_set(state), instance(state, 1)) == "unhealthy"
    # A later invocation sees the stopped service.
    assert run(state, "curl -s localhost/healthz", 1).exit_code == 7
    assert "/usr/bin/app" not in out(state, "ps aux", 1)
    assert "0.0.0.0:80 " not in out(state, "ss -ltn", 1)
    # Other instances are untouched.
    assert instance(state, 2).guest == Guest()


def test_starting_a_stopped_app_service_makes_it_healthy_again(state):
    run(state, "systemctl stop app", 1)
    run(state, "systemctl start app", 1)
    assert instance(state, 1).guest.services["app"].status == "active"
    assert app_health(scale_set(state), instance(state, 1)) == "healthy"
    assert out(state, "curl -s localhost/healthz", 1) == '{"status":"healthy"}'


def test_restarting_a_hung_app_clears_the_stale_process(state):
    inst = instance(state, 1)
    inst.faults = [Fault(kind="stale-process"), Fault(kind="network-blocked", host="x.com")]
    inst.health = "unhealthy"
    run(state, "systemctl restart app", 1)
    assert [f.kind for f in inst.faults] == ["network-blocked"]
    assert inst.health == "healthy"
    assert app_health(scale_set(state), inst) == "healthy"
    assert out(state, "curl -s localhost/healthz", 1) == '{"status":"healthy"}'


def test_after_restarting_a_hung_app_the_same_script_sees_it_healthy(state):
    instance(state, 1).faults = [Fault(kind="stale-process")]
    text = out(state, "systemctl restart app; curl -s localhost/healthz", 1)
    assert text == '{"status":"healthy"}'


def test_restarting_the_app_does_not_repair_a_full_disk(state):
    inst = instance(state, 2)
    inst.faults = [Fault(kind="disk-full")]
    run(state, "systemctl restart app", 2)
    assert [f.kind for f in inst.faults] == ["disk-full"]
    assert app_health(scale_set(state), inst) == "unhealthy"


def test_restarting_the_app_does_not_repair_a_failed_extension(state):
    run(state, "systemctl restart app", 5)
    assert app_health(scale_set(state), instance(state, 5)) == "unhealthy"


def test_writing_a_file_with_redirection_goes_to_the_instance_guest(state):
    result = run(state, "echo hello > /tmp/note.txt; echo more >> /tmp/note.txt; cat /tmp/note.txt")
    assert result.stdout == "hello\nmore\n"
    assert instance(state).guest.files["/tmp/note.txt"] == "hello\nmore\n"
    assert out(state, "cat /tmp/note.txt; ls /tmp") == "hello\nmore\nnote.txt\n"
    assert run(state, "cat /tmp/note.txt", 1).exit_code == 1
    assert scale_set(state).model.guest.files == {}


def test_a_relative_path_is_under_the_run_command_directory(state):
    run(state, "echo x > out.txt")
    assert instance(state).guest.files == {"/var/lib/waagent/run-command/download/0/out.txt": "x\n"}


def test_stderr_redirections(state):
    result = run(state, "cat /nope 2> /tmp/err; cat /tmp/err")
    assert result.stdout == "cat: /nope: No such file or directory\n"
    assert result.stderr == ""
    merged = run(state, "cat /nope 2>&1 | grep -c 'No such'")
    assert (merged.stdout, merged.stderr) == ("1\n", "")
    both = run(state, "cat /nope &> /tmp/all; cat /tmp/all")
    assert both.stdout == "cat: /nope: No such file or directory\n"


def test_stdout_redirected_to_stderr(state):
    result = run(state, "echo oops >&2; echo fine")
    assert (result.stdout, result.stderr, result.exit_code) == ("fine\n", "oops\n", 0)
    assert instance(state).guest.files == {}


def test_an_explicit_stdout_redirection(state):
    assert out(state, "echo a 1> /tmp/x; cat /tmp/x") == "a\n"
    assert instance(state).guest.files == {"/tmp/x": "a\n"}


def test_output_to_dev_null_is_discarded_and_not_written(state):
    assert out(state, "echo gone > /dev/null; nosuch 2>/dev/null; echo kept") == "kept\n"
    assert instance(state).guest.files == {}


def test_input_redirection_reads_a_guest_file(state):
    assert out(state, "grep -c ID < /etc/os-release") == "2\n"
    missing = run(state, "cat < /nope")
    assert (missing.stderr, missing.exit_code) == ("bash: /nope: No such file or directory\n", 1)


def test_rm_removes_a_file_for_later_invocations(state):
    result = run(state, "rm /etc/hostname; cat /etc/hostname")
    assert result.exit_code == 1
    assert instance(state).guest.removed_files == ["/etc/hostname"]
    assert run(state, "cat /etc/hostname").exit_code == 1
    assert out(state, "cat /etc/hostname", 1) == "webvm000001\n"


def test_rm_of_a_missing_file_fails_unless_forced(state):
    missing = run(state, "rm /nope")
    assert missing.stderr == "rm: cannot remove '/nope': No such file or directory\n"
    assert missing.exit_code == 1
    assert run(state, "rm -f /nope").exit_code == 0


def test_writing_a_removed_file_brings_it_back(state):
    run(state, "rm /etc/hostname")
    run(state, "echo renamed > /etc/hostname")
    assert instance(state).guest.removed_files == []
    assert out(state, "cat /etc/hostname") == "renamed\n"


def test_rm_rf_removes_a_directory_of_guest_files(state):
    result = run(state, "rm -rf /etc; ls /etc; ls /")
    assert result.stderr == "ls: cannot access '/etc': No such file or directory\n"
    assert (result.stdout, result.exit_code) == ("var\n", 0)
    assert sorted(instance(state).guest.removed_files) == ["/etc/hostname", "/etc/os-release"]


def test_touch_creates_an_empty_file(state):
    run(state, "touch /tmp/marker")
    assert instance(state).guest.files["/tmp/marker"] == ""
    assert out(state, "test -f /tmp/marker && echo yes") == "yes\n"


def test_shell_changes_go_through_guest_changes_and_the_view(state):
    target, inst = scale_set(state), instance(state, 6)
    view = guest_view(target, "web-vmss", inst, NOW)
    shell = Shell(view, GuestChanges(target, inst), [])
    shell.run("echo a > /srv/a; systemctl stop ssh")
    assert view.files["/srv/a"] == "a\n"
    assert view.services["ssh"].status == "inactive"
    assert inst.guest.files == {"/srv/a": "a\n"}
    assert inst.guest.services["ssh"].status == "inactive"


# --- PowerShell ---------------------------------------------------------------------------------


def test_powershell_write_output_and_hostname():
    state = windows_state()
    result = ps(state, "Write-Output hello world; hostname")
    assert (result.stdout, result.stderr, result.exit_code) == (
        "hello world\nwinvm000000\n",
        "",
        0,
    )


def test_powershell_get_service_lists_services_and_their_status():
    state = windows_state()
    instance(state, 0, "rg-win", "win-vmss").guest.services["app"] = Service(status="inactive")
    result = ps(state, "Get-Service")
    lines = result.stdout.splitlines()
    assert "Status   Name               DisplayName" in lines
    assert any(line.startswith("Stopped  app ") for line in lines)
    assert any(line.startswith("Running  WinRM ") for line in lines)
    assert result.exit_code == 0


def test_powershell_get_service_of_a_missing_service_fails():
    result = ps(windows_state(), "Get-Service nope")
    assert result.stderr == "Get-Service : Cannot find any service with service name 'nope'.\n"
    assert result.exit_code == 1


def test_powershell_get_service_of_only_a_missing_service_prints_no_table():
    # PowerShell prints a table only for the objects it found: here, none.
    assert ps(windows_state(), "Get-Service nope").stdout == ""


def test_powershell_get_process_lists_running_services():
    text = ps(windows_state(), "Get-Process").stdout
    assert "ProcessName" in text and text.rstrip().endswith("app")


def test_powershell_get_content_reads_a_guest_file():
    state = windows_state()
    assert ps(state, 'Get-Content "C:\\app\\settings.txt"').stdout == "mode=production\n"
    assert ps(state, "Get-Content C:/app/settings.txt").stdout == "mode=production\n"


def test_powershell_get_content_takes_an_unquoted_windows_path():
    result = ps(windows_state(), "Get-Content C:\\app\\settings.txt")
    assert (result.stdout, result.exit_code) == ("mode=production\n", 0)


def test_powershell_get_content_of_a_missing_file_names_the_path():
    result = ps(windows_state(), "Get-Content 'C:\\nope.txt'")
    assert (
        result.stderr
        == "Get-Content : Cannot find path 'C:\\nope.txt' because it does not exist.\n"
    )
    assert result.exit_code == 1


def test_powershell_test_netconnection_follows_network_faults():
    state = windows_state()
    instance(state, 1, "rg-win", "win-vmss").faults = [
        Fault(kind="network-blocked", host="contoso.com")
    ]
    assert "TcpTestSucceeded : True" in ps(state, "Test-NetConnection contoso.com -Port 443").stdout
    blocked = ps(state, "Test-NetConnection contoso.com -Port 443", 1).stdout
    assert "ComputerName     : contoso.com" in blocked
    assert "TcpTestSucceeded : False" in blocked


def test_powershell_unknown_cmdlet_is_not_recognized():
    result = ps(windows_state(), "Restart-Computer -Force")
    assert result.stderr == (
        "Restart-Computer : The term 'Restart-Computer' is not recognized as the name of a "
        "cmdlet, function, script file, or operable program.\n"
    )
    assert result.exit_code == 1


def test_powershell_statements_split_on_newlines_and_semicolons_and_skip_comments():
    result = ps(windows_state(), "# check\nWrite-Output a\nwrite-output b; Write-Output c")
    assert result.stdout == "a\nb\nc\n"


def test_powershell_parameters_are_variables():
    result = ps(windows_state(), "Write-Output $name $arg1", params=("first", "name=web"))
    assert result.stdout == "web first\n"


def test_powershell_does_not_run_bash_commands():
    result = ps(windows_state(), "df -h")
    assert result.exit_code == 1
    assert "The term 'df' is not recognized" in result.stderr


def test_other_command_ids_answer_without_the_interpreter(state):
    assert "inet 10.0.0.4" in run(state, "", command_id="ifconfig").stdout
    windows = windows_state()
    assert (
        "IPv4 Address. . . . . . . . . . . : 10.0.0.4"
        in run(windows, "", command_id="IPConfig", rg="rg-win", name="win-vmss").stdout
    )
    assert run(windows, "", command_id="EnableRemotePS", rg="rg-win", name="win-vmss").stdout == (
        "EnableRemotePS completed.\n"
    )


# --- canned outputs -----------------------------------------------------------------------------


def test_a_canned_output_on_the_image_answers_every_instance(state):
    scale_set(state).model.guest.canned = [
        CannedOutput(pattern=r"nginx -t", stdout="syntax is ok\n", stderr="warn\n", exit_code=3)
    ]
    for instance_id in (0, 7):
        result = run(state, "sudo nginx -t", instance_id)
        assert (result.stdout, result.stderr, result.exit_code) == ("syntax is ok\n", "warn\n", 3)


def test_an_instance_canned_output_is_tried_before_the_images(state):
    scale_set(state).model.guest.canned = [CannedOutput(pattern="nginx", stdout="image\n")]
    instance(state, 1).guest.canned = [CannedOutput(pattern="nginx", stdout="instance\n")]
    assert out(state, "nginx -t", 1) == "instance\n"
    assert out(state, "nginx -t", 0) == "image\n"


def test_the_first_matching_canned_output_wins(state):
    instance(state).guest.canned = [
        CannedOutput(pattern=r"^apt", stdout="first\n"),
        CannedOutput(pattern=r"apt", stdout="second\n"),
    ]
    assert out(state, "apt list --upgradable") == "first\n"
    assert out(state, "sudo apt update") == "second\n"


def test_a_canned_output_pattern_is_searched_in_the_whole_script(state):
    instance(state).guest.canned = [CannedOutput(pattern=r"docker\s+ps", stdout="CONTAINER ID\n")]
    assert out(state, "echo start\ndocker  ps -a") == "CONTAINER ID\n"
    assert run(state, "docker images").exit_code == 127


def test_a_canned_output_overrides_the_interpreter_and_changes_nothing(state):
    instance(state).guest.canned = [CannedOutput(pattern="systemctl stop app", stdout="")]
    run(state, "systemctl stop app")
    assert instance(state).guest.services == {}


def test_a_canned_output_needs_a_valid_regular_expression():
    with pytest.raises(ValidationError, match="is not a regular expression"):
        validate(CannedOutput, {"pattern": "(unclosed"})
