"""``symphony stale report [--json]`` and ``symphony stale gc [--dry-run] [--json]``.

Exit codes: 0 every source answered; 1 a source failed (the others' items are still
listed, and reclaimed by ``gc``; its error is printed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import click
import msgspec

from symphony.hookspecs.ports import StaleManagerPort, StaleReport

from ..dag.history import echo_json

__all__ = ["stale_commands"]

_REASON_WIDTH = 100


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _document(report: StaleReport) -> dict[str, Any]:
    return {
        "items": msgspec.to_builtins(report.items),
        "errors": report.errors,
        "dry_run": report.dry_run,
        "count": len(report.items),
        "size": report.size,
    }


def _print(report: StaleReport, verb: str) -> None:
    rows = [
        (item.source, item.kind, item.key, item.reason[:_REASON_WIDTH], _size(item.size) if item.size else "-")
        for item in report.items
    ]
    if rows:
        header = ("SOURCE", "KIND", "KEY", "REASON", "SIZE")
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])
    click.echo(f"{verb} {len(report.items)} item(s), {_size(report.size)}")
    for source, error in sorted(report.errors.items()):
        click.echo(f"error: source {source!r} failed: {error}", err=True)


def _finish(report: StaleReport, as_json: bool, verb: str) -> None:
    if as_json:
        echo_json(_document(report))
    else:
        _print(report, verb)
    if report.errors:
        raise SystemExit(1)


def stale_commands(manager: Callable[[], StaleManagerPort]) -> click.Group:
    """The ``stale`` group over whichever stale manager serves the port."""

    @click.group("stale")
    def stale() -> None:
        """Find what is out of date or past its retention (cache entries, runs, logs, models, chunks) and reclaim it."""

    @stale.command("report")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
    def report(as_json: bool) -> None:
        """List what every stale source finds stale now; changes nothing."""
        _finish(asyncio.run(manager().report()), as_json, "stale:")

    @stale.command("gc")
    @click.option("--dry-run", is_flag=True, help="Only say what would be reclaimed.")
    @click.option("--json", "as_json", is_flag=True, help="Print what was reclaimed as one JSON document.")
    def gc(dry_run: bool, as_json: bool) -> None:
        """Reclaim everything stale (each source re-checks its items first) and list what went."""
        found = asyncio.run(manager().collect(dry_run=dry_run))
        _finish(found, as_json, "would reclaim" if dry_run else "reclaimed")

    return stale
