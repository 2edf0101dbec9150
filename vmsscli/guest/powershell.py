"""The PowerShell subset run-command's RunPowerShellScript needs: Get-Service, Get-Process,
Get-Content, Test-NetConnection, hostname and Write-Output, one statement per line or `;`,
answered from the guest facts. Anything else fails as PowerShell reports an unknown cmdlet."""

from __future__ import annotations

import re
import shlex

from vmsscli.guest.commands import blocked
from vmsscli.guest.facts import GuestView

Result = tuple[str, str, int]


def _words(statement: str) -> list[str]:
    """PowerShell words: backslashes are path separators, not escapes; quotes group."""
    try:
        words = shlex.split(statement, posix=False)
    except ValueError:
        words = statement.split()
    return [w[1:-1] if len(w) > 1 and w[0] == w[-1] and w[0] in "'\"" else w for w in words]


def run(view: GuestView, script: str, params: dict[str, str]) -> Result:
    out, err, code = "", "", 0
    for raw in re.split(r"[;\n]", script):
        statement = raw.strip()
        if not statement or statement.startswith("#"):
            continue
        for name, value in params.items():
            statement = statement.replace(f"${name}", value)
        words = _words(statement)
        verb, args = words[0], words[1:]
        lowered = verb.lower()
        if lowered in ("write-output", "write-host", "echo"):
            out += " ".join(args) + "\n"
        elif lowered == "hostname":
            out += view.hostname + "\n"
        elif lowered == "get-service":
            names = [a for a in args if not a.startswith("-")]
            rows = [(s, n) for n, s in view.services.items() if not names or n in names]
            missing = [n for n in names if n not in view.services]
            if rows:
                out += (
                    "\nStatus   Name               DisplayName\n------   ----               "
                    "-----------\n"
                )
            out += "".join(
                f"{'Running' if s.status == 'active' else 'Stopped':<8} {n:<18} "
                f"{s.description or n}\n"
                for s, n in rows
            )
            for name in missing:
                err += f"Get-Service : Cannot find any service with service name '{name}'.\n"
                code = 1
        elif lowered == "get-process":
            out += "\nHandles  NPM(K)    PM(K)      WS(K)     CPU(s)     Id  SI ProcessName\n"
            for name, service in view.services.items():
                if service.status == "active":
                    out += f"    412      28    52416      61228       3.14    812   0 {name}\n"
        elif lowered == "get-content":
            path = next((a for a in args if not a.startswith("-")), "")
            normal = path.replace("\\", "/")
            match = next((p for p in view.files if p.lower() == normal.lower()), None)
            if match is None:
                err += f"Get-Content : Cannot find path '{path}' because it does not exist.\n"
                code = 1
            else:
                out += view.files[match]
        elif lowered == "test-netconnection":
            host = next((a for a in args if not a.startswith("-")), "internetbeacon.msedge.net")
            ok = blocked(view, host) is None
            out += (
                f"\nComputerName     : {host}\nRemoteAddress    : 13.107.4.52\n"
                f"TcpTestSucceeded : {ok}\n"
            )
        else:
            err += (
                f"{verb} : The term '{verb}' is not recognized as the name of a cmdlet, "
                "function, script file, or operable program.\n"
            )
            code = 1
    return out, err, code
