"""Scenario files: a realistic incident as data (TOML or JSON, no code).

A scenario holds a title and description, the starting fleet in the state schema (guest facts
and canned run-command outputs included), faults to inject on load, hints, and objectives (a
scenario with objectives is also an exercise). Files live in `state/scenarios/` of the checkout,
(installed under <prefix>/share/vmsscli/scenarios), or in the folders named by
$VMSSCLI_SCENARIOS (separated by the path separator), which come first.
"""

from __future__ import annotations

import os
import sys
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from vmsscli.errors import CLIError, StateFileError
from vmsscli.model import State, Strict, schema_class

if TYPE_CHECKING:
    from annotated_types import Ge, Le

BUILT_IN = Path(__file__).resolve().parent.parent / "state" / "scenarios"
# Where a regular (non-editable) install puts them (pyproject's data-files).
INSTALLED = Path(sys.prefix) / "share" / "vmsscli" / "scenarios"
SUFFIXES = (".toml", ".json")


@schema_class
class FaultSpec(Strict):
    """A fault injected when the scenario loads, chosen as `vmss fault inject` chooses."""

    resource_group: str
    name: str
    kind: str
    instance_ids: list[str] = field(default_factory=list)
    zone: str = ""
    count: Annotated[int, Ge(1)] | None = None
    percent: Annotated[int, Ge(1), Le(100)] | None = None
    seed: int = 0
    extension: str = ""
    host: str = ""
    image_version: str = ""
    message: str = ""


Check = Literal[
    "healthy",
    "capacity",
    "only-these-disrupted",
    "acted-on",
    "survived",
    "protected-before",
    "protected",
    "unprotected",
    "unprotected-after-run-command",
    "min-serving",
    "max-upgraded-to",
    "on-image",
    "no-whole-fleet",
    "repairs-suspended-before",
    "repairs-running",
]


@schema_class
class Objective(Strict):
    """One check over the final state and the activity log (see vmsscli.domain.exercise)."""

    text: str
    check: Check
    # The scale set; default: the scenario's only (or first) scale set.
    resource_group: str = ""
    name: str = ""
    instances: list[int] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    before: str = ""
    count: Annotated[int, Ge(0)] = 0
    percent: Annotated[int, Ge(0), Le(100)] = 0
    image_version: str = ""


@schema_class
class Scenario(Strict):
    """A scenario file: the story, the starting fleet, faults to inject, hints, objectives."""

    title: str
    description: str = ""
    field_case: str = ""
    hints: list[str] = field(default_factory=list)
    faults: list[FaultSpec] = field(default_factory=list)
    objectives: list[Objective] = field(default_factory=list)
    state: State

    @property
    def is_exercise(self) -> bool:
        return bool(self.objectives)


def folders() -> list[Path]:
    extra = os.environ.get("VMSSCLI_SCENARIOS", "")
    return [Path(p) for p in extra.split(os.pathsep) if p] + [BUILT_IN, INSTALLED]


def available() -> dict[str, Path]:
    """Scenario name (the file's stem) -> file; earlier folders win."""
    found: dict[str, Path] = {}
    for folder in folders():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in SUFFIXES and path.is_file():
                found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def find(name: str) -> Path:
    import difflib

    scenarios = available()
    if name in scenarios:
        return scenarios[name]
    close = difflib.get_close_matches(name, list(scenarios), n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise CLIError(
        f"Scenario '{name}' not found.{hint} Available: {', '.join(scenarios) or 'none'}."
    )


def load(path: Path) -> Scenario:
    """Read and validate a scenario file; every problem is one line naming file and field."""
    from pydantic_core import ValidationError

    from vmsscli.schema import validate as validate_as
    from vmsscli.store import describe, parse, validate

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StateFileError(f"Cannot read scenario file '{path}': {exc.strerror}.") from None
    data: dict[str, Any] = parse(raw, path)
    state_data = data.get("state")
    if not isinstance(state_data, dict):
        raise StateFileError(f"Scenario file '{path}' has no [state] table (the starting fleet).")
    state = validate(state_data, path)
    try:
        return validate_as(Scenario, {**data, "state": state})
    except ValidationError as exc:
        raise StateFileError(f"Scenario file '{path}' is invalid at {describe(exc)}.") from None


def load_named(name: str) -> Scenario:
    return load(find(name))
