"""Runs kept by the DAG tracker's own SQLite store (``<data_dir>/runs.db``, before issue 15), into the data service.

The old file is read with plain ``sqlite3``, read-only, and its rows written by the service's import
function in one transaction: an import is whole or not at all.  Runs already present are skipped, so
a second import of the same file changes nothing.  The embedded service imports ``<data_dir>/runs.db``
when it opens and then renames it ``runs.db.imported`` (after the commit: a failed import leaves it
where it was); ``symphony data import-runs PATH`` imports any such file and leaves it in place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from symphony.hookspecs import SymphonyError

from .legacy import LegacyStore, import_whole, set_aside
from .service.runs_import import Imported, import_runs

__all__ = ["LEGACY_FILE", "Imported", "LegacyRuns", "import_legacy_runs", "import_runs_file"]

log = logging.getLogger(__name__)

#: The old store's file name under the data directory.
LEGACY_FILE = "runs.db"

#: The old tables' columns: required (the file is not a run store without them), or their value when the file
#: predates them (the old store added columns to older files as nullable, so NULL means the default too).
_RUNS: dict[str, Any] = dict.fromkeys(
    ("id", "workflow_id", "workflow_name", "document", "inputs", "state", "nodes_total", "created_at", "updated_at"),
    ...,
) | {
    "finished_at": None,
    "pid": None,
    "hostname": None,
    "process_started": None,
    "cancel_requested": False,
    "error": None,
    "failure_category": None,
    "parent_id": None,
    "outputs": None,
    "metrics": None,
    "waiting": None,
    "prewarmed": None,
}
_NODES: dict[str, Any] = dict.fromkeys(("run_id", "node_id", "state", "finished_at"), ...) | {
    "attempts": 0,
    "outputs": None,
    "outputs_ref": None,
    "error": None,
    "detail": None,
    "cached": False,
    "queue_wait": 0.0,
    "run_time": 0.0,
}
_CACHE: dict[str, Any] = dict.fromkeys(("key", "uses", "run_id", "node_id", "created_at"), ...) | {
    "outputs": None,
    "outputs_ref": None,
}
_BOOLEANS = ("cancel_requested", "cached")


class LegacyRuns(LegacyStore):
    """An old ``runs.db``, open read-only: its runs, node checkpoints and cache entries as the service's rows."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            tables=("runs", "nodes", "node_cache"),
            required={"runs": _RUNS, "nodes": _NODES},
            kind="a run database of the DAG tracker",
            hint="give the path of a runs.db the DAG tracker wrote.",
            booleans=_BOOLEANS,
        )

    def runs(self) -> Iterator[dict[str, Any]]:
        return self.rows("runs", _RUNS, "created_at, id")

    def nodes(self) -> Iterator[dict[str, Any]]:
        return self.rows("nodes", _NODES, "run_id, node_id")

    def cache(self) -> Iterator[dict[str, Any]]:
        return self.rows("node_cache", _CACHE, '"key"')


def import_runs_file(url: str, path: Path, *, token: str) -> Imported:
    """Import the old run store at ``path`` into the service's database at ``url``, as the owner of ``token``.

    One transaction: on any error nothing is imported, and the error says why.
    """
    with LegacyRuns(path) as source:
        return import_whole(
            url,
            path,
            token,
            lambda session, identity: import_runs(session, identity, source.runs(), source.nodes(), source.cache()),
        )


def import_legacy_runs(url: str, data_dir: Path, *, token: str) -> Imported | None:
    """Import ``<data_dir>/runs.db`` if there is one, then rename it ``runs.db.imported`` (None: nothing to do).

    Called as the embedded service opens (under its open lock).  A failed import is logged, not raised: the
    service still opens, the file stays where it was, and ``symphony data import-runs`` shows the error.
    """
    path = data_dir / LEGACY_FILE
    if not path.is_file():
        return None
    try:
        imported = import_runs_file(url, path, token=token)
    except SymphonyError as error:
        log.warning(
            "data: the old run store %s was not imported: %s (run `symphony data import-runs %s` to retry)",
            path,
            error,
            path,
        )
        return None
    aside = set_aside(path)
    log.info(
        "data: imported %d runs (%d already present), %d checkpoints and %d cache entries from %s; it is now %s",
        imported.runs,
        imported.skipped,
        imported.nodes,
        imported.cache_entries,
        path,
        aside,
    )
    return imported
