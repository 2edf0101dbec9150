"""Global arguments and terminal output: verbosity flags, --state placement, Rich tables."""

from __future__ import annotations

import io
from collections import OrderedDict

from vmsscli import output

WEB = ["-g", "rg-web", "-n", "web-vmss"]


def test_verbose_reports_the_run_time_on_stderr(cli):
    result = cli("show", *WEB, "--verbose", "-o", "none")
    assert result.exit_code == 0
    assert result.stderr.startswith("INFO: Command ran in ")


def test_debug_logs_name_the_state_file(cli, state_path):
    result = cli("show", *WEB, "--debug", "-o", "none")
    assert f"DEBUG: vmsscli.store: state file: {state_path}" in result.stderr


def test_only_show_errors_cannot_go_with_debug_or_verbose(cli):
    result = cli("show", *WEB, "--only-show-errors", "--verbose")
    message = "--only-show-errors can't be used together with --debug or --verbose"
    assert (result.exit_code, result.stderr) == (1, f"{message}\n{message}\n")


def test_only_show_errors_silences_warnings(cli):
    assert cli("stop", *WEB, "--instance-ids", "0", "--only-show-errors").stderr == ""
    assert "WARNING: About to power off" in cli("stop", *WEB, "--instance-ids", "1").stderr


def test_global_arguments_may_come_before_the_command(state_path):
    from conftest import invoke

    result = invoke(
        ["--state", str(state_path), "-o", "tsv", "show", *WEB, "--query", "sku.capacity"]
    )
    assert (result.exit_code, result.stdout) == (0, "12\n")


def test_output_format_comes_from_the_environment(cli, monkeypatch):
    monkeypatch.setenv("VMSSCLI_OUTPUT", "tsv")
    assert cli("show", *WEB, "--query", "name").stdout == "web-vmss\n"


def test_subscription_is_accepted(cli):
    assert cli("show", *WEB, "--subscription", "mysub", "-o", "none").exit_code == 0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_tables_are_coloured_but_never_read_markup_wrap_or_crop():
    rows = [
        OrderedDict(
            [("Name", "[bold]x[/bold]"), ("PowerState", "VM running"), ("Message", "y" * 200)]
        )
    ]
    stream = _Terminal()
    output.write(rows, "table", stream, query_active=True, color=True)
    text = stream.getvalue()
    assert "[bold]x[/bold]" in text
    assert "\x1b[32mVM running" in text
    assert "y" * 200 in text
    assert any("y" * 200 in line and "VM running" in line for line in text.splitlines())


def test_piped_tables_are_plain_text():
    rows = [OrderedDict([("PowerState", "VM running")])]
    stream = io.StringIO()
    output.write(rows, "table", stream, query_active=True, color=False)
    assert stream.getvalue() == "PowerState\n------------\nVM running\n"
