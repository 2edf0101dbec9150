"""`--what-if` on every command that changes the state: the command runs on the state in memory,
the operations it starts are played to their end on a copy, and what would happen is printed
instead of the command's result. Nothing is saved."""

from __future__ import annotations

import copy
from typing import Any

from vmsscli.cli import context
from vmsscli.cli.azparse import WhatIfReport
from vmsscli.schema import dump

THRESHOLD = 80


def _played_out(state):
    """A copy of the state with every operation and rolling upgrade run to its end."""
    from vmsscli.domain.operations import play_out

    future = copy.deepcopy(state)
    play_out(future)
    return future


class WhatIf(WhatIfReport):
    def __init__(self, before, after) -> None:
        super().__init__("what-if")
        self.before = before
        self.after = after

    def result(self) -> dict[str, Any]:
        from vmsscli.domain.rehearsal import changes, command_report, snapshot

        now = context.now(self.after)
        before = snapshot(self.before, now)
        future = snapshot(_played_out(self.after), now)
        step = {
            "argv": ["vmss", *context.current.argv],
            "exitCode": 0,
            "before": before,
            "after": future,
            "entries": [
                dump(e, mode="json")
                for e in self.after.activity_log.since(self.before.activity_log.end)
            ],
        }
        row = command_report(step, THRESHOLD)
        return {
            "affected": row["touched"],
            "changes": changes(before, future),
            "command": row["command"],
            "servingAfter": row.get("servingAfter", {}),
            "skipped": row["skipped"],
            "warnings": row["warnings"],
            "whatIf": True,
        }

    def show(self) -> None:
        context.emit(self.result())
