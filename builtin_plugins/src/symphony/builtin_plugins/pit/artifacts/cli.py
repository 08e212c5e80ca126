"""``symphony artifacts``: put, get, show, history, lineage, search, score, stats, verify, gc, reindex, rekey.

Exit codes: 0 done; 1 the store refused (unknown artifact, corrupt bytes, wrong key) or
``verify`` found a problem; 2 bad input (a malformed id, an unreadable FILE, an unwritable OUT), with nothing written.
A transfer shows a progress bar on standard error when that is a terminal.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, Any

import click
import msgspec

from symphony.hookspecs import ArtifactId, DataError, NotFoundError, PortUnavailableError, ValidationError
from symphony.hookspecs.ports import ArtifactStorePort, PoolManagerPort

from ..dag.history import echo_json
from .crypto import OLD_KEY_ENV, previous_sealer
from .export import stream_to_file
from .rekey import rekey as rekey_store
from .scores import FEEDBACK
from .search import Filters
from .store import ArtifactStore

__all__ = ["artifacts_commands"]

_BLOCK = 1024 * 1024
_OUT = click.Path(path_type=Path, dir_okay=False)
_FILTER_KEYS = ("type", "tag", "producer", "since", "until")


def _resolve(store: ArtifactStore, ref: str) -> ArtifactId:
    """The content id ``ref`` names (an id, NAME, NAME@N or NAME@latest); a malformed ref is a usage error."""
    try:
        return store.catalog.resolve(ref)
    except ValidationError as error:
        raise click.BadParameter(str(error), param_hint="ID|NAME[@V]") from None


def _builtin(port: ArtifactStorePort) -> ArtifactStore:
    if not isinstance(port, ArtifactStore):
        raise PortUnavailableError(
            "`symphony artifacts` works on the builtin artifact store (plugin 'artifacts'), but port"
            f" 'artifact_store' is served by {type(port).__name__}; unset ports.artifact_store to use the builtin one."
        )
    return port


def _progress(total: int | None, what: str) -> AbstractContextManager[Callable[[int], None]]:
    """A byte counter drawn as a rich bar on a terminal; a no-op otherwise (pipes and --json stay clean)."""
    if not sys.stderr.isatty():
        return nullcontext(lambda _: None)
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    bar = Progress(
        "{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(what, total=total)

    class _Bar:
        def __enter__(self) -> Callable[[int], None]:
            bar.start()
            return lambda size: bar.advance(task, size)

        def __exit__(self, *_: object) -> None:
            bar.stop()

    return _Bar()


def _blocks(handle: IO[bytes], advance: Callable[[int], None]) -> Iterator[bytes]:
    while block := handle.read(_BLOCK):
        advance(len(block))
        yield block


def _put(store: ArtifactStore, file: str, metadata: dict[str, Any]) -> tuple[ArtifactId, int]:
    """FILE (or stdin) streamed into the store in bounded memory; its id and size."""
    size = 0

    def counted(blocks: Iterable[bytes]) -> Iterator[bytes]:
        nonlocal size
        for block in blocks:
            size += len(block)
            yield block

    if file == "-":
        with _progress(None, "put") as advance:
            return store.put_sync(counted(_blocks(sys.stdin.buffer, advance)), metadata), size
    try:
        handle = open(file, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as error:
        raise click.BadParameter(f"Cannot read {file!r}: {error.strerror}.", param_hint="FILE") from None
    with handle, _progress(Path(file).stat().st_size, "put") as advance:
        return store.put_sync(counted(_blocks(handle, advance)), metadata), size


def _get(store: ArtifactStore, artifact_id: ArtifactId, out: Path | None) -> int:
    """The verified content, streamed to OUT (a temp file renamed into place; a failure leaves OUT as it was) or stdout.

    No more than one read run (8 MiB) of the content is in memory at once.
    """
    size = asyncio.run(store.info(artifact_id)).size
    with _progress(size, "get") as advance:

        def parts() -> Iterator[bytes]:
            try:
                for part in store.iter_sync(artifact_id):
                    advance(len(part))
                    yield part
            except OSError as error:  # reading the store, not writing OUT (that is the caller's error below)
                raise DataError(f"Cannot read {artifact_id} from the artifact store: {error}.") from None

        if out is None:
            for part in parts():
                sys.stdout.buffer.write(part)
            sys.stdout.buffer.flush()
            return size
        try:
            stream_to_file(out, parts())
        except OSError as error:
            raise click.BadParameter(f"Cannot write {str(out)!r}: {error.strerror}.", param_hint="-o") from None
    return size


def _add_upkeep(group: click.Group, store: Callable[[], ArtifactStore]) -> None:
    """``stats``, ``verify`` and ``gc``: the commands about the whole store."""

    @group.command("stats")
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
    def stats(as_json: bool) -> None:
        """Print logical bytes (what was stored) against stored bytes (what it occupies), and the counts."""
        figures = store().stats()
        if as_json:
            echo_json(msgspec.to_builtins(figures))
            return
        for key, value in msgspec.structs.asdict(figures).items():
            click.echo(f"{key:<14} {value}")

    @group.command("verify")
    @click.option("--repair", is_flag=True, help="First rebuild lost chunk rows from the pack headers.")
    @click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON list.")
    def verify(repair: bool, as_json: bool) -> None:
        """Check every pack, chunk and object against its digest; print each problem with its fix.

        Exit 0 when the store is sound, 1 when a problem was found. Safe while other processes write.
        With --repair, chunk rows objects need are first rebuilt from the packs that hold them.
        """
        opened = store()
        repaired = opened.repair() if repair else None
        problems = opened.verify()
        if repaired is not None and not as_json:
            click.echo(
                f"repaired: {repaired.chunks} chunk row(s) rebuilt, {len(repaired.packs)} orphan pack(s) adopted"
            )
        if as_json:
            document = msgspec.to_builtins(problems)
            echo_json(
                document if repaired is None else {"repaired": msgspec.to_builtins(repaired), "problems": document}
            )
        elif not problems:
            click.echo("store verified: no problems.")
        for problem in [] if as_json else problems:
            click.echo(f"{problem.kind}: {problem.subject}: {problem.detail}")
            click.echo(f"  fix: {problem.fix}")
        if problems:
            raise SystemExit(1)

    @group.command("gc")
    @click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    def gc(dry_run: bool, as_json: bool) -> None:
        """Remove artifacts no name, run or cache refers to, and the chunks and packs only they used.

        Anything stored within the gc_grace period is kept (a writer may still be naming it).
        """
        report = store().gc(dry_run=dry_run)
        if as_json:
            echo_json(msgspec.to_builtins(report))
            return
        verb = "would remove" if dry_run else "removed"
        click.echo(
            f"{verb} {len(report.objects)} artifact(s), {report.chunks} chunk(s), {len(report.packs)} pack(s):"
            f" {report.bytes} bytes"
        )
        for artifact_id in report.objects:
            click.echo(f"  {artifact_id}")


def _add_catalog(group: click.Group, store: Callable[[], ArtifactStore]) -> None:
    """``history`` and ``lineage``: names, versions and what produced or used an artifact."""

    @group.command("history")
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help="Print the versions as a JSON list.")
    def history(name: str, as_json: bool) -> None:
        """List NAME's versions, oldest first, with the content each points at."""
        try:
            versions = store().catalog.history(name)
        except ValidationError as error:
            raise click.BadParameter(str(error), param_hint="NAME") from None
        if as_json:
            echo_json(msgspec.to_builtins(versions))
            return
        for v in versions:
            when = datetime.datetime.fromtimestamp(v.created_at).strftime("%Y-%m-%d %H:%M:%S")
            tags = f"  [{', '.join(v.tags)}]" if v.tags else ""
            click.echo(f"{v.name}@{v.version}  {when}  {v.artifact_id}{tags}")

    @group.command("lineage")
    @click.argument("ref", metavar="ID|NAME[@V]")
    @click.option("--json", "as_json", is_flag=True, help="Print produced_by and used_by as JSON.")
    def lineage(ref: str, as_json: bool) -> None:
        """What produced an artifact, from which inputs, and which node outputs used it."""
        opened = store()
        artifact_id = _resolve(opened, ref)
        lineage = opened.catalog.lineage_of(artifact_id)  # as the store's ArtifactHistory.lineage gives it
        if as_json:
            echo_json(msgspec.to_builtins(lineage))
            return
        click.echo(f"artifact {artifact_id}")
        for title, entries in (("produced by", lineage.produced_by), ("used by", lineage.used_by)):
            click.echo(f"{title}:" if entries else f"{title}: nothing recorded")
            for e in entries:
                inputs = ", ".join(e.inputs) or "no input artifacts"
                version = f" {e.contribution_version}" if e.contribution_version else ""
                click.echo(f"  run {e.run_id} node {e.node_id} ({e.contribution}{version}) from {inputs}")


