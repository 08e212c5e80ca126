"""``[components.artifacts.options]``: chunk sizes, packs and the GC grace period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

from symphony.hookspecs import ConfigurationError

__all__ = ["StoreOptions"]

_KiB, _MiB = 1024, 1024 * 1024


#: How chunks and inline objects are sealed (crypto.py implements "aes-256-gcm").
Encryption = Literal["none", "aes-256-gcm"]


class StoreOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the store cuts, packs and collects; the defaults suit outputs from bytes to many GB."""

    #: Objects up to this size live in index.db whole (no chunking, no pack read).
    inline_limit: Annotated[int, msgspec.Meta(ge=0)] = 4 * _KiB
    #: FastCDC sizes; the real average chunk is about ``avg_chunk + min_chunk`` (16 KiB by default).
    min_chunk: Annotated[int, msgspec.Meta(ge=64)] = 4 * _KiB
    avg_chunk: Annotated[int, msgspec.Meta(ge=256)] = 12 * _KiB
    max_chunk: Annotated[int, msgspec.Meta(ge=1024)] = 64 * _KiB
    #: A writer's pack is written when it holds this many bytes: the memory a put may hold.
    pack_size: Annotated[int, msgspec.Meta(ge=1)] = 16 * _MiB
    #: Seconds during which a new object or pack is live without a root (a writer may still be naming it).
    gc_grace: Annotated[float, msgspec.Meta(ge=0)] = 3600.0
    #: ``gc`` rewrites a pack whose live chunks fill less than this fraction of it (0 never repacks).
    repack_below: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5
    #: "aes-256-gcm" seals every chunk and inline object under the key in SYMPHONY_ARTIFACTS_KEY or ``key_file``.
    encryption: Encryption = "none"
    #: An owner-only (chmod 600) file holding the base64 key; ``~`` is expanded.
    key_file: str | None = None
    #: Where packs live: "local" (the store's directory) or "s3" (a bucket; index.db stays local).
    #: Credentials come from the environment and the AWS chain, never from here.
    backend: Literal["local", "s3"] = "local"
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str | None = None

    def __post_init__(self) -> None:
        if not self.min_chunk <= self.avg_chunk <= self.max_chunk:
            raise ConfigurationError(
                "Invalid artifact store options: components.artifacts.options needs"
                f" min_chunk <= avg_chunk <= max_chunk (got {self.min_chunk}, {self.avg_chunk}, {self.max_chunk})."
            )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> StoreOptions:
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = str(error).replace("`$.", "`components.artifacts.options.")
            raise ConfigurationError(
                f"Invalid artifact store options in [components.artifacts.options]: {where}."
            ) from None
