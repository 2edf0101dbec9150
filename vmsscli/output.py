"""Output exactly as az prints it: `--query`, then json/jsonc/yaml/yamlc/table/tsv/none.

The rules follow knack's formatters (see docs/output.md): JSON with sorted keys and an indent of
two, YAML through PyYAML's safe_dump, tables by tabulate's "simple" layout with az's column
rules, TSV with az's cell rules. Heavy modules (jmespath, PyYAML, Rich, Pygments) are imported
only when a format or a query needs them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

FORMATS = ("json", "jsonc", "yaml", "yamlc", "table", "tsv", "none")
TABLE_SKIP_KEYS = ("id", "type", "etag")

Transformer = str | Callable[[Any], Any] | None
QUERY_HELP = (
    "To learn more about --query, please visit: "
    "'https://learn.microsoft.com/cli/azure/query-azure-cli'"
)


# --- --query -----------------------------------------------------------------------------------


def compile_query(text: str):
    """Compile a JMESPath query; raises jmespath's ParseError for bad syntax."""
    import jmespath

    return jmespath.compile(text)


def query_error(exc: Exception):
    """az's words for a JMESPath expression that fails on the data (or, for `--custom`, at all)."""
    from vmsscli.errors import CLIError

    return CLIError(
        f"Invalid jmespath query supplied for `--query`: {exc}", recommendations=[QUERY_HELP]
    )


def apply_query(compiled, result: Any) -> Any:
    import jmespath

    return compiled.search(result, jmespath.Options(dict_cls=OrderedDict))


# --- json --------------------------------------------------------------------------------------


def to_json(result: Any) -> str:
    """Byte-identical to `json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True)`
    (what az prints), written by orjson: the pure-Python indenting encoder spends tens of
    milliseconds on a thousand instances, orjson one or two."""
    return _json_bytes(result).decode() + "\n"


def _json_bytes(result: Any) -> bytes:
    """The JSON document, without its final newline."""
    import orjson

    return orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def write_json(result: Any, stream) -> None:
    """`to_json` written as bytes where the stream has a buffer (no decoding and re-encoding
    of a few megabytes)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(to_json(result))
        return
    stream.flush()
    # Written apart from its newline: joining them would copy megabytes for one byte.
    buffer.write(_json_bytes(result))
    buffer.write(b"\n")


# --- yaml --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """OrderedDicts (from --query) to plain dicts, which safe_dump can represent."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def to_yaml(result: Any) -> str:
    import yaml

    return yaml.safe_dump(_plain(result), default_flow_style=False, allow_unicode=True)


# --- table -------------------------------------------------------------------------------------


def _capitalize(key: str) -> str:
    return key[0].upper() + key[1:] if key else key


def table_rows(result: Any, *, sort_keys: bool) -> list[OrderedDict]:
    """az's automatic table: scalar columns only, id/type/etag skipped, first letter upper."""
    items = result if isinstance(result, list) else [result]
    rows = []
    for item in items:
        row: OrderedDict = OrderedDict()
        if isinstance(item, dict):
            keys = sorted(item) if sort_keys else item.keys()
            for key in keys:
                if key in TABLE_SKIP_KEYS:
                    continue
                value = item[key]
                if value is not None and not isinstance(value, (list, dict, set)):
                    row[_capitalize(key)] = value
        elif isinstance(item, list):
            for index, value in enumerate(item):
                row[f"Column{index + 1}"] = value
        else:
            row["Result"] = item
        rows.append(row)
    return rows


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, "g")
    return str(value).strip()


def _headers(rows: list[OrderedDict]) -> list[str]:
    headers: dict[str, None] = {}
    for row in rows:
        for key in row:
            headers.setdefault(key, None)
    return list(headers)


def plain_table(rows: list[OrderedDict]) -> str:
    """tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True) + newline."""
    headers = _headers(rows)
    if not headers:
        return "\n"
    cells = [[_cell_text(row.get(h)).split("\n") for h in headers] for row in rows]
    widths = [len(h) + 2 for h in headers]
    for row in cells:
        for index, lines in enumerate(row):
            widths[index] = max(widths[index], *(len(line) for line in lines))
    out = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    for row in cells:
        height = max(len(lines) for lines in row)
        for line_no in range(height):
            out.append(
                "  ".join(
                    (lines[line_no] if line_no < len(lines) else "").ljust(w)
                    for lines, w in zip(row, widths, strict=True)
                ).rstrip()
            )
    return "\n".join(out) + "\n"


