"""The state file: validation errors, formats, atomic writes, locking and where the file lives.

Everything runs in-process through `invoke` / the `cli` fixture, except the two lock tests,
which need a second process to contend for the lock this process holds.
"""

from __future__ import annotations

import copy
import json
import os
import stat
import threading
from pathlib import Path

import pytest
from conftest import invoke, run_vmss

from vmsscli import store
from vmsscli.demo import demo_state
from vmsscli.errors import StateFileError
from vmsscli.model import SCHEMA_VERSION, State
from vmsscli.schema import dump


def held(state: State) -> tuple[dict, list[dict]]:
    """What a state holds, its log's events included, whichever generations of the history
    database those lie in (a copy or a reset writes them under new ones)."""
    data = dump(state, mode="json")
    data["history"].pop("generation")
    data["history"].pop("first_generation")
    return data, [dump(e, mode="json") for e in state.activity_log]


WEB = "resource_groups.rg-web.scale_sets.web-vmss"
BATCH = "resource_groups.rg-batch.scale_sets.batch-vmss"

CREATE = ["create", "-g", "rg-new", "-n", "new-vmss", "--instance-count", "2"]

HAND_TOML = """\
schema_version = 1

[resource_groups.rg-hand]
location = "northeurope"

[resource_groups.rg-hand.scale_sets.hand-vmss]
zones = ["1", "2", "3"]
fault_domain_count = 2

[[resource_groups.rg-hand.scale_sets.hand-vmss.instances]]
id = 0
[[resource_groups.rg-hand.scale_sets.hand-vmss.instances]]
id = 1
[[resource_groups.rg-hand.scale_sets.hand-vmss.instances]]
id = 4
power_state = "stopped"
"""


# --- helpers -------------------------------------------------------------------------------------


def demo_data() -> dict:
    """The demo fleet as the raw data of its JSON file."""
    return json.loads(store.serialize(demo_state(), Path("demo.json")))


def mutated_json(mutate) -> bytes:
    data = copy.deepcopy(demo_data())
    mutate(data)
    return json.dumps(data, indent=2).encode()


def web_instance(data: dict, position: int) -> dict:
    return data["resource_groups"]["rg-web"]["scale_sets"]["web-vmss"]["instances"][position]


