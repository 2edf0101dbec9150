"""The commands the guest interpreter knows, answered from the guest's facts.

Each takes (shell, args, stdin) and returns (stdout, stderr, exit code), with the messages and
exit codes the real tools give for the cases diagnostics meet.
"""

from __future__ import annotations

import posixpath
import re
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from vmsscli.guest.facts import GuestView
    from vmsscli.guest.shell import Shell

Result = tuple[str, str, int]
CWD = "/var/lib/waagent/run-command/download/0"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]")


def absolute(path: str) -> str:
    return posixpath.normpath(path if path.startswith("/") else posixpath.join(CWD, path))


def _flags(args: list[str]) -> tuple[set[str], list[str]]:
    """Short flags (`-ltn` -> l, t, n) and the other arguments."""
    flags: set[str] = set()
    rest = []
    for arg in args:
        if arg.startswith("--"):
            flags.add(arg)
        elif arg.startswith("-") and len(arg) > 1 and not arg[1:].isdigit():
            flags.update(arg[1:])
        else:
            rest.append(arg)
    return flags, rest


def _count_option(args: list[str], default: int) -> tuple[int, list[str]]:
    """`-n N`, `-nN`, `-N` and `--lines=N` as head/tail/journalctl take them."""
    count, rest = default, []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-n", "--lines") and i + 1 < len(args):
            count = _int(args[i + 1].lstrip("+"), default)
            i += 2
            continue
        if arg.startswith("--lines="):
            count = _int(arg.split("=", 1)[1], default)
        elif re.fullmatch(r"-n\d+", arg):
            count = int(arg[2:])
        elif re.fullmatch(r"-\d+", arg):
            count = int(arg[1:])
        else:
            rest.append(arg)
        i += 1
    return count, rest


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _read_inputs(shell: Shell, tool: str, files: list[str], stdin: str) -> tuple[str, str, int]:
    if not files:
        return stdin, "", 0
    text, err, code = "", "", 0
    for name in files:
        path = absolute(name)
        if path in shell.view.files:
            text += shell.view.files[path]
        elif _is_dir(shell, path):
            err += f"{tool}: {name}: Is a directory\n"
            code = 1
        else:
            err += f"{tool}: {name}: No such file or directory\n"
            code = 1
    return text, err, code


def _is_dir(shell: Shell, path: str) -> bool:
    prefix = path.rstrip("/") + "/"
    return path == "/" or any(p.startswith(prefix) for p in shell.view.files)


# --- simple tools ----------------------------------------------------------------------------


def echo(shell: Shell, args: list[str], stdin: str) -> Result:
    newline = True
    while args and args[0] in ("-n", "-e", "-ne", "-en"):
        newline = newline and "n" not in args[0]
        args = args[1:]
    return " ".join(args) + ("\n" if newline else ""), "", 0


def printf(shell: Shell, args: list[str], stdin: str) -> Result:
    if not args:
        return "", "printf: usage: printf [-v var] format [arguments]\n", 2
    fmt, values = args[0], args[1:]
    text = fmt.replace("\\n", "\n").replace("\\t", "\t")
    for value in values:
        text = re.sub(r"%[sd]", value.replace("\\", "\\\\"), text, count=1)
    return re.sub(r"%[sd]", "", text), "", 0


def hostname(shell: Shell, args: list[str], stdin: str) -> Result:
    if "-I" in args or "-i" in args:
        return shell.view.private_ip + " \n", "", 0
    return shell.view.hostname + "\n", "", 0


def whoami(shell: Shell, args: list[str], stdin: str) -> Result:
    return "root\n", "", 0


def date(shell: Shell, args: list[str], stdin: str) -> Result:
    now = shell.view.now
    fmt = next((a[1:] for a in args if a.startswith("+")), None)
    if fmt:
        return now.strftime(fmt.replace("%N", "000000000")) + "\n", "", 0
    return now.strftime("%a %b %d %H:%M:%S UTC %Y") + "\n", "", 0


def _uptime_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    parts.append(f"{hours}:{mins:02d}" if hours else f"{mins} min")
    return ", ".join(parts)


