"""The catalogue: every release of an index in SQLite, searchable with FTS5 (``<index dir>/catalogue.db``).

Tables: ``releases`` (one row per file on the index, from its verified bin,
with the whole signed Release as msgspec JSON), ``contributions`` and
``capabilities`` (per release, for filters), ``bins`` (the version of each
hash bin indexed: what makes a sync incremental), ``extensions`` (one row per
extension name and distribution: the release search shows, and all versions)
and ``search`` (FTS5 over ``extensions``).  A sync is one transaction, so a
failed or refused sync leaves the previous catalogue whole.
"""

from __future__ import annotations

import functools
import json
import platform
import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import msgspec
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from symphony.hookspecs import API_VERSION, Base, Capabilities, PermissionSyntaxError, RegistryError, format_permission

from ..records import PublisherDirectory, Release, ReleaseMetadata
from ._compat import api_range, incompatibility

__all__ = ["Catalogue", "CatalogueState", "SearchHit", "VerifiedRelease", "open_catalogue"]

#: Bumped when the schema changes: an older catalogue is rebuilt by a full sync.
SCHEMA: Final = 1
Kind = Literal["instrument", "operator"]

_SCHEMA_SQL: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE bins (role TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE releases (
    id INTEGER PRIMARY KEY,
    bin TEXT NOT NULL,
    target_path TEXT NOT NULL UNIQUE,
    distribution TEXT NOT NULL,
    extension TEXT,
    version TEXT NOT NULL,
    publisher TEXT,
    api_range TEXT NOT NULL,
    requires_python TEXT,
    incompatible_reason TEXT,
    yanked INTEGER NOT NULL,
    release BLOB NOT NULL
);
CREATE INDEX releases_bin ON releases (bin);
CREATE INDEX releases_extension ON releases (extension);
CREATE INDEX releases_distribution ON releases (distribution);
CREATE TABLE contributions (
    release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    inputs TEXT NOT NULL,
    outputs TEXT NOT NULL
);
CREATE INDEX contributions_release ON contributions (release_id);
CREATE TABLE capabilities (
    release_id INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    permission TEXT NOT NULL
);
CREATE INDEX capabilities_release ON capabilities (release_id);
CREATE TABLE extensions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    distribution TEXT NOT NULL,
    release_id INTEGER NOT NULL,
    hit BLOB NOT NULL,
    instruments INTEGER NOT NULL,
    operators INTEGER NOT NULL,
    UNIQUE (name, distribution)
);
CREATE VIRTUAL TABLE search USING fts5 (
    name, distribution, description, publisher, contributions, capabilities, tokenize = 'unicode61'
);
"""
#: Column weights of bm25: a match in the name counts most, then contributions, publisher, description.
_RANK: Final = "bm25(search, 10.0, 6.0, 1.0, 2.0, 3.0, 1.0)"
_WORD = re.compile(r"\w+")


class SearchHit(Base, frozen=True):
    """One extension in search results: the release it would install, and every version on the index."""

    name: str
    distribution: str
    version: str
    versions: tuple[str, ...]
    type: str | None
    description: str
    publisher: str | None
    runtime: str | None
    instruments: tuple[str, ...]
    operators: tuple[str, ...]
    capabilities: tuple[str, ...]
    symphony_api: str
    compatible: bool
    incompatible_reason: str | None
    yanked: bool
    signed: bool


@dataclass(frozen=True)
class VerifiedRelease:
    """A target read from a verified bin: its path, digest and size, and the registry's metadata."""

    target_path: str
    sha256: str
    length: int
    metadata: ReleaseMetadata


class CatalogueState(Base, frozen=True):
    """What ``symphony registry status`` shows about a catalogue."""

    synced_at: float | None
    snapshot_version: int | None
    bins: int
    releases: int
    extensions: int


#: What compatibility was computed against; a catalogue built for another host is rechecked when opened.
_HOST: Final = f"api {'.'.join(map(str, API_VERSION))}; python {platform.python_version()}"
_RELEASE = msgspec.json.Decoder(Release)
_HIT = msgspec.json.Decoder(SearchHit)
_ENCODE = msgspec.json.Encoder()


def _sort_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _permissions(manifest: dict[str, Any] | None) -> tuple[str, ...]:
    """The manifest's declared capabilities as permission texts (``network:api.example.com``)."""
    return _permission_texts(_ENCODE.encode((manifest or {}).get("capabilities") or {}))


@functools.lru_cache(maxsize=4096)
def _permission_texts(capabilities: bytes) -> tuple[str, ...]:
    """Cached: parsing compiles each file pattern, and a sync sees the same capabilities many times."""
    try:
        declared = msgspec.json.decode(capabilities, type=Capabilities).permissions()
    except (msgspec.ValidationError, PermissionSyntaxError):
        return ("(invalid capabilities)",)
    return tuple(text for permission in declared for text in format_permission(permission))


