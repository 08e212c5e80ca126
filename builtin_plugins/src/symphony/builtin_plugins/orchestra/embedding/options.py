"""``[components.embedding.options]``: how the pool's worker runs the all-MiniLM-L6-v2 model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from symphony.hookspecs import ConfigurationError

__all__ = ["EmbeddingOptions"]


class EmbeddingOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The model's worker settings; the defaults are what docs/embedding.md measured."""

    #: Threads of the worker's BLAS (and, above 1, its tokenizer): 1 lets models and nodes share the cores.
    threads: Annotated[int, msgspec.Meta(ge=1, le=256)] = 1
    #: Texts per forward pass (a batch also stops at 2,048 padded tokens).
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 32

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> EmbeddingOptions:
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = str(error).replace("`$.", "`components.embedding.options.")
            raise ConfigurationError(f"Invalid embedding options in [components.embedding.options]: {where}.") from None
