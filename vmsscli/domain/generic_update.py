"""az's generic update (`--set`, `--add`, `--remove`) on the object a command prints.

The rules are az's (azure/cli/core/commands/arm.py): paths are dot-separated keys of the
flattened camelCase output, with `[n]` list indexes and `[key=value]` list filters; every
parent must exist (only the last key may be new); values are JSON when they parse as JSON,
unless `--force-string`. Errors are az's texts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from vmsscli.errors import CLIError

_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def split_assignment(text: str) -> tuple[str, str]:
    """`path=value`, split at the first '=' that is not inside brackets."""
    depth = 0
    for index, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "=" and depth == 0:
            return text[:index], text[index + 1 :]
    raise CLIError(f"usage error: --set/--add expects KEY=VALUE, not '{text}'")


def parse_value(text: str, force_string: bool) -> Any:
    if force_string:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _segments(path: str) -> list[tuple[str, str]]:
    """('key', name) and ('index', text) parts of a path."""
    out = []
    for key, index in _SEGMENT.findall(path):
        out.append(("key", key) if key else ("index", index))
    if not out:
        raise CLIError(f"usage error: empty path '{path}'")
    return out


def _describe(parts: list[tuple[str, str]]) -> str:
    text = ""
    for kind, value in parts:
        text += (("." if text else "") + value) if kind == "key" else f"[{value}]"
    return text


def _step(current: Any, kind: str, value: str, done: list[tuple[str, str]]) -> Any:
    where = _describe(done)
    if kind == "key":
        if not isinstance(current, dict) or value not in current:
            options = sorted(current) if isinstance(current, dict) else []
            raise CLIError(f"Couldn't find '{value}' in '{where}'. Available options: {options}")
        return current[value]
    if not isinstance(current, list):
        raise CLIError(f"Couldn't find '[{value}]' in '{where}': it is not a list.")
    if "=" in value:
        key, _, wanted = value.partition("=")
        for item in current:
            if isinstance(item, dict) and str(item.get(key)) == wanted:
                return item
        raise CLIError(f"Couldn't find '{value}' in '{where}'.")
    try:
        return current[int(value)]
    except (ValueError, IndexError):
        raise CLIError(f"index {value} doesn't exist on {where}") from None


def _walk(doc: Any, parts: list[tuple[str, str]]) -> Any:
    current = doc
    for position, (kind, value) in enumerate(parts):
        current = _step(current, kind, value, parts[:position])
    return current


def apply_set(doc: dict[str, Any], assignment: str, force_string: bool) -> None:
    path, raw = split_assignment(assignment)
    parts = _segments(path)
    parent = _walk(doc, parts[:-1])
    kind, last = parts[-1]
    value = parse_value(raw, force_string)
    if kind == "key":
        if not isinstance(parent, dict):
            raise CLIError(f"Couldn't find '{last}' in '{_describe(parts[:-1])}'.")
        parent[last] = value
    else:
        target = _walk(doc, parts)  # raises for a missing index
        index = parent.index(target)
        parent[index] = value


def apply_add(doc: dict[str, Any], path: str, values: list[str], force_string: bool) -> None:
    target = _walk(doc, _segments(path))
    if not isinstance(target, list):
        raise CLIError(f"invalid syntax: --add expects a list at '{path}'")
    if values and all("=" in v and not v.lstrip().startswith(("{", "[")) for v in values):
        item: dict[str, Any] = {}
        for value in values:
            key, raw = split_assignment(value)
            item[key] = parse_value(raw, force_string)
        target.append(item)
    else:
        target.extend(parse_value(v, force_string) for v in values)


def apply_remove(doc: dict[str, Any], path: str, index: str | None) -> None:
    parts = _segments(path)
    if index is not None:
        target = _walk(doc, parts)
        if not isinstance(target, list):
            raise CLIError(f"invalid syntax: --remove with an index expects a list at '{path}'")
        try:
            target.pop(int(index))
        except (ValueError, IndexError):
            raise CLIError(f"index {index} doesn't exist on {_describe(parts)}") from None
        return
    parent = _walk(doc, parts[:-1])
    kind, last = parts[-1]
    if kind == "key":
        if not isinstance(parent, dict) or last not in parent:
            options = sorted(parent) if isinstance(parent, dict) else []
            raise CLIError(
                f"Couldn't find '{last}' in '{_describe(parts[:-1])}'. Available options: {options}"
            )
        del parent[last]
    else:
        target = _walk(doc, parts)
        parent.remove(target)
