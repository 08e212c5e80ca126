"""``symphony plugins``: list, profile and reindex plugins."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

import click

from ._app import HostFactory
from ._output import print_json, print_table

if TYPE_CHECKING:
    from .._host import Host

__all__ = ["plugins"]


@click.group()
def plugins() -> None:
    """Inspect installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--traceback",
    "tracebacks",
    is_flag=True,
    help="Start the host first (as doctor does, so failures in startup show too) and print each failure's traceback.",
)
@click.pass_obj
def list_plugins(factory: HostFactory, as_json: bool, tracebacks: bool) -> None:
    """Every plugin: where it comes from, what it implements, and whether it loaded."""
    host = factory.host()
    if tracebacks:
        import asyncio

        asyncio.run(_start_and_stop(host))
    records = host.records
    if as_json:
        print_json(records)
        return
    rows = [(r.name, r.source, r.distribution, r.version, r.status, len(r.hooks), r.error or "") for r in records]
    print_table("Plugins", ("name", "source", "distribution", "version", "status", "hooks", "error"), rows)
    for record in records if tracebacks else ():
        if record.traceback:
            click.echo(f"\nTraceback of plugin {record.name!r}:\n{record.traceback.rstrip()}")


async def _start_and_stop(host: Host) -> None:
    async with host:
        pass


@plugins.command("profile", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def profile(ctx: click.Context, as_json: bool, command: tuple[str, ...]) -> None:
    """Run another symphony COMMAND and show the time spent in each plugin and hook.

    Example: symphony plugins profile -- doctor
    """
    from ._app import cli

    factory: HostFactory = ctx.obj
    factory.overrides.append("hooks.profile=true")
    start = time.perf_counter()
    with contextlib.suppress(click.exceptions.Exit):
        cli.main(args=list(command), prog_name="symphony", standalone_mode=False, obj=factory)
    elapsed_ms = (time.perf_counter() - start) * 1e3
    profiler = factory.host().profiler
    rows = profiler.rows() if profiler is not None else []
    if as_json:
        print_json({"command": list(command), "total_ms": elapsed_ms, "rows": rows})
        return
    table = [(r.plugin, r.hook, r.calls, f"{r.total_ms:.3f}", f"{r.mean_us:.1f}") for r in rows]
    print_table(
        f"Time by plugin and hook for `symphony {' '.join(command)}` ({elapsed_ms:.1f} ms in all)",
        ("plugin", "hook", "calls", "total ms", "mean µs"),
        table,
    )


@plugins.command("reindex")
@click.pass_obj
def reindex(factory: HostFactory) -> None:
    """Drop the cached entry-point index and rebuild it."""
    from .._index import clear, load_index
    from .._settings import load_settings, merge_overrides

    settings = load_settings(config_file=factory.config_file, overrides=merge_overrides(factory.overrides))
    removed = clear(settings.cache_dir)
    index = load_index(settings.cache_dir)
    plugins_found = len(index.group("symphony.plugins"))
    click.echo(f"Removed {removed} cached index file(s); found {plugins_found} plugin entry point(s).")
