"""``symphony doctor``: the health of every component and port, and how to fix problems."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ._app import HostFactory
from ._output import note, print_json, print_table

if TYPE_CHECKING:
    from symphony.hookspecs import Problem

__all__ = ["doctor"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def doctor(factory: HostFactory, as_json: bool) -> None:
    """Start the host, check every port, component and health check, then stop.

    Exits 1 when something is broken; warnings alone exit 0.  A port nothing
    provides is information, not a problem: most installs need only some ports.
    """
    import asyncio

    host = factory.host()

    async def examine() -> object:
        async with host:
            return await host.health()

    health = asyncio.run(examine())
    from .._host import HostHealth

    assert isinstance(health, HostHealth)
    if as_json:
        print_json({"distro": host.distro.entry_point, **_as_dict(health)})
    else:
        print_table(
            f"Ports (profile: {host.distro.entry_point or 'host defaults'})",
            ("port", "provider", "type"),
            [(p.port, p.provider or "-", p.type or "") for p in health.ports],
        )
        checks = {**health.components, **health.checks}
        print_table(
            "Components and health checks",
            ("name", "status", "message"),
            [(name, status.status, status.message) for name, status in checks.items()],
        )
        unprovided = [p.port for p in health.ports if p.provider is None and not p.broken]
        if unprovided:
            note(f"info: no plugin provides {', '.join(unprovided)} yet; install one that does to use it.")
        _print_problems(health.problems)
        click.echo(f"overall: {health.status}")
    if health.status == "failed":
        raise SystemExit(1)


def _print_problems(problems: list[Problem]) -> None:
    """Each problem, with its fix printed once under every problem it fixes."""
    by_fix: dict[str, list[Problem]] = {}
    for problem in problems:
        by_fix.setdefault(problem.fix, []).append(problem)
    for fix, group in by_fix.items():
        for problem in group:
            click.echo(f"{problem.severity}: {problem.message}")
        if fix:
            click.echo(f"    fix: {fix}")


def _as_dict(health: object) -> dict[str, object]:
    import msgspec

    result: dict[str, object] = msgspec.to_builtins(health)
    return result
