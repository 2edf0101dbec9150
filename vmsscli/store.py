"""Loading, validating, migrating, locking and atomically saving the state file.

The file is JSON or TOML, chosen by its extension. Readers never lock: writes replace the file
atomically, so a reader always sees a whole version. Writers hold an exclusive lock on a
sidecar `<file>.lock` across read-modify-write, so concurrent invocations never lose an update.
The previous version is kept as `<file>.bak`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vmsscli.errors import StateFileError
from vmsscli.model import SCHEMA_VERSION, State

DEFAULT_PATH = Path("~/.vmsscli/state.json")
LOCK_TIMEOUT_ENV = "VMSSCLI_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 10.0


def _history_beside_the_document(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept the activity log in the document; version 2 keeps it in the history
    database beside it. The events are carried until the next write moves them there."""
    events = data.pop("activity_log", None)
    if events:
        history = data.setdefault("history", {})
        if isinstance(history, dict):
            history["events"] = events
    return data


# Migrations from schema version N (the key) to N + 1; each takes and returns the raw data.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _history_beside_the_document,
}


def resolve_path(explicit: str | None) -> tuple[Path, bool]:
    """The state path from `--state`, else `VMSSCLI_STATE`, else the default; and whether it
    is the default (only the default location's folder is created on demand)."""
    chosen = explicit or os.environ.get("VMSSCLI_STATE")
    if chosen:
        return Path(chosen).expanduser(), False
    return DEFAULT_PATH.expanduser(), True


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix == ".toml":
        return "toml"
    raise StateFileError(
        f"State file '{path}' must end in .json or .toml (the extension chooses the format)."
    )


# --- parsing and validation ------------------------------------------------------------------


def parse(raw: bytes, path: Path) -> dict[str, Any]:
    """Bytes to raw data, with line and column for syntax errors."""
    fmt = file_format(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateFileError(
            f"State file '{path}' is not valid UTF-8 (byte {exc.start})."
        ) from None
    if not text.strip():
        raise StateFileError(
            f"State file '{path}' is empty. Use 'vmss state reset' to start from the demo fleet."
        )
    if fmt == "json":
        import orjson

        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            # orjson is several times faster; the standard library words errors as people
            # expect (and reads the rare document orjson refuses, e.g. huge integers).
            import json

            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise StateFileError(
                    f"State file '{path}' is not valid JSON: {exc.msg} "
                    f"(line {exc.lineno}, column {exc.colno})."
                ) from None
            except RecursionError:
                raise StateFileError(
                    f"State file '{path}' is not valid JSON: nested too deeply."
                ) from None
    else:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise StateFileError(f"State file '{path}' is not valid TOML: {exc}.") from None
    if not isinstance(data, dict):
        raise StateFileError(
            f"State file '{path}' must hold an object (a table) at the top level, "
            f"not {type(data).__name__}."
        )
    return data


def _format_location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part) if str(part).isprintable() and "." not in str(part) else repr(part)
            out += f".{text}" if out else text
    return out or "(top level)"


def validate(data: dict[str, Any], path: Path) -> State:
    """Raw data to a complete State: refuse newer schemas, migrate older ones, validate."""
    from pydantic_core import ValidationError

    from vmsscli.schema import validate as validate_as

    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise StateFileError(
            f"State file '{path}' is invalid at schema_version: expected a positive whole "
            f"number, got {version!r}."
        )
    if version > SCHEMA_VERSION:
        raise StateFileError(
            f"State file '{path}' was written with schema version {version}, newer than this "
            f"vmsscli understands ({SCHEMA_VERSION}). Upgrade vmsscli to read it."
        )
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        data["schema_version"] = version
    try:
        return validate_as(State, data)
    except ValidationError as exc:
        raise StateFileError(f"State file '{path}' is invalid at {describe(exc)}.") from None


# The schema's classes are dataclasses; pydantic words their errors as if about a call.
MESSAGES = {
    "unexpected_keyword_argument": "Extra inputs are not permitted",
    "dataclass_type": "Input should be a valid dictionary (a table)",
}
QUIET_INPUT = {"missing", "value_error", "unexpected_keyword_argument"}