def _contributions(manifest: dict[str, Any] | None) -> list[tuple[Kind, dict[str, Any]]]:
    contributes = (manifest or {}).get("contributes") or {}
    found: list[tuple[Kind, dict[str, Any]]] = []
    tables: tuple[tuple[Kind, str], ...] = (("instrument", "instruments"), ("operator", "operators"))
    for kind, key in tables:
        found += [(kind, node) for node in contributes.get(key) or () if isinstance(node, dict)]
    return found


def _words(text: str) -> str:
    """An FTS5 query matching every word of ``text`` as a prefix (the user's text is never FTS syntax)."""
    return " ".join(f'"{word}"*' for word in _WORD.findall(text.lower()))


class Catalogue:
    """One index's catalogue database; not shared between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = _connect(path)
        if self._meta("schema") != str(SCHEMA):  # new, or written by another version: a cache, rebuilt by sync
            self._create()
        if self._meta("host") != _HOST:
            self._recheck()

    def close(self) -> None:
        self._db.close()

    # -- reading -------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:  # no schema yet
            return None
        return None if row is None else str(row[0])

    def bin_versions(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT role, version FROM bins").fetchall())

    def state(self) -> CatalogueState:
        synced = self._meta("synced_at")
        snapshot = self._meta("snapshot_version")
        count = self._db.execute
        return CatalogueState(
            synced_at=float(synced) if synced else None,
            snapshot_version=int(snapshot) if snapshot else None,
            bins=count("SELECT count(*) FROM bins").fetchone()[0],
            releases=count("SELECT count(*) FROM releases").fetchone()[0],
            extensions=count("SELECT count(*) FROM extensions").fetchone()[0],
        )

    def publishers(self) -> PublisherDirectory | None:
        text = self._meta("publishers")
        return None if text is None else msgspec.json.decode(text, type=PublisherDirectory)

    def releases(self, name: str) -> list[Release]:
        """Every release of extension or distribution ``name``, newest first."""
        rows = self._db.execute(
            "SELECT release, incompatible_reason FROM releases WHERE extension = ? OR distribution = ?",
            (name, canonicalize_name(name)),
        ).fetchall()
        found = [
            msgspec.structs.replace(_RELEASE.decode(blob), compatible=reason is None, incompatible_reason=reason)
            for blob, reason in rows
        ]
        return sorted(found, key=lambda release: _sort_key(release.metadata.version), reverse=True)

    def search(
        self, query: str, *, contributes: Kind | None = None, capabilities: Sequence[str] = (), limit: int = 20
    ) -> list[SearchHit]:
        """Extensions matching every word of ``query`` (as prefixes; all when empty), best first."""
        where: list[str] = []
        params: list[Any] = []
        match = _words(query)
        if match:
            where.append("search MATCH ?")
            params.append(match)
        if contributes is not None:
            where.append(f"e.{contributes}s > 0")
        for capability in capabilities:
            where.append(
                "EXISTS (SELECT 1 FROM capabilities c WHERE c.release_id = e.release_id"
                " AND (c.permission = ? OR substr(c.permission, 1, ?) = ?))"
            )
            params += [capability, len(capability) + 1, capability + ":"]
        sql = "SELECT e.hit FROM search JOIN extensions e ON e.id = search.rowid"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {_RANK if match else 'e.name'} LIMIT ?"
        params.append(limit)
        return [_HIT.decode(blob) for (blob,) in self._db.execute(sql, params)]

    # -- writing -------------------------------------------------------------

    def _create(self) -> None:
        """The schema, in a transaction: another process opening the same new catalogue waits, then finds it made."""
        with self._transaction():
            if self._meta("schema") == str(SCHEMA):
                return
            tables = self._db.execute(
                "SELECT name, sql LIKE 'CREATE VIRTUAL%' FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY 2 DESC"  # virtual tables first: they drop their own shadows
            ).fetchall()
            for name, _ in tables:
                self._db.execute(f'DROP TABLE IF EXISTS "{name}"')
            for statement in filter(str.strip, _SCHEMA_SQL.split(";")):
                self._db.execute(statement)
            self._set("schema", str(SCHEMA))
            self._set("host", _HOST)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _recheck(self) -> None:
        """Recompute every release's compatibility: this host's API or Python changed since the catalogue was built."""
        with self._transaction():
            rows = self._db.execute("SELECT id, api_range, requires_python FROM releases").fetchall()
            self._db.executemany(
                "UPDATE releases SET incompatible_reason = ? WHERE id = ?",
                [(incompatibility(api, python), release_id) for release_id, api, python in rows],
            )
            self._refresh_extensions(set(self._db.execute("SELECT name, distribution FROM extensions").fetchall()))
            self._set("host", _HOST)

    def apply(
        self,
        *,
        bins: dict[str, int],
        changed: dict[str, list[VerifiedRelease]],
        publishers: PublisherDirectory | None,
        snapshot_version: int,
    ) -> tuple[int, int]:
        """Bring the ``changed`` bins' releases to what they now sign, drop bins no longer delegated.

        ``bins`` is every bin's version in the new snapshot.  Within a changed
        bin only releases that are new or differ are written (a bin of 150
        releases re-signed for one upload rewrites one row).  Returns (rows
        written, rows deleted).  One transaction: on any error nothing of this
        sync is kept.
        """
        with self._transaction():
            touched: set[tuple[str, str]] = set()
            stale: list[int] = []
            fresh: list[_Row] = []
            gone = [role for role in self.bin_versions() if role not in bins]
            for role in [*changed, *gone]:
                existing = {
                    path: (release_id, blob, name, distribution)
                    for release_id, path, blob, name, distribution in self._db.execute(
                        "SELECT id, target_path, release, extension, distribution FROM releases WHERE bin = ?", (role,)
                    )
                }
                for verified in changed.get(role, ()):
                    row = _Row.of(role, verified)
                    old = existing.pop(verified.target_path, None)
                    if old is not None and old[1] == row.blob:
                        continue
                    fresh.append(row)
                    if row.extension is not None:
                        touched.add((row.extension, row.distribution))
                    if old is not None:
                        existing[verified.target_path] = old  # replaced: deleted below
                for release_id, _, name, distribution in existing.values():
                    stale.append(release_id)
                    if name is not None:
                        touched.add((name, distribution))
            self._db.executemany("DELETE FROM releases WHERE id = ?", [(release_id,) for release_id in stale])
            self._db.executemany("DELETE FROM bins WHERE role = ?", [(role,) for role in gone])
            self._db.executemany("INSERT OR REPLACE INTO bins VALUES (?, ?)", [(role, bins[role]) for role in changed])
            self._insert(fresh)
            self._refresh_extensions(touched)
            if publishers is not None:
                self._set("publishers", _ENCODE.encode(publishers).decode())
            self._set("snapshot_version", str(snapshot_version))
            self._set("synced_at", repr(time.time()))
        return len(fresh), len(stale)

    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _next_id(self, table: str) -> int:
        return int(self._db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])

    def _insert(self, rows: list[_Row]) -> None:
        """Write ``rows`` and their contributions and capabilities, a few statements for any number of rows."""
        first = self._next_id("releases")
        self._db.executemany(
            "INSERT INTO releases (id, bin, target_path, distribution, extension, version, publisher, api_range,"
            " requires_python, incompatible_reason, yanked, release) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(first + n, *row.columns()) for n, row in enumerate(rows)],
        )
        self._db.executemany(
            "INSERT INTO contributions VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    first + n,
                    kind,
                    str(node.get("name", "")),
                    str(node.get("description", "")),
                    json.dumps(node.get("inputs") or {}),
                    json.dumps(node.get("outputs") or {}),
                )
                for n, row in enumerate(rows)
                for kind, node in _contributions(row.release.metadata.manifest)
            ],
        )
        self._db.executemany(
            "INSERT INTO capabilities VALUES (?, ?)",
            [(first + n, text) for n, row in enumerate(rows) for text in _permissions(row.release.metadata.manifest)],
        )

    def _refresh_extensions(self, names: set[tuple[str, str]]) -> None:
        """Rebuild the search rows of these (extension, distribution) pairs from their releases."""
        if not names:
            return
        existing = {
            (name, distribution): row_id
            for row_id, name, distribution in self._db.execute("SELECT id, name, distribution FROM extensions")
        }
        old = [(existing[key],) for key in names if key in existing]
        self._db.executemany("DELETE FROM search WHERE rowid = ?", old)
        self._db.executemany("DELETE FROM extensions WHERE id = ?", old)
        columns = "extension, distribution, id, version, yanked, incompatible_reason, release"
        if len(names) > 100:  # one scan rather than a query per name
            found = self._db.execute(f"SELECT {columns} FROM releases WHERE extension IS NOT NULL").fetchall()
        else:
            found = [
                row
                for name, distribution in names
                for row in self._db.execute(
                    f"SELECT {columns} FROM releases WHERE extension = ? AND distribution = ?", (name, distribution)
                )
            ]
        grouped: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        for name, distribution, *rest in found:
            if (name, distribution) in names:
                grouped.setdefault((name, distribution), []).append(tuple(rest))
        chosen = {key: _choose(rows) for key, rows in grouped.items()}
        permissions = self._capabilities([row[0] for row in chosen.values()])
        first = self._next_id("extensions")
        shown = [
            _shown(first + n, key, grouped[key], row, permissions.get(row[0], ()))
            for n, (key, row) in enumerate(chosen.items())
        ]
        self._db.executemany(
            "INSERT INTO extensions (id, name, distribution, release_id, hit, instruments, operators)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [extension for extension, _ in shown],
        )
        self._db.executemany(
            "INSERT INTO search (rowid, name, distribution, description, publisher, contributions, capabilities)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [search for _, search in shown],
        )

    def _capabilities(self, release_ids: list[int]) -> dict[int, tuple[str, ...]]:
        """The permission texts of these releases, as written with them (parsing them again costs more)."""
        found: dict[int, list[str]] = {}
        for start in range(0, len(release_ids), 10_000):
            chunk = release_ids[start : start + 10_000]
            marks = ", ".join("?" * len(chunk))
            for release_id, text in self._db.execute(
                f"SELECT release_id, permission FROM capabilities WHERE release_id IN ({marks}) ORDER BY rowid", chunk
            ):
                found.setdefault(release_id, []).append(text)
        return {release_id: tuple(texts) for release_id, texts in found.items()}


@dataclass(frozen=True)
class _Row:
    """A release as the ``releases`` table stores it."""

    bin: str
    release: Release
    blob: bytes
    extension: str | None
    distribution: str

    @classmethod
    def of(cls, role: str, verified: VerifiedRelease) -> _Row:
        metadata = verified.metadata
        release = Release(
            metadata=metadata, target_path=verified.target_path, sha256=verified.sha256, length=verified.length
        )
        return cls(role, release, _ENCODE.encode(release), metadata.extension, canonicalize_name(metadata.distribution))

    def columns(self) -> tuple[Any, ...]:
        metadata = self.release.metadata
        manifest = metadata.manifest
        api = api_range(manifest)
        info = (manifest or {}).get("extension") or {}
        return (
            self.bin,
            self.release.target_path,
            self.distribution,
            self.extension,
            metadata.version,
            info.get("publisher") or info.get("author"),
            api,
            metadata.requires_python,
            incompatibility(api, metadata.requires_python),
            int(metadata.yanked),
            self.blob,
        )


def _choose(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The release search shows: the newest that installs here (not yanked, compatible), else the newest not yanked.

    ``rows`` are ``(id, version, yanked, reason, blob)``, sorted here newest first.
    """
    rows.sort(key=lambda row: _sort_key(row[1]), reverse=True)
    return next((r for r in rows if not r[2] and r[3] is None), next((r for r in rows if not r[2]), rows[0]))


