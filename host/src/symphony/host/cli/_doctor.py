"""``symphony doctor``: the health of every component and port, and how to fix problems."""

from __future__ import annotations

import click

from ._app import HostFactory
from ._output import print_json, print_table

__all__ = ["doctor"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def doctor(factory: HostFactory, as_json: bool) -> None:
    """Start the host, check every port, component and health check, then stop.

    Exits 1 when something is broken; warnings alone exit 0.
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
        for problem in health.problems:
            click.echo(f"{problem.severity}: {problem.message}\n    fix: {problem.fix}")
        click.echo(f"overall: {health.status}")
    if health.status == "failed":
        raise SystemExit(1)


def _as_dict(health: object) -> dict[str, object]:
    import msgspec

    result: dict[str, object] = msgspec.to_builtins(health)
    return result
