"""``symphony registry use|sync|status`` and ``symphony ext search``: the catalogue from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import click
import msgspec

from symphony.hookspecs import RegistryError, VerificationError

from ..plugin import host_context
from ._config import DEFAULT_INDEX, forget_index, load_config, save_index

if TYPE_CHECKING:  # the catalogue (packaging, sqlite3) is imported once an index is opened
    from ._catalogue import SearchHit
    from ._index import Index
    from ._sync import SyncReport

__all__ = ["search", "status", "sync", "use"]

_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
_INDEX = click.option("--index", "index_name", metavar="NAME", help="A configured index other than the current one.")


def _data_dir() -> Path:
    return host_context(click.get_current_context()).data_dir


def _open_index(data_dir: Path, name: str | None = None) -> Index:
    """The configured index ``name`` (default: the current one), its catalogue imported only now."""
    from ._index import open_index

    return open_index(data_dir, name)


def _print_json(value: Any) -> None:
    click.echo(msgspec.json.format(msgspec.json.encode(value), indent=2).decode())


def _report_line(index: Index, report: SyncReport) -> str:
    kind = "full" if report.full else "incremental"
    return (
        f"{index.name} ({index.url}): {kind} sync to snapshot {report.snapshot_version}: fetched"
        f" {report.bins_fetched} of {report.bins} bins, indexed {report.added} releases, replaced {report.removed};"
        f" {report.extensions} extensions, {report.releases} releases in the catalogue."
    )


def _report_json(index: Index, report: SyncReport) -> dict[str, Any]:
    return {"index": index.name, "url": index.url, **msgspec.to_builtins(report)}


@click.command()
@click.argument("url")
@click.option(
    "--root",
    "root_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The index's root metadata (root.json) from its operator: what every refresh is verified against.",
)
@click.option("--name", default=DEFAULT_INDEX, show_default=True, help="A name for this index.")
@_JSON
def use(url: str, root_file: Path, name: str, as_json: bool) -> None:
    """Use the extension index at URL, trusting the root metadata in --root, and sync its catalogue."""
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{url!r} is not an http(s) URL (e.g. http://127.0.0.1:8080/).", param_hint="URL")
    from ._tuf import check_root

    data = root_file.read_bytes()
    check_root(data, str(root_file))
    data_dir = _data_dir()
    known = name in load_config(data_dir).indexes
    save_index(data_dir, name, url.rstrip("/") + "/", data)
    try:
        with _open_index(data_dir, name) as index:
            report = index.refresh()
            if as_json:
                _print_json(_report_json(index, report))
            else:
                click.echo(f"Using {_report_line(index, report)}")
    except RegistryError:
        if not known:  # an index that never verified is not kept
            forget_index(data_dir, name)
        raise


@click.command()
@_INDEX
@_JSON
def sync(index_name: str | None, as_json: bool) -> None:
    """Verify the index's newest signed metadata and update the catalogue (only the bins that changed)."""
    with _open_index(_data_dir(), index_name) as index:
        report = index.refresh()
        if as_json:
            _print_json(_report_json(index, report))
        else:
            click.echo(_report_line(index, report))


@click.command()
@_JSON
def status(as_json: bool) -> None:
    """Show the configured indexes, the current one, and each catalogue's last sync."""
    data_dir = _data_dir()
    config = load_config(data_dir)
    rows = []
    for name, entry in sorted(config.indexes.items()):
        with _open_index(data_dir, name) as index:
            state = index.state()
            age = index.age()
        rows.append({"name": name, "url": entry.url, "current": name == config.current, **msgspec.to_builtins(state)})
        rows[-1]["age_seconds"] = age
    if as_json:
        _print_json({"current": config.current, "indexes": rows})
        return
    if not rows:
        click.echo("No extension index is configured; `symphony registry use URL --root ROOT.json` adds one.")
        return
    for row in rows:
        mark = "*" if row["current"] else " "
        synced = "never synced" if row["age_seconds"] is None else f"synced {_ago(row['age_seconds'])} ago"
        click.echo(
            f"{mark} {row['name']}  {row['url']}  {synced}, snapshot {row['snapshot_version']}:"
            f" {row['extensions']} extensions, {row['releases']} releases"
        )


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