def uptime(shell: Shell, args: list[str], stdin: str) -> Result:
    delta = shell.view.now - shell.view.booted
    if "-p" in args:
        minutes = int(delta.total_seconds()) // 60
        parts = []
        for unit, size in (("week", 10080), ("day", 1440), ("hour", 60), ("minute", 1)):
            count, minutes = divmod(minutes, size)
            if count:
                parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
        return f"up {', '.join(parts) or '0 minutes'}\n", "", 0
    load = "2.91, 2.40, 1.88" if shell.view.app_hung else "0.08, 0.05, 0.01"
    now = shell.view.now.strftime("%H:%M:%S")
    return f" {now} up {_uptime_text(delta)},  0 users,  load average: {load}\n", "", 0


def uname(shell: Shell, args: list[str], stdin: str) -> Result:
    if "-a" in args:
        return (
            f"Linux {shell.view.hostname} 6.5.0-1025-azure #26~22.04.1-Ubuntu SMP "
            "x86_64 x86_64 x86_64 GNU/Linux\n",
            "",
            0,
        )
    if "-r" in args:
        return "6.5.0-1025-azure\n", "", 0
    return "Linux\n", "", 0


def nproc(shell: Shell, args: list[str], stdin: str) -> Result:
    return "2\n", "", 0


def true(shell: Shell, args: list[str], stdin: str) -> Result:
    return "", "", 0


def false(shell: Shell, args: list[str], stdin: str) -> Result:
    return "", "", 1


def pwd(shell: Shell, args: list[str], stdin: str) -> Result:
    return CWD + "\n", "", 0


# --- resources -----------------------------------------------------------------------------------


def _human(gb: float) -> str:
    if gb >= 1:
        return f"{gb:.0f}G" if gb >= 10 else f"{gb:.1f}G"
    return f"{gb * 1024:.0f}M"


def df(shell: Shell, args: list[str], stdin: str) -> Result:
    flags, paths = _flags(args)
    human = "h" in flags
    rows = []
    wanted = {_mount_of(shell, absolute(p)) for p in paths}
    for mount, info in sorted(shell.view.mounts.items()):
        if paths and mount not in wanted:
            continue
        avail = max(info.size_gb - info.used_gb, 0.0)
        percent = round(100 * info.used_gb / info.size_gb)
        device = info.device or "/dev/sda1"
        if human:
            rows.append(
                (
                    device,
                    _human(info.size_gb),
                    _human(info.used_gb),
                    _human(avail),
                    f"{percent}%",
                    mount,
                )
            )
        else:
            rows.append(
                (
                    device,
                    str(int(info.size_gb * 1048576)),
                    str(int(info.used_gb * 1048576)),
                    str(int(avail * 1048576)),
                    f"{percent}%",
                    mount,
                )
            )
    size_title = "Size" if human else "1K-blocks"
    lines = [f"{'Filesystem':<15} {size_title:>5} {'Used':>5} {'Avail':>5} Use% Mounted on"]
    lines += [f"{r[0]:<15} {r[1]:>5} {r[2]:>5} {r[3]:>5} {r[4]:>4} {r[5]}" for r in rows]
    return _join(lines), "", 0


def _mount_of(shell: Shell, path: str) -> str:
    """The mount point holding `path`: the longest one it is under."""
    holders = [
        m
        for m in shell.view.mounts
        if m == "/" or path == m or path.startswith(m.rstrip("/") + "/")
    ]
    return max(holders, key=len, default="/")


def free(shell: Shell, args: list[str], stdin: str) -> Result:
    total, used = shell.view.memory_mb, shell.view.memory_used_mb
    cache = min(int(total * 0.22), total - used)
    free_mb = total - used - cache
    unit = (lambda v: f"{v / 1024:.1f}Gi") if "-h" in args else (lambda v: str(v))
    swap = (unit(0), unit(0), unit(0))
    lines = [
        "               total        used        free      shared  buff/cache   available",
        f"Mem:    {unit(total):>12}{unit(used):>12}{unit(free_mb):>12}{unit(4):>12}"
        f"{unit(cache):>12}{unit(total - used):>12}",
        f"Swap:   {swap[0]:>12}{swap[1]:>12}{swap[2]:>12}",
    ]
    return _join(lines), "", 0