def leftovers(folder: Path) -> list[str]:
    """Backup and temp files in a folder (the `.lock` sidecar is expected and not listed)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".bak", ".tmp")))


def stderr_lines(result) -> list[str]:
    return result.stderr.splitlines()


# --- bad files: one clear error line, the file untouched -----------------------------------------


def _truncated_json() -> bytes:
    raw = store.serialize(demo_state(), Path("demo.json"))
    return raw[: len(raw) // 2]


def _set_power_state(data):
    web_instance(data, 3)["power_state"] = 5


def _set_fault_domain(data):
    web_instance(data, 3)["fault_domain"] = "x"


def _typo(data):
    data["resource_groups"]["rg-web"]["scale_sets"]["web-vmss"]["vm_skuu"] = "Standard_D2s_v5"


def _duplicate_ids(data):
    data["resource_groups"]["rg-batch"]["scale_sets"]["batch-vmss"]["instances"][2]["id"] = 1


def _newer_schema(data):
    data["schema_version"] = SCHEMA_VERSION + 1


BAD_FILES = {
    # case: (file name, bytes, fragments the error line must contain)
    "truncated-json": (
        "state.json",
        _truncated_json(),
        ["not valid JSON", "line ", "column "],
    ),
    "malformed-toml": (
        "state.toml",
        b'schema_version = 1\n[resource_groups.rg-web\nlocation = "westeurope"\n',
        ["not valid TOML", "line 2", "column "],
    ),
    "wrong-type-power-state": (
        "state.json",
        mutated_json(_set_power_state),
        [f"{WEB}.instances[3].power_state", "got 5"],
    ),
    "wrong-type-fault-domain": (
        "state.json",
        mutated_json(_set_fault_domain),
        [f"{WEB}.instances[3].fault_domain", "got 'x'"],
    ),
    "wrong-type-in-toml": (
        "state.toml",
        HAND_TOML.replace('power_state = "stopped"', "power_state = 5").encode(),
        ["resource_groups.rg-hand.scale_sets.hand-vmss.instances[2].power_state"],
    ),
    "unknown-field": (
        "state.json",
        mutated_json(_typo),
        [f"{WEB}.vm_skuu"],
    ),
    "duplicate-instance-ids": (
        "state.json",
        mutated_json(_duplicate_ids),
        [BATCH, "instance id 1 appears twice"],
    ),
    "newer-schema-version": (
        "state.json",
        mutated_json(_newer_schema),
        [f"schema version {SCHEMA_VERSION + 1}", "newer"],
    ),
    "top-level-array": (
        "state.json",
        b'[{"schema_version": 1}]\n',
        ["top level"],
    ),
    "non-utf8": (
        "state.json",
        b'{"schema_version": 1, "subscription_id": "\xff\xfe"}\n',
        ["UTF-8"],
    ),
}


@pytest.fixture(params=sorted(BAD_FILES), ids=sorted(BAD_FILES))
def bad_file(request, tmp_path):
    name, raw, fragments = BAD_FILES[request.param]
    folder = tmp_path / "bad"
    folder.mkdir()
    path = folder / name
    path.write_bytes(raw)
    return path, raw, fragments


@pytest.mark.parametrize(
    "args",
    [["list"], ["list-instances", "-g", "rg-web", "-n", "web-vmss"], ["state", "show"], CREATE],
    ids=["list", "list-instances", "state-show", "create"],
)
def test_bad_state_file_gives_one_error_line_and_leaves_the_file_alone(bad_file, args):
    path, raw, fragments = bad_file

    result = invoke(args, path)

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ERROR: ")
    assert str(path) in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == raw
    assert leftovers(path.parent) == []


def test_bad_state_file_is_never_treated_as_empty_or_replaced_by_the_demo(bad_file):
    path, raw, _ = bad_file

    for _ in range(2):
        assert invoke(CREATE, path).exit_code == 1

    assert path.read_bytes() == raw
    assert leftovers(path.parent) == []


def test_state_validate_reports_a_bad_file_with_its_field_path(tmp_path):
    path = tmp_path / "typo.json"
    path.write_bytes(mutated_json(_typo))

    result = invoke(["state", "validate", str(path)])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert stderr_lines(result) == [
        f"ERROR: State file '{path}' is invalid at {WEB}.vm_skuu: Extra inputs are not permitted."
    ]


def test_read_file_raises_state_file_error_naming_file_and_field(tmp_path):
    path = tmp_path / "fd.json"
    path.write_bytes(mutated_json(_set_fault_domain))

    with pytest.raises(StateFileError) as caught:
        store.read_file(path)

    message = str(caught.value)
    assert str(path) in message
    assert f"{WEB}.instances[3].fault_domain" in message
    assert "\n" not in message


def test_several_problems_are_still_reported_on_one_line(tmp_path):
    def mutate(data):
        web_instance(data, 0)["power_state"] = 5
        web_instance(data, 1)["health"] = "great"
        web_instance(data, 2)["fault_domain"] = "x"

    path = tmp_path / "many.json"
    path.write_bytes(mutated_json(mutate))

    result = invoke(["list"], path)

    assert result.exit_code == 1
    assert len(stderr_lines(result)) == 1
    assert "more problems" in result.stderr


def test_unknown_extension_is_a_clear_error(tmp_path):
    path = tmp_path / "state.yaml"

    result = invoke(["list"], path)

    assert result.exit_code == 1
    assert stderr_lines(result) == [
        f"ERROR: State file '{path}' must end in .json or .toml (the extension chooses the format)."
    ]
    assert not path.exists()


# --- JSON and TOML round trips -------------------------------------------------------------------


def test_demo_state_round_trips_through_toml_and_json_via_serialize(tmp_path):
    demo = demo_state()
    toml_path = tmp_path / "demo.toml"
    json_path = tmp_path / "demo.json"

    toml_path.write_bytes(store.serialize(demo, toml_path))
    from_toml = store.read_file(toml_path)
    json_path.write_bytes(store.serialize(from_toml, json_path))
    from_json = store.read_file(json_path)

    assert from_toml == demo
    assert from_json == demo
    assert json_path.read_bytes() == store.serialize(demo, json_path)


def test_state_convert_json_to_toml_and_back_loses_nothing(cli, state_path, tmp_path):
    # A state with an activity log entry and a created scale set, not just the demo.
    assert cli(*CREATE, "--zones", "1", "2", "-o", "none").exit_code == 0
    original = store.read_file(state_path)
    toml_path = tmp_path / "copy.toml"
    back_path = tmp_path / "back.json"

    to_toml = invoke(["state", "convert", str(state_path), str(toml_path)])
    to_json = invoke(["state", "convert", str(toml_path), str(back_path)])

    assert to_toml.exit_code == 0, to_toml.stderr
    assert to_json.exit_code == 0, to_json.stderr
    assert to_toml.json()["format"] == "toml"
    assert to_json.json()["format"] == "json"
    assert toml_path.read_bytes().startswith(b"schema_version = ")
    assert held(store.read_file(toml_path)) == held(original)
    assert held(store.read_file(back_path)) == held(original)
    assert len(list(original.activity_log)) == 2  # Started and Succeeded


def test_commands_work_the_same_on_a_toml_state_file(cli, state_path, tmp_path):
    toml_path = tmp_path / "state.toml"
    assert invoke(["state", "convert", str(state_path), str(toml_path)]).exit_code == 0

    from_json = cli("list-instances", "-g", "rg-web", "-n", "web-vmss")
    from_toml = invoke(["list-instances", "-g", "rg-web", "-n", "web-vmss"], toml_path)

    assert from_toml.exit_code == 0
    assert from_toml.stdout == from_json.stdout


def test_writing_to_a_toml_state_file_keeps_it_toml(tmp_path):
    path = tmp_path / "state.toml"
    path.write_bytes(store.serialize(demo_state(), path))

    result = invoke([*CREATE, "-o", "none"], path)

    assert result.exit_code == 0, result.stderr
    assert path.read_bytes().startswith(b"schema_version = ")
    assert "rg-new" in store.read_file(path).resource_groups


def test_hand_written_toml_loads_and_fills_defaults(tmp_path):
    path = tmp_path / "hand.toml"
    path.write_text(HAND_TOML)

    state = store.read_file(path)

    scale_set = state.resource_groups["rg-hand"].scale_sets["hand-vmss"]
    assert scale_set.location == "northeurope"
    assert [i.id for i in scale_set.instances] == [0, 1, 4]
    assert [i.zone for i in scale_set.instances] == ["1", "2", "2"]
    assert [i.fault_domain for i in scale_set.instances] == [0, 1, 0]
    assert [i.power_state for i in scale_set.instances] == ["running", "running", "stopped"]
    assert scale_set.next_instance_id == 5
    assert all(i.model_version == scale_set.model.version for i in scale_set.instances)


def test_hand_written_toml_serves_commands(tmp_path):
    path = tmp_path / "hand.toml"
    path.write_text(HAND_TOML)

    result = invoke(["list-instances", "-g", "rg-hand", "-n", "hand-vmss"], path)

    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert [r["instanceId"] for r in rows] == ["0", "1", "4"]
    assert [r["zones"] for r in rows] == [["1"], ["2"], ["2"]]
    assert {r["location"] for r in rows} == {"northeurope"}


# --- atomic writes, backup, permissions, temp files ----------------------------------------------


def test_a_write_keeps_the_previous_version_as_bak(cli, state_path):
    before = state_path.read_bytes()

    assert cli(*CREATE, "-o", "none").exit_code == 0

    backup = state_path.with_name("state.json.bak")
    assert backup.read_bytes() == before
    assert state_path.read_bytes() != before
    assert "rg-new" in store.read_file(state_path).resource_groups

    middle = state_path.read_bytes()
    assert cli("delete", "-g", "rg-new", "-n", "new-vmss").exit_code == 0
    assert backup.read_bytes() == middle


def test_a_successful_write_leaves_no_temp_files(cli, state_path):
    assert cli(*CREATE, "-o", "none").exit_code == 0

    names = sorted(p.name for p in state_path.parent.iterdir())
    assert not [n for n in names if n.endswith(".tmp")]
    assert "state.json.bak" in names


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_a_write_keeps_the_file_permissions(cli, state_path, mode):
    state_path.chmod(mode)

    assert cli(*CREATE, "-o", "none").exit_code == 0

    assert stat.S_IMODE(state_path.stat().st_mode) == mode


def test_stale_temp_files_are_removed_by_the_next_write(cli, state_path):
    folder = state_path.parent
    stale = [folder / ".state.json.k1ll3d.tmp", folder / ".state.json.bak.tmp"]
    for path in stale:
        path.write_bytes(b'{"half": ')
    unrelated = folder / ".other.json.abc.tmp"
    unrelated.write_bytes(b"not ours")

    assert cli(*CREATE, "-o", "none").exit_code == 0

    assert not any(path.exists() for path in stale)
    assert unrelated.exists()


def test_write_goes_through_fsynced_temp_file_in_same_folder_then_replace(
    cli, state_path, monkeypatch
):
    calls: list[tuple] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append(("fsync",))
        return real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        calls.append(("replace", Path(src), Path(dst)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(store.os, "fsync", fsync)
    monkeypatch.setattr(store.os, "replace", replace)

    assert cli(*CREATE, "-o", "none").exit_code == 0

    final = [c for c in calls if c[0] == "replace" and c[2] == state_path]
    assert len(final) == 1
    src = final[0][1]
    assert src.parent == state_path.parent
    assert src.name.startswith(".state.json.") and src.name.endswith(".tmp")
    assert ("fsync",) in calls[: calls.index(final[0])]


def test_a_failed_replace_leaves_the_file_unchanged_and_no_temp_file(cli, state_path, monkeypatch):
    before = state_path.read_bytes()
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst) == state_path:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(store.os, "replace", replace)

    result = cli(*CREATE, "-o", "none")

    assert result.exit_code == 1
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith("ERROR: ")
    assert str(state_path) in lines[0]
    assert state_path.read_bytes() == before
    assert not [p for p in state_path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_command_writes_nothing(cli, state_path):
    before = state_path.read_bytes()

    result = cli("create", "-g", "rg-web", "-n", "web-vmss", "--zones", "1", "1")

    assert result.exit_code != 0
    assert state_path.read_bytes() == before
    assert leftovers(state_path.parent) == []


def test_atomic_write_creates_a_new_file_without_backup(tmp_path):
    path = tmp_path / "fresh.json"

    store.atomic_write(path, b"{}\n")

    assert path.read_bytes() == b"{}\n"
    assert leftovers(tmp_path) == []


# --- where the state file is, and creating it ----------------------------------------------------


def test_missing_state_file_is_created_from_demo_with_one_warning(tmp_path):
    path = tmp_path / "new.json"

    result = invoke(["list", "--query", "length(@)"], path)

    assert result.exit_code == 0
    assert result.stdout.strip() == "3"
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith("WARNING: ")
    assert str(path) in lines[0]
    assert held(store.read_file(path)) == held(demo_state())
    assert leftovers(tmp_path) == []

    again = invoke(["list", "--query", "length(@)"], path)
    assert again.stderr == ""


def test_missing_toml_state_file_is_created_as_toml(tmp_path):
    path = tmp_path / "new.toml"

    result = invoke(["state", "show"], path)

    assert result.exit_code == 0
    assert result.stderr.startswith("WARNING: ")
    assert result.json()["format"] == "toml"
    assert path.read_bytes().startswith(b"schema_version = ")
    assert held(store.read_file(path)) == held(demo_state())


def test_mutating_command_on_missing_file_starts_from_demo(tmp_path):
    path = tmp_path / "new.json"

    result = invoke([*CREATE, "-o", "none"], path)

    assert result.exit_code == 0
    assert len(stderr_lines(result)) == 1
    state = store.read_file(path)
    assert set(state.resource_groups) == {"rg-web", "rg-batch", "rg-new"}


def test_vmsscli_state_env_is_used(tmp_path, monkeypatch):
    path = tmp_path / "env.json"
    monkeypatch.setenv("VMSSCLI_STATE", str(path))

    result = invoke(["state", "show"])

    assert result.exit_code == 0
    assert result.json()["path"] == str(path)
    assert path.exists()


def test_state_option_wins_over_env(tmp_path, monkeypatch):
    env_path = tmp_path / "env.json"
    flag_path = tmp_path / "flag.json"
    monkeypatch.setenv("VMSSCLI_STATE", str(env_path))

    result = invoke(["state", "show"], flag_path)

    assert result.exit_code == 0
    assert result.json()["path"] == str(flag_path)
    assert flag_path.exists()
    assert not env_path.exists()


def test_default_state_path_is_under_home(tmp_path):
    home = tmp_path / "home"
    expected = home / ".vmsscli" / "state.json"
    assert os.environ["HOME"] == str(home)

    result = invoke(["state", "show"])

    assert result.exit_code == 0
    assert result.json()["path"] == str(expected)
    assert expected.exists()
    assert str(expected) in result.stderr


def test_state_path_that_is_a_directory_is_a_clear_error(tmp_path):
    path = tmp_path / "folder.json"
    path.mkdir()

    for args in (["list"], CREATE):
        result = invoke(args, path)
        assert result.exit_code == 1
        lines = stderr_lines(result)
        assert len(lines) == 1
        assert lines[0].startswith("ERROR: ")
        assert str(path) in lines[0]
        assert "directory" in lines[0]
    assert path.is_dir()
    assert list(path.iterdir()) == []


def test_state_path_in_a_missing_folder_is_a_clear_error(tmp_path):
    path = tmp_path / "nowhere" / "state.json"

    for args in (["list"], CREATE):
        result = invoke(args, path)
        assert result.exit_code == 1
        lines = stderr_lines(result)
        assert len(lines) == 1
        assert lines[0].startswith("ERROR: ")
        assert str(path) in lines[0]
        assert "does not exist" in lines[0]
    assert not path.parent.exists()


def test_state_path_under_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "plain"
    blocker.write_text("x")
    path = blocker / "state.json"

    result = invoke(["list"], path)

    assert result.exit_code == 1
    assert len(stderr_lines(result)) == 1
    assert "is not a folder" in result.stderr


# --- vmss state show / validate / reset ----------------------------------------------------------


def test_state_show_counts_the_demo_fleet(cli, state_path):
    result = cli("state", "show")

    assert result.exit_code == 0
    assert result.json() == {
        "activityLogEntries": 0,
        "clockMode": "wall",
        "format": "json",
        "instances": 19,
        "path": str(state_path),
        "resourceGroups": 2,
        "scaleSets": 3,
        "schemaVersion": SCHEMA_VERSION,
    }


def test_state_show_counts_follow_changes(cli):
    assert cli(*CREATE, "--instance-count", "4", "-o", "none").exit_code == 0

    summary = cli("state", "show").json()

    assert summary["resourceGroups"] == 3
    assert summary["scaleSets"] == 4
    assert summary["instances"] == 23
    assert summary["activityLogEntries"] == 2  # Started and Succeeded


def test_state_validate_accepts_a_good_file(tmp_path):
    path = tmp_path / "hand.toml"
    path.write_text(HAND_TOML)
    before = path.read_bytes()

    result = invoke(["state", "validate", str(path)])

    assert result.exit_code == 0
    assert result.stderr == ""
    summary = result.json()
    assert summary["path"] == str(path)
    assert summary["format"] == "toml"
    assert (summary["scaleSets"], summary["instances"]) == (1, 3)
    assert path.read_bytes() == before


def test_state_validate_without_path_checks_the_current_state_file(cli, state_path):
    result = cli("state", "validate")

    assert result.exit_code == 0
    assert result.json()["path"] == str(state_path)


def test_state_validate_on_bad_file_exits_1(bad_file):
    path, raw, fragments = bad_file

    result = invoke(["state", "validate", str(path)])

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith("ERROR: ")
    assert str(path) in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    assert path.read_bytes() == raw


def test_state_validate_on_missing_file_exits_1_and_creates_nothing(tmp_path):
    path = tmp_path / "absent.json"

    result = invoke(["state", "validate", str(path)])

    assert result.exit_code == 1
    assert len(stderr_lines(result)) == 1
    assert "does not exist" in result.stderr
    assert not path.exists()


def test_state_reset_from_toml_replaces_the_state_and_keeps_a_backup(cli, state_path, tmp_path):
    source = tmp_path / "hand.toml"
    source.write_text(HAND_TOML)
    before = state_path.read_bytes()

    result = cli("state", "reset", "--from", str(source))

    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert (summary["resourceGroups"], summary["scaleSets"], summary["instances"]) == (1, 1, 3)
    assert summary["format"] == "json"
    assert json.loads(state_path.read_bytes())["schema_version"] == SCHEMA_VERSION
    assert held(store.read_file(state_path)) == held(store.read_file(source))
    assert state_path.with_name("state.json.bak").read_bytes() == before
    assert source.read_text() == HAND_TOML


def test_state_reset_without_from_restores_the_demo_fleet(cli, state_path):
    assert cli(*CREATE, "-o", "none").exit_code == 0

    result = cli("state", "reset")

    assert result.exit_code == 0
    assert held(store.read_file(state_path)) == held(demo_state())


def test_state_reset_from_a_bad_file_changes_nothing(cli, state_path, tmp_path):
    source = tmp_path / "bad.json"
    source.write_bytes(mutated_json(_typo))
    before = state_path.read_bytes()

    result = cli("state", "reset", "--from", str(source))

    assert result.exit_code == 1
    assert len(stderr_lines(result)) == 1
    assert str(source) in result.stderr
    assert state_path.read_bytes() == before
    assert leftovers(state_path.parent) == []


def test_state_reset_can_repair_a_broken_state_file(tmp_path):
    path = tmp_path / "state.json"
    path.write_bytes(b"{ broken")

    result = invoke(["state", "reset"], path)

    assert result.exit_code == 0, result.stderr
    assert held(store.read_file(path)) == held(demo_state())
    assert path.with_name("state.json.bak").read_bytes() == b"{ broken"


# --- the writer lock -----------------------------------------------------------------------------


def test_lock_held_elsewhere_times_out_with_the_holder_named(state_path):
    before = state_path.read_bytes()

    with store.locked(state_path):
        result = run_vmss(
            *CREATE, state=state_path, env={"VMSSCLI_LOCK_TIMEOUT": "0.5"}, timeout=30
        )
        reader = run_vmss("list", "--query", "length(@)", state=state_path, timeout=30)

    assert result.exit_code == 1
    assert result.stdout == ""
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ERROR: ")
    assert "lock" in lines[0].lower()
    assert str(state_path) in lines[0]
    assert f"pid {os.getpid()}" in lines[0]
    assert "VMSSCLI_LOCK_TIMEOUT" in lines[0]
    assert state_path.read_bytes() == before
    # Readers never wait for the lock.
    assert reader.exit_code == 0
    assert reader.stdout.strip() == "3"

    after = run_vmss(*CREATE, "-o", "none", state=state_path, timeout=30)
    assert after.exit_code == 0, after.stderr


def test_writer_waits_for_a_lock_released_within_the_timeout(state_path):
    taken = threading.Event()
    release = threading.Event()

    def hold():
        with store.locked(state_path):
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert taken.wait(10)
        timer = threading.Timer(0.5, release.set)
        timer.start()
        result = run_vmss(
            *CREATE, "-o", "none", state=state_path, env={"VMSSCLI_LOCK_TIMEOUT": "20"}
        )
    finally:
        release.set()
        holder.join(10)

    assert result.exit_code == 0, result.stderr
    assert "rg-new" in store.read_file(state_path).resource_groups


def test_bad_lock_timeout_value_is_a_clear_error(cli, state_path, monkeypatch):
    before = state_path.read_bytes()
    monkeypatch.setenv("VMSSCLI_LOCK_TIMEOUT", "soon")

    result = cli(*CREATE)

    assert result.exit_code == 1
    assert stderr_lines(result) == [
        "ERROR: VMSSCLI_LOCK_TIMEOUT must be a number of seconds, not 'soon'."
    ]
    assert state_path.read_bytes() == before


def test_loaded_state_is_a_complete_model(state_path):
    state = store.read_file(state_path)

    assert isinstance(state, State)
    for _, _, scale_set in state.scale_sets():
        assert scale_set.next_instance_id is not None
        for inst in scale_set.instances:
            assert inst.fault_domain is not None
            assert inst.update_domain is not None
            assert inst.created is not None


@pytest.mark.parametrize("name", ["state.json", "state.toml"])
def test_an_empty_state_file_is_refused_not_read_as_an_empty_fleet(tmp_path, name):
    path = tmp_path / name
    path.write_text("\n")
    result = invoke(["list"], path)
    assert result.exit_code == 1
    assert (
        result.stderr == f"ERROR: State file '{path}' is empty. Use 'vmss state reset' "
        "to start from the demo fleet.\n"
    )
    assert path.read_text() == "\n"


def test_a_command_on_one_scale_set_trusts_the_others_only_in_a_file_vmsscli_wrote(cli, state_path):
    """The focused load validates only the scale set a command works on, but only when the
    file is exactly as vmsscli last wrote it; any other change means a full validation."""
    assert cli("clock", "mode", "manual", "-o", "none").exit_code == 0  # vmsscli writes it
    state, aside = store.load(state_path, ("rg-web", "web-vmss"))
    assert sorted(aside) == [("rg-batch", "batch-vmss"), ("rg-batch", "tools-vmss")]
    assert state.resource_groups["rg-batch"].scale_sets["batch-vmss"].instances == []

    raw = json.loads(state_path.read_text())
    raw["resource_groups"]["rg-batch"]["scale_sets"]["batch-vmss"]["instances"][0]["id"] = "x"
    state_path.write_text(json.dumps(raw))
    with pytest.raises(StateFileError, match=r"batch-vmss\.instances\[0\]\.id"):
        store.load(state_path, ("rg-web", "web-vmss"))
    result = cli("list-instances", "-g", "rg-web", "-n", "web-vmss")
    assert result.exit_code == 1 and "batch-vmss.instances[0].id" in result.stderr


def test_a_focused_write_keeps_the_other_scale_sets_as_they_were(cli, state_path):
    assert cli("clock", "mode", "manual", "-o", "none").exit_code == 0
    before = json.loads(state_path.read_text())["resource_groups"]["rg-batch"]
    assert cli("restart", "-g", "rg-web", "-n", "web-vmss", "--instance-ids", "0").exit_code == 0
    after = json.loads(state_path.read_text())
    assert after["resource_groups"]["rg-batch"] == before
    assert store.read_file(state_path) is not None  # the whole file still validates
