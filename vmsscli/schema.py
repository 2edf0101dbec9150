"""Validating and serializing the state schema's dataclasses with pydantic.

pydantic builds a class's core schema in Python (for the ~30 classes of `vmsscli.model`, about
100 ms, with most of pydantic imported); pydantic-core then compiles it into a validator and a
serializer in about a millisecond. So the built schema is kept in a cache file, one per class,
named after the source of the modules that define it and the pydantic-core and Python versions:
a run that finds it imports only pydantic-core. A missing, stale or unreadable cache file is
rebuilt, and rewritten when the folder allows. Validation itself is the same either way.

The cache folder is $VMSSCLI_CACHE_DIR, else $XDG_CACHE_HOME/vmsscli, else ~/.cache/vmsscli.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Loaded validators and serializers, per class (tests run many commands in one process).
_compiled: dict[type, tuple[Any, Any]] = {}


def cache_folder() -> Path:
    chosen = os.environ.get("VMSSCLI_CACHE_DIR")
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "vmsscli"


def validate(cls: type[T], data: Any) -> T:
    """`data` (plain Python values, as parsed from JSON or TOML) as an instance of `cls`, with
    defaults filled in; raises pydantic_core.ValidationError naming every problem."""
    return compiled(cls)[0].validate_python(data)


def dump(value: Any, *, mode: str = "python", exclude_defaults: bool = False) -> Any:
    """A schema object as plain values: `mode="json"` gives what JSON can hold (times as ISO
    text); `exclude_defaults` leaves out what a file need not say."""
    return compiled(type(value))[1].to_python(value, mode=mode, exclude_defaults=exclude_defaults)


def compiled(cls: type) -> tuple[Any, Any]:
    """The validator and serializer for a schema class, from the cache when it is current."""
    found = _compiled.get(cls)
    if found is None:
        from pydantic_core import SchemaSerializer, SchemaValidator

        core_schema = _core_schema(cls)
        found = _compiled[cls] = (SchemaValidator(core_schema), SchemaSerializer(core_schema))
    return found


def _core_schema(cls: type) -> Any:
    import pickle

    path = _cache_path(cls)
    if path is not None:
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except Exception:  # missing, damaged or unreadable: built again and replaced below
            pass
    core_schema = build_core_schema(cls)
    if path is not None:
        _save(path, core_schema)
    return core_schema


def build_core_schema(cls: type) -> Any:
    """The core schema pydantic builds for `cls` (the slow step the cache saves)."""
    from pydantic import TypeAdapter

    from vmsscli import model

    # pydantic reads the (string) annotations in the namespace of the module defining each
    # class; the names they use from pydantic are put there only now.
    names = model.annotation_names()
    for module in {model, sys.modules[cls.__module__]}:
        for name, value in names.items():
            vars(module).setdefault(name, value)
    return TypeAdapter(cls).core_schema


def _cache_path(cls: type) -> Path | None:
    """The cache file for `cls`, named after everything its schema depends on; None when the
    source cannot be read (then the schema is built on every run)."""
    import zlib

    import pydantic_core

    from vmsscli import model

    checksum = 0
    for module in sorted({model.__name__, cls.__module__}):
        try:
            with open(sys.modules[module].__file__ or "", "rb") as handle:
                checksum = zlib.crc32(handle.read(), checksum)
        except OSError:
            return None
    python = "".join(map(str, sys.version_info[:2]))
    name = (
        f"{cls.__module__}.{cls.__qualname__}-{checksum:08x}"
        f"-core{pydantic_core.__version__}-py{python}.pickle"
    )
    return cache_folder() / name


def _save(path: Path, core_schema: Any) -> None:
    """Write the cache file atomically; any failure only means the next run builds again."""
    import contextlib
    import pickle
    import tempfile

    tmp = ""
    try:
        content = pickle.dumps(core_schema, protocol=pickle.HIGHEST_PROTOCOL)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)
        tmp = ""
    except Exception:
        pass
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