def ps(shell: Shell, args: list[str], stdin: str) -> Result:
    rows = [
        "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND",
        "root           1  0.0  0.1 167732 11800 ?        Ss   08:00   0:02 /sbin/init",
    ]
    pid = 400
    for name, service in shell.view.services.items():
        if service.status != "active":
            continue
        pid += 137
        hung = name == shell.view.app_service and shell.view.app_hung
        cpu, stat = ("98.7", "Rl") if hung else ("0.3", "Ssl")
        command = {
            "ssh": "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
            "walinuxagent": "/usr/bin/python3 -u /usr/sbin/waagent -daemon",
        }.get(name, f"/usr/bin/{name} --port {service.ports[0] if service.ports else 8080}")
        rows.append(
            f"root    {pid:>8} {cpu:>4}  1.2 824512 98304 ?        {stat:<4} 08:00   "
            f"0:{'41' if hung else '03'} {command}"
        )
    return _join(rows), "", 0


def ss(shell: Shell, args: list[str], stdin: str) -> Result:
    flags, _ = _flags(args)
    lines = ["State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process"]
    if "l" not in flags:
        return _join(lines), "", 0
    for name, service in shell.view.services.items():
        if service.status != "active":
            continue
        for port in service.ports:
            process = f' users:(("{name}",pid=812,fd=3))' if "p" in flags else ""
            backlog = "1024" if name == shell.view.app_service and shell.view.app_hung else "0"
            lines.append(f"LISTEN {backlog:<6} 4096   0.0.0.0:{port:<12} 0.0.0.0:*{process}")
    return _join(lines), "", 0


def netstat(shell: Shell, args: list[str], stdin: str) -> Result:
    lines = [
        "Active Internet connections (only servers)",
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State",
    ]
    for service in shell.view.services.values():
        if service.status == "active":
            for port in service.ports:
                lines.append(
                    f"tcp        0      0 0.0.0.0:{port:<16} 0.0.0.0:*               LISTEN"
                )
    return _join(lines), "", 0


# --- files ---------------------------------------------------------------------------------------


def cat(shell: Shell, args: list[str], stdin: str) -> Result:
    _, files = _flags(args)
    return _read_inputs(shell, "cat", files, stdin)


def _head_tail(tool: str, take_last: bool):
    def run(shell: Shell, args: list[str], stdin: str) -> Result:
        count, rest = _count_option(args, 10)
        _, files = _flags(rest)
        text, err, code = _read_inputs(shell, tool, files, stdin)
        lines = _lines(text)
        chosen = lines[-count:] if take_last and count else lines[:count]
        return _join(chosen), err, code

    return run


def ls(shell: Shell, args: list[str], stdin: str) -> Result:
    flags, paths = _flags(args)
    targets = [absolute(p) for p in paths] or [CWD]
    out, err, code = [], "", 0
    for path in targets:
        if path in shell.view.files:
            out.append(_ls_entry(shell, path, posixpath.basename(path), "l" in flags))
            continue
        prefix = path.rstrip("/") + "/"
        children = sorted(
            {p[len(prefix) :].split("/")[0] for p in shell.view.files if p.startswith(prefix)}
        )
        if not children and not _is_dir(shell, path) and path != CWD:
            err += (
                f"ls: cannot access '{paths[targets.index(path)] if paths else path}': "
                "No such file or directory\n"
            )
            code = 2
            continue
        if len(targets) > 1:
            out.append(f"{path}:")
        if "a" not in flags and "A" not in flags:
            children = [child for child in children if not child.startswith(".")]
        for child in children:
            full = prefix + child
            out.append(_ls_entry(shell, full, child, "l" in flags))
    return _join(out), err, code


def _ls_entry(shell: Shell, path: str, name: str, long: bool) -> str:
    if not long:
        return name
    is_file = path in shell.view.files
    size = len(shell.view.files[path].encode()) if is_file else 4096
    kind = "-rw-r--r--" if is_file else "drwxr-xr-x"
    stamp = shell.view.now.strftime("%b %d %H:%M")
    return f"{kind} 1 root root {size:>6} {stamp} {name}"


