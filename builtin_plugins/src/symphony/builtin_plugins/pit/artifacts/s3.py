"""The store's layout in an S3 bucket (or any S3-compatible server), for stores larger than one disk.

Built on obstore (the Rust ``object_store`` crate): a PUT is atomic in S3, so a write is visible
whole or not at all; large writes go as one multipart upload that is completed only after the last
part, and aborted when the source fails. Credentials come from the environment and the standard AWS
chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``, web identity, ECS,
instance metadata), never from settings files. index.db stays on the host; the prefix is claimed
by one index (the ``owner`` key), since an index takes packs it does not record for orphans.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import obstore
from obstore.exceptions import AlreadyExistsError, PermissionDeniedError, UnauthenticatedError
from obstore.exceptions import BaseError as ObstoreError
from obstore.store import S3Store

from symphony.hookspecs import (
    ConfigurationError,
    NetworkError,
    NotFoundError,
    SymphonyError,
    ValidationError,
    atomic_write,
)

from .sealing import Bytes

__all__ = ["S3Backend"]

# Below this a write is one PUT; above it, a multipart upload of parts this size (S3's minimum part is 5 MiB).
_PART_SIZE = 8 * 1024 * 1024


# The key (outside packs/) naming the index.db that owns the prefix, and that index's id file beside it.
_OWNER_KEY, _INDEX_ID_FILE = "owner", "s3-index-id"
# What obstore raises: its own errors, and OSError subclasses (FileNotFoundError, PermissionError, ...).
_FAILURES = (ObstoreError, OSError, ValueError)


def _noting_failure(source: Iterator[bytes], failed: list[BaseException]) -> Iterator[bytes]:
    """Tells the source's own errors from the server's, which obstore raises through the same call."""
    try:
        yield from source
    except BaseException as error:
        failed.append(error)
        raise


def _index_id(index: Path) -> str:
    """The random id of the index.db in ``index``, made once (a hard link: created whole or not at all)."""
    path = index / _INDEX_ID_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    index.mkdir(parents=True, exist_ok=True)
    temp = index / f".{_INDEX_ID_FILE}.{uuid.uuid4().hex}"
    atomic_write(temp, uuid.uuid4().hex.encode())
    try:
        os.link(temp, path)
    except FileExistsError:
        pass  # another process made it first: theirs is the id
    finally:
        temp.unlink()
    return path.read_text(encoding="ascii").strip()


class S3Backend:
    """Whole objects under ``<prefix>/<key>`` in one bucket."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        *,
        index: Path,
    ) -> None:
        if not bucket:
            raise ConfigurationError(
                "The artifact store's S3 backend has no bucket:"
                ' set [components.artifacts.options] s3_bucket = "<bucket name>".'
            )
        self.bucket, self.prefix, self.endpoint_url = bucket, prefix.strip("/"), endpoint_url
        self.where = f"s3://{bucket}/{self.prefix}".rstrip("/") + (f" at {endpoint_url}" if endpoint_url else "")
        config: dict[str, str] = {}
        if endpoint_url:
            config["endpoint"] = endpoint_url
        if region:
            config["region"] = region
        self._store = S3Store(
            bucket,
            prefix=self.prefix or None,
            config=config,  # type: ignore[arg-type]  # S3Config is a TypedDict only under TYPE_CHECKING
            client_options={"allow_http": bool(endpoint_url and endpoint_url.startswith("http://"))},
        )
        self._claim(_index_id(index), index)

    def _claim(self, index_id: str, index: Path) -> None:
        """Binds the prefix to one index.db, whose gc would otherwise delete another index's packs as orphans.

        A create-only PUT, so two indexes racing for a new prefix cannot both win; it is also the
        first request, so a missing bucket or refused credentials fail at open with their fix.
        """
        try:
            obstore.put(self._store, _OWNER_KEY, index_id.encode(), mode="create")
            return
        except AlreadyExistsError:
            pass
        except _FAILURES as error:
            raise self._error(error, _OWNER_KEY) from None
        owner = self.read(_OWNER_KEY).decode(errors="replace")
        if owner != index_id:
            raise ConfigurationError(
                f"{self.where} is the artifact store of another index ({owner}), not of {index} ({index_id}):"
                " two indexes on one prefix would collect each other's packs. Give each host its own"
                " [components.artifacts.options] s3_prefix, or point this host's data_dir at the index that owns it."
            )

    def _key(self, key: str) -> str:
        if not key or any(part in ("", ".", "..") for part in key.split("/")):
            raise ValidationError(f"Invalid artifact store key {key!r}: expected '/'-separated names.")
        return key

    def _error(self, error: Exception, key: str) -> SymphonyError:
        text = str(error)
        if "NoSuchBucket" in text:
            return ConfigurationError(
                f"The artifact store's bucket {self.bucket!r} does not exist ({self.where}):"
                " create it, or set [components.artifacts.options] s3_bucket to an existing one."
            )
        if isinstance(error, PermissionDeniedError | UnauthenticatedError | PermissionError) or any(
            status in text for status in ("403 Forbidden", "401 Unauthorized")
        ):
            return ConfigurationError(
                f"The S3 server refused the artifact store's credentials for {self.where}: set"
                " AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (or give the host an AWS role)"
                f" to credentials that may read and write bucket {self.bucket!r}."
            )
        if isinstance(error, FileNotFoundError):
            return NotFoundError(f"No {key} in the artifact store at {self.where}.")
        first_line = (text.splitlines() or [type(error).__name__])[0].rstrip(".")
        return NetworkError(
            f"The artifact store at {self.where} failed on {key or 'listing'}: {first_line}."
            " Check that the server is reachable, then retry."
        )

    def write(self, key: str, chunks: Iterable[Bytes]) -> None:
        key, source = self._key(key), (bytes(chunk) for chunk in chunks)
        head, size = [], 0
        for chunk in source:
            head.append(chunk)
            size += len(chunk)
            if size >= _PART_SIZE:
                break
        source_failed: list[BaseException] = []
        try:
            if size < _PART_SIZE:  # the whole object: one PUT
                obstore.put(self._store, key, b"".join(head), use_multipart=False)
            else:
                rest = _noting_failure(source, source_failed)
                obstore.put(self._store, key, itertools.chain(head, rest), use_multipart=True, chunk_size=_PART_SIZE)
        except _FAILURES as error:
            if error in source_failed:
                raise  # the source's own failure, as it was raised; obstore aborted the upload
            raise self._error(error, key) from None

    def read(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        key = self._key(key)
        if length == 0:
            return b""
        try:
            if length is not None:
                return bytes(obstore.get_range(self._store, key, start=offset, length=length))
            return bytes(obstore.get(self._store, key, options={"range": {"offset": offset}}).bytes())
        except _FAILURES as error:
            if "416 Range Not Satisfiable" in str(error):
                return b""  # past the end, as a file read is
            raise self._error(error, key) from None

    def read_into(self, key: str, offset: int, into: memoryview) -> int:
        data = self.read(key, offset, len(into))
        into[: len(data)] = data
        return len(data)

    def exists(self, key: str) -> bool:
        try:
            obstore.head(self._store, self._key(key))
        except FileNotFoundError:
            return False
        except _FAILURES as error:
            raise self._error(error, key) from None
        return True

    def delete(self, key: str) -> None:
        try:
            obstore.delete(self._store, self._key(key))
        except FileNotFoundError:
            pass
        except _FAILURES as error:
            raise self._error(error, key) from None

    def keys(self, prefix: str) -> Iterator[str]:
        try:
            for batch in obstore.list(self._store, prefix=self._key(prefix) if prefix else None):
                for meta in batch:
                    yield meta["path"]
        except _FAILURES as error:
            raise self._error(error, prefix) from None
