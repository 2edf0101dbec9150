"""The validated-state cache (vmsscli.state_cache): a read of a file it has already validated
takes the objects from the cache; any change to the file, a damaged or unwritable cache, or a
write that sets scale sets aside never changes an answer or a written file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import invoke
from vmsscli import state_cache, store
from vmsscli.demo import demo_state
from vmsscli.model import Instance
from vmsscli.store import Store, serialize

WEB = ["-g", "rg-web", "-n", "web-vmss"]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("VMSSCLI_CACHE_DIR", str(folder))
    return folder / "states"


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pickle")) if folder.exists() else []


def test_a_read_fills_the_cache_and_the_next_read_is_served_from_it(state_path, cache, monkeypatch):
    first = Store(state_path).read()
    assert len(_entries(cache)) == 1

    def refuse(*_args, **_kwargs):
        raise AssertionError("validated again although the cache holds this very file")

    monkeypatch.setattr(store, "validate", refuse)
    second = Store(state_path).read()
    assert second == first
    assert second is not first  # a fresh copy: a command may change what it read


def test_a_change_to_the_file_is_seen_even_with_the_same_size_and_time(state_path, cache):
    Store(state_path).read()
    raw = state_path.read_bytes()
    before = os.stat(state_path)
    # Same length, same modification time: only the bytes differ.
    changed = raw.replace(b'"rg-web"', b'"rg-wex"', 1)
    assert len(changed) == len(raw) and changed != raw
    state_path.write_bytes(changed)
    os.utime(state_path, ns=(before.st_atime_ns, before.st_mtime_ns))

    state = Store(state_path).read()
    assert "rg-wex" in state.resource_groups and "rg-web" not in state.resource_groups


def test_a_file_made_invalid_after_it_was_cached_is_refused(state_path, cache):
    Store(state_path).read()
    state_path.write_text(state_path.read_text().replace('"clock": {', '"clock": {"bogus": 1, ', 1))
    result = invoke(["list-instances", *WEB], state_path)
    assert result.exit_code != 0
    assert "Extra inputs are not permitted" in result.stderr


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05garbage"])
def test_a_damaged_entry_is_validated_around(state_path, cache, damage):
    expected = invoke(["list-instances", *WEB], state_path).stdout
    (entry,) = _entries(cache)
    entry.write_bytes(damage)
    assert invoke(["list-instances", *WEB], state_path).stdout == expected
    assert entry.read_bytes() != damage  # and replaced


def test_an_entry_for_another_file_is_never_used(tmp_path, cache):
    one, other = tmp_path / "one.json", tmp_path / "other.json"
    state = demo_state()
    one.write_bytes(serialize(state, one))
    Store(one).read()
    web = state.resource_groups["rg-web"].scale_sets["web-vmss"]
    web.instances.append(Instance(id=900))
    web.next_instance_id = 901
    other.write_bytes(serialize(state, other))
    # The other file's entry slot holds the first file's state (as a name collision would).
    (entry,) = _entries(cache)
    entry.rename(cache / _entry_name(other))

    read = Store(other).read().resource_groups["rg-web"].scale_sets["web-vmss"]
    assert 900 in [inst.id for inst in read.instances]


def _entry_name(path: Path) -> str:
    import zlib

    return f"{zlib.crc32(str(path.resolve()).encode()):08x}.pickle"


def test_an_unwritable_cache_folder_changes_nothing(state_path, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("VMSSCLI_CACHE_DIR", str(blocker))
    expected = Store(state_path).read()
    assert Store(state_path).read() == expected
    assert invoke(["update", *WEB, "--instance-id", "1", "--protect-from-scale-in", "true"],
                  state_path).exit_code == 0  # fmt: skip


def test_entries_are_bounded(tmp_path, cache):
    state = demo_state()
    for index in range(state_cache.MAX_ENTRIES + 5):
        path = tmp_path / f"s{index}.json"
        path.write_bytes(serialize(state, path))
        Store(path).read()
    assert len(_entries(cache)) == state_cache.MAX_ENTRIES


SCRIPT = [
    ["list"],
    ["update", *WEB, "--instance-id", "1", "--protect-from-scale-in", "true"],
    ["list-instances", *WEB],
    ["restart", *WEB, "--instance-ids", "2", "4"],
    ["show", "-g", "rg-batch", "-n", "batch-vmss"],
    ["scale", *WEB, "--new-capacity", "14"],
    ["list"],
    ["update", *WEB, "--instance-id", "4", "--protect-from-scale-set-actions", "true"],
    ["delete-instances", *WEB, "--instance-ids", "6"],
    ["get-instance-view", *WEB, "--instance-id", "*"],
    ["update", "-g", "rg-batch", "-n", "batch-vmss", "--set", "tags.team=batch"],
    ["list-instances", "-g", "rg-batch", "-n", "batch-vmss"],
]


def _run_script(state: Path, script: list[list[str]]) -> list[tuple[int, str, str, bytes]]:
    return [
        (r.exit_code, r.stdout, r.stderr, state.read_bytes())
        for r in (invoke(args, state) for args in script)
    ]


def _fleet(kind: str):
    state = demo_state()
    if kind == "one scale set":  # a focused write then loads it from the cache too
        del state.resource_groups["rg-batch"]
    return state


@pytest.mark.parametrize("kind", ["several scale sets", "one scale set"])
def test_a_session_of_reads_and_writes_gives_the_same_answers_and_files_with_or_without_it(
    tmp_path, monkeypatch, kind
):
    """Reads and focused writes, with the cache and with none (a cache folder that cannot be
    made): every answer and every version of the file match."""
    monkeypatch.setenv("VMSSCLI_NOW", "2026-11-02T09:00:00Z")
    script = [a for a in SCRIPT if kind == "several scale sets" or "rg-batch" not in a]
    runs = []
    for label in ("cached", "uncached"):
        state = tmp_path / label / "state.json"
        state.parent.mkdir()
        state.write_bytes(serialize(_fleet(kind), state))
        if label == "cached":
            monkeypatch.setenv("VMSSCLI_CACHE_DIR", str(tmp_path / "cache"))
        else:
            (tmp_path / "blocked").write_text("")
            monkeypatch.setenv("VMSSCLI_CACHE_DIR", str(tmp_path / "blocked"))
        runs.append(_run_script(state, script))
    assert _entries(tmp_path / "cache" / "states")  # the cache was in use
    cached, uncached = runs
    assert len(cached) == len(script)
    for args, with_cache, without in zip(script, cached, uncached, strict=True):
        assert with_cache[0] == 0, (args, with_cache[2])
        assert with_cache[:3] == without[:3], args
        assert with_cache[3].replace(b"/cached/", b"/x/") == without[3].replace(
            b"/uncached/", b"/x/"
        ), args