def describe(exc: Any) -> str:
    """A pydantic ValidationError as one phrase: where, what, and how many more problems."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = _format_location(first["loc"])
    message = MESSAGES.get(first["type"], first["msg"])
    if first["type"] in ("value_error", "assertion_error"):
        message = message.removeprefix("Value error, ")
    got = ""
    if "input" in first and first["type"] not in QUIET_INPUT:
        got = f" (got {first['input']!r})"
    more = (
        f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        if len(errors) > 1
        else ""
    )
    return f"{where}: {message}{got}{more}"


# A scale set a command works on, as (resource group, name); the other scale sets in the file
# are neither validated nor re-encoded by that command (see `set_aside`).
Focus = tuple[str, str] | None
SetAside = dict[tuple[str, str], Any]


def set_aside(data: dict[str, Any], focus: Focus) -> SetAside:
    """Take every scale set but the focused one out of the raw data (leaving an empty one in
    its place), so that a command on one scale set of a large file validates and encodes only
    that one. They go back into the file unchanged (`serialize`). `vmss state validate` and
    commands that read the whole fleet still check everything."""
    aside: SetAside = {}
    groups = data.get("resource_groups")
    if focus is None or not isinstance(groups, dict):
        return aside
    rg, name = (part.casefold() for part in focus)
    for rg_key, group in groups.items():
        sets = group.get("scale_sets") if isinstance(group, dict) else None
        if not isinstance(sets, dict):
            continue
        for key in list(sets):
            if rg_key.casefold() == rg and key.casefold() == name:
                continue
            aside[(rg_key, key)] = sets[key]
            sets[key] = {}
    return aside


def serialize(state: State, path: Path, aside: SetAside | None = None) -> bytes:
    """A State as the bytes of a JSON or TOML file (defaults omitted, nothing null), with the
    scale sets a focused command set aside put back as they were."""
    from vmsscli.schema import dump

    data = dump(
        state, mode="json" if file_format(path) == "json" else "python", exclude_defaults=True
    )
    data = {"schema_version": SCHEMA_VERSION, **data}
    for (rg, name), raw in (aside or {}).items():
        sets = data.get("resource_groups", {}).get(rg, {}).get("scale_sets")
        if sets is not None and name in sets:
            sets[name] = raw
    if file_format(path) == "json":
        import orjson

        return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
    import tomli_w

    return tomli_w.dumps(data).encode("utf-8")


def read_file(path: Path) -> State:
    return load(path)[0]


def load(path: Path, focus: Focus = None, *, cached: str | None = None) -> tuple[State, SetAside]:
    """Read and validate the file. With a focus, and only when the file is exactly as vmsscli
    last wrote it (its stamp matches), the other scale sets are set aside unvalidated: they
    were valid when written. A file changed by anything else is validated whole.

    `cached="read"` takes the state from the validated-state cache when it holds this very
    file, and fills the cache when the whole file was validated; `cached="write"` only takes
    it, and only when nothing would be set aside (a write re-encodes what it loaded)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
            stamp = _stamp(os.fstat(handle.fileno()), raw)
    except IsADirectoryError:
        raise StateFileError(f"State file '{path}' is a directory.") from None
    except FileNotFoundError:
        raise StateFileError(f"State file '{path}' does not exist.") from None
    except OSError as exc:
        raise StateFileError(f"Cannot read state file '{path}': {exc.strerror}.") from None
    if cached:
        from vmsscli import state_cache

        state = state_cache.get(path, stamp)
        if state is not None and (cached == "read" or _nothing_aside(state, focus)):
            return _attach_history(state, path), {}
    trusted = focus is not None and stamp == _recorded_stamp(path)
    data = parse(raw, path)
    aside = set_aside(data, focus) if trusted else {}
    state = validate(data, path)
    if cached == "read" and not aside:
        state_cache.put(path, stamp, state)
    _attach_history(state, path)
    return state, aside


def _history_write(state: State, path: Path, *, whole: bool = False) -> Callable[[], None] | None:
    """The write of the events to keep (see `vmsscli.history.prepare`); the import of the
    database module only when there are any, or a whole new state is written."""
    if not whole and not state.activity_log.pending:
        return None
    from vmsscli.history import prepare

    return prepare(state, path, whole=whole)


def _attach_history(state: State, path: Path) -> State:
    from vmsscli.history import attach

    attach(state, path)
    return state


def _nothing_aside(state: State, focus: Focus) -> bool:
    """Whether loading with this focus would set no scale set aside."""
    if focus is None:
        return True
    wanted = tuple(part.casefold() for part in focus)
    return all((rg.casefold(), name.casefold()) == wanted for rg, name, _ in state.scale_sets())


# --- locking and atomic writes ---------------------------------------------------------------


