"""Fuzzing with Hypothesis: broken state files and random command lines never crash `vmss`.

A state file that cannot be used is reported on exactly one `ERROR: ` line naming the file
(exit 1, the file left as it was); a file that still loads must serve commands. A random
command line ends with one of az's exit codes and a message, never a traceback or an
"unexpected error". Everything runs in-process through `invoke`, which re-raises any
exception that escapes the CLI.

Which files are valid is decided by `vmsscli.store.read_file` for the random mutations; the
mutations that make a file wrong by construction (unknown fields, duplicate instance ids,
negative numbers where the schema wants none) must always be refused.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tempfile
import time
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import annotated_types
import pytest
from conftest import invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime

from vmsscli import model as model_module
from vmsscli import store
from vmsscli.demo import demo_state
from vmsscli.errors import StateFileError
from vmsscli.model import State
from vmsscli.schema import dump

FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

UNEXPECTED = "unexpected error"

# Commands run against a state file: for a bad file, one reader and one writer (both must
# refuse it the same way); for a file that loads, all of them (they must work).
READER = ["list"]
WRITER = ["restart", "-g", "rg-web", "-n", "web-vmss"]
ON_VALID = [
    ["get-instance-view", "-g", "rg-web", "-n", "web-vmss", "--instance-id", "*"],
    ["activity-log", "list"],
    ["clock", "advance", "1m"],
    WRITER,
    ["scale", "-g", "rg-web", "-n", "web-vmss", "--new-capacity", "14"],
    ["list", "-o", "table"],
]
# Commands that name rg-web/web-vmss may end in "not found" (exit 3) when a mutation removed it.
NAMES_WEB = [c for c in ON_VALID if "rg-web" in c]


# --- the state the fuzzers start from -----------------------------------------------------------


@functools.cache
def base_json() -> bytes:
    """The demo fleet with more of the schema in use: a manual clock, non-default durations
    (so the file has them), a pending operation, protection, tags, activity log entries."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.json"
        state = demo_state()
        state.clock.mode = "manual"
        state.durations.restart = "PT90S"
        state.durations.create = "3m"
        path.write_bytes(store.serialize(state, path))
        for args in (
            ["update", "-g", "rg-web", "-n", "web-vmss", "--instance-id", "4",
             "--protect-from-scale-set-actions", "true"],
            ["restart", "-g", "rg-batch", "-n", "batch-vmss", "--instance-ids", "1"],
            ["stop", "-g", "rg-batch", "-n", "tools-vmss", "--instance-ids", "1"],
            ["restart", "-g", "rg-web", "-n", "web-vmss", "--instance-ids", "0", "--no-wait"],
        ):  # fmt: skip
            result = invoke([*args, "-o", "none"], path)
            assert result.exit_code == 0, (args, result.stderr)
        raw = path.read_bytes()
        # The activity log is kept beside the file; the document carries it as an export does,
        # so that the fuzzers reach the events' fields too.
        events = [dump(e, mode="json") for e in store.read_file(path).activity_log]
    data = json.loads(raw)
    web = data["resource_groups"]["rg-web"]["scale_sets"]["web-vmss"]
    assert any("operation" in inst for inst in web["instances"]), "no pending operation"
    assert events, "no activity events"
    data["history"]["events"] = events
    return json.dumps(data, indent=2).encode()


@functools.cache
def base_toml() -> bytes:
    path = Path("state.toml")
    return store.serialize(store.validate(json.loads(base_json()), path), path)


def base_data() -> dict[str, Any]:
    return json.loads(base_json())


# --- checking one state file ---------------------------------------------------------------------


