"""What the pool's worker loads for ``all-minilm-l6-v2``: ``load(config)`` gives an ``Embedder``.

``Embedder.embed({"texts": [...]})`` answers ``{"dim": 384, "count": n,
"vectors": <bytes>}``: the vectors as one row-major little-endian float32
buffer, because 384 floats per text as msgpack doubles cost more to encode,
send and decode than the forward pass of a short sentence.  Texts are
embedded in batches of similar length (sorted, so padding stays small) and
answered in the order given.  BLAS gets one thread unless ``config.threads``
says otherwise: the pool runs models side by side, and one thread per model
is what the measured per-sentence figures in docs/embedding.md assume.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from symphony.hookspecs import ConfigurationError, ValidationError

from .files import INSTALL_HINT, model_dir, model_version

if TYPE_CHECKING:
    from .bert import Encoder

__all__ = ["MAX_TEXTS", "MAX_TEXT_CHARS", "Embedder", "load"]

#: Bounds on one call, so a hostile payload cannot make the worker allocate without limit.
MAX_TEXTS: Final = 4096
MAX_TEXT_CHARS: Final = 100_000
#: Padded tokens per forward pass: big enough to keep BLAS busy, small enough to keep activations in cache.
_BATCH_TOKENS: Final = 2048
_BLAS_THREAD_VARIABLES: Final = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class Embedder:
    """The loaded model: a tokenizer and an ``Encoder``."""

    def __init__(self, directory: Path, batch_size: int = 32) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        from .bert import Encoder

        self._np = np
        config = json.loads((directory / "config.json").read_text())
        pooling = json.loads((directory / "1_Pooling" / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ConfigurationError(f"{directory} is not a mean-pooling model; {INSTALL_HINT}.")
        self.max_tokens = min(
            int(json.loads((directory / "sentence_bert_config.json").read_text())["max_seq_length"]),
            int(config["max_position_embeddings"]),
        )
        self.encoder: Encoder = Encoder(load_file(directory / "model.safetensors"), config)
        self.dim = self.encoder.hidden
        self.batch_size = batch_size
        self.version = model_version()
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.tokenizer.no_padding()  # tokenizer.json pads to a fixed 128; ``vectors`` pads each batch itself

    def vectors(self, texts: Sequence[str]) -> Any:
        """An (n, dim) float32 array of unit vectors, row i for ``texts[i]``.

        Texts are tokenised unpadded, sorted by length and cut into batches of at
        most ``batch_size`` texts and ``_BATCH_TOKENS`` padded tokens, so one long
        text does not make a batch of short ones pay for its padding.
        """
        np = self._np
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and end - start < self.batch_size:
                if (end - start + 1) * len(encodings[order[end]].ids) > _BATCH_TOKENS:
                    break
                end += 1
            rows = order[start:end]
            length = len(encodings[rows[-1]].ids)
            ids = np.zeros((len(rows), length), dtype=np.int64)
            mask = np.zeros((len(rows), length), dtype=np.int64)
            for row, i in enumerate(rows):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            out[rows] = self.encoder(ids, mask)
            start = end
        return out

    def embed(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``{"texts": [str, ...]}`` -> ``{"dim", "count", "vectors": float32 bytes}``."""
        texts = _texts(payload)
        return {"dim": self.dim, "count": len(texts), "vectors": self.vectors(texts).astype("<f4").tobytes()}

    def info(self, payload: object = None) -> dict[str, Any]:
        """The model's name, package version, vector size and token limit (the semantic index keys on these)."""
        return {"model": "all-minilm-l6-v2", "version": self.version, "dim": self.dim, "max_tokens": self.max_tokens}


def _texts(payload: Mapping[str, Any]) -> list[str]:
    texts = payload.get("texts") if isinstance(payload, Mapping) else None
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise ValidationError('embed takes {"texts": [str, ...]}; got ' + f"{type(texts).__name__} for texts.")
    if len(texts) > MAX_TEXTS:
        raise ValidationError(f"embed takes at most {MAX_TEXTS} texts per call; got {len(texts)}: split them.")
    # a text longer than this is truncated to max_tokens anyway; cutting it first bounds the tokenizer's work
    return [text[:MAX_TEXT_CHARS] for text in texts]


def load(config: Mapping[str, Any]) -> Embedder:
    """The pool's loader: unpack the weights if needed (``config.cache_dir``) and build the model."""
    threads = config.get("threads", 1)
    if not isinstance(threads, int) or threads < 1:
        raise ConfigurationError(f"all-minilm-l6-v2 needs config.threads, a positive integer; got {threads!r}.")
    if "numpy" not in sys.modules:  # BLAS reads these once, when numpy first loads it
        for variable in _BLAS_THREAD_VARIABLES:
            os.environ[variable] = str(threads)
    # tokenizers' encode_batch would otherwise fan out over every core (rayon)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true" if threads > 1 else "false")
    cache_dir = config.get("cache_dir") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "symphony"
    try:
        import numpy  # noqa: F401
        import safetensors  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as error:
        raise ConfigurationError(f"The embedding model needs {error.name}; {INSTALL_HINT}.") from None
    return Embedder(model_dir(Path(cache_dir) / "models" / "all-minilm-l6-v2"), int(config.get("batch_size", 32)))