def grep(shell: Shell, args: list[str], stdin: str) -> Result:
    flags: set[str] = set()
    rest: list[str] = []
    pattern: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-e" and i + 1 < len(args):
            pattern = args[i + 1]
            i += 2
            continue
        if arg.startswith("-") and len(arg) > 1:
            flags.update(arg[1:] if not arg.startswith("--") else [arg])
        else:
            rest.append(arg)
        i += 1
    if pattern is None:
        if not rest:
            return "", "Usage: grep [OPTION]... PATTERNS [FILE]...\n", 2
        pattern, rest = rest[0], rest[1:]
    text, err, code = _read_inputs(shell, "grep", rest, stdin)
    source = pattern if "E" in flags else _basic_regex(pattern)
    if "F" in flags:
        source = re.escape(pattern)
    if "w" in flags:
        source = rf"\b(?:{source})\b"
    try:
        regex = re.compile(source, re.IGNORECASE if "i" in flags else 0)
    except re.error:
        return "", "grep: Invalid regular expression\n", 2
    lines = _lines(text)
    hits = [
        (n, line) for n, line in enumerate(lines, 1) if bool(regex.search(line)) != ("v" in flags)
    ]
    if "q" in flags:
        return "", err, 0 if hits else (code or 1)
    if "c" in flags:
        return f"{len(hits)}\n", err, 0 if hits else 1
    shown = [f"{n}:{line}" if "n" in flags else line for n, line in hits]
    return _join(shown), err, (0 if hits else 1) if not code else 2


def _basic_regex(pattern: str) -> str:
    """grep's basic syntax: `\\|`, `\\(` ... are the special ones; `|`, `(`, `+` literal."""
    out = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "|()+?{}":
            out += pattern[i + 1]
            i += 2
            continue
        out += "\\" + ch if ch in "|()+?{}" else ch
        i += 1
    return out


def wc(shell: Shell, args: list[str], stdin: str) -> Result:
    flags, files = _flags(args)
    text, err, code = _read_inputs(shell, "wc", files, stdin)
    counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(text.encode())}
    chosen = [k for k in "lwc" if k in flags] or ["l", "w", "c"]
    values = [str(counts[k]) for k in chosen]
    if len(values) == 1 and not files:
        return values[0] + "\n", err, code
    return (
        " ".join(v.rjust(7) for v in values) + (f" {files[0]}" if files else "") + "\n",
        err,
        code,
    )


def sort(shell: Shell, args: list[str], stdin: str) -> Result:
    flags, files = _flags(args)
    text, err, code = _read_inputs(shell, "sort", files, stdin)
    lines = _lines(text)
    if "n" in flags:

        def key(line: str) -> float:
            match = re.match(r"\s*(-?\d+(?:\.\d+)?)", line)
            return float(match.group(1)) if match else 0.0

        lines.sort(key=key)
    else:
        lines.sort()
    if "r" in flags:
        lines.reverse()
    if "u" in flags:
        lines = list(dict.fromkeys(lines))
    return _join(lines), err, code


def uniq(shell: Shell, args: list[str], stdin: str) -> Result:
    flags, files = _flags(args)
    text, err, code = _read_inputs(shell, "uniq", files, stdin)
    groups: list[list] = []
    for line in _lines(text):
        if groups and groups[-1][0] == line:
            groups[-1][1] += 1
        else:
            groups.append([line, 1])
    if "c" in flags:
        return _join(f"{count:>7} {line}" for line, count in groups), err, code
    return _join(line for line, _ in groups), err, code


def touch(shell: Shell, args: list[str], stdin: str) -> Result:
    _, files = _flags(args)
    for name in files:
        path = absolute(name)
        if path not in shell.view.files:
            shell.view.files[path] = ""
            shell.changes.write_file(path, "")
    return "", "", 0