def _single_line_error(result, path: Path) -> str:
    """The one stderr line of a refused command; a line break inside it counts as two."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert UNEXPECTED not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), repr(result.stderr)
    assert "\r" not in result.stderr, repr(result.stderr)
    line = result.stderr[:-1]
    assert line.startswith("ERROR: "), line
    assert str(path) in line, line
    return line


def _oracle(path: Path) -> tuple[State | None, str]:
    """The state if the file loads, else None and the store's message. Anything but a
    StateFileError escaping the store is itself a failure."""
    try:
        return store.read_file(path), ""
    except StateFileError as exc:
        return None, str(exc)
    except Exception as exc:
        raise AssertionError(
            f"store.read_file raised {type(exc).__name__} ({exc}), not a StateFileError"
        ) from exc


def check_state_file(raw: bytes, name: str, *, must_be_invalid: bool = False) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(raw)
        state, message = _oracle(path)
        if must_be_invalid:
            assert state is None, "the store accepted a file that is wrong by construction"
        if state is None:
            assert "\n" not in message, repr(message)
            for args in (READER, WRITER):
                result = invoke(args, path)
                assert result.exit_code == 1, (args, result.exit_code, result.stderr)
                assert result.stdout == ""
                _single_line_error(result, path)
                assert path.read_bytes() == raw, "a refused file was changed"
            assert sorted(p.name for p in Path(folder).iterdir() if p.name != f"{name}.lock") == [
                name
            ]
            return
        group = state.resource_groups.get("rg-web")
        web_exists = group is not None and "web-vmss" in group.scale_sets
        for args in ON_VALID:
            result = invoke(args, path)
            assert "Traceback" not in result.stderr + result.stdout, result.stderr
            assert UNEXPECTED not in result.stderr, (args, result.stderr)
            if not web_exists and args in NAMES_WEB:
                assert result.exit_code == 3, (args, result.exit_code, result.stderr)
            elif result.exit_code == 1:
                # Azure may refuse a request on this fleet (e.g. a scale-in blocked by
                # protection): a service error in az's form, not a crash.
                assert result.stderr.startswith("ERROR: ("), (args, result.stderr)
            else:
                assert result.exit_code == 0, (args, result.exit_code, result.stderr)


# --- random byte corruption ----------------------------------------------------------------------

CORRUPTIONS = ["flip", "digit", "delete", "insert", "truncate", "duplicate", "swap"]
corruption_steps = st.lists(
    st.tuples(
        st.sampled_from(CORRUPTIONS),
        st.floats(min_value=0, max_value=1, allow_nan=False),
        st.binary(min_size=1, max_size=6),
    ),
    min_size=1,
    max_size=3,
)


def corrupt(raw: bytes, steps) -> bytes:
    data = bytearray(raw)
    for kind, where, blob in steps:
        if not data:
            data = bytearray(blob)
            continue
        pos = min(int(where * len(data)), len(data) - 1)
        if kind == "flip":
            data[pos] = blob[0]
        elif kind == "digit":
            # A digit changed into another: the file often stays well-formed, with changed
            # ids, counts, versions or datetimes.
            digits = [i for i, b in enumerate(data) if 0x30 <= b <= 0x39]
            if digits:
                data[digits[pos % len(digits)]] = 0x30 + blob[0] % 10
        elif kind == "delete":
            del data[pos : pos + len(blob)]
        elif kind == "insert":
            data[pos:pos] = blob
        elif kind == "truncate":
            del data[pos:]
        elif kind == "duplicate":
            data[pos:pos] = data[pos : pos + 4 * len(blob)]
        elif kind == "swap":
            other = min(int(blob[0] / 255 * len(data)), len(data) - 1)
            data[pos], data[other] = data[other], data[pos]
    return bytes(data)


@settings(FUZZ, max_examples=200)
@given(fmt=st.sampled_from(["json", "toml"]), steps=corruption_steps)
def test_random_byte_corruption_gives_one_error_line_naming_the_file_or_a_working_file(fmt, steps):
    raw = base_json() if fmt == "json" else base_toml()

    check_state_file(corrupt(raw, steps), f"state.{fmt}")


# Corruption in place that keeps the file's inode, size and modification time (bit rot, or a
# restore that preserves timestamps): the file is no longer what vmsscli last wrote, even though
# the identity recorded in `<file>.lock` still matches it.
IN_PLACE = {
    # case: (the scale set, the bytes there, what they become)
    "other-set-bad-power-state": (
        b'"batch-vmss"',
        b'"power_state": "stopped"',
        b'"power_state": "stoppex"',
    ),
    "other-set-duplicate-id": (b'"tools-vmss"', b'"id": 1', b'"id": 0'),
    "focused-set-wrong-type": (
        b'"web-vmss"',
        b'"vm_sku": "Standard_D2s_v5"',
        b'"vm_sku": ["Standard_D2s_"]',
    ),
}


@pytest.mark.parametrize("case", sorted(IN_PLACE))
def test_corruption_that_keeps_size_and_mtime_is_refused_by_a_command_on_one_scale_set(
    case, state_path
):
    scale_set, old, new = IN_PLACE[case]
    assert len(old) == len(new)
    # The file as vmsscli last wrote it (its identity recorded in the lock file).
    assert invoke(["clock", "mode", "manual", "-o", "none"], state_path).exit_code == 0
    before = state_path.stat()
    raw = state_path.read_bytes()
    at = raw.index(old, raw.index(scale_set))
    corrupted = raw[:at] + new + raw[at + len(old) :]
    with open(state_path, "r+b") as handle:
        handle.write(corrupted)
    os.utime(state_path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = state_path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    assert invoke(["state", "validate", str(state_path)]).exit_code == 1  # it is invalid

    result = invoke(
        ["update", "-g", "rg-web", "-n", "web-vmss", "--instance-id", "4",
         "--protect-from-scale-in", "true", "-o", "none"],
        state_path,
    )  # fmt: skip

    assert result.exit_code == 1, (result.exit_code, result.stderr)
    _single_line_error(result, state_path)
    assert state_path.read_bytes() == corrupted


# --- structurally valid JSON with wrong contents -------------------------------------------------


@functools.cache
def schema_fields(cls: type) -> dict[str, Any]:
    """Field name -> annotation (constraints included) of a schema class."""
    namespace = {**vars(model_module), **model_module.annotation_names()}
    return typing.get_type_hints(cls, globalns=namespace, include_extras=True)


def _walk_models(value: Any, annotation: Any, path: tuple) -> typing.Iterator[tuple]:
    """(path, schema class) of every object in `value` that the schema reads as a class."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        if isinstance(value, dict):
            yield path, annotation
            for name, field_annotation in schema_fields(annotation).items():
                if name in value:
                    yield from _walk_models(value[name], field_annotation, (*path, name))
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            yield from _walk_models(value, arg, path)
    elif origin is list and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_models(item, args[0], (*path, i))
    elif origin is dict and isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_models(item, args[1], (*path, key))


