"""The command-line reference, generated from the typer app when the docs are built.

sphinx-click cannot read typer's commands (typer carries its own copy of click), so this
walks the command tree itself and writes one Markdown page: each command's help, then its
arguments and options with their types and defaults.
"""

from __future__ import annotations

from pathlib import Path

import typer.main

from attrbayes.cli import app

HEADER = """# Command-line reference

Generated from the code when the documentation is built: every command with its arguments
and options and their defaults. [Using attrbayes](../usage.md) shows them at work.
"""


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _default(param) -> str:
    if getattr(param, "required", False):
        return "required"
    value = param.default
    if value is None or callable(value) or value == ():
        return ""
    if isinstance(value, bool) and getattr(param, "is_flag", False):
        return "on" if value else "off"
    return f"`{value}`"


def _command(cmd, path: str, level: int) -> list[str]:
    lines = [f"{'#' * level} `{path}`", "", (cmd.help or "").strip(), ""]
    params = [p for p in cmd.params if p.name != "help"]
    ctx = cmd.make_context(path, [], resilient_parsing=True)
    if params:
        lines += ["| argument or option | type | default | meaning |", "|---|---|---|---|"]
        for p in params:
            if p.param_type_name == "argument":
                name = f"`{p.name.upper()}`"
            else:
                name = ", ".join(f"`{o}`" for o in (*p.opts, *p.secondary_opts))
            kind = p.display_type(ctx).strip("<>")
            help_text = getattr(p, "help", None) or ""
            lines.append(f"| {name} | {_cell(kind)} | {_default(p)} | {_cell(help_text)} |")
        lines.append("")
    for name in sorted(getattr(cmd, "commands", {})):
        lines += _command(cmd.commands[name], f"{path} {name}", min(level + 1, 4))
    return lines


def write(out: Path) -> Path:
    """Write the reference to ``out`` (a Markdown file) and return it."""
    root = typer.main.get_command(app)
    lines = [HEADER]
    for name in sorted(root.commands):
        lines += _command(root.commands[name], f"attrbayes {name}", 2)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines).rstrip() + "\n"
    if not out.is_file() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")
    return out