def rm(shell: Shell, args: list[str], stdin: str) -> Result:
    flags, files = _flags(args)
    err, code = "", 0
    for name in files:
        path = absolute(name)
        prefix = path.rstrip("/") + "/"
        inside = [p for p in shell.view.files if p.startswith(prefix)]
        if path in shell.view.files:
            del shell.view.files[path]
            shell.changes.remove_file(path)
        elif inside and ("r" in flags or "R" in flags):
            for child in inside:
                del shell.view.files[child]
                shell.changes.remove_file(child)
        elif inside:
            err += f"rm: cannot remove '{name}': Is a directory\n"
            code = 1
        elif "f" not in flags:
            err += f"rm: cannot remove '{name}': No such file or directory\n"
            code = 1
    return "", err, code


def mkdir(shell: Shell, args: list[str], stdin: str) -> Result:
    return "", "", 0


def test(shell: Shell, args: list[str], stdin: str) -> Result:
    if args and args[-1] == "]":
        args = args[:-1]
    negate = bool(args) and args[0] == "!"
    if negate:
        args = args[1:]
    ok = False
    if len(args) == 2 and args[0] in ("-f", "-e", "-d", "-s", "-z", "-n"):
        path = absolute(args[1])
        ok = {
            "-f": path in shell.view.files,
            "-e": path in shell.view.files or _is_dir(shell, path),
            "-d": _is_dir(shell, path),
            "-s": bool(shell.view.files.get(path)),
            "-z": args[1] == "",
            "-n": args[1] != "",
        }[args[0]]
    elif len(args) == 3 and args[1] in ("=", "==", "!="):
        ok = (args[0] == args[2]) == (args[1] != "!=")
    elif len(args) == 3 and args[1] in ("-eq", "-ne", "-gt", "-lt", "-ge", "-le"):
        a, b = _int(args[0], 0), _int(args[2], 0)
        ok = {
            "-eq": a == b,
            "-ne": a != b,
            "-gt": a > b,
            "-lt": a < b,
            "-ge": a >= b,
            "-le": a <= b,
        }[args[1]]
    elif len(args) == 1:
        ok = args[0] != ""
    return "", "", 0 if ok != negate else 1


def sleep(shell: Shell, args: list[str], stdin: str) -> Result:
    return "", "", 0


def which(shell: Shell, args: list[str], stdin: str) -> Result:
    _, names = _flags([a for a in args if a != "-v"])
    found = [f"/usr/bin/{n}" for n in names if n in COMMANDS]
    return _join(found), "", 0 if len(found) == len(names) else 1


def ip(shell: Shell, args: list[str], stdin: str) -> Result:
    return ifconfig(shell, args, stdin)


def ifconfig(shell: Shell, args: list[str], stdin: str) -> Result:
    addr = shell.view.private_ip
    return (
        _join(
            [
                "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500",
                f"        inet {addr}  netmask 255.255.0.0  broadcast 10.0.255.255",
                "        ether 00:0d:3a:4b:5c:6d  txqueuelen 1000  (Ethernet)",
                "",
                "lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536",
                "        inet 127.0.0.1  netmask 255.0.0.0",
            ]
        ),
        "",
        0,
    )


# --- services and logs ---------------------------------------------------------------------------


def _service_name(arg: str) -> str:
    return arg.removesuffix(".service")


def systemctl(shell: Shell, args: list[str], stdin: str) -> Result:
    _, words = _flags(args)
    if not words:
        return (
            _join(
                f"{n}.service loaded {s.status} running {s.description}"
                for n, s in shell.view.services.items()
            ),
            "",
            0,
        )
    action, names = words[0], [_service_name(w) for w in words[1:]]
    if action == "list-units":
        return systemctl(shell, [], stdin)
    if not names:
        return "", "Too few arguments.\n", 1
    out, err, code = "", "", 0
    for name in names:
        service = shell.view.services.get(name)
        if service is None:
            if action in ("is-active", "is-failed"):
                out += "inactive\n"
                code = 3 if action == "is-active" else 1
                continue
            err += (
                f"Unit {name}.service could not be found.\n"
                if action == "status"
                else f"Failed to {action} {name}.service: Unit {name}.service not found.\n"
            )
            code = 4 if action == "status" else 5
            continue
        if action == "is-active":
            out += ("active" if service.status == "active" else service.status) + "\n"
            code = code or (0 if service.status == "active" else 3)
        elif action == "is-failed":
            out += service.status + "\n"
            code = code or (0 if service.status == "failed" else 1)
        elif action == "status":
            out += _status_text(shell, name, service)
            code = code or (0 if service.status == "active" else 3)
        elif action in ("restart", "start", "reload"):
            service.status = "active"
            shell.changes.set_service(name, "active")
            if name == shell.view.app_service:
                shell.view.app_hung = False
                shell.view.app_healthy = shell.changes.app_healthy()
        elif action == "stop":
            service.status = "inactive"
            shell.changes.set_service(name, "inactive")
            if name == shell.view.app_service:
                shell.view.app_healthy = False
        else:
            return "", f"Unknown command verb {action}.\n", 1
    return out, err, code