STYLES = {
    "VM running": "green",
    "VM stopped": "yellow",
    "VM deallocated": "red",
    "VM starting": "cyan",
    "VM stopping": "yellow",
    "VM deallocating": "yellow",
    "running": "green",
    "stopped": "yellow",
    "deallocated": "red",
    "healthy": "green",
    "unhealthy": "bold red",
    "unknown": "yellow",
    "Succeeded": "green",
    "Failed": "bold red",
    "Updating": "cyan",
    "Creating": "cyan",
    "Deleting": "yellow",
    "Provisioning succeeded": "green",
    "Provisioning failed": "bold red",
}


def rich_table(rows: list[OrderedDict], stream) -> None:
    """The same table drawn with Rich for a terminal: colour for states, no markup parsing,
    never wrapped or cropped (the console is made as wide as the table needs)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    headers = _headers(rows)
    if not headers:
        stream.write("\n")
        return
    table = Table(
        box=None, show_edge=False, pad_edge=False, header_style="bold", padding=(0, 2, 0, 0)
    )
    for header in headers:
        table.add_column(Text(header), no_wrap=True, overflow="ignore")
    for row in rows:
        texts = []
        for header in headers:
            text = _cell_text(row.get(header))
            texts.append(Text(text, style=STYLES.get(text, "")))
        table.add_row(*texts)
    natural = len(plain_table(rows).split("\n", 1)[1].split("\n", 1)[0]) + 2
    console = Console(
        file=stream,
        width=max(natural, 80),
        soft_wrap=False,
        markup=False,
        emoji=False,
        highlight=False,
    )
    console.print(table)


# --- tsv ---------------------------------------------------------------------------------------


def _tsv_cell(value: Any) -> str:
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict):
        return ""
    return value if isinstance(value, str) else str(value)


def to_tsv(result: Any) -> str:
    items = result if isinstance(result, list) else [result]
    lines = []
    for item in items:
        if isinstance(item, OrderedDict):
            values = list(item.values())
        elif isinstance(item, dict):
            values = [value for _, value in sorted(item.items())]
        elif isinstance(item, list):
            values = item
        elif isinstance(item, bool):
            lines.append(str(item).lower())
            continue
        else:
            lines.append(_tsv_cell(item))
            continue
        lines.append("\t".join(_tsv_cell(value) for value in values))
    return "".join(line + "\n" for line in lines)


# --- the one entry point -----------------------------------------------------------------------


def _colorize(text: str, lexer_name: str) -> str:
    from pygments import highlight
    from pygments.formatters import TerminalFormatter
    from pygments.lexers import get_lexer_by_name

    return highlight(text, get_lexer_by_name(lexer_name), TerminalFormatter())


def write(
    result: Any,
    fmt: str,
    stream,
    *,
    query_active: bool = False,
    transformer: Transformer = None,
    color: bool = False,
) -> None:
    """Format `result` (already queried) and write it; a None result prints nothing."""
    if result is None or fmt == "none":
        return
    if fmt == "json" or (fmt == "jsonc" and not color):
        write_json(result, stream)
    elif fmt == "jsonc":
        stream.write(_colorize(to_json(result), "json"))
    elif fmt in ("yaml", "yamlc"):
        text = to_yaml(result)
        stream.write(_colorize(text, "yaml") if fmt == "yamlc" and color else text)
    elif fmt == "tsv":
        stream.write(to_tsv(result))
    elif fmt == "table":
        rows = table(result, query_active=query_active, transformer=transformer)
        if color:
            rich_table(rows, stream)
        else:
            stream.write(plain_table(rows))
    else:  # pragma: no cover - the CLI validates the format first
        raise ValueError(fmt)


def table(result: Any, *, query_active: bool, transformer: Transformer) -> list[OrderedDict]:
    """Rows for table output: the command's transformer (unless --query), then az's rules."""
    from vmsscli.errors import CLIError

    try:
        if transformer is not None and not query_active:
            if isinstance(transformer, str):
                result = apply_query(compile_query(transformer), result)
            else:
                result = transformer(result)
        return table_rows(result, sort_keys=not query_active and transformer is None)
    except Exception as exc:  # az turns any failure here into this one message
        raise CLIError(
            "Table output unavailable. Use the --query option to specify an "
            "appropriate query. Use --debug for more info."
        ) from exc
