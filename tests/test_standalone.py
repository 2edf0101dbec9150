"""A clone stands alone: nothing the tests, scripts or package use lies outside the repository."""

from __future__ import annotations

import json
import re

import conftest
from conftest import REPO, SAMPLES, SCHEMAS, reaches_outside


def test_the_guard_catches_a_read_beside_the_repository():
    target = REPO.parent / "shared" / "reference" / "README.md"
    try:
        with open(target, encoding="utf-8"):
            pass
    except OSError:
        pass  # absent in a user's clone: the attempt is what counts
    caught = list(conftest.outside_reads)
    conftest.outside_reads.clear()
    assert str(target) in caught


def test_the_guard_lets_the_repository_and_scratch_space_be(tmp_path):
    assert not reaches_outside(REPO / "tests" / "conftest.py")
    assert not reaches_outside(tmp_path / "state.json")
    assert reaches_outside(REPO.parent / "shared")
    assert reaches_outside(str(REPO / ".." / "shared" / "x"))


# The guard and its own test name the folder they watch for.
GUARDS = {"conftest.py", "test_standalone.py"}


def test_no_file_names_a_folder_beside_the_repository():
    pattern = re.compile(r"\.\./shared|parent\s*/\s*[\"']shared[\"']|\.\./\.library")
    offenders = []
    for folder in ("tests", "vmsscli", "scripts", "benchmarks", ".ci", "docs", "state"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".md", ".toml", ".json", ".sh", ""}:
                if path.name in GUARDS or "data" in path.relative_to(REPO).parts[:2]:
                    continue
                text = path.read_text(encoding="utf-8", errors="replace")
                offenders += [
                    f"{path.relative_to(REPO)}:{m.group(0)}" for m in pattern.finditer(text)
                ]
    for name in ("README.md", "pyproject.toml"):
        text = (REPO / name).read_text(encoding="utf-8")
        offenders += [f"{name}:{m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def test_every_sample_has_its_source_and_every_schema_is_json():
    sources = json.loads((SAMPLES / "SOURCES.json").read_text())
    samples = {p.name for p in SAMPLES.glob("*.json")} - {"SOURCES.json"}
    assert samples and samples <= set(sources)
    for schema in SCHEMAS.glob("*.schema.json"):
        assert json.loads(schema.read_text())["$schema"].startswith("https://json-schema.org/")
