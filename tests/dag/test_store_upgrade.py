"""A run database written by an earlier version opens, and gains the columns added since."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from symphony.builtin_plugins.pit.dag import CheckpointStore


def test_a_database_without_the_newer_run_columns_gains_them_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    CheckpointStore(path).close()
    with sqlite3.connect(path) as db:
        for column in ("process_started", "failure_category", "parent_id"):
            db.execute(f"ALTER TABLE runs DROP COLUMN {column}")

    CheckpointStore(path).close()

    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    assert {"process_started", "failure_category", "parent_id"} <= columns
