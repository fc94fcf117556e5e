"""Generate docs/cli.md from the Typer app, so the reference cannot drift from the code.

Run `python -m perisai.docgen > docs/cli.md` (or `make docs`); a test fails when it is stale.
"""

from __future__ import annotations

import re
from typing import Any

import typer

from .cli import app
from .settings import settings_markdown


# Typer bundles its own click; duck typing keeps this independent of where click lives.
def _usage(cmd: Any, name: str) -> str:
    ctx = cmd.context_class(cmd, info_name=f"perisai {name}")
    pieces = " ".join(cmd.collect_usage_pieces(ctx))
    return re.sub(r"\{(\w+)\}", lambda m: m.group(1).upper(), pieces)


def _commands(group: Any, prefix: str) -> list[tuple[str, Any]]:
    ctx = group.context_class(group, info_name="perisai")
    out = []
    for name in sorted(group.list_commands(ctx)):  # import order varies; the docs must not
        cmd = group.get_command(ctx, name)
        if hasattr(cmd, "list_commands"):
            out += _commands(cmd, f"{prefix}{name} ")
        else:
            out.append((f"{prefix}{name}", cmd))
    return out


def render() -> str:
    group: Any = typer.main.get_command(app)
    out = [
        "# Command-line reference",
        "",
        "Generated from the code by `make docs` (`python -m perisai.docgen`); do not edit by hand.",
        "",
        "Exit codes: 0 success; 1 a check failed (`verify`); 2 bad input or usage, with one line",
        "on stderr naming what was wrong and where; 3 an internal error (a bug: please report it;",
        "`PERISAI_DEBUG=1` shows the traceback); 130 interrupted.",
        "",
        "## Settings",
        "",
        settings_markdown(),
    ]
    for name, cmd in _commands(group, ""):
        out += [f"## `perisai {name}`", "", (cmd.help or "").strip(), ""]
        out += ["```", f"perisai {name} {_usage(cmd, name)}", "```", ""]
        rows = []
        for param in cmd.params:
            if param.param_type_name == "argument":
                rows.append(((param.name or "").upper(), "argument", getattr(param, "help", "")))
            elif param.param_type_name == "option" and not param.hidden:
                default = (
                    ""
                    if param.default is None or param.default is False
                    else f" (default: {param.default})"
                )
                rows.append((", ".join(param.opts), "option", (param.help or "") + default))
        if rows:
            out += ["| name | kind | meaning |", "| --- | --- | --- |"]
            out += [f"| `{n}` | {k} | {h or ''} |" for n, k, h in rows]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
