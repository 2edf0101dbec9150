"""The schema cache (vmsscli.schema): pydantic builds the state schema once, later runs load it
and import only pydantic-core; a damaged, stale or unwritable cache never changes an answer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic_core import ValidationError

from vmsscli import schema
from vmsscli.demo import demo_state
from vmsscli.model import Instance, State
from vmsscli.store import serialize

PROBE = """
import sys
from vmsscli.schema import dump, validate
from vmsscli.model import State
state = validate(State, {"resource_groups": {"rg": {"scale_sets": {"web": {
    "zones": ["1", "2"], "instances": [{"id": 0}, {"id": 1}, {"id": 5}]}}}}})
web = state.resource_groups["rg"].scale_sets["web"]
print([i.zone for i in web.instances], web.next_instance_id, dump(state, mode="json")["clock"])
print(sorted(m for m in sys.modules if m == "pydantic" or m.startswith("pydantic.")))
"""

EXPECTED = "['1', '2', '2'] 6 {'mode': 'wall', 'now': '2026-11-02T08:00:00Z', 'speed': 1.0}"


def probe(cache: Path) -> list[str]:
    env = {**os.environ, "VMSSCLI_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    return out.stdout.splitlines()


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("VMSSCLI_CACHE_DIR", str(folder))
    schema._compiled.clear()
    yield folder
    schema._compiled.clear()


def test_the_first_run_builds_the_schema_with_pydantic_and_later_runs_need_only_pydantic_core(
    tmp_path,
):
    cache = tmp_path / "cache"
    first = probe(cache)
    files = list(cache.iterdir())
    second = probe(cache)

    assert [f.name.split("-")[0] for f in files] == ["vmsscli.model.State"]
    assert first[0] == second[0] == EXPECTED
    assert "pydantic.main" in first[1]  # built: pydantic's model machinery was loaded
    assert second[1] == "[]"  # cached: not even the pydantic package


def test_a_damaged_cache_file_is_rebuilt_and_answers_the_same(tmp_path):
    cache = tmp_path / "cache"
    expected = probe(cache)[0]
    (path,) = cache.iterdir()
    for damage in (b"", b"not a pickle", path.read_bytes()[:100]):
        path.write_bytes(damage)
        assert probe(cache)[0] == expected
        assert path.read_bytes() != damage  # replaced by a good copy
    assert [p.name for p in cache.iterdir()] == [path.name]  # no temp files left


def test_an_unwritable_cache_folder_only_means_building_every_time(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    first, again = probe(blocker / "vmsscli"), probe(blocker / "vmsscli")
    assert first[0] == again[0] == EXPECTED
    assert "pydantic.main" in again[1]


def test_the_cache_file_is_named_after_the_schema_source_and_versions(fresh_cache):
    import pydantic_core

    path = schema._cache_path(State)
    assert path is not None and path.parent == fresh_cache
    assert f"-core{pydantic_core.__version__}-" in path.name
    assert path.name.endswith(f"-py{sys.version_info[0]}{sys.version_info[1]}.pickle")
    # Another class of the same module is cached apart, under the same checksum.
    other = schema._cache_path(Instance)
    assert other is not None and other.name.split("-")[1] == path.name.split("-")[1]
    assert other.name != path.name


def test_a_stale_cache_file_for_another_schema_source_is_not_read(fresh_cache, monkeypatch):
    path = schema._cache_path(State)
    assert path is not None
    fresh_cache.mkdir(parents=True)
    stale = fresh_cache / path.name.replace(path.name.split("-")[1], "00000000")
    stale.write_bytes(b"whatever an older vmsscli left")
    state = schema.validate(State, {"subscription_id": "s"})
    assert state.subscription_id == "s"
    assert path.exists() and stale.read_bytes() == b"whatever an older vmsscli left"


def test_cached_and_freshly_built_schemas_validate_and_write_the_same(fresh_cache):
    from pydantic_core import SchemaSerializer, SchemaValidator

    data = demo_state()
    raw = serialize(data, Path("x.json"))
    import orjson

    parsed = orjson.loads(raw)
    cached = schema.validate(State, parsed)
    fresh_schema = schema.build_core_schema(State)
    fresh = SchemaValidator(fresh_schema).validate_python(orjson.loads(raw))
    assert cached == fresh
    assert schema.dump(cached, mode="json", exclude_defaults=True) == SchemaSerializer(
        fresh_schema
    ).to_python(fresh, mode="json", exclude_defaults=True)


def test_validation_errors_come_from_the_cached_schema_too(fresh_cache):
    schema.validate(State, {})  # builds and caches
    schema._compiled.clear()
    with pytest.raises(ValidationError) as caught:
        schema.validate(State, {"clock": {"mode": "sometimes"}})
    assert caught.value.errors()[0]["loc"] == ("clock", "mode")


def test_schema_objects_compare_by_value_and_print_like_dataclasses():
    from vmsscli.model import Protection

    assert Protection(scale_in=True) == Protection(scale_in=True, scale_set_actions=False)
    assert Protection(scale_in=True) != Protection()
    assert Protection() != object() and Protection().__eq__(object()) is NotImplemented
    assert repr(Protection(scale_in=True)) == "Protection(scale_in=True, scale_set_actions=False)"
    with pytest.raises(TypeError):
        hash(Protection())
    assert demo_state() == demo_state() and demo_state() is not demo_state()
