"""The documentation's examples are real: they load, run and print what the docs say."""

from __future__ import annotations

import re
import shlex
import sys

from conftest import REPO, invoke

from vmsscli.store import read_file


def _blocks(path, language):
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.S)


def test_the_hand_written_example_in_the_state_format_doc_loads(tmp_path):
    example = _blocks(REPO / "docs" / "state-format.md", "toml")[0]
    path = tmp_path / "fleet.toml"
    path.write_text(example)
    state = read_file(path)
    shop = state.resource_groups["rg-shop"].scale_sets["shop-vmss"]
    assert [i.zone for i in shop.instances] == ["1", "2", "3"]
    assert shop.next_instance_id == 3 and shop.capacity == 3
    assert len(example.strip().splitlines()) <= 12


def test_the_documented_validation_error_is_what_vmss_prints(tmp_path):
    example = _blocks(REPO / "docs" / "state-format.md", "toml")[0]
    path = tmp_path / "fleet.toml"
    path.write_text(example.replace('power_state = "stopped"', 'power_state = "runing"'))
    result = invoke(["state", "validate", str(path)])
    text = (REPO / "docs" / "state-format.md").read_text()
    documented = re.search(r"```\n(ERROR: .*?)```", text, flags=re.S).group(1).strip()
    assert result.exit_code == 1
    assert result.stderr.strip() == documented.replace("'fleet.toml'", f"'{path}'")


def test_readme_quick_start_test_command_is_what_ci_runs():
    readme = (REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```(?:sh|bash)\n(.*?)```", quick, flags=re.S)
    assert len(commands) == 2, "the Quick start has exactly two commands"
    test_command = commands[1].strip()
    ci = (REPO / ".ci" / "run").read_text()
    assert test_command in ci
    assert (
        shlex.split(commands[0])[-6:-4] == ["list-instances", "-g"]
        or "list-instances" in commands[0]
    )


def _leaf_commands():
    sys.path.insert(0, str(REPO / "scripts"))
    from generate import leaf_commands

    return leaf_commands()


def test_every_command_has_a_description_and_an_example_in_its_help():
    leaves = _leaf_commands()
    assert len(leaves) >= 20
    for path, cmd in leaves:
        result = invoke([*path, "--help"])
        assert result.exit_code == 0, path
        assert "Command\n    vmss " + " ".join(path) + " : " in result.stdout
        assert cmd.help and cmd.examples, path
        assert "\nExamples\n" in result.stdout, path
        for _description, example in cmd.examples:
            assert example.startswith("vmss " + " ".join(path)), (path, example)


def test_the_worked_rolling_upgrade_example_prints_what_its_comments_say(tmp_path):
    import subprocess
    from pathlib import Path

    from conftest import vmss_executable

    text = (REPO / "docs" / "semantics.md").read_text()
    block = text.split("A worked example, pasteable into a shell")[1]
    script = re.search(r"```sh\n(.*?)```", block, flags=re.S).group(1)
    script = script.replace("/tmp/rehearsal.json", str(tmp_path / "rehearsal.json"))
    lines = script.replace("\\\n", " ").splitlines()
    expected = []
    for line in lines:
        if "get-latest" in line and "#" in line:
            expected.append(line.split("#", 1)[1].strip())
    program = "\n".join(
        line.split("#", 1)[0] + (" | tr '\\n' ' '; echo" if "get-latest" in line else "")
        for line in lines
    )
    env = {
        **__import__("os").environ,
        "PATH": f"{Path(vmss_executable()).parent}:{__import__('os').environ['PATH']}",
    }
    out = subprocess.run(
        ["bash", "-e", "-c", program], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert [line.strip() for line in out.stdout.splitlines()] == expected
