"""``symphony ext add-mcp NAME -- COMMAND...``: an extension project for an MCP server that already exists.

The server is started through the host's ExtensionPort (its ``mcp`` runtime,
confined like any extension) with a provisional manifest that contributes
nothing, asked for its tools (``mcp/tools/list``), and stopped.  Each tool
becomes an operator whose inputs are its JSON Schema's properties
(``symphony.hookspecs.json_schema``), and whose outputs are what the runtime
returns for a call: ``result`` (the structured content), ``text`` and
``content``.  What the type language cannot say is printed, for the review
the user owes the manifest before granting it anything: capabilities are not
guessed here but learned with ``symphony ext learn``.

The project (pyproject.toml, the package with its manifest) is written to a
scratch directory beside DIRECTORY and renamed into place, so a failure
leaves nothing half-written.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import click
import msgspec

from symphony.hookspecs import ExtensionError, Manifest, PortSpec, RegistryError, SymphonyError
from symphony.hookspecs.json_schema import port_type_from_json_schema, ports_from_json_schema
from symphony.hookspecs.ports import ExtensionPort, HostContext, port_as

from .._cli import user_errors
from ..wheels import ENTRY_POINT_GROUP
from . import check_destination, check_name

__all__ = ["add_mcp", "manifest_for", "operators_from_tools", "write_project"]

_NODE_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
#: What the mcp runtime returns for a tool call, as the operator's outputs.
_TEXT_OUTPUTS: Final = {
    "text": PortSpec(type="string", description="The text contents, joined."),
    "content": PortSpec(type="list[object]", description="Every content item, as MCP sends it."),
}


def _outputs(output_schema: Any) -> dict[str, PortSpec]:
    typed = isinstance(output_schema, Mapping) and output_schema
    result_type = port_type_from_json_schema(output_schema)[0] if typed else "json"
    what = "The tool's structured result." if typed else "The tool's structured result, if it gives one."
    return {"result": PortSpec(type=result_type, required=False, description=what), **_TEXT_OUTPUTS}


def operators_from_tools(extension: str, tools: Sequence[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """``[[contributes.operators]]`` tables for the tools ``mcp/tools/list`` gave, and the notes of what was lost."""
    operators: list[dict[str, Any]] = []
    notes: list[str] = []
    for tool in tools:
        name = tool.get("name") if isinstance(tool, Mapping) else None
        if not isinstance(name, str) or _NODE_NAME.match(name) is None:
            notes.append(
                f"tool {name!r}: not usable as an operator name (a letter, then letters, digits, _ . -); left out"
            )
            continue
        if any(operator["entry"] == name for operator in operators):
            notes.append(f"tool {name!r}: listed twice by the server; only the first is an operator")
            continue
        inputs, lost = ports_from_json_schema(tool.get("inputSchema") or {"type": "object"})
        notes.extend(f"tool {name!r}: {note}" for note in lost)
        description = str(tool.get("description") or "").strip()
        operators.append(
            {
                "name": f"{extension}.{name}",
                "description": description.splitlines()[0] if description else "",
                "entry": name,
                "inputs": inputs,
                "outputs": _outputs(tool.get("outputSchema")),
            }
        )
    return operators, notes


def manifest_for(
    name: str, command: Sequence[str], dependencies: Sequence[str], author: str, operators: list[dict[str, Any]]
) -> dict[str, Any]:
    """The manifest for the server ``command`` as a TOML-ready document, checked to read back as a Manifest."""
    runtime: dict[str, Any] = {"kind": "mcp", "command": list(command)}
    if dependencies:
        runtime["python_dependencies"] = list(dependencies)
    document: dict[str, Any] = {
        "schema_version": 1,
        "extension": {
            "name": name,
            "version": "0.1.0",
            "type": "operator",
            "author": author,
            "publisher": author,
            "description": f"The MCP server {command[0]!r} as a Symphony extension.",
        },
        "dependencies": {"symphony": "^1.0"},
        "resources": {"memory_limit": "512MiB", "cpu_limit": "100%", "timeout": 60.0},
        "runtime": runtime,
        "contributes": {"operators": operators},
    }
    msgspec.convert(document, Manifest)  # what this writes must read back
    return document


_HEADER: Final = """\
# Written by `symphony ext add-mcp` from the tools its MCP server listed. Review it:
# - [capabilities] is empty: learn what the server needs with `symphony ext learn`, then declare it here;
# - each [[contributes.operators]] is a tool (entry = the tool's name); check the ports' types and descriptions.
"""


def _pyproject(name: str, package: str) -> str:
    return f"""\