def _status_text(shell: Shell, name: str, service) -> str:
    state = {
        "active": "active (running)",
        "inactive": "inactive (dead)",
        "failed": "failed (Result: exit-code)",
    }[service.status]
    dot = "●" if service.status != "inactive" else "○"
    since = shell.view.booted.strftime("%a %Y-%m-%d %H:%M:%S UTC")
    lines = [
        f"{dot} {name}.service - {service.description or name}",
        f"     Loaded: loaded (/lib/systemd/system/{name}.service; enabled; "
        "vendor preset: enabled)",
        f"     Active: {state} since {since}",
    ]
    if service.status == "active":
        lines.append("   Main PID: 812 (" + name + ")")
    lines.append("")
    lines += [line for _moment, line in journal_entries(shell, [name])[-10:]]
    return _join(lines)


# journalctl's options that take a value, and those that change nothing in a run-command answer
# (there is no pager, one boot, and every line is printed in full).
_JOURNAL_VALUED = {
    "-u": "unit",
    "--unit": "unit",
    "-n": "lines",
    "--lines": "lines",
    "-S": "since",
    "--since": "since",
    "-U": "until",
    "--until": "until",
    "-p": "ignored",
    "--priority": "ignored",
    "-o": "output",
    "--output": "output",
    "-t": "identifier",
    "--identifier": "identifier",
}
_JOURNAL_FLAGS = {
    "--no-pager": "ignored",
    "-q": "ignored",
    "--quiet": "ignored",
    "-x": "ignored",
    "--catalog": "ignored",
    "-a": "ignored",
    "--all": "ignored",
    "-l": "ignored",
    "--full": "ignored",
    "--no-hostname": "ignored",
    "--utc": "ignored",
    "-f": "ignored",
    "--follow": "ignored",
    "-b": "ignored",
    "--boot": "ignored",
    "-e": "end",
    "--pager-end": "end",
    "-r": "reverse",
    "--reverse": "reverse",
    "-k": "kernel",
    "--dmesg": "kernel",
}


def _journal_options(args: list[str]) -> dict[str, list[str]] | str:
    """journalctl's arguments by meaning (`-xeu app`, `--unit=app`, `-n5`, `-b -1`), or the
    error text for one it does not know."""
    found: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name in _JOURNAL_VALUED:
                if not eq:
                    if i >= len(args):
                        return f"journalctl: option '{name}' requires an argument\n"
                    value = args[i]
                    i += 1
                found.setdefault(_JOURNAL_VALUED[name], []).append(value)
            elif name in _JOURNAL_FLAGS and not eq:
                found.setdefault(_JOURNAL_FLAGS[name], [])
                if name == "--boot" and i < len(args) and re.fullmatch(r"-?\d+", args[i]):
                    i += 1
            else:
                return f"journalctl: unrecognized option '{arg}'\n"
            continue
        if not arg.startswith("-") or arg == "-":
            found.setdefault("match", []).append(arg)
            continue
        if re.fullmatch(r"-\d+", arg):
            found.setdefault("lines", []).append(arg[1:])
            continue
        letters = arg[1:]
        for position, letter in enumerate(letters):
            option = "-" + letter
            if option in _JOURNAL_VALUED:
                value = letters[position + 1 :]
                if not value:
                    if i >= len(args):
                        return f"journalctl: option requires an argument -- '{letter}'\n"
                    value = args[i]
                    i += 1
                found.setdefault(_JOURNAL_VALUED[option], []).append(value)
                break
            if option not in _JOURNAL_FLAGS:
                return f"journalctl: invalid option -- '{letter}'\n"
            found.setdefault(_JOURNAL_FLAGS[option], [])
            if option == "-b" and i < len(args) and re.fullmatch(r"-?\d+", args[i]):
                i += 1
    return found


