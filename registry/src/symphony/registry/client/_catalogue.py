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

import json
import platform
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
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


def _permissions(manifest: dict[str, Any] | None) -> list[str]:
    """The manifest's declared capabilities as permission texts (``network:api.example.com``)."""
    try:
        declared = msgspec.convert((manifest or {}).get("capabilities") or {}, Capabilities).permissions()
    except (msgspec.ValidationError, PermissionSyntaxError):
        return ["(invalid capabilities)"]
    return [text for permission in declared for text in format_permission(permission)]


def _contributions(manifest: dict[str, Any] | None) -> list[tuple[Kind, dict[str, Any]]]:
    contributes = (manifest or {}).get("contributes") or {}
    found: list[tuple[Kind, dict[str, Any]]] = []
    for kind, key in (("instrument", "instruments"), ("operator", "operators")):
        found += [(kind, node) for node in contributes.get(key) or () if isinstance(node, dict)]  # type: ignore[misc]
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
            self._db.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            self._db = _connect(path)
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
        with self._transaction():
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
        """Replace the releases of the ``changed`` bins, drop bins no longer delegated; (added, removed) rows.

        ``bins`` is every bin's version in the new snapshot.  One transaction:
        on any error nothing of this sync is kept.
        """
        with self._transaction():
            gone = [role for role in self.bin_versions() if role not in bins]
            touched_names = self._touched(list(changed) + gone)
            removed = 0
            for role in [*changed, *gone]:
                removed += self._db.execute("DELETE FROM releases WHERE bin = ?", (role,)).rowcount
            self._db.executemany("DELETE FROM bins WHERE role = ?", [(role,) for role in gone])
            added = 0
            for role, releases in changed.items():
                for release in releases:
                    self._insert(role, release)
                    added += 1
                    if release.metadata.extension is not None:
                        touched_names.add((release.metadata.extension, release.metadata.distribution))
                self._db.execute("INSERT OR REPLACE INTO bins VALUES (?, ?)", (role, bins[role]))
            self._refresh_extensions(touched_names)
            if publishers is not None:
                self._set("publishers", _ENCODE.encode(publishers).decode())
            self._set("snapshot_version", str(snapshot_version))
            self._set("synced_at", repr(time.time()))
        return added, removed

    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _touched(self, roles: Iterable[str]) -> set[tuple[str, str]]:
        touched: set[tuple[str, str]] = set()
        for role in roles:
            touched.update(
                self._db.execute(
                    "SELECT extension, distribution FROM releases WHERE bin = ? AND extension IS NOT NULL", (role,)
                ).fetchall()
            )
        return touched

    def _insert(self, role: str, verified: VerifiedRelease) -> None:
        metadata = verified.metadata
        manifest = metadata.manifest
        api = api_range(manifest)
        release = Release(
            metadata=metadata, target_path=verified.target_path, sha256=verified.sha256, length=verified.length
        )
        extension_info = (manifest or {}).get("extension") or {}
        publisher = extension_info.get("publisher") or extension_info.get("author")
        cursor = self._db.execute(
            "INSERT INTO releases (bin, target_path, distribution, extension, version, publisher, api_range,"
            " requires_python, incompatible_reason, yanked, release) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                role,
                verified.target_path,
                canonicalize_name(metadata.distribution),
                metadata.extension,
                metadata.version,
                publisher,
                api,
                metadata.requires_python,
                incompatibility(api, metadata.requires_python),
                int(metadata.yanked),
                _ENCODE.encode(release),
            ),
        )
        release_id = cursor.lastrowid
        self._db.executemany(
            "INSERT INTO contributions VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    release_id,
                    kind,
                    str(node.get("name", "")),
                    str(node.get("description", "")),
                    json.dumps(node.get("inputs") or {}),
                    json.dumps(node.get("outputs") or {}),
                )
                for kind, node in _contributions(manifest)
            ],
        )
        self._db.executemany(
            "INSERT INTO capabilities VALUES (?, ?)", [(release_id, text) for text in _permissions(manifest)]
        )

    def _refresh_extensions(self, names: set[tuple[str, str]]) -> None:
        """Rebuild the search rows of these (extension, distribution) pairs from their releases."""
        for name, distribution in names:
            old = self._db.execute(
                "SELECT id FROM extensions WHERE name = ? AND distribution = ?", (name, distribution)
            ).fetchone()
            if old is not None:
                self._db.execute("DELETE FROM search WHERE rowid = ?", old)
                self._db.execute("DELETE FROM extensions WHERE id = ?", old)
            rows = self._db.execute(
                "SELECT id, version, yanked, incompatible_reason, release FROM releases"
                " WHERE extension = ? AND distribution = ?",
                (name, distribution),
            ).fetchall()
            if rows:
                self._add_extension(name, distribution, rows)

    def _add_extension(self, name: str, distribution: str, rows: list[tuple[Any, ...]]) -> None:
        # Shown: the newest release that installs here (not yanked, compatible), else the newest not yanked, else any.
        rows.sort(key=lambda row: _sort_key(row[1]), reverse=True)
        chosen = next((r for r in rows if not r[2] and r[3] is None), next((r for r in rows if not r[2]), rows[0]))
        release_id, _, yanked, reason, blob = chosen
        metadata = _RELEASE.decode(blob).metadata
        manifest = metadata.manifest or {}
        info = manifest.get("extension") or {}
        contributions = _contributions(manifest)
        permissions = _permissions(manifest)
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
            capabilities=tuple(permissions),
            symphony_api=api_range(manifest),
            compatible=reason is None,
            incompatible_reason=reason,
            yanked=bool(yanked),
            signed=metadata.signature is not None,
        )
        cursor = self._db.execute(
            "INSERT INTO extensions (name, distribution, release_id, hit, instruments, operators)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (name, distribution, release_id, _ENCODE.encode(hit), len(hit.instruments), len(hit.operators)),
        )
        contributed = " ".join(
            f"{node.get('name', '')} {node.get('description', '')} {' '.join(node.get('inputs') or ())}"
            f" {' '.join(node.get('outputs') or ())}"
            for _, node in contributions
        )
        self._db.execute(
            "INSERT INTO search (rowid, name, distribution, description, publisher, contributions, capabilities)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                cursor.lastrowid,
                name,
                distribution,
                hit.description,
                hit.publisher or "",
                contributed,
                " ".join(permissions),
            ),
        )


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error (the connection is in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA journal_mode = WAL")
    return db


def open_catalogue(path: Path) -> Catalogue:
    try:
        return Catalogue(path)
    except sqlite3.DatabaseError as error:
        raise RegistryError(
            f"The catalogue {path} cannot be read ({error}). Delete it and run `symphony registry sync`."
        ) from None
