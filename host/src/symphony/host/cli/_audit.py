"""``symphony audit``: the permission checker's decisions, newest first."""

from __future__ import annotations

import time

import click

from ._app import HostFactory
from ._output import print_json, print_table

__all__ = ["audit"]


@click.command()
@click.option("--extension", help="Only this extension's decisions.")
@click.option("--decision", type=click.Choice(["allowed", "denied"]), help="Only allowed or only denied ones.")
@click.option("--run", "run_id", help="Only decisions of this workflow run.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def audit(
    factory: HostFactory, *, extension: str | None, decision: str | None, run_id: str | None, limit: int, as_json: bool
) -> None:
    """Every permission decision (allowed and denied), from the audit log."""
    from ..permissions import AuditLog, database_path, provided_records

    host = factory.host()
    log = AuditLog(provided_records(host) or database_path(host.settings))
    entries = log.entries(
        extension=extension,
        decision="denied" if decision == "denied" else "allowed" if decision == "allowed" else None,
        run_id=run_id,
        limit=limit,
    )
    if as_json:
        print_json(entries)
        return
    if not entries:
        click.echo("No decisions recorded" + (" for these filters." if extension or decision or run_id else "."))
        return
    rows = [
        (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at)),
            e.extension,
            e.decision + (" (learn)" if e.mode == "learn" else ""),
            e.permission,
            e.run_id or "",
            e.reason,
        )
        for e in entries
    ]
    print_table("Permission decisions", ("time", "extension", "decision", "permission", "run", "reason"), rows)
