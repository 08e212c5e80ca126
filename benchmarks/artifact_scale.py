"""``artifact_scale``: what the store's chunk index costs per million chunks.

The store's real index (``index.db``, the ``chunks`` table of ``db.py`` through its
``Database``: SQLite in WAL mode with the same schema and indexes) is filled with
1,000,000 simulated chunks (quick: 100,000): SHA-256 ids, 64 per pack, 16 KiB
each, as FastCDC would cut 16 GiB (quick: 1.6 GiB) of content.  Then 2,000 random
chunks are looked up by id as a read does: a pooled connection, BEGIN, the store's own statement
(``store._LOCATE``, the ids as a JSON array), COMMIT.

Records: ``artifact_scale.lookup@N``, the median us of one lookup against the stdlib ``sqlite3``
SELECT of the same row on a bare connection; ``artifact_scale.index_size@N``,
index.db's MiB per million chunks against the raw bytes of the rows' fields;
``artifact_scale.memory@N``, the MiB of RSS the open, queried index adds to a fresh process,
against a Python dict of the same N rows (the all-in-memory alternative; measured on
100,000 rows and scaled).  index.db is read through ``mmap`` (db.py), so the RSS includes the
file pages the lookups touched: page cache shared with the OS and reclaimable, not heap.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import random
import sqlite3
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psutil
from sqlalchemy import insert

from benchmarks.run import Record, record
from symphony.builtin_plugins.pit.artifacts.db import ChunkRow, Database
from symphony.builtin_plugins.pit.artifacts.store import _LOCATE

__all__ = ["run"]

SEED = 13
LOOKUPS = 2_000
PER_PACK = 64
CHUNK = 16 * 1024
BATCH = 50_000
_FLOOR = "SELECT pack, offset, length, sealed_length FROM chunks WHERE id = ?"
DICT_ROWS = 100_000  # the dict baseline is measured on this many rows and scaled


def _chunk_id(i: int) -> str:
    return hashlib.sha256(i.to_bytes(8, "little")).hexdigest()


def _pack_id(i: int) -> str:
    return hashlib.md5(i.to_bytes(8, "little"), usedforsecurity=False).hexdigest()


def _row(i: int) -> dict[str, object]:
    return {
        "id": _chunk_id(i),
        "pack": _pack_id(i // PER_PACK),
        "offset": (i % PER_PACK) * CHUNK,
        "length": CHUNK,
        "sealed_length": CHUNK,
    }


def _fill(path: Path, count: int) -> None:
    """``count`` rows through the store's Database, then the WAL folded in, so the file's size is the index's."""
    database = Database(path)
    for start in range(0, count, BATCH):
        with database.session() as session:
            session.execute(insert(ChunkRow), [_row(i) for i in range(start, min(count, start + BATCH))])
    database.close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def _rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def _lookups(path: Path, ids: list[str]) -> tuple[float, float, int]:
    """Median seconds of a lookup as the store reads, the same through bare sqlite3, and RSS added."""
    before = _rss()
    database = Database(path)
    through_store = []
    for chunk_id in ids:
        start = time.perf_counter()
        with database.connection(readonly=True) as connection:
            [(_, _, _, length, _)] = connection.execute(_LOCATE, (json.dumps([chunk_id]),)).fetchall()
        through_store.append(time.perf_counter() - start)
        assert length == CHUNK
    added = _rss() - before
    database.close()
    floor = []
    connection = sqlite3.connect(path)
    for chunk_id in ids:
        start = time.perf_counter()
        connection.execute(_FLOOR, (chunk_id,)).fetchone()
        floor.append(time.perf_counter() - start)
    connection.close()
    return statistics.median(through_store), statistics.median(floor), added


def _dict_bytes(rows: int) -> int:
    before = _rss()
    table = {_chunk_id(i): (_pack_id(i // PER_PACK), (i % PER_PACK) * CHUNK, CHUNK, CHUNK) for i in range(rows)}
    added = _rss() - before
    del table
    return added


def run(quick: bool) -> list[Record]:
    count = 100_000 if quick else 1_000_000
    per_million = 1_000_000 / count
    rng = random.Random(SEED)
    ids = [_chunk_id(rng.randrange(count)) for _ in range(LOOKUPS)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "index.db"
        _fill(path, count)
        size = path.stat().st_size
        # A fresh process: this one's heap, grown and freed by the fill, would hide what the index allocates.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            lookup, floor, memory = pool.submit(_lookups, path, ids).result()
    raw = sum(len(v) if isinstance(v, str) else 8 for v in _row(0).values())
    as_dict = _dict_bytes(DICT_ROWS) * count / DICT_ROWS
    mib = 2**20
    return [
        record(f"artifact_scale.lookup@{count}", lookup * 1e6, "us", "stdlib sqlite3 SELECT by id", floor * 1e6),
        record(
            f"artifact_scale.index_size@{count}",
            size * per_million / mib,
            "MiB",
            "raw bytes of the rows' fields",
            raw * 1_000_000 / mib,
            goal="per million chunks (16 GiB of content)",
        ),
        record(
            f"artifact_scale.memory@{count}",
            memory / mib,
            "MiB",
            "a Python dict of the same rows",
            as_dict / mib,
            goal="bounded by SQLite's page cache, not by the chunk count",
        ),
    ]