# What `-o cat` leaves out: the stamp, the host and the identifier with its pid.
_JOURNAL_PREFIX = re.compile(r"^[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2} \S+ [^ :]+: ")


def journal_entries(shell: Shell, units: list[str] | None = None):
    """(moment, line) of the named units (every unit when None), in time order."""
    from vmsscli.guest.journal import merge

    services = shell.view.services
    names = list(services) if units is None else [u for u in units if u in services]
    return merge((services[name].logs for name in names), shell.view.now, shell.view.booted)


def journalctl(shell: Shell, args: list[str], stdin: str) -> Result:
    from vmsscli.guest.journal import TimeSpecError, parse_time

    options = _journal_options(args)
    if isinstance(options, str):
        return "", options, 1
    units = [_service_name(u) for u in options.get("unit", [])]
    entries = journal_entries(shell, units or None)
    bounds = {}
    for key in ("since", "until"):
        if key in options:
            try:
                bounds[key] = parse_time(options[key][-1], shell.view.now)
            except TimeSpecError:
                return "", f"Failed to parse timestamp: {options[key][-1]}\n", 1
    if "since" in bounds:
        entries = [e for e in entries if e[0] >= bounds["since"]]
    if "until" in bounds:
        entries = [e for e in entries if e[0] <= bounds["until"]]
    lines = [line for _moment, line in entries]
    if "kernel" in options:
        lines = [line for line in lines if " kernel: " in line]
    for identifier in options.get("identifier", []):
        tag = re.compile(rf" {re.escape(identifier)}(\[\d+\])?: ")
        lines = [line for line in lines if tag.search(line)]
    count = None
    if "lines" in options:
        text = options["lines"][-1].lstrip("+")
        if not text.isdigit():
            return "", f"Failed to parse lines '{options['lines'][-1]}'\n", 1
        count = int(text)
    elif "end" in options:
        count = 1000
    if count is not None:
        lines = lines[-count:] if count else []
    if "reverse" in options:
        lines.reverse()
    if options.get("output", ["short"])[-1] == "cat":
        lines = [_JOURNAL_PREFIX.sub("", line, count=1) for line in lines]
    if not lines:
        return "-- No entries --\n", "", 0
    return _join(lines), "", 0


# --- network -------------------------------------------------------------------------------------


def blocked(view: GuestView, host: str) -> str | None:
    """The fault message when `host` cannot be reached ('' for a plain timeout)."""
    for pattern, message in view.blocked_hosts.items():
        if pattern == "*" or host == pattern or host.endswith("." + pattern):
            return message
    return None


