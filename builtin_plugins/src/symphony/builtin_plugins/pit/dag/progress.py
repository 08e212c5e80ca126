"""The progress display of ``symphony run``: a live bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import Any, TextIO

import click

from symphony.hookspecs import Event

__all__ = ["Progress", "make_progress"]

_TERMINAL = ("succeeded", "failed", "skipped", "cached", "restored")


class Progress:
    """Counts node states from events; subclasses show them."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.counts = {"succeeded": 0, "failed": 0, "skipped": 0, "running": 0}
        self.finished = 0
        self._running: set[str] = set()

    def __call__(self, event: Event) -> None:
        topic = event.topic
        if not topic.startswith("node."):
            if topic in ("run.started", "run.resumed"):
                self.started(event)
            return
        state = topic[5:]
        node = str(event.data.get("node", ""))
        if state == "running":
            self._running.add(node)
        elif state in _TERMINAL:
            self._running.discard(node)
            self.finished += 1
            self.counts["succeeded" if state in ("cached", "restored") else state] += 1
        self.counts["running"] = len(self._running)
        self.changed(state, node, event.data)

    def started(self, event: Event) -> None:
        """The run began (or resumed)."""

    def announcement(self, event: Event) -> str:
        """``run ID started (N nodes)``: the id to give ``symphony runs`` later."""
        verb = "resumed" if event.topic == "run.resumed" else "started"
        restored = event.data.get("restored") or 0
        extra = f", {restored} restored from checkpoints" if restored else ""
        return f"run {event.data['run_id']} {verb} ({self.total} nodes{extra})"

    def changed(self, state: str, node: str, data: dict[str, Any]) -> None:
        """A node changed state."""

    def close(self) -> None:
        """The run ended."""


class _Lines(Progress):
    """One line per node that finished, retried or failed: for logs and pipes."""

    def __init__(self, total: int, out: TextIO) -> None:
        super().__init__(total)
        self.out = out

    def started(self, event: Event) -> None:
        click.echo(self.announcement(event), file=self.out)

    def changed(self, state: str, node: str, data: dict[str, Any]) -> None:
        if state in _TERMINAL:
            detail = ""
            if state == "failed":
                detail = f": {data.get('cause', '')}"
            elif data.get("detail") == "shut":
                detail = " (gate shut: its downstream is skipped)"
            elif "run_time" in data and state == "succeeded":
                detail = f" ({data['run_time'] * 1000:.1f} ms"
                detail += f", {data['attempts']} attempts)" if data.get("attempts", 1) > 1 else ")"
            click.echo(f"  [{self.finished}/{self.total}] {state:<9} {node}{detail}", file=self.out)
        elif state == "retrying":
            click.echo(
                f"  retrying  {node} after attempt {data.get('attempt')} ({data.get('category')}):"
                f" {data.get('cause')}; next in {data.get('delay', 0):.2f} s",
                file=self.out,
            )


class _Bar(Progress):
    """A rich progress bar with the counts, redrawn in place."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self._task = self._bar.add_task("run", total=total, counts="")
        self._bar.start()

    def started(self, event: Event) -> None:
        self._bar.console.print(self.announcement(event), markup=False, highlight=False)

    def changed(self, state: str, node: str, data: dict[str, Any]) -> None:
        c = self.counts
        counts = f"done {c['succeeded']}  running {c['running']}  failed {c['failed']}  skipped {c['skipped']}"
        self._bar.update(self._task, completed=self.finished, counts=counts)
        if state == "failed":
            self._bar.console.print(f"[red]failed[/red] {node}: {data.get('cause', '')}")
        elif state == "retrying":
            self._bar.console.print(f"[yellow]retrying[/yellow] {node}: {data.get('cause', '')}")

    def close(self) -> None:
        self._bar.stop()


def make_progress(total: int, *, quiet: bool) -> Progress:
    """A bar when standard output is a terminal and rich is installed; plain lines otherwise."""
    if quiet:
        return Progress(total)
    if sys.stdout.isatty():
        try:
            return _Bar(total)
        except ImportError:
            pass
    return _Lines(total, sys.stdout)