def _shown(
    row_id: int,
    key: tuple[str, str],
    rows: list[tuple[Any, ...]],
    chosen: tuple[Any, ...],
    permissions: tuple[str, ...],
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The ``extensions`` and ``search`` rows of one extension."""
    name, distribution = key
    release_id, _, yanked, reason, blob = chosen
    metadata = _RELEASE.decode(blob).metadata
    manifest = metadata.manifest or {}
    info = manifest.get("extension") or {}
    contributions = _contributions(manifest)
    hit = SearchHit(
        name=name,
        distribution=distribution,
        version=metadata.version,
        versions=tuple(row[1] for row in rows if not row[2]),
        type=info.get("type"),
        description=str(info.get("description", "")),
        publisher=info.get("publisher") or info.get("author"),
        runtime=(manifest.get("runtime") or {}).get("kind"),
        instruments=tuple(str(node.get("name")) for kind, node in contributions if kind == "instrument"),
        operators=tuple(str(node.get("name")) for kind, node in contributions if kind == "operator"),
        capabilities=permissions,
        symphony_api=api_range(manifest),
        compatible=reason is None,
        incompatible_reason=reason,
        yanked=bool(yanked),
        signed=metadata.signature is not None,
    )
    contributed = " ".join(
        f"{node.get('name', '')} {node.get('description', '')} {' '.join(node.get('inputs') or ())}"
        f" {' '.join(node.get('outputs') or ())}"
        for _, node in contributions
    )
    extension = (row_id, name, distribution, release_id, _ENCODE.encode(hit), len(hit.instruments), len(hit.operators))
    search = (row_id, name, distribution, hit.description, hit.publisher or "", contributed, " ".join(permissions))
    return extension, search


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error (the connection is in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    # A sync holds the write lock for seconds (a full one for 10,000 releases: ~3 s here); another waits for it.
    db = sqlite3.connect(path, isolation_level=None, timeout=120)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA journal_mode = WAL")
    return db


def open_catalogue(path: Path) -> Catalogue:
    """The catalogue at ``path``; a damaged file is a RegistryError saying how to rebuild it (it is only a cache)."""
    try:
        return Catalogue(path)
    except sqlite3.DatabaseError as error:
        raise RegistryError(
            f"The catalogue {path} cannot be read ({error}). Delete it and run `symphony registry sync`."
        ) from None
