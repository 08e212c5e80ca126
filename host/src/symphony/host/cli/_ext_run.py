"""``symphony ext invoke|ps|enable|learn``: run extensions through the ExtensionPort.

``invoke`` checks the inputs against the operation's declared ports and
refuses an extension missing a grant, as ``workflow validate`` would, then
starts it in the runtime its manifest names (confined unless trusted), with
its validated configuration and only what it was granted.  ``ps`` shows the
totals every host process recorded.  ``learn`` runs one invocation under a
permissive, fully audited checker and prints the smallest ``[capabilities]``
block covering what the extension asked the host for (mediated requests:
network and models).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import click

from ._app import HostFactory
from ._output import print_json, print_table

__all__ = ["enable", "invoke", "learn", "ps"]

_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
_INPUT = click.option(
    "--input",
    "-i",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="An input value (JSON if it parses as JSON, else a string); repeatable.",
)
_INPUT_JSON = click.option("--input-json", metavar="JSON", help="The whole input as one JSON object.")


def _inputs(pairs: tuple[str, ...], as_object: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if as_object is not None:
        try:
            decoded = json.loads(as_object)
        except json.JSONDecodeError as error:
            raise click.UsageError(f"--input-json is not JSON: {error}") from None
        if not isinstance(decoded, dict):
            raise click.UsageError(f"--input-json must be a JSON object, got {type(decoded).__name__}.")
        values.update(decoded)
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--input {pair!r} is not KEY=VALUE.")
        try:
            values[key] = json.loads(text)
        except json.JSONDecodeError:
            values[key] = text
    return values


async def _invoke(
    factory: HostFactory, name: str, operation: str, values: dict[str, Any], *, learn_run: str | None = None
) -> Any:
    """The result, or with ``learn_run`` the learned ``[capabilities]`` TOML."""
    from symphony.hookspecs import ExtensionError, ExtensionId, SymphonyError, one_line

    from ..extensions._index import find_extension
    from ..extensions._runtime import ExtensionRuntime
    from ..permissions import learn_capabilities
    from ._ext_checks import check_grants, check_inputs

    mode = "learn" if learn_run else "enforce"
    runtime = ExtensionRuntime(factory.host().context, checker_mode=mode, run_id=learn_run)
    try:
        installed = find_extension(runtime.settings.cache_dir, name)
        if installed is not None and installed.manifest is not None:
            check_inputs(installed.manifest, operation, values)
            if learn_run is None:  # learning is for finding out what to grant
                check_grants(installed.manifest, runtime.permissions, operation)
        try:
            result = await runtime.invoke_extension(ExtensionId(name), {"operation": operation, "input": values})
        except SymphonyError:
            raise
        except Exception as error:  # an in-process extension's own exception: its message, not our traceback
            message = one_line(f"{type(error).__name__}: {error}")
            raise ExtensionError(f"Extension {name!r} raised in {operation!r}: {message}") from None
        if learn_run is None:
            return result
        entries = runtime.permissions.audit.entries(extension=name, run_id=learn_run, limit=None)
        return learn_capabilities(entries, extension=name, resolver=runtime.permissions.resolver)
    finally:
        await runtime.close()


@click.command()
@click.argument("name")
@click.argument("operation")
@_INPUT
@_INPUT_JSON
@_JSON
@click.pass_obj
def invoke(
    factory: HostFactory, *, name: str, operation: str, pairs: tuple[str, ...], input_json: str | None, as_json: bool
) -> None:
    """Run OPERATION of extension NAME once and print its result."""
    result = asyncio.run(_invoke(factory, name, operation, _inputs(pairs, input_json)))
    if as_json:
        print_json({"extension": name, "operation": operation, "result": result})
    else:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))


@click.command()
@_JSON
@click.pass_obj
def ps(factory: HostFactory, as_json: bool) -> None:
    """Per extension: invocations, failures, denials, restarts, memory, CPU time, and whether it is disabled."""
    from ..extensions._state import StateFile

    records = sorted(StateFile.of(factory.host().settings).read().values(), key=lambda r: r.name)
    if as_json:
        import msgspec

        print_json(msgspec.to_builtins(records))
        return
    rows = [
        (
            r.name,
            r.runtime,
            "disabled" if r.disabled else "enabled",
            str(r.invocations),
            str(r.failures),
            str(r.denials),
            str(r.restarts),
            f"{(r.peak_memory_bytes or 0) / 2**20:.1f} MiB" if r.peak_memory_bytes else "-",
            f"{r.cpu_seconds:.2f} s",
        )
        for r in records
    ]
    columns = ("extension", "runtime", "state", "calls", "failures", "denials", "restarts", "peak memory", "cpu")
    print_table("Extensions (totals over every host process)", columns, rows)


@click.command()
@click.argument("name")
@click.pass_obj
def enable(factory: HostFactory, name: str) -> None:
    """Re-enable NAME after a crash loop disabled it."""
    from ..extensions._state import StateFile

    if StateFile.of(factory.host().settings).enable(name):
        click.echo(f"{name} enabled; its next invocation starts it again.")
    else:
        click.echo(f"{name} was not disabled.")


@click.command()
@click.argument("name")
@click.argument("operation")
@_INPUT
@_INPUT_JSON
@click.pass_obj
def learn(factory: HostFactory, *, name: str, operation: str, pairs: tuple[str, ...], input_json: str | None) -> None:
    """Run OPERATION of NAME with every mediated request allowed and audited; print the [capabilities] it needs.

    Only for extensions you trust enough to let them reach any host or model
    once.  File access is confined as granted and is not learned.
    """
    run_id = f"learn-{uuid.uuid4().hex[:12]}"
    click.echo(asyncio.run(_invoke(factory, name, operation, _inputs(pairs, input_json), learn_run=run_id)), nl=False)
