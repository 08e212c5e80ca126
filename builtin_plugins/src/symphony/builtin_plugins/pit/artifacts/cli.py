"""``symphony artifacts put|get|show``: the artifact store from the command line.

Exit codes: 0 done; 1 the store refused (unknown artifact, corrupt bytes, wrong key);
2 bad input (a malformed id, an unreadable FILE, an unwritable OUT), with nothing written.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import click
import msgspec

from symphony.hookspecs import ArtifactId, atomic_write
from symphony.hookspecs.ports import ArtifactInfo, ArtifactStorePort

from ..dag.history import echo_json

__all__ = ["artifacts_commands"]


def _artifact_id(text: str) -> ArtifactId:
    """``text`` checked as an artifact id before the store is asked, so a typo is a usage error."""
    digest = text.removeprefix("sha256:")
    if not text.startswith("sha256:") or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise click.BadParameter(
            f"{text!r} is not an artifact id: expected 'sha256:' and 64 lowercase hex digits"
            " (as `symphony artifacts put` prints).",
            param_hint="ID",
        )
    return ArtifactId(text)


def _read_input(file: str) -> bytes:
    """The bytes of FILE, or standard input for ``-``."""
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(file).read_bytes()
    except OSError as error:
        raise click.BadParameter(f"Cannot read {file!r}: {error.strerror}.", param_hint="FILE") from None


def _info_json(info: ArtifactInfo) -> dict[str, Any]:
    document: dict[str, Any] = msgspec.to_builtins(info)
    return document


def _write_output(out: Path | None, data: bytes) -> None:
    """``data`` to OUT atomically (a failed write leaves OUT as it was), or to standard output."""
    if out is None:
        stdout: BinaryIO = sys.stdout.buffer
        stdout.write(data)
        stdout.flush()
        return
    try:
        atomic_write(out, data)
    except OSError as error:
        raise click.BadParameter(f"Cannot write {str(out)!r}: {error.strerror}.", param_hint="-o") from None


def artifacts_commands(store: Callable[[], ArtifactStorePort]) -> click.Group:
    """``symphony artifacts`` over the store ``store()`` gives."""

    @click.group("artifacts")
    def artifacts() -> None:
        """Store, fetch and inspect content-addressed artifacts."""

    @artifacts.command("put")
    @click.argument("file")
    @click.option("--tag", "tags", multiple=True, metavar="TAG", help="A tag to record with it (repeatable).")
    @click.option("--json", "as_json", is_flag=True, help="Print the id and size as JSON.")
    def put(file: str, tags: tuple[str, ...], as_json: bool) -> None:
        """Store FILE (- reads standard input) and print its id; the same bytes are stored once."""
        data = _read_input(file)
        metadata: dict[str, Any] = {"tags": list(tags)} if tags else {}
        if file != "-":
            metadata["filename"] = Path(file).name
        artifact_id = asyncio.run(store().store(data, metadata))
        if as_json:
            echo_json({"artifact_id": artifact_id, "size": len(data)})
        else:
            click.echo(artifact_id)

    @artifacts.command("get")
    @click.argument("artifact_id", metavar="ID")
    @click.option("-o", "--output", "out", type=click.Path(path_type=Path, dir_okay=False), help="Write to OUT.")
    @click.option("--json", "as_json", is_flag=True, help="With -o: print the id, size and OUT as JSON.")
    def get(artifact_id: str, out: Path | None, as_json: bool) -> None:
        """Write the bytes of artifact ID (verified against its digest) to standard output or OUT."""
        checked = _artifact_id(artifact_id)
        if as_json and out is None:
            raise click.UsageError("--json describes the file -o wrote: give -o OUT with it.")
        data = asyncio.run(store().retrieve(checked))
        _write_output(out, data)
        if as_json:
            echo_json({"artifact_id": checked, "size": len(data), "output": str(out)})

    @artifacts.command("show")
    @click.argument("artifact_id", metavar="ID")
    @click.option("--json", "as_json", is_flag=True, help="Print the id, size and metadata as JSON.")
    def show(artifact_id: str, as_json: bool) -> None:
        """Print artifact ID's size and metadata."""
        info = asyncio.run(store().info(_artifact_id(artifact_id)))
        if as_json:
            echo_json(_info_json(info))
            return
        click.echo(f"artifact {info.artifact_id}")
        click.echo(f"size     {info.size} bytes")
        for key, value in sorted(info.metadata.items()):
            click.echo(f"{key:<8} {value}")

    return artifacts