def _filters(pairs: tuple[str, ...]) -> Filters:
    """``--filter KEY=VALUE`` pairs as search filters; ``since``/``until`` take an ISO date or Unix seconds."""
    fields: dict[str, Any] = {"tags": []}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in _FILTER_KEYS:
            raise click.BadParameter(
                f"{pair!r} is not KEY=VALUE with KEY one of {', '.join(_FILTER_KEYS)}.", param_hint="--filter"
            )
        if key == "tag":
            fields["tags"].append(value)
        elif key in ("since", "until"):
            try:
                fields[key] = float(value) if value.replace(".", "", 1).isdigit() else _timestamp(value)
            except ValueError:
                raise click.BadParameter(
                    f"{pair!r}: {key} is an ISO date (2026-12-01, 2026-12-01T08:00) or Unix seconds.",
                    param_hint="--filter",
                ) from None
        else:
            fields[key] = value
    fields["tags"] = tuple(fields["tags"])
    return Filters(**fields)


def _timestamp(text: str) -> float:
    return datetime.datetime.fromisoformat(text).timestamp()


def _add_search(
    group: click.Group, store: Callable[[], ArtifactStore], pool: Callable[[], PoolManagerPort] | None
) -> None:
    """``search``, ``score`` and ``reindex``: full-text search ranked with quality, and its inputs."""

    @group.command("search")
    @click.argument("query")
    @click.option("--filter", "pairs", multiple=True, metavar="KEY=VALUE", help="type, tag, producer, since, until.")
    @click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many hits.")
    @click.option("--semantic", is_flag=True, help="Rank by meaning (the local embedding model), not by words.")
    @click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON list.")
    def search(query: str, pairs: tuple[str, ...], limit: int, semantic: bool, as_json: bool) -> None:
        """Find artifacts whose text or name matches QUERY, best first (relevance times quality).

        QUERY is Tantivy's query language: words (all must match), "a phrase", name:WORD, a OR b;
        an empty QUERY lists the newest. Filters narrow the hits: --filter tag=final --filter since=2026-12-01.
        With --semantic, QUERY is plain text and hits are the artifacts whose text means the most nearly the
        same (cosine of all-MiniLM-L6-v2 vectors, -1..1); it takes no filters.
        """
        if semantic:
            if pairs:
                raise click.UsageError("--semantic takes no --filter: it ranks every text artifact by meaning.")
            _semantic_search(store(), pool, query, limit=limit, as_json=as_json)
            return
        try:
            hits, _ = store().finder.search(query, limit, _filters(pairs))
        except ValidationError as error:
            raise click.BadParameter(str(error), param_hint="QUERY") from None
        if as_json:
            echo_json(msgspec.to_builtins(hits))
            return
        if not hits:
            click.echo("no artifact matches.")
        for hit in hits:
            why = f"relevance {hit.relevance:.3f}, quality {hit.quality:.2f}"
            click.echo(f"{hit.score:8.3f}  {hit.artifact_id}  ({why})")

    @group.command("score", context_settings={"ignore_unknown_options": True})
    @click.argument("ref", metavar="ID|NAME[@V]")
    @click.argument("vote", type=click.Choice(["+1", "-1"]))
    @click.option("--json", "as_json", is_flag=True, help="Print the recorded vote as JSON.")
    def score(ref: str, vote: str, as_json: bool) -> None:
        """Record your feedback on an artifact (+1 good, -1 bad); it moves the artifact's quality and ranking."""
        opened = store()
        artifact_id = _resolve(opened, ref)
        asyncio.run(opened.info(artifact_id))  # an unknown artifact is an error, not a vote on nothing
        opened.finder.scorer.record(artifact_id, FEEDBACK, float(vote))
        if as_json:
            echo_json({"artifact_id": artifact_id, "vote": int(vote)})
        else:
            click.echo(f"recorded {vote} for {artifact_id}")

    @group.command("reindex")
    @click.option("--json", "as_json", is_flag=True, help="Print the count as JSON.")
    def reindex(as_json: bool) -> None:
        """Rebuild the search index from the store alone (the store is the source of truth)."""
        indexed = store().finder.reindex()
        if as_json:
            echo_json({"indexed": indexed})
        else:
            click.echo(f"search index rebuilt: {indexed} artifact(s).")