def curl(shell: Shell, args: list[str], stdin: str) -> Result:
    silent = show_error = fail = head = False
    write_out = ""
    output = ""
    url = ""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in (
            "-w",
            "--write-out",
            "-o",
            "--output",
            "-m",
            "--max-time",
            "-H",
            "--connect-timeout",
            "-X",
            "-d",
            "--data",
            "-A",
            "-u",
        ):
            if arg in ("-w", "--write-out") and i + 1 < len(args):
                write_out = args[i + 1]
            if arg in ("-o", "--output") and i + 1 < len(args):
                output = args[i + 1]
            i += 2
            continue
        if arg.startswith("--"):
            silent = silent or arg == "--silent"
            fail = fail or arg == "--fail"
            head = head or arg == "--head"
            show_error = show_error or arg == "--show-error"
        elif arg.startswith("-"):
            silent = silent or "s" in arg
            show_error = show_error or "S" in arg
            fail = fail or "f" in arg
            head = head or "I" in arg
        else:
            url = arg
        i += 1
    if not url:
        return "", "curl: try 'curl --help' or 'curl --manual' for more information\n", 2
    match = re.match(r"(?:(https?)://)?([^/:]+)(?::(\d+))?(/.*)?$", url)
    if not match:
        return "", "curl: (3) URL rejected: Malformed input to a URL function\n", 3
    scheme, host, port_text, path = match.groups()
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    path = path or "/"
    meter = (
        ""
        if silent
        else ("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n")
    )

    def error(code: int, text: str) -> Result:
        shown = f"curl: ({code}) {text}\n" if (not silent or show_error) else ""
        return "", meter + shown, code

    local = host in LOCAL_HOSTS or host in (shell.view.hostname, shell.view.private_ip)
    if local:
        service = next(
            (s for n, s in shell.view.services.items() if port in s.ports and s.status == "active"),
            None,
        )
        if service is None:
            return error(
                7, f"Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server"
            )
        app = next((n for n, s in shell.view.services.items() if s is service), "")
        if app == shell.view.app_service and shell.view.app_hung:
            return error(28, "Operation timed out after 5001 milliseconds with 0 bytes received")
        if app == shell.view.app_service and path.split("?")[0] == shell.view.health_path:
            status = 200 if shell.view.app_healthy else 503
            body = '{"status":"healthy"}' if status == 200 else '{"status":"unhealthy"}'
        else:
            status, body = 200, "OK"
    else:
        reason = blocked(shell.view, host)
        if reason is not None:
            return error(
                28,
                reason
                or f"Failed to connect to {host} port {port} after 130001 ms: Connection timed out",
            )
        status, body = 200, "<html><body>OK</body></html>"
    if fail and status >= 400:
        return error(22, f"The requested URL returned error: {status}")
    reason = {200: "OK", 503: "Service Unavailable"}.get(status, "")
    out = f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\n\r\n" if head else body
    if output:
        if output not in ("/dev/null", "-"):
            shell.view.files[absolute(output)] = out
            shell.changes.write_file(absolute(output), out)
        out = out if output == "-" else ""
    if write_out:
        out += write_out.replace("%{http_code}", str(status)).replace("\\n", "\n")
    return out, meter, 0


def ping(shell: Shell, args: list[str], stdin: str) -> Result:
    count = 4
    hosts = []
    i = 0
    while i < len(args):
        if args[i] == "-c" and i + 1 < len(args):
            count = _int(args[i + 1], 4)
            i += 2
            continue
        if not args[i].startswith("-"):
            hosts.append(args[i])
        i += 1
    if not hosts:
        return "", "ping: usage error: Destination address required\n", 2
    host = hosts[0]
    unreachable = host not in LOCAL_HOSTS and blocked(shell.view, host) is not None
    lines = [f"PING {host} 56(84) bytes of data."]
    if not unreachable:
        lines += [
            f"64 bytes from {host}: icmp_seq={n} ttl=117 time=1.{n}2 ms"
            for n in range(1, count + 1)
        ]
    lines += [
        "",
        f"--- {host} ping statistics ---",
        f"{count} packets transmitted, {0 if unreachable else count} received, "
        f"{100 if unreachable else 0}% packet loss, time {count * 1000 - 1}ms",
    ]
    return _join(lines), "", 1 if unreachable else 0


COMMANDS = {
    "echo": echo,
    "printf": printf,
    "hostname": hostname,
    "whoami": whoami,
    "date": date,
    "uptime": uptime,
    "uname": uname,
    "nproc": nproc,
    "true": true,
    "false": false,
    ":": true,
    "pwd": pwd,
    "cd": true,
    "df": df,
    "free": free,
    "ps": ps,
    "ss": ss,
    "netstat": netstat,
    "cat": cat,
    "head": _head_tail("head", False),
    "tail": _head_tail("tail", True),
    "ls": ls,
    "grep": grep,
    "wc": wc,
    "sort": sort,
    "uniq": uniq,
    "touch": touch,
    "rm": rm,
    "mkdir": mkdir,
    "test": test,
    "[": test,
    "sleep": sleep,
    "which": which,
    "command": which,
    "ip": ip,
    "ifconfig": ifconfig,
    "systemctl": systemctl,
    "service": lambda sh, a, i: systemctl(sh, a[1:2] + a[:1], i),
    "journalctl": journalctl,
    "curl": curl,
    "ping": ping,
}
