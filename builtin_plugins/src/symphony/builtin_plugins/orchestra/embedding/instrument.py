"""The ``embed`` instrument: sentence vectors from the pooled all-MiniLM-L6-v2 model.

The model is never loaded in the host: each call borrows a handle from the
pool manager (``context.port("pool_manager")``, looked up on the first call,
so building a workflow needs no pool) and runs ``embed`` in the model's
worker.  Vectors come back as float32 bytes and leave as JSON lists.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from typing import Any, Final

from symphony.hookspecs import ModelId, ValidationError
from symphony.hookspecs.ports import HostContext, PoolManagerPort

__all__ = ["MODEL", "EmbedInstrument", "embed_instrument", "unpack"]

MODEL: Final = ModelId("all-minilm-l6-v2")
_CONFIG_KEYS: Final = frozenset({"decimals"})


def unpack(result: Mapping[str, Any]) -> list[list[float]]:
    """The model's ``{"dim", "count", "vectors": float32 bytes}`` as lists of floats."""
    dim, count, packed = result.get("dim"), result.get("count"), result.get("vectors")
    if not isinstance(dim, int) or not isinstance(count, int) or not isinstance(packed, bytes):
        raise ValidationError(f"The {MODEL} model answered something that is not vectors: {sorted(result)}.")
    values = array("f")
    values.frombytes(packed)
    if len(values) != dim * count:
        raise ValidationError(f"The {MODEL} model answered {len(values)} floats for {count} vectors of {dim}.")
    flat = values.tolist()
    return [flat[i * dim : (i + 1) * dim] for i in range(count)]


class EmbedInstrument:
    """One node's instrument; the pool is looked up on the first call and kept."""

    def __init__(self, context: HostContext, config: Mapping[str, Any]) -> None:
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            raise ValidationError(
                f"Instrument 'embed' does not know config key(s) {', '.join(unknown)}; the one it knows is decimals."
            )
        decimals = config.get("decimals")
        if decimals is not None and (
            not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 9
        ):
            raise ValidationError(
                f"Instrument 'embed' needs config.decimals, an integer from 0 to 9; got {decimals!r}."
            )
        self._context = context
        self._decimals: int | None = decimals
        self._pool: PoolManagerPort | None = None

    async def __call__(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        text, texts = inputs.get("text"), inputs.get("texts")
        if text is None and texts is None:
            raise ValidationError("Instrument 'embed' needs input 'text' (a string) or 'texts' (a list of strings).")
        if text is not None and not isinstance(text, str):
            raise ValidationError(f"Input 'text' of 'embed' must be a string; got {type(text).__name__}.")
        if texts is not None and (not isinstance(texts, list) or not all(isinstance(t, str) for t in texts)):
            raise ValidationError("Input 'texts' of 'embed' must be a list of strings.")
        batch = ([text] if text is not None else []) + (texts or [])
        vectors = await self.embed(batch)
        if self._decimals is not None:
            vectors = [[round(x, self._decimals) for x in vector] for vector in vectors]
        if text is None:
            return {"vector": None, "vectors": vectors}
        return {"vector": vectors[0], "vectors": vectors[1:] if texts is not None else vectors}

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """The vectors of ``texts`` from the pooled model."""
        if not texts:
            return []
        if self._pool is None:
            self._pool = self._context.port("pool_manager")
        async with self._pool.use(MODEL) as handle:
            return unpack(await self._pool.call(handle, "embed", {"texts": texts}))


def embed_instrument(context: HostContext) -> Any:
    """The ``embed`` factory for this host: ``factory(config)`` gives a node's instrument."""

    def factory(config: Mapping[str, Any]) -> EmbedInstrument:
        return EmbedInstrument(context, config)

    return factory