[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.1.0"
description = "An MCP server as a Symphony extension (symphony ext add-mcp)."
requires-python = ">=3.11"

# The host finds symphony-extension.toml inside this package without importing it.
[project.entry-points."symphony.extensions"]
{name} = "{package}"

[tool.hatch.build.targets.wheel]
packages = ["src/{package}"]
"""


def write_project(directory: Path, name: str, manifest: Mapping[str, Any]) -> Path:
    """The project for ``manifest`` at ``directory`` (absent or empty), renamed into place whole."""
    check_destination(directory)
    package = name.replace("-", "_")
    parent = directory.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        scratch.chmod(0o777 & ~umask)  # mkdtemp's 0700 is not what the user's umask says
        source = scratch / "src" / package
        source.mkdir(parents=True)
        (scratch / "pyproject.toml").write_text(_pyproject(name, package), encoding="utf-8")
        (source / "__init__.py").write_text(f'"""The {name} extension: an MCP server (see its manifest)."""\n')
        text = _HEADER + msgspec.toml.encode(msgspec.to_builtins(manifest)).decode()
        (source / "symphony-extension.toml").write_text(text, encoding="utf-8")
        if directory.is_dir():
            directory.rmdir()  # empty (checked): rename would refuse to replace it on some systems
        scratch.rename(directory)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return directory


def _check_not_installed(name: str) -> None:
    """RegistryError when ``name`` is installed: the port would start that extension, not COMMAND."""
    from importlib.metadata import entry_points

    if any(entry.name == name for entry in entry_points(group=ENTRY_POINT_GROUP)):
        raise RegistryError(f"An extension named {name!r} is installed already; choose another NAME.")


async def _list_tools(port: ExtensionPort, manifest: Manifest) -> list[Any]:
    extension = await port.load_extension(manifest)
    try:
        listed = await port.invoke_extension(extension, {"operation": "mcp/tools/list", "input": {}})
    finally:
        await port.unload_extension(extension)
    tools = listed.get("tools") if isinstance(listed, Mapping) else None
    if not isinstance(tools, list):
        raise ExtensionError(f"the server answered mcp/tools/list with {type(listed).__name__}, not a tool list")
    return tools


@click.command("add-mcp", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--directory", "-d", type=click.Path(path_type=Path), help="Where to write the project (default ./NAME).")
@click.option(
    "--python-dependency",
    "dependencies",
    multiple=True,
    metavar="REQUIREMENT",
    help="A package the server needs, installed into the extension's own environment (repeatable).",
)
@click.option("--publisher", help="Your identity as a publisher (default: your user name).")
@click.pass_context
def add_mcp(
    ctx: click.Context,
    /,
    name: str,
    *,
    command: tuple[str, ...],
    directory: Path | None,
    dependencies: tuple[str, ...],
    publisher: str | None,
) -> None:
    """Make extension NAME from the MCP server that COMMAND starts (write it after --: ext add-mcp NAME -- CMD ARGS).

    The server is started once, confined, to list its tools; each becomes an
    operator NAME.TOOL. Then install the project and learn its capabilities.
    """
    from ..plugin import host_context

    target = directory if directory is not None else Path(name)
    author = (publisher or getpass.getuser()).strip()
    with user_errors(f"Cannot create {name} in {target}", "Choose a DIRECTORY you can write."):
        check_name(name)
        check_destination(target)
        _check_not_installed(name)
        provisional = msgspec.convert(manifest_for(name, command, dependencies, author, []), Manifest)
        context: HostContext = host_context(ctx)
        port: ExtensionPort = port_as(context, "extension_runtime", ExtensionPort, user="`symphony ext add-mcp`")
        try:
            tools = asyncio.run(_list_tools(port, provisional))
        except SymphonyError as error:
            raise RegistryError(f"Cannot list the tools of {' '.join(command)!r}: {error}") from None
        operators, notes = operators_from_tools(name, tools)
        write_project(target, name, manifest_for(name, command, dependencies, author, operators))
    click.echo(f"Created {name} in {target}: {len(operators)} operator(s): {', '.join(o['name'] for o in operators)}")
    for note in notes:
        click.echo(f"  note: {note}")
    click.echo("Next: review the manifest, then")
    click.echo(f"  pip install -e {target}")
    click.echo(f"  symphony ext learn {name} TOOL --input NAME=VALUE   # the capabilities one call needs; declare them")
    click.echo(f"  symphony ext validate {target}")
