"""The activity log kept beside the state file (vmsscli/history.py): what a read sees, what a
write keeps, a write that dies half-way, retention, copies, the migration of a file from
schema 1, and SIGKILL during 200 concurrent changes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import invoke, vmss_executable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmsscli import store
from vmsscli.demo import demo_state
from vmsscli.errors import StateFileError
from vmsscli.history import database_path
from vmsscli.model import ActivityEntry, ActivityLog, SkippedInstance

DATA = Path(__file__).parent / "data" / "state-files"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
RID = (
    "/subscriptions/s/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachineScaleSets/web"
)


def event(minute: int, correlation: str = "c", status: str = "Succeeded") -> ActivityEntry:
    return ActivityEntry(
        time=T0 + timedelta(minutes=minute),
        operation="Microsoft.Compute/virtualMachineScaleSets/restart/action",
        resource_id=RID,
        status=status,
        correlation_id=correlation,
    )


def keep(path: Path, *events: ActivityEntry) -> None:
    with store.Store(path, seed=demo_state).transaction() as state:
        for entry in events:
            state.activity_log.append(entry)


def rows(path: Path) -> list[tuple[int, int]]:
    with sqlite3.connect(database_path(path)) as db:
        return db.execute("SELECT position, generation FROM events ORDER BY id").fetchall()


# --- the log in memory ------------------------------------------------------------------------


def test_a_log_in_memory_reads_by_position_correlation_and_time():
    log = ActivityLog([event(0, "a"), event(5, "b"), event(2, "a")])
    log.append(event(9, "c"))

    assert log.end == 4
    assert [e.correlation_id for e in log.since(2)] == ["a", "c"]
    assert log.since(4) == []
    assert [e.time.minute for e in log.with_correlation("a")] == [0, 2]
    assert [e.time.minute for e in log.between(T0 + timedelta(minutes=2), None)] == [5, 2, 9]
    assert [e.time.minute for e in log.between(None, T0 + timedelta(minutes=2))] == [0, 2]
    assert log.count() == 4 and log == list(log)


# --- kept beside the file ---------------------------------------------------------------------


def test_a_write_keeps_its_events_beside_the_file_and_the_file_does_not_grow(tmp_path):
    path = tmp_path / "state.json"
    keep(path)
    size = path.stat().st_size

    keep(path, event(0, "a", "Started"), event(1, "a"))
    keep(path, *(event(i, f"x{i}") for i in range(200)))

    state = store.read_file(path)
    assert state.activity_log.end == 202
    assert [e.correlation_id for e in state.activity_log.since(0)[:2]] == ["a", "a"]
    assert [e.status for e in state.activity_log.with_correlation("a")] == ["Started", "Succeeded"]
    assert b"restart/action" not in path.read_bytes()
    assert abs(path.stat().st_size - size) < 40  # only the generation numbers change
    assert json.loads(path.read_bytes())["history"] == {"generation": 3, "first_generation": 1}


def test_a_read_does_not_open_or_create_the_database(tmp_path):
    path = tmp_path / "state.json"
    store.Store(path).replace(demo_state())
    assert not database_path(path).exists()

    state = store.read_file(path)

    assert list(state.activity_log) == [] and state.activity_log.end == 0
    assert not database_path(path).exists()


def test_a_write_that_dies_after_keeping_its_events_leaves_neither_change_nor_events(
    tmp_path, monkeypatch
):
    path = tmp_path / "state.json"
    keep(path, event(0, "kept"))
    before = path.read_bytes()

    def fail(_path):  # between the database's commit and the document's rename
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(store, "_backup", fail)
    with (
        pytest.raises(StateFileError, match="Input/output error"),
        store.Store(path).transaction() as state,
    ):
        state.clock.mode = "manual"
        state.activity_log.append(event(1, "lost"))
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert [g for _, g in rows(path)] == [2, 3]  # the dead write's event is in the database...
    state = store.read_file(path)
    assert [e.correlation_id for e in state.activity_log] == ["kept"]  # ...but not seen
    assert state.clock.mode != "manual"

    keep(path, event(2, "next"))  # the next write deletes it and takes its place

    assert rows(path) == [(0, 2), (1, 3)]
    assert [e.correlation_id for e in store.read_file(path).activity_log] == ["kept", "next"]


def test_the_backup_is_the_file_and_its_log_one_write_ago(tmp_path):
    path = tmp_path / "state.json"
    keep(path, event(0, "one"))
    keep(path, event(1, "two"))
    shutil.copyfile(tmp_path / "state.json.bak", path)  # the operator restores the backup

    assert [e.correlation_id for e in store.read_file(path).activity_log] == ["one"]
    keep(path, event(2, "three"))
    assert [e.correlation_id for e in store.read_file(path).activity_log] == ["one", "three"]


def test_retention_drops_events_older_than_the_setting_before_the_newest(tmp_path):
    path = tmp_path / "state.json"
    keep(path, event(0, "old"), event(60 * 24 * 20, "middle"))
    with store.Store(path).transaction() as state:
        state.history.retention_days = 30
        state.activity_log.append(event(60 * 24 * 45, "new"))

    state = store.read_file(path)
    assert [e.correlation_id for e in state.activity_log] == ["middle", "new"]
    assert state.activity_log.end == 3  # positions stay: an exercise's start still points right
    assert [e.correlation_id for e in state.activity_log.since(2)] == ["new"]


def test_the_default_retention_is_azures_ninety_days(tmp_path):
    path = tmp_path / "state.json"
    keep(path, event(0, "old"), event(60 * 24 * 89, "kept"))
    keep(path, event(60 * 24 * 91, "new"))
    assert [e.correlation_id for e in store.read_file(path).activity_log] == ["kept", "new"]


def test_a_copy_reset_and_convert_carry_the_log_and_a_reset_to_the_demo_clears_it(tmp_path):
    path = tmp_path / "state.json"
    keep(path, event(0, "a"), event(1, "b"))
    copy = tmp_path / "copy.toml"

    assert invoke(["state", "convert", str(path), str(copy)]).exit_code == 0
    assert [e.correlation_id for e in store.read_file(copy).activity_log] == ["a", "b"]
    keep(copy, event(2, "c"))
    assert [e.correlation_id for e in store.read_file(path).activity_log] == ["a", "b"]

    assert invoke(["state", "reset", "--from", str(copy)], path).exit_code == 0
    assert [e.correlation_id for e in store.read_file(path).activity_log] == ["a", "b", "c"]
    assert sorted(p for p, _ in rows(path)) == [0, 1, 2]  # the replaced events are gone

    assert invoke(["state", "reset"], path).exit_code == 0
    assert list(store.read_file(path).activity_log) == []


def test_a_file_from_schema_1_is_read_with_its_log_and_migrated_on_the_first_write(tmp_path):
    path = tmp_path / "state.json"
    shutil.copyfile(DATA / "schema-1-with-activity-log.json", path)
    old = json.loads(path.read_bytes())
    assert old["schema_version"] == 1 and len(old["activity_log"]) == 6

    listed = invoke(["activity-log", "list", "--query", "length(@)"], path)
    assert listed.exit_code == 0 and listed.stdout.strip() == "6"
    assert not database_path(path).exists()  # a read changes nothing

    done = invoke(["clock", "mode", "manual"], path)
    assert done.exit_code == 0, done.stderr
    written = json.loads(path.read_bytes())
    assert written["schema_version"] == 2 and "activity_log" not in written
    assert "events" not in written["history"]
    state = store.read_file(path)
    assert [dump_time(e) for e in state.activity_log] == [e["time"] for e in old["activity_log"]]
    assert [e.correlation_id for e in state.activity_log] == [
        e["correlation_id"] for e in old["activity_log"]
    ]


def dump_time(entry: ActivityEntry) -> str:
    return entry.time.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_damaged_database_fails_writes_on_one_line_and_reads_as_empty(tmp_path):
    path = tmp_path / "state.json"
    keep(path, event(0, "a"))
    before = path.read_bytes()
    database_path(path).write_bytes(b"not a database" * 100)

    result = invoke(["clock", "mode", "manual"], path)
    write = invoke(["restart", "-g", "rg-web", "-n", "web-vmss", "--instance-ids", "1"], path)

    assert result.exit_code == 0  # no events to keep: the history is not touched
    assert write.exit_code == 1 and write.stderr.count("\n") == 1
    assert "history.db" in write.stderr and "move it aside" in write.stderr
    assert json.loads(path.read_bytes())["clock"]["mode"] == "manual"
    assert b'"generation": 2' in before and b'"generation": 2' in path.read_bytes()


# --- many cases: the kept log reads as a list would ---------------------------------------------

batches = st.lists(
    st.tuples(
        st.lists(
            st.tuples(st.integers(0, 600), st.sampled_from("abcd"), st.sampled_from(
                ["Started", "Succeeded", "Failed"])),
            max_size=4,
        ),
        st.booleans(),  # whether the write dies between the database and the document
    ),
    max_size=6,
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=batches, low=st.integers(0, 600), high=st.integers(0, 600), start=st.integers(0, 8))
def test_the_kept_log_reads_as_the_list_of_the_writes_that_completed(batches, low, high, start):
    expected: list[ActivityEntry] = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.json"
        store.Store(path).replace(demo_state())
        for events, dies in batches:
            entries = [event(m, c, s) for m, c, s in events]
            original = store._backup
            if dies:
                store._backup = _die  # type: ignore[assignment]
            try:
                with store.Store(path).transaction() as state:
                    for entry in entries:
                        state.activity_log.append(entry)
            except StateFileError:
                assert dies
            else:
                expected += entries
            finally:
                store._backup = original  # type: ignore[assignment]
        log = store.read_file(path).activity_log
        lo, hi = T0 + timedelta(minutes=low), T0 + timedelta(minutes=high)
        assert list(log) == expected
        assert log.end == len(expected)
        assert log.since(start) == expected[start:]
        assert log.with_correlation("a") == [e for e in expected if e.correlation_id == "a"]
        assert log.between(lo, hi) == [e for e in expected if lo <= e.time <= hi]


def _die(_path):
    raise OSError(28, "No space left on device")


# --- SIGKILL during concurrent changes ------------------------------------------------------------

CHANGES = 200
AT_ONCE = 8


def _agree(path: Path) -> tuple[set[str], set[str]]:
    """The tags the scale set has, and the tags whose change the log records (both events)."""
    state = store.read_file(path)
    tags = {k for k in state.resource_groups["rg-web"].scale_sets["web-vmss"].tags if k[0] == "w"}
    logged: dict[str, list[str]] = {}
    for entry in state.activity_log:
        if not entry.operation.endswith("/virtualMachineScaleSets/write"):
            continue  # the rolling upgrade a model change starts on this set
        for word in entry.command.split():
            if word.startswith("tags.w"):
                logged.setdefault(word[5:].split("=")[0], []).append(entry.status)
    assert all(statuses == ["Started", "Succeeded"] for statuses in logged.values()), logged
    return tags, set(logged)


def test_sigkill_during_200_concurrent_changes_leaves_state_and_history_agreeing(tmp_path):
    path = tmp_path / "state.json"
    store.Store(path).replace(demo_state())
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMSSCLI_")}
    env.update(VMSSCLI_STATE=str(path), VMSSCLI_LOCK_TIMEOUT="60")
    rng = random.Random(20261207)
    running: list[tuple[subprocess.Popen, float | None]] = []
    killed = checked = 0
    started = time.monotonic()
    for index in range(CHANGES):
        argv = [vmss_executable(), "update", "-g", "rg-web", "-n", "web-vmss",
                "--set", f"tags.w{index}=1", "-o", "none"]  # fmt: skip
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Half of them are killed at a random moment of their life (start-up takes ~0.2 s).
        deadline = time.monotonic() + rng.uniform(0.05, 0.6) if rng.random() < 0.5 else None
        running.append((proc, deadline))
        while len(running) >= AT_ONCE or (index == CHANGES - 1 and running):
            now = time.monotonic()
            for proc, deadline in list(running):
                if proc.poll() is not None:
                    running.remove((proc, deadline))
                    assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read()
                elif deadline is not None and now >= deadline:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    killed += proc.returncode == -signal.SIGKILL
                    running.remove((proc, deadline))
            if rng.random() < 0.2:  # a reader in the middle of it all sees them agree
                tags, logged = _agree(path)
                assert tags == logged
                checked += 1
            time.sleep(0.01)
        assert time.monotonic() - started < 240, "the kill loop ran out of time"

    tags, logged = _agree(path)
    assert tags == logged
    assert killed >= CHANGES // 4 and checked > 0
    assert 0 < len(tags) < CHANGES  # some changes completed, some were killed first
    # The next write still works, and tidies what the killed writers left.
    assert invoke(["update", "-g", "rg-web", "-n", "web-vmss", "--set", "tags.wlast=1"],
                  path).exit_code == 0  # fmt: skip
    state = store.read_file(path)
    assert {g for _, g in rows(path)} <= set(
        range(state.history.first_generation, state.history.generation + 1)
    )


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
events_as_written = st.builds(
    ActivityEntry,
    time=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(8999, 12, 30), timezones=st.just(UTC)
    ),
    operation=texts,
    resource_id=texts,
    status=st.sampled_from(["Started", "Succeeded", "Failed"]),
    instance_ids=st.lists(texts, max_size=3),
    skipped=st.lists(st.builds(SkippedInstance, instance_id=texts, reason=texts), max_size=2),
    error=texts,
    command=texts,
    detail=texts,
    correlation_id=texts,
    requested=st.none() | st.lists(texts, max_size=3),
    caller=texts,
)


@settings(max_examples=150, deadline=None)
@given(events_as_written)
def test_an_event_is_read_back_as_the_validator_would_read_it(entry):
    """Reads build events without loading the validator; they must agree with it exactly."""
    from vmsscli.history import decode, encode
    from vmsscli.schema import validate

    text = encode(0, entry)[4]
    assert decode(text) == entry == validate(ActivityEntry, json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        '{"time": "yesterday", "operation": "x", "resource_id": "r"}',
        '{"time": "2026-11-23T10:00:00Z", "operation": "x", "resource_id": "r", "status": "Odd"}',
        '{"time": "2026-11-23T10:00:00Z", "operation": "x", "resource_id": "r", "colour": "b"}',
        '{"time": "2026-11-23T10:00:00Z", "operation": 3, "resource_id": "r"}',
    ],
)
def test_an_event_the_writer_never_writes_is_refused_by_the_validator(text):
    from vmsscli.history import decode

    with pytest.raises(StateFileError):
        decode(text)