def _lock_timeout() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_LOCK_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise StateFileError(
            f"{LOCK_TIMEOUT_ENV} must be a number of seconds, not {raw!r}."
        ) from None
    return max(value, 0.0)


def _lock_holder(lock_path: Path) -> str:
    info = _lock_info(lock_path)
    if "pid" not in info:
        return ""
    return (
        f" It is held by pid {info.get('pid')} ({info.get('command', '?')}) "
        f"since {info.get('since', '?')}."
    )


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive writer lock for `path`; name the holder when it cannot be had.

    The lock is an advisory `flock` on `<file>.lock`, which the kernel releases when the holder
    exits, however it ends (a killed writer never leaves a stale lock). It is taken with a
    system call rather than the filelock package, whose import costs more (about 20 ms) than a
    whole protection change on a 1000-instance file; Windows, which has no flock, uses
    filelock.
    """
    lock_path = _lock_path(path)
    timeout = _lock_timeout()
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        with _locked_by_filelock(path, lock_path, timeout):
            _record_holder(lock_path)
            yield
        return
    import fcntl

    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise StateFileError(f"Cannot lock state file '{path}': {exc.strerror}.") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _lock_timeout_error(path, lock_path, timeout) from None
                time.sleep(0.01)
            except OSError as exc:
                raise StateFileError(f"Cannot lock state file '{path}': {exc.strerror}.") from None
        _record_holder(lock_path)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def _locked_by_filelock(path: Path, lock_path: Path, timeout: float) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(lock_path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise _lock_timeout_error(path, lock_path, timeout) from None
    except OSError as exc:
        raise StateFileError(f"Cannot lock state file '{path}': {exc.strerror}.") from None
    try:
        yield
    finally:
        lock.release()


def _lock_timeout_error(path: Path, lock_path: Path, timeout: float) -> StateFileError:
    return StateFileError(
        f"Could not lock state file '{path}' within {timeout:g} seconds: another vmss "
        f"command is changing it.{_lock_holder(lock_path)} "
        f"Retry, or raise {LOCK_TIMEOUT_ENV}."
    )


# The lock file's JSON is read and written with orjson, which a JSON state file needs anyway:
# the standard library's json module costs a writer more to import than the two calls.


def _lock_info(lock_path: Path) -> dict[str, Any]:
    import orjson

    try:
        info = orjson.loads(lock_path.read_bytes() or b"{}")
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _write_lock_info(lock_path: Path, info: dict[str, Any]) -> None:
    import orjson

    with contextlib.suppress(OSError), open(lock_path, "r+b") as handle:
        handle.truncate(0)
        handle.write(orjson.dumps(info))


def _record_holder(lock_path: Path) -> None:
    """Write who holds the lock into the lock file, for the message a waiter prints."""
    info = _lock_info(lock_path)
    info.update(
        {
            "pid": os.getpid(),
            "command": " ".join(["vmss", *sys.argv[1:]])[:200],
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    )
    _write_lock_info(lock_path, info)


def _stamp(stat: os.stat_result, content: bytes) -> list[int]:
    """What identifies the file vmsscli wrote: inode, size, modification time and a CRC-32 of
    its bytes (a millisecond or two for a large file), so that even a change in place that
    keeps size and times is noticed."""
    import zlib

    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, zlib.crc32(content)]


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _recorded_stamp(path: Path) -> list[int] | None:
    return _lock_info(_lock_path(path)).get("validated")


def _record_stamp(path: Path, content: bytes) -> None:
    """Remember the file vmsscli just wrote (every part of it valid), in the lock file; only
    called with the lock held."""
    lock_path = _lock_path(path)
    info = _lock_info(lock_path)
    try:
        info["validated"] = _stamp(os.stat(path), content)
    except OSError:
        return
    _write_lock_info(lock_path, info)


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temp_files(path: Path) -> None:
    """Delete temp files a killed writer left behind; only called with the lock held."""
    prefix = _temp_prefix(path)
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(
    path: Path,
    data: bytes,
    *,
    backup: bool = True,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Replace `path` with `data` so that a crash leaves the old or the new file, never a mix.

    The old version is kept as `<file>.bak` (by hard link where the file system allows, so no
    copy is made), and the file keeps its permissions. `before_replace` runs once the new
    content is safely on disk and before it replaces the file (the activity history's write:
    the rename commits both); if it raises, the file is not changed.
    """
    folder = path.parent
    try:
        mode = os.stat(path).st_mode & 0o7777
        exists = True
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
        exists = False
    except OSError as exc:
        raise StateFileError(f"Cannot write state file '{path}': {exc.strerror}.") from None
    tmp_name = ""
    try:
        fd, tmp_name = _create_temp(path)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace()
        if exists and backup:
            _backup(path)
        os.replace(tmp_name, path)
        tmp_name = ""
        _fsync_dir(folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StateFileError(
            f"Cannot write state file '{path}': {reason}. The file was not changed."
        ) from None
    finally:
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _create_temp(path: Path) -> tuple[int, str]:
    """A new file beside `path`, private until it replaces it (as `tempfile.mkstemp` makes
    one, without importing tempfile on every write)."""
    for _ in range(100):
        name = str(path.with_name(f"{_temp_prefix(path)}{os.urandom(6).hex()}.tmp"))
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def _backup(path: Path) -> None:
    backup = path.with_name(path.name + ".bak")
    with contextlib.suppress(OSError):
        if os.path.samefile(path, backup):
            # A writer stopped between its backup and its replace: the backup already holds
            # this version (renaming a file onto another link of itself does nothing).
            return
    staging = path.with_name(f"{_temp_prefix(path)}bak.tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staging)
    try:
        os.link(path, staging)
    except OSError:
        import shutil

        shutil.copy2(path, staging)
    try:
        os.replace(staging, backup)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staging)


# --- the store as commands use it ------------------------------------------------------------


class Store:
    """The state file a command works on."""

    def __init__(
        self,
        path: Path,
        *,
        is_default: bool = False,
        on_created: Callable[[Path], None] | None = None,
        seed: Callable[[], State] | None = None,
    ) -> None:
        self.path = path
        self.is_default = is_default
        self.on_created = on_created
        # What a missing file starts as (the application layer passes the demo fleet); without
        # a seed, a missing file is an error.
        self.seed = seed

    def read(self, focus: Focus = None) -> State:
        """The current state, for commands that only read (no lock is taken). With a focus,
        only that scale set is loaded among the scale sets."""
        if not self.path.exists():
            file_format(self.path)
            self._ensure_folder()
            with locked(self.path):
                if not self.path.exists():
                    return self._create()
        return load(self.path, focus, cached="read")[0]

    @contextlib.contextmanager
    def transaction(self, focus: Focus = None) -> Iterator[State]:
        """Read, let the caller change, and save the state under the writer lock.

        Nothing is written when the caller raises: a failed command leaves the file as it was.
        With a focus, the other scale sets are written back exactly as they were read.
        """
        self._prepare()
        with locked(self.path):
            remove_stale_temp_files(self.path)
            if self.path.exists():
                state, aside = load(self.path, focus, cached="write")
            else:
                state, aside = self._create(), {}
            yield state
            keep_events = _history_write(state, self.path)
            content = serialize(state, self.path, aside)
            atomic_write(self.path, content, before_replace=keep_events)
            _record_stamp(self.path, content)

    def replace(self, state: State) -> None:
        """Write a whole new state (reset, import, copy), its activity log with it, keeping the
        old one as the backup."""
        from vmsscli.history import drop_garbage

        self._prepare()
        with locked(self.path):
            remove_stale_temp_files(self.path)
            keep_events = _history_write(state, self.path, whole=True)
            content = serialize(state, self.path)
            atomic_write(self.path, content, before_replace=keep_events)
            _record_stamp(self.path, content)
            drop_garbage(state, self.path)

    def _prepare(self) -> None:
        """Check the path, and load the schema's validator before the lock is taken: other
        writers then wait only for the read-modify-write, not for imports."""
        from vmsscli.schema import compiled

        file_format(self.path)
        self._ensure_folder()
        compiled(State)

    def _create(self) -> State:
        if self.seed is None:
            raise StateFileError(f"State file '{self.path}' does not exist.")
        state = self.seed()
        keep_events = _history_write(state, self.path, whole=True)
        content = serialize(state, self.path)
        atomic_write(self.path, content, backup=False, before_replace=keep_events)
        _record_stamp(self.path, content)
        if self.on_created:
            self.on_created(self.path)
        return state

    def _ensure_folder(self) -> None:
        folder = self.path.parent
        if folder.is_dir():
            return
        if self.is_default:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                return
            except OSError as exc:
                raise StateFileError(f"Cannot create folder '{folder}': {exc.strerror}.") from None
        if folder.exists():
            raise StateFileError(
                f"Cannot use state file '{self.path}': '{folder}' is not a folder."
            )
        raise StateFileError(
            f"Cannot use state file '{self.path}': folder '{folder}' does not exist."
        )
