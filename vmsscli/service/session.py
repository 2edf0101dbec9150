"""One unit of work on a state file, the same for both front doors (the command line and the ARM
endpoint): find the file, lock, load, bring the world up to "now", let the domain change it,
save. A session is a value built by the door from its own inputs; it never reads a CLI global
or an HTTP request, and what the door should tell its user comes back as warnings.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from vmsscli.model import State
    from vmsscli.store import Focus, Store


@dataclass
class Session:
    path: Path
    # Whether `path` is the default location (only its folder is created on demand).
    is_default: bool = False
    # VMSSCLI_NOW: "now" pinned for this unit of work.
    pinned_now: str | None = None
    # The command line (or request) recorded with every activity event.
    command: str = ""
    # Who the events name as their caller ("" for the twin's default operator).
    caller: str = ""
    # Called with each warning as it arises (the CLI prints them on stderr); also kept.
    on_warning: Callable[[str], None] | None = None
    # Called when the state file did not exist and was created from the demo fleet.
    on_created: Callable[[Path], None] | None = None
    # The clock speed this door runs operations at (the endpoint's `--speed`), set on the
    # state as it is loaded: a state file replaced while the endpoint runs keeps it. None:
    # the file's own.
    speed: float | None = None
    # --what-if: run the unit of work, then raise what this returns for (before, after)
    # instead of saving.
    discard: Callable[[State, State], Exception] | None = None
    warnings: list[str] = field(default_factory=list)

    def store(self) -> Store:
        from vmsscli.store import Store

        return Store(self.path, is_default=self.is_default, on_created=self.on_created, seed=seed)

    def now(self, state: State) -> datetime:
        from vmsscli.domain.clock import resolve_now

        return resolve_now(state.clock, self.pinned_now, datetime.now(UTC))

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)

    def read(self, focus: Focus = None) -> State:
        """The state brought up to "now" (operations due are completed), not saved. A unit of
        work about one scale set names it as `focus`: the others are not loaded."""

        state = self.store().read(focus)
        self.prepare(state)
        return state

    def prepare(self, state: State) -> None:
        """Apply this door's clock speed, then bring the world up to "now"."""
        from vmsscli.domain.operations import settle

        if self.speed is not None:
            state.clock.speed = self.speed
        state.activity_log.caller = self.caller
        settle(state, self.now(state))

    @contextlib.contextmanager
    def write(self, focus: Focus = None) -> Iterator[State]:
        """Read, bring up to "now", let the caller change, and save, under the writer lock.
        Leaving by an exception saves nothing."""

        with self.store().transaction(focus) as state:
            self.prepare(state)
            before = copy.deepcopy(state) if self.discard is not None else None
            yield state
            from vmsscli.domain.operations import repairing

            if repairing(state):
                # What the change left unhealthy, the repairs service sees from now on.
                from vmsscli.domain.repairs import observe

                observe(state, self.now(state))
            if before is not None:
                # Leaving by an exception: the transaction saves nothing.
                raise self.discard(before, state)


def seed() -> State:
    """The state a missing file starts from: the built-in demo fleet."""
    from vmsscli.demo import demo_state

    return demo_state()
