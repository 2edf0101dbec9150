"""The activity log kept beside a state file, in SQLite: `<state file>.history.db`.

The log only grows. Inside the state document every command read, parsed and rewrote all of it
(60 000 events made a 33 MB file and 0.9 s per protection change); here a command reads only the
events it asks for, and a write adds only its own.

One unit of work over two files. The document names the generation of the history it agrees
with (`history.generation`). A writer, holding the state file's lock, deletes the events of any
later generation (left by a writer that died half-way), adds its own under the next generation
and commits, then replaces the document, which now names that generation: the rename is the
commit point of both. Readers never lock and read only events of the generations the document
names. So a change and its events are seen together or not at all, whenever a writer dies.

A whole new state (reset, copy) writes its events under a new generation and names it as the
document's first: the events before it stay until the document is replaced, then are garbage.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmsscli.model import ActivityEntry, ActivityLog, State, time_key

if TYPE_CHECKING:  # pragma: no cover
    import sqlite3

TABLES = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    time TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_position ON events (position);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE INDEX IF NOT EXISTS events_correlation ON events (correlation_id);
CREATE INDEX IF NOT EXISTS events_resource ON events (resource_id);
CREATE INDEX IF NOT EXISTS events_generation ON events (generation);
"""

# One event as a row: (position, time, correlation id, case-folded resource id, entry as JSON).
Row = tuple[int, str, str, str, str]


def database_path(state_path: Path) -> Path:
    """Beside the file; its backup (`<file>.bak`, the version before the last write) names a
    generation of the same database, so restoring the backup restores its history too."""
    return state_path.with_name(state_path.name.removesuffix(".bak") + ".history.db")


def encode(position: int, entry: ActivityEntry) -> Row:
    import orjson

    from vmsscli.schema import dump

    return (
        position,
        time_key(entry.time),
        entry.correlation_id,
        entry.resource_id.casefold(),
        orjson.dumps(dump(entry, mode="json", exclude_defaults=True)).decode(),
    )