def model_objects(data: dict) -> list[tuple[tuple, type]]:
    return list(_walk_models(data, State, ()))


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def all_paths(value: Any, path: tuple = ()) -> typing.Iterator[tuple]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from all_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from all_paths(item, (*path, i))


def _annotation_has(annotation: Any, wanted: type) -> bool:
    if annotation is wanted or (wanted is datetime and annotation is AwareDatetime):
        return True
    return any(_annotation_has(a, wanted) for a in typing.get_args(annotation))


def _lower_bound(annotation: Any) -> int | None:
    """The smallest number a field allows, from its ge/gt constraint (times have bounds too:
    those are the datetime cases')."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, annotated_types.Ge) and isinstance(meta.ge, int | float):
            return meta.ge
        if isinstance(meta, annotated_types.Gt) and isinstance(meta.gt, int | float):
            return meta.gt + 1
    for arg in typing.get_args(annotation):
        if (bound := _lower_bound(arg)) is not None:
            return bound
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)

BAD_DURATIONS = [
    "", " ", "PT", "P", "T", "-5s", "PT-1M", "5", "0", "1e400", "nan", "inf", "5 m", "1h 30",
    "P1Y", "PT1.5M", "P999999999D", "P9999999999D", "99999999999999999999", "PT0S", "1ms",
    "9" * 400, "1" + "0" * 30 + "s", "PT1M1", "m5", "1.5.5s",
]  # fmt: skip
BAD_DATETIMES = [
    "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-02T25:00:00Z", "2026-11-02",
    "2026-11-02T08:00:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999+00:00", "2026-11-02T08:00:00+14:00", "2026-11-02T08:00:00-23:59",
    "yesterday", "", "now", "2026-11-02T08:00:00+25:00", "1e20", "-1",
]  # fmt: skip
datetime_values = st.one_of(
    st.sampled_from(BAD_DATETIMES),
    st.datetimes().map(datetime.isoformat),  # naive
    st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False),
    st.text(max_size=25),
    st.none(),
    st.booleans(),
)
duration_values = st.one_of(
    st.sampled_from(BAD_DURATIONS),
    st.text(alphabet="PTDHMSmshd0123456789.- ", max_size=12),
    st.text(max_size=10),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
)


class WrongFile(typing.NamedTuple):
    what: str
    data: dict
    must_be_invalid: bool

    def __repr__(self) -> str:  # Hypothesis prints this for a failing example
        return f"WrongFile({self.what})"


@st.composite
def wrong_files(draw) -> WrongFile:
    """What was done, the data, and whether the file is wrong by construction."""
    data = base_data()
    models = model_objects(data)
    kind = draw(
        st.sampled_from(
            ["wrong-type", "unknown-field", "duplicate-id", "negative", "duration", "datetime"]
        )
    )
    if kind == "wrong-type":
        path = draw(st.sampled_from(sorted(all_paths(data), key=repr)))
        old = _get(data, path)
        new = draw(json_values.filter(lambda v: _json_type(v) != _json_type(old)))
        _set(data, path, new)
        return WrongFile(f"{kind} {path}: {old!r} -> {new!r}", data, False)
    if kind == "unknown-field":
        path, cls = draw(st.sampled_from(models))
        key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in schema_fields(cls)))
        _get(data, path)[key] = draw(json_values)
        return WrongFile(f"{kind} {path}.{key!r}", data, True)
    if kind == "duplicate-id":
        sets = [
            (path, obj)
            for path, cls in models
            if cls.__name__ == "ScaleSet" and len((obj := _get(data, path))["instances"]) > 1
        ]
        path, scale_set = draw(st.sampled_from(sets))
        count = len(scale_set["instances"])
        i = draw(st.integers(0, count - 1))
        j = draw(st.integers(0, count - 1).filter(lambda j: j != i))
        scale_set["instances"][j]["id"] = scale_set["instances"][i]["id"]
        return WrongFile(f"{kind} {path} [{j}] := [{i}]", data, True)
    if kind == "negative":
        bounded = [
            ((*path, name), bound)
            for path, cls in models
            for name, annotation in schema_fields(cls).items()
            if (bound := _lower_bound(annotation)) is not None and bound >= 0
        ]
        path, bound = draw(st.sampled_from(bounded))
        value = draw(st.integers(max_value=min(bound - 1, -1), min_value=-(2**70)))
        _set(data, path, value)
        return WrongFile(f"{kind} {path} = {value}", data, True)
    if kind == "duration":
        names = sorted(schema_fields(next(cls for p, cls in models if p == ("durations",))))
        name = draw(st.sampled_from(names))
        value = draw(duration_values)
        data["durations"][name] = value
        return WrongFile(f"{kind} durations.{name} = {value!r}", data, False)
    # datetime
    fields = [
        ((*path, name))
        for path, cls in models
        for name, annotation in schema_fields(cls).items()
        if _annotation_has(annotation, datetime)
    ]
    path = draw(st.sampled_from(fields))
    value = draw(datetime_values)
    _set(data, path, value)
    return WrongFile(f"{kind} {path} = {value!r}", data, False)


@settings(FUZZ, max_examples=250)
@given(case=wrong_files())
def test_wrong_but_well_formed_state_files_are_refused_on_one_line_or_served(case):
    what, data, must_be_invalid = case
    raw = json.dumps(data, indent=2).encode()

    try:
        check_state_file(raw, "state.json", must_be_invalid=must_be_invalid)
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from exc


# One case per kind of failure the fuzzers above have found, so each is reported on its own.
EDGE_FILES = {
    "naive-year-1-clock-time": (("clock", "now"), "0001-01-01T00:00:00"),
    "naive-activity-time": (("history", "events", 0, "time"), "2026-11-02T08:00:00"),
    "clock-at-year-9999": (("clock", "now"), "9999-12-31T23:59:00Z"),
    "longest-timedelta-duration": (("durations", "restart"), "P999999999D"),
    "duration-beyond-timedelta": (("durations", "restart"), "P9999999999D"),
    "duration-of-huge-seconds": (("durations", "restart"), "99999999999999999999"),
    "duration-with-line-break": (("durations", "restart"), "soon\nor later"),
    "unknown-field-with-line-break": (
        ("resource_groups", "rg-web", "scale_sets", "web-vmss", "vm\nsku"),
        "Standard_D2s_v5",
    ),
}


@pytest.mark.parametrize("case", sorted(EDGE_FILES))
def test_edge_values_found_by_fuzzing_are_refused_on_one_line_or_served(case):
    where, value = EDGE_FILES[case]
    data = base_data()
    _set(data, where, value)

    check_state_file(json.dumps(data, indent=2).encode(), "state.json")


# --- random command lines ------------------------------------------------------------------------


class Spec(typing.NamedTuple):
    options: list[str]  # every option string
    flags: list[str]  # options that take no value
    positionals: int


@functools.cache
def command_table() -> dict[tuple[str, ...], Spec]:
    """Every leaf command of the real CLI: its option strings and positional arguments."""
    from typer.main import get_command

    from vmsscli.cli.app import build_app

    table: dict[tuple[str, ...], Spec] = {}

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
            return
        options = [p for p in cmd.params if p.param_type_name == "option"]
        table[path] = Spec(
            options=[o for p in options for o in (*p.opts, *p.secondary_opts)],
            flags=[o for p in options if p.is_flag for o in p.opts],
            positionals=sum(p.param_type_name == "argument" for p in cmd.params),
        )

    walk(get_command(build_app(None)), ())
    for path in FOREGROUND:
        del table[path]
    return table


# Commands that run until interrupted or run another program: a random line that happens to
# be valid would serve forever (or start the real az), so the fuzzer leaves them out; their
# flag errors are tested in test_endpoint_security.py.
FOREGROUND = [("serve",), ("az",)]


GLOBAL_FLAGS = [
    "--debug", "--only-show-errors", "--output", "-o", "--query", "--state", "--subscription",
    "--verbose", "-h", "--help",
]  # fmt: skip
VALUES = [
    "rg-web", "rg-batch", "RG-WEB", "rg-nope", "web-vmss", "batch-vmss", "tools-vmss", "nope",
    "0", "1", "3", "4", "5", "9", "12", "13", "999", "-1", "00", "1.5", "*", "abc", "[0,1]", "[",
    "[]", '["0", "x"]', "0 1", "true", "false", "yes", "no", "1m", "PT2M", "-5s", "90s",
    "P999999999D", "9" * 40, "2026-11-23T10:00:00Z", "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00", "junk-time", "json", "jsonc", "table", "tsv", "yaml", "yamlc", "none",
    "xml", "TABLE", "[0]", "length(@)", "[?", "foo(", "[].instanceId", "@missing", "@-",
    "state.json", "x.toml", "x.json", "x.yaml", "dir", ".", "wall", "manual", "bash", "zsh",
    "fish", "powershell", "instanceView", "Manual", "Rolling", "Automatic", "Uniform",
    "Flexible", "Ubuntu2204", "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest",
    "Standard_D2s_v5", "k=v", "k", "=", "", " ", "-", "--", "-x", "--nope", "é", "\t", "a\nb",
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-web/providers/"
    "Microsoft.Compute/virtualMachineScaleSets/web-vmss/virtualMachines/4",
    "/subscriptions/x/resourceGroups/rg-web/providers/Microsoft.Compute/"
    "virtualMachineScaleSets/web-vmss",
    "RunShellScript", "echo hi", "uptime", "systemctl status nginx", "2", "20",
]  # fmt: skip
# Junk without digits, so it never becomes a huge capacity or instance count.
junk = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Nd")), max_size=8)


@st.composite
def command_lines(draw) -> list[str]:
    """Half the time a plausible line (the command's own flags with plausible values, then
    maybe junk), half the time any mix of real flags, prefixes, values and junk."""
    table = command_table()
    path = draw(st.sampled_from(sorted(table)))
    spec = table[path]
    own = spec.options
    every_flag = sorted({opt for other in table.values() for opt in other.options})
    value = st.sampled_from(VALUES)
    flag = st.one_of(
        st.sampled_from(own or GLOBAL_FLAGS),
        st.sampled_from(GLOBAL_FLAGS),
        st.sampled_from(every_flag),
        # unique and ambiguous prefixes, and --flag=value forms
        st.sampled_from(own or every_flag).map(lambda f: f[: max(3, len(f) // 2)]),
        st.tuples(st.sampled_from(own or every_flag), value).map("=".join),
    )
    token = st.one_of(flag, value, value, junk)
    head = list(path)
    if draw(st.integers(0, 9)) == 0:
        head = [draw(st.sampled_from([head[0][:-1] or "x", head[0].upper(), "bogus"]))]
    if draw(st.booleans()):
        return [*head, *draw(st.lists(token, max_size=8))]
    body: list[str] = []
    if "--resource-group" in own:
        body += ["-g", draw(st.sampled_from(["rg-web", "rg-web", "rg-batch", "rg-nope"]))]
    if "--name" in own:
        body += ["-n", draw(st.sampled_from(["web-vmss", "web-vmss", "batch-vmss", "nope"]))]
    named = [o for o in own if o.startswith("--") and o not in ("--resource-group", "--name")]
    for option in draw(st.lists(st.sampled_from(named or GLOBAL_FLAGS), max_size=3, unique=True)):
        count = 0 if option in spec.flags else draw(st.sampled_from([1, 1, 1, 2, 0]))
        body += [option, *draw(st.lists(value, min_size=count, max_size=count))]
    body += draw(st.lists(value, min_size=spec.positionals, max_size=spec.positionals))
    if draw(st.integers(0, 3)) == 0:
        body += draw(st.lists(token, max_size=3))
    return [*head, *body]


@settings(FUZZ, max_examples=300)
@given(lines=st.lists(command_lines(), min_size=1, max_size=2))
def test_random_command_lines_end_with_an_az_exit_code_and_never_a_traceback(
    lines, tmp_path, monkeypatch
):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "dir").mkdir()
    monkeypatch.chdir(folder)  # relative paths in the junk (state convert DST) land here
    # `vmss wait --interval 999` sleeps real seconds between polls, as az does: not here.
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    path = folder / "state.json"
    path.write_bytes(base_json())

    for args in lines:
        result = invoke(args, path)  # re-raises anything that escapes the CLI

        assert result.exit_code in (0, 1, 2, 3), (args, result.exit_code, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout, (args, result.stderr)
        assert UNEXPECTED not in result.stderr, (args, result.stderr)
        if result.exit_code:
            assert result.stderr.strip(), (args, "an error exit without a message")


EDGE_LINES = {
    "advance-by-the-longest-duration": [["clock", "advance", "P999999999D"]],
    "advance-past-year-9999": [
        ["clock", "set", "9999-12-31T23:59:00Z"],
        ["clock", "advance", "5m"],
    ],
    "start-with-blank-ids": [["start", "-g", "rg-web", "-n", "web-vmss", "--ids", " "]],
    "delete-instances-with-blank-ids": [["delete-instances", "--instance-ids", "1", "--ids", "\t"]],
}


@pytest.mark.parametrize("case", sorted(EDGE_LINES))
def test_command_lines_found_by_fuzzing_end_with_an_az_exit_code(case, state_path):
    for args in EDGE_LINES[case]:
        result = invoke(args, state_path)

        assert result.exit_code in (0, 1, 2, 3), (args, result.exit_code, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert UNEXPECTED not in result.stderr, (args, result.stderr)


def test_command_table_covers_every_command_of_the_cli():
    table = command_table()

    assert ("restart",) in table and ("update",) in table and ("scale",) in table
    assert ("state", "convert") in table and ("clock", "advance") in table
    assert "--protect-from-scale-in" in table[("update",)].options
    assert "--new-capacity" in table[("scale",)].options
    assert "--no-wait" in table[("restart",)].flags
    assert not set(FOREGROUND) & set(table)
    assert table[("state", "convert")].positionals == 2
    assert base_data()["clock"]["mode"] == "manual"