def _semantic_search(
    store: ArtifactStore, pool: Callable[[], PoolManagerPort] | None, query: str, *, limit: int, as_json: bool
) -> None:
    from .semantic import search

    if pool is None:
        raise PortUnavailableError("Semantic search needs the pool manager (port 'pool_manager'); none is provided.")
    try:
        hits = asyncio.run(search(store, pool(), query, limit))
    except ValidationError as error:
        raise click.BadParameter(str(error), param_hint="QUERY") from None
    if as_json:
        echo_json(msgspec.to_builtins(hits))
        return
    if not hits:
        click.echo("no text artifact to search.")
    for hit in hits:
        click.echo(f"{hit.score:8.3f}  {hit.artifact_id}" + (f"  {hit.name}" if hit.name else ""))


def _add_rekey(group: click.Group, store: Callable[[], ArtifactStore]) -> None:
    @group.command("rekey")
    @click.option(
        "--old-key-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help=f"The key the store is sealed with now (owner-only file); or set {OLD_KEY_ENV}.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    def rekey(old_key_file: Path | None, as_json: bool) -> None:
        """Re-seal every pack and inline object under the configured key (or unencrypted, when none is).

        The old key comes from --old-key-file or SYMPHONY_ARTIFACTS_OLD_KEY; a plain store needs none.
        One transaction per pack: an interrupted rekey is resumed by running it again.
        """
        opened = store()
        old = previous_sealer(old_key_file, os.environ)
        report = rekey_store(opened, [] if old is None else [old])
        if as_json:
            echo_json(msgspec.to_builtins(report))
        else:
            under = f"key {report.key_id}" if report.key_id else "no key (plain)"
            click.echo(
                f"re-sealed {report.packs} pack(s), {report.chunks} chunk(s), {report.objects} object(s) under {under}."
            )


def artifacts_commands(
    port: Callable[[], ArtifactStorePort], pool: Callable[[], PoolManagerPort] | None = None
) -> click.Group:
    """``symphony artifacts`` over the builtin store serving the port ``port()`` gives (``pool()``: for --semantic)."""

    def store() -> ArtifactStore:
        return _builtin(port())

    @click.group("artifacts")
    def artifacts() -> None:
        """Store, fetch and inspect content-addressed artifacts."""

    @artifacts.command("put")
    @click.argument("file")
    @click.option("--name", metavar="NAME", help="Make it NAME's next version (NAME@1, NAME@2, ...).")
    @click.option("--tag", "tags", multiple=True, metavar="TAG", help="A tag to record with it (repeatable).")
    @click.option("--json", "as_json", is_flag=True, help="Print the id, size and version as JSON.")
    def put(file: str, name: str | None, tags: tuple[str, ...], as_json: bool) -> None:
        """Store FILE (- reads standard input) and print its id; the same bytes are stored once.

        With --name the content becomes NAME's next version (none is added when the latest already holds it),
        which also keeps it from gc; unnamed content is kept only while a run or cache refers to it.
        """
        opened = store()
        metadata: dict[str, Any] = {"tags": list(tags)} if tags else {}
        if name is not None:
            try:
                opened.catalog.history(name)
            except NotFoundError:
                pass  # a new name
            except ValidationError as error:  # checked before any byte is stored
                raise click.BadParameter(str(error), param_hint="--name") from None
            metadata["name"] = name
        if file != "-":
            metadata["filename"] = Path(file).name
        artifact_id, size = _put(opened, file, metadata)
        version = None if name is None else opened.catalog.name(name, artifact_id, tags).version
        if as_json:
            echo_json({"artifact_id": artifact_id, "size": size, "name": name, "version": version})
        else:
            click.echo(artifact_id if name is None else f"{artifact_id} {name}@{version}")

    @artifacts.command("get")
    @click.argument("ref", metavar="ID|NAME[@V]")
    @click.option("-o", "--output", "out", type=_OUT, help="Write to OUT instead of standard output.")
    @click.option("--json", "as_json", is_flag=True, help="With -o: print the id, size and OUT as JSON.")
    def get(ref: str, out: Path | None, as_json: bool) -> None:
        """Write the bytes of an artifact, verified against its digest, to standard output or OUT."""
        if as_json and out is None:
            raise click.UsageError("--json describes the file -o wrote: give -o OUT with it.")
        opened = store()
        checked = _resolve(opened, ref)
        size = _get(opened, checked, out)
        if as_json:
            echo_json({"artifact_id": checked, "size": size, "output": str(out)})

    @artifacts.command("show")
    @click.argument("ref", metavar="ID|NAME[@V]")
    @click.option("--json", "as_json", is_flag=True, help="Print the id, size, metadata and names as JSON.")
    def show(ref: str, as_json: bool) -> None:
        """Print an artifact's size, metadata and the named versions that point at it."""
        opened = store()
        info = asyncio.run(opened.info(_resolve(opened, ref)))
        names = [f"{v.name}@{v.version}" for v in opened.catalog.names_of(info.artifact_id)]
        if as_json:
            echo_json({**msgspec.to_builtins(info), "names": names})
            return
        click.echo(f"artifact {info.artifact_id}")
        click.echo(f"size     {info.size} bytes")
        if names:
            click.echo(f"names    {', '.join(names)}")
        for key, value in sorted(info.metadata.items()):
            click.echo(f"{key:<8} {value}")

    _add_catalog(artifacts, store)
    _add_search(artifacts, store, pool)
    _add_upkeep(artifacts, store)
    _add_rekey(artifacts, store)
    return artifacts