def decode(text: str) -> ActivityEntry:
    import orjson

    data = orjson.loads(text)
    entry = _plain_entry(data)
    if entry is not None:
        return entry
    from pydantic_core import ValidationError

    from vmsscli.errors import StateFileError
    from vmsscli.schema import validate

    try:
        return validate(ActivityEntry, data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the event"
        raise StateFileError(
            f"An event in the activity history cannot be read: {where}: {problem['msg']}. "
            "Move the database aside to go on with an empty history."
        ) from None


_TEXT_FIELDS = frozenset(
    ("operation", "resource_id", "status", "error", "command", "detail", "correlation_id", "caller")
)
_ID_LISTS = frozenset(("instance_ids", "requested"))
_STATUSES = frozenset(("Started", "Succeeded", "Failed"))


def _plain_entry(data: Any) -> ActivityEntry | None:
    """An event as this module writes it, built without the schema's validator (loading it costs
    a read of a few events more than the read itself); None for anything else (an upgrade
    record, a value of an unexpected type), which the validator then reads or refuses."""
    from datetime import UTC, datetime

    from vmsscli.model import EARLIEST, LATEST, SkippedInstance

    if not isinstance(data, dict):
        return None
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in _TEXT_FIELDS:
            if not isinstance(value, str):
                return None
        elif key in _ID_LISTS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return None
        elif key == "time":
            if not isinstance(value, str) or not value.endswith("Z"):
                return None
            try:
                value = datetime.fromisoformat(value).astimezone(UTC)
            except ValueError:
                return None
            if not EARLIEST <= value <= LATEST:
                return None
        elif key == "skipped":
            if not isinstance(value, list):
                return None
            skipped = []
            for item in value:
                if not isinstance(item, dict) or set(item) != {"instance_id", "reason"}:
                    return None
                if not all(isinstance(v, str) for v in item.values()):
                    return None
                skipped.append(SkippedInstance(**item))
            value = skipped
        else:
            return None
        values[key] = value
    if "time" not in values or values.get("status", "Succeeded") not in _STATUSES:
        return None
    return ActivityEntry(**values)


def _connect(path: Path, *, create: bool) -> sqlite3.Connection | None:
    """A connection to the database, or None when it does not exist and may not be created
    (or cannot be opened for reading: then there is nothing to read)."""
    import sqlite3

    if not create:
        if not path.exists():
            return None
        try:
            uri = path.resolve().as_uri() + "?mode=rw"
            return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        except sqlite3.Error:
            return None
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    try:
        connection.isolation_level = None  # transactions are begun and committed explicitly
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.executescript(TABLES)
    except BaseException:
        connection.close()
        raise
    return connection


class StoredActivityLog(ActivityLog):
    """The log of a state loaded from a file: the events kept in its history database (those of
    the document's generation and before), then the events recorded since it was loaded."""

    def __init__(
        self,
        path: Path,
        generations: tuple[int, int],
        carried: Iterable[ActivityEntry] = (),
    ):
        # Events the document itself carried count as recorded since: the next write keeps them.
        super().__init__(carried)
        self.path = path
        # The first and the last generation of the events the document agrees with.
        self.generations = generations
        self._connection: sqlite3.Connection | None = None
        self._opened = False
        self._end: int | None = None

    def _open(self) -> sqlite3.Connection | None:
        if not self._opened:
            self._opened = True
            self._connection = _connect(self.path, create=False)
        return self._connection

    # The generation filter keeps nearly every row: `+generation` keeps SQLite from choosing
    # its index over the one the query is really about (position, time or correlation id).
    def _query(self, sql: str, values: tuple[Any, ...]) -> list[Any]:
        import sqlite3

        connection = self._open()
        if connection is None:
            return []
        try:
            return connection.execute(sql, values).fetchall()
        except sqlite3.Error:  # a database without the table yet, or not one at all
            return []

    def _kept_end(self) -> int:
        if self._end is None:
            found = self._query(
                "SELECT position FROM events WHERE +generation BETWEEN ? AND ? "
                "ORDER BY position DESC LIMIT 1",
                self.generations,
            )
            self._end = found[0][0] + 1 if found else 0
        return self._end

    def _kept(self, where: str, values: tuple[Any, ...]) -> list[ActivityEntry]:
        rows = self._query(
            f"SELECT entry FROM events WHERE +generation BETWEEN ? AND ? AND {where} "
            "ORDER BY position",
            (*self.generations, *values),
        )
        return [decode(text) for (text,) in rows]

    def _kept_count(self) -> int:
        found = self._query(
            "SELECT count(*) FROM events WHERE generation BETWEEN ? AND ?", self.generations
        )
        return found[0][0] if found else 0

    def kept_rows(self) -> list[Row]:
        return self._query(
            "SELECT position, time, correlation_id, resource_id, entry FROM events "
            "WHERE +generation BETWEEN ? AND ? ORDER BY position",
            self.generations,
        )

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._opened = False

    def __deepcopy__(self, memo: dict[int, Any]) -> StoredActivityLog:
        twin = StoredActivityLog(self.path, self.generations, copy.deepcopy(self.pending, memo))
        twin._end = self._end
        twin.caller = self.caller
        return twin


def attach(state: State, state_path: Path) -> None:
    """Give a state read from `state_path` its kept log (the document's own events pending)."""
    carried = state.history.events
    state.history.events = []
    document = state.history
    state.activity_log = StoredActivityLog(
        database_path(state_path),
        (document.first_generation, document.generation),
        [*state.activity_log.pending, *carried],
    )


def all_rows(log: ActivityLog) -> list[Row]:
    """Every event of a log as rows, kept ones as stored and recorded ones encoded."""
    kept = log.kept_rows() if isinstance(log, StoredActivityLog) else []
    start = log._kept_end()
    return [*kept, *(encode(start + i, e) for i, e in enumerate(log.pending))]


@contextlib.contextmanager
def _writing(state_path: Path) -> Iterator[sqlite3.Connection]:
    """One transaction on the database; any failure (a full disk, a damaged file) is the state
    file's write failing, with nothing changed."""
    import sqlite3

    from vmsscli.errors import StateFileError

    path = database_path(state_path)
    connection = None
    try:
        connection = _connect(path, create=True)
        assert connection is not None
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    except sqlite3.Error as exc:
        raise StateFileError(
            f"Cannot write state file '{state_path}': its activity history '{path.name}' "
            f"failed ({exc}). The file was not changed; if the history is damaged, move it "
            "aside to start a new one."
        ) from None
    finally:
        if connection is not None:
            connection.close()


INSERT = (
    "INSERT INTO events (position, generation, time, correlation_id, resource_id, entry) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def prepare(state: State, state_path: Path, *, whole: bool = False) -> Callable[[], None] | None:
    """Name in the document the generation this unit of work's events go under, and return the
    database write that keeps them; None when there is nothing to keep.

    The caller writes the document to its temporary file (so that a full disk is reported as
    the file system words it, and fails before anything is kept), runs the write, then renames
    the document into place; it holds the state file's lock. `whole`: the database is to hold
    exactly this state's log (a whole new state: reset, import, copy) under a generation no
    reader of the file before it can have seen; the events of the state it replaces stay until
    the document names the new one (`drop_garbage`).
    """
    log = state.activity_log
    path = database_path(state_path)
    incremental = isinstance(log, StoredActivityLog) and log.path == path and not whole
    if incremental:
        if not log.pending:
            return None
        start = log._kept_end()
        rows = [encode(start + i, e) for i, e in enumerate(log.pending)]
        first, last = log.generations
        generations = (first, last + 1)
    else:
        rows = all_rows(log)
        generation = max(_highest_generation(path), state.history.generation) + 1
        generations = (generation, generation)
        first = last = 0
    end = rows[-1][0] + 1 if rows else log.end
    state.history.first_generation, state.history.generation = generations

    def write() -> None:
        if rows or path.exists():
            with _writing(state_path) as db:
                if incremental:
                    # A writer that died half-way, and a history replaced before `first`.
                    db.execute(
                        "DELETE FROM events WHERE generation > ? OR generation < ?", (last, first)
                    )
                db.executemany(INSERT, [(row[0], generations[1], *row[1:]) for row in rows])
                if rows:
                    _drop_expired(db, state, max(row[1] for row in rows))
        if isinstance(log, StoredActivityLog):
            log.close()
        kept = StoredActivityLog(path, generations)
        kept._end = end
        state.activity_log = kept

    return write


def _highest_generation(path: Path) -> int:
    import sqlite3

    connection = _connect(path, create=False)
    if connection is None:
        return 0
    try:
        return connection.execute("SELECT coalesce(max(generation), 0) FROM events").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        connection.close()


def drop_garbage(state: State, state_path: Path) -> None:
    """Delete the events of generations the document no longer names (after a replace). Only
    tidying: readers ignore them anyway, and the next write deletes them if this one cannot."""
    from vmsscli.errors import StateFileError

    if not database_path(state_path).exists():
        return
    document = state.history
    with contextlib.suppress(StateFileError), _writing(state_path) as db:
        db.execute(
            "DELETE FROM events WHERE generation > ? OR generation < ?",
            (document.generation, document.first_generation),
        )


def _drop_expired(db: sqlite3.Connection, state: State, newest: str) -> None:
    """Retention: events older than `retention_days` before the newest event go."""
    from datetime import datetime

    cutoff = datetime.fromisoformat(newest) - timedelta(days=state.history.retention_days)
    db.execute("DELETE FROM events WHERE time < ?", (time_key(cutoff),))
