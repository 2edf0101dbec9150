"""Shell completion and generated docs: real bash and zsh asking the installed `vmss`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_vmss, vmss_executable

sys.path.insert(0, str(REPO / "scripts"))
import generate  # noqa: E402


def test_generated_completions_and_command_docs_are_up_to_date():
    stale = [
        str(p.relative_to(REPO))
        for p, text in generate.generated().items()
        if not p.exists() or p.read_text() != text
    ]
    assert not stale, f"run python scripts/generate.py: {stale}"


def test_every_command_appears_in_the_command_docs():
    docs = (REPO / "docs" / "commands.md").read_text()
    for path, _cmd in generate.leaf_commands():
        assert f"## vmss {' '.join(path)}\n" in docs


def test_completion_command_prints_the_checked_in_scripts():
    for shell, name in [
        ("bash", "vmss.bash"),
        ("zsh", "_vmss"),
        ("fish", "vmss.fish"),
        ("powershell", "vmss.ps1"),
    ]:
        result = run_vmss("completion", shell)
        assert result.exit_code == 0
        assert result.stdout == (REPO / "completions" / name).read_text()


def _complete(*words: str, state: Path | None = None, env: dict | None = None) -> list[str]:
    result = run_vmss("__complete", "zsh", "--", "vmss", *words, state=state, env=env)
    assert result.exit_code == 0 and result.stderr == ""
    return result.stdout.splitlines()


def test_resource_groups_scale_sets_and_instances_complete_from_the_state(state_path):
    assert _complete("list", "-g", "", state=state_path) == ["rg-batch", "rg-web"]
    assert _complete("show", "-g", "rg-batch", "-n", "", state=state_path) == [
        "batch-vmss",
        "tools-vmss",
    ]
    ids = _complete(
        "restart", "-g", "rg-batch", "-n", "batch-vmss", "--instance-ids", "1", "", state=state_path
    )
    assert ids[3] == "3\tstopped, unknown" and len(ids) == 5
    assert _complete(
        "show", "-g", "rg-web", "-n", "web-vmss", "--instance-id", "1", state=state_path
    ) == [
        "1\trunning, healthy",
        "10\trunning, healthy",
        "11\trunning, healthy",
        "12\trunning, healthy",
        "13\trunning, healthy",
    ]


def test_completion_honours_state_on_the_line_and_in_an_assignment(state_path, tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"resource_groups": {"rg-other": {}}}')
    assert _complete("list", "--state", str(other), "-g", "", state=state_path) == ["rg-other"]
    assert (
        run_vmss(
            "__complete", "bash", "--", f"VMSSCLI_STATE={other}", "vmss", "list", "-g", ""
        ).stdout
        == "rg-other\n"
    )


@pytest.mark.parametrize("content", [None, "{not json", "[]", '{"resource_groups": 5}'])
def test_a_missing_or_broken_state_gives_no_candidates_and_no_error(tmp_path, content):
    path = tmp_path / "state.json"
    if content is not None:
        path.write_text(content)
    assert _complete("list", "-g", "", state=path) == []
    assert not (path.exists() and content is None)


def test_completion_never_writes_or_locks_the_state(state_path):
    before = state_path.read_bytes()
    _complete("list", "-g", "", state=state_path)
    assert state_path.read_bytes() == before
    assert not state_path.with_name(state_path.name + ".lock").exists()


def test_commands_flags_and_command_ids_complete():
    assert (
        "list-instances\tGet a list of all virtual machine instances in a scale set."
        in _complete("list-in")
    )
    assert _complete("list-instances", "--ex") == ["--expand"]
    assert "--instance-ids" in _complete("restart", "--inst")
    assert _complete("state", "re") == [
        "reset\tReplace the state with the demo fleet, or with a copy of another state file."
    ]
    assert _complete("run-command", "invoke", "--command-id", "RunS") == [
        "RunShellScript\tLinux: Run a Linux shell script"
    ]
    assert _complete("list", "-o", "t") == ["table", "tsv"]


def _bash_complete(line_words: list[str], state: Path) -> list[str]:
    script = REPO / "completions" / "vmss.bash"
    words = " ".join(f"'{w}'" for w in line_words)
    program = f"""
source '{script}'
COMP_WORDS=({words})
COMP_CWORD={len(line_words) - 1}
_vmss_complete
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = {
        **os.environ,
        "VMSSCLI_STATE": str(state),
        "PATH": f"{Path(vmss_executable()).parent}:{os.environ['PATH']}",
    }
    out = subprocess.run(
        ["bash", "--norc", "-c", program], capture_output=True, text=True, env=env, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line]


def test_bash_completes_instance_ids_through_the_shipped_script(state_path):
    assert _bash_complete(
        ["vmss", "restart", "-g", "rg-batch", "-n", "batch-vmss", "--instance-ids", ""], state_path
    ) == ["0", "1", "2", "3", "4"]
    assert _bash_complete(["vmss", "list-instances", "-g", "rg-w"], state_path) == ["rg-web"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_with_descriptions_through_the_shipped_script(state_path):
    script = REPO / "completions" / "_vmss"
    program = f"""
_describe() {{ shift; print -l -- "${{(@P)1}}"; }}
_files() {{ print -- FILES; }}
compdef() {{ :; }}
source '{script}'
words=(vmss restart -g rg-batch -n batch-vmss --instance-ids '')
CURRENT=8
_vmss
"""
    env = {
        **os.environ,
        "VMSSCLI_STATE": str(state_path),
        "PATH": f"{Path(vmss_executable()).parent}:{os.environ['PATH']}",
    }
    out = subprocess.run(
        ["zsh", "-f", "-c", program], capture_output=True, text=True, env=env, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "0:running, healthy",
        "1:running, healthy",
        "2:running, healthy",
        "3:stopped, unknown",
        "4:running, healthy",
    ]


def test_scenario_names_and_fault_kinds_complete():
    from vmsscli.completion import complete

    assert complete(["vmss", "scenario", "load", "iot"]) == ["iot-buffered-scale-in"]
    assert complete(["vmss", "exercise", "start", "se"]) == ["search-bad-backend"]
    assert complete(["vmss", "rehearse", "r.sh", "--scenario", "web"]) == [
        "web-rolling-upgrade-gone-wrong"
    ]
    kinds = [c.split("\t")[0] for c in complete(["vmss", "fault", "inject", "--kind", "st"])]
    assert kinds == ["stale-process", "stuck-provisioning"]