#: The permission kinds a manifest declares (``symphony ext grant``'s text forms).
_KINDS: Final = ("file", "network", "system", "model")


def _capabilities(values: tuple[str, ...]) -> tuple[str, ...]:
    """The --capability filters, each refused when it names no permission kind (it could never match)."""
    for value in values:
        if value.partition(":")[0] not in _KINDS:
            raise click.BadParameter(
                f"{value!r} names no permission kind: give one of {', '.join(_KINDS)} (any of that kind), or a"
                " permission such as network:api.example.com.",
                param_hint="--capability",
            )
    return values


@click.command()
@click.argument("query", default="")
@click.option("--contributes", type=click.Choice(["instrument", "operator"]), help="Only extensions contributing this.")
@click.option(
    "--capability",
    "capabilities",
    multiple=True,
    metavar="TEXT",
    help="Only extensions declaring this permission (e.g. network:api.example.com, or network for any); repeatable.",
    callback=lambda _ctx, _param, values: _capabilities(values),
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="At most this many.")
@click.option(
    "--max-age",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0),
    metavar="MINUTES",
    help="Sync first when the catalogue is older than this.",
)
@click.option("--offline", is_flag=True, help="Answer from the catalogue as it is, without syncing.")
@_INDEX
@_JSON
def search(
    query: str,
    *,
    contributes: Literal["instrument", "operator"] | None,
    capabilities: tuple[str, ...],
    limit: int,
    max_age: float,
    offline: bool,
    index_name: str | None,
    as_json: bool,
) -> None:
    """Search the index's catalogue: QUERY matches names, descriptions, publishers, contributions, capabilities.

    Every word must match (as a prefix); with no QUERY, every extension matching the filters is listed.
    """
    with _open_index(_data_dir(), index_name) as index:
        _refresh_if_old(index, max_age, offline)
        hits = index.search(query, contributes=contributes, capabilities=capabilities, limit=limit)
    if as_json:
        _print_json(hits)
        return
    if not hits:
        click.echo(f"No extension on {index.name} matches.")
    for hit in hits:
        _print_hit(hit)


def _refresh_if_old(index: Index, max_age: float, offline: bool) -> None:
    """Sync when the catalogue is older than ``max_age`` minutes; an unreachable index leaves the old answer."""
    age = index.age()
    if offline:
        if age is None:
            raise RegistryError(f"The catalogue of {index.name} was never synced; run `symphony registry sync`.")
        return
    if age is not None and age <= max_age * 60:
        return
    try:
        index.refresh()
    except VerificationError:
        raise
    except RegistryError as error:
        if age is None:
            raise
        click.echo(f"symphony: warning: answering from the catalogue synced {_ago(age)} ago: {error}", err=True)


def _print_hit(hit: SearchHit) -> None:
    publisher = f"  by {hit.publisher}" if hit.publisher else ""
    signed = "" if hit.signed else " (unsigned)"
    click.echo(f"{hit.name} {hit.version}{publisher}{signed}  [{hit.type or '?'}, {hit.runtime or '?'}]")
    if hit.description:
        click.echo(f"    {hit.description}")
    offers = [f"instruments: {', '.join(hit.instruments)}"] if hit.instruments else []
    offers += [f"operators: {', '.join(hit.operators)}"] if hit.operators else []
    if offers:
        click.echo(f"    {'; '.join(offers)}")
    click.echo(f"    capabilities: {', '.join(hit.capabilities) or 'none'}")
    if not hit.compatible:
        click.echo(f"    not installable here: {hit.incompatible_reason}")
    elif hit.yanked:
        click.echo("    yanked")
