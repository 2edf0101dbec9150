"""The last validated state of each state file, kept so that a command that only reads does not
parse, validate, or even import the validator again.

A command that reads a 1000-instance file spends more on pydantic-core (importing it, then
validating) than on everything else it does; unpickling the objects that validation produced
last time takes a few milliseconds. An entry is used only for the very file it was made from:
its path, inode, size, modification time and CRC-32 must all match (the stamp the store keeps),
and the schema's source and vmsscli's version must be the ones that validated it. Anything
else (a missing, stale, damaged or unreadable entry) means the file is validated as before.
Entries live in `states/` of the schema cache folder, one per state file, and are written
atomically without the writer lock (any reader may refresh one); failing to write one only
means the next read validates again.

The entry is a pickle in the user's own cache folder: the same trust as the schema cache and
Python's bytecode caches.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

# At most this many entries are kept; the least recently written go first.
MAX_ENTRIES = 32


def _folder() -> Path:
    from vmsscli.schema import cache_folder

    return cache_folder() / "states"


def _key(path: Path, stamp: list[int]) -> tuple[Any, ...]:
    """Everything a validated state depends on: the file, and the code that validated it."""
    import zlib

    from vmsscli import __version__, model

    with open(model.__file__ or "", "rb") as handle:
        checksum = zlib.crc32(handle.read())
    return (str(path.resolve()), *stamp, checksum, __version__, sys.version_info[:2])


def _entry(key: tuple[Any, ...]) -> Path:
    import zlib

    return _folder() / f"{zlib.crc32(key[0].encode()):08x}.pickle"


def get(path: Path, stamp: list[int]) -> Any:
    """The state validated from exactly this file, or None."""
    try:
        key = _key(path, stamp)
        with open(_entry(key), "rb") as handle:
            if pickle.load(handle) != key:
                return None
            return pickle.load(handle)
    except Exception:  # no entry, or one that cannot be read: the file is validated instead
        return None


def put(path: Path, stamp: list[int], state: Any) -> None:
    """Keep `state` as the validated content of the file with this stamp."""
    tmp = ""
    try:
        key = _key(path, stamp)
        entry = _entry(key)
        content = pickle.dumps(key, protocol=5) + pickle.dumps(state, protocol=5)
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = f"{entry}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(content)
        os.replace(tmp, entry)
        tmp = ""
        _prune(entry.parent)
    except Exception:
        pass
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _prune(folder: Path) -> None:
    entries = list(folder.glob("*.pickle"))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda entry: entry.stat().st_mtime_ns)
    for old in entries[: len(entries) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            old.unlink()
