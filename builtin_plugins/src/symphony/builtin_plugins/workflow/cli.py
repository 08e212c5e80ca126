"""``symphony workflow validate|convert|show``, contributed through ``symphony_register_commands``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from symphony.hookspecs import ValidationReport, Workflow

from .catalogue import Catalogue
from .formats import FORMATS, WorkflowFormatError, encode, load, save
from .validate import Limits, validate

__all__ = ["load_or_exit", "workflow_commands"]

_FILE = click.Path(path_type=Path, dir_okay=False)
_WHERE_TO_WRITE = "Give -o a path in an existing directory you can write to (convert creates no directories)."


def load_or_exit(path: Path) -> Workflow:
    """Read a document or exit 2 with the reason (and line and column) on one line."""
    try:
        return load(path)
    except WorkflowFormatError as error:
        click.echo(f"Error: {path}: {error}", err=True)
        raise SystemExit(2) from None


def _problems_json(report: ValidationReport) -> list[dict[str, Any]]:
    return [
        {"kind": p.kind, "nodes": list(p.nodes), "edges": list(p.edges), "message": p.message, "severity": p.severity}
        for p in report.problems
    ]


def _write_to_stdout(data: bytes, target: str) -> None:
    """Binary output is refused on a terminal, where it would garble the screen."""
    if target == "msgpack" and sys.stdout.isatty():
        raise click.UsageError("--to msgpack is binary and would garble the terminal; give -o FILE or pipe it.")
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def workflow_commands(catalogue: Callable[[], Catalogue], limits: Callable[[], Limits]) -> click.Group:
    """The ``workflow`` group; ``catalogue`` and ``limits`` are read when a command runs."""

    @click.group()
    def workflow() -> None:
        """Validate, convert and draw workflow documents."""

    @workflow.command("validate")
    @click.argument("file", type=_FILE)
    @click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
    def validate_command(file: Path, as_json: bool) -> None:
        """Check FILE. Exit 0 if valid, 1 with every problem, 2 if it cannot be read or parsed."""
        report = validate(load_or_exit(file), catalogue(), limits()).report()
        if as_json:
            import msgspec

            click.echo(msgspec.json.format(msgspec.json.encode(_problems_json(report)), indent=2).decode())
        else:
            for problem in report.problems:
                where = ", ".join(problem.nodes + problem.edges)
                click.echo(f"{problem.severity}: [{problem.kind}] {problem.message}" + (f" ({where})" if where else ""))
            errors = len(report.errors)
            warnings = len(report.problems) - errors
            click.echo(f"{file}: {'valid' if report.valid else 'invalid'} ({errors} error(s), {warnings} warning(s))")
        if not report.valid:
            raise SystemExit(1)

    @workflow.command("convert")
    @click.argument("file", type=_FILE)
    @click.option("--to", "target", type=click.Choice(FORMATS), required=True, help="The format to write.")
    @click.option("-o", "--output", type=_FILE, help="Write here (atomically) instead of to standard output.")
    def convert(file: Path, target: str, output: Path | None) -> None:
        """Rewrite FILE in another format; node metadata and unknown-to-us config survive untouched."""
        document = load_or_exit(file)
        try:
            if output is not None:
                save(document, output, target)  # type: ignore[arg-type]
                return
            data = encode(document, target)  # type: ignore[arg-type]
        except WorkflowFormatError as error:
            raise click.ClickException(str(error)) from None
        except OSError as error:
            click.echo(f"Error: cannot write {output}: {error.strerror}. {_WHERE_TO_WRITE}", err=True)
            raise SystemExit(2) from None
        _write_to_stdout(data, target)

    @workflow.command("show")
    @click.argument("file", type=_FILE)
    @click.option(
        "--format", "fmt", type=click.Choice(["levels", "dot", "mermaid"]), default="levels", show_default=True
    )
    def show(file: Path, fmt: str) -> None:
        """Draw FILE: execution levels in the terminal, or DOT / Mermaid text for a picture."""
        from .render import critical_path, to_dot, to_mermaid

        document = load_or_exit(file)
        if fmt == "dot":
            click.echo(to_dot(document), nl=False)
            return
        if fmt == "mermaid":
            click.echo(to_mermaid(document), nl=False)
            return
        validated = validate(document, catalogue(), limits())
        levels = validated.levels()
        click.echo(f"{document.name} {document.version} ({len(document.nodes)} nodes, {len(document.edges)} edges)")
        if not validated.complete:
            (stopped,) = [p for p in validated.problems if p.kind in ("limit", "timeout")]
            raise click.ClickException(f"No execution levels: {stopped.message}")
        if not levels:
            click.echo("No execution levels: the graph has a cycle (run `symphony workflow validate`).")
            return
        for depth, nodes in enumerate(levels):
            click.echo(f"  level {depth}: {', '.join(nodes)}")
        click.echo(f"  critical path: {' -> '.join(critical_path(document))}")

    return workflow
