"""The BERT encoder of all-MiniLM-L6-v2 in numpy (float32), with mean pooling and L2 normalisation.

The same computation as ``transformers.BertModel`` followed by
sentence-transformers' ``Pooling(mean)`` and ``Normalize``: embeddings (word +
position + token type) and LayerNorm, then per layer self-attention (the
padding masked out of the keys), a dense projection, residual + LayerNorm, a
GELU feed-forward layer, residual + LayerNorm.  GELU is the exact one,
``x/2 (1 + erf(x/sqrt 2))``; numpy has no ``erf``, so it is Abramowitz and
Stegun's 7.1.26, whose absolute error is below 1.5e-7 everywhere (5.4e-7 in
float32; ``math.erf`` per element would be ~50x slower).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["Encoder", "gelu"]

Floats = NDArray[Any]  # float32 throughout; numpy's operators are typed Any

# Abramowitz & Stegun 7.1.26
_P: Final = 0.3275911
_A: Final = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def gelu(x: Floats) -> Floats:
    """``x/2 (1 + erf(x/sqrt 2))`` with erf by Abramowitz and Stegun 7.1.26, computed in float32.

    Written with in-place operations: GELU runs over the widest activations (tokens x 1536), and the
    temporaries of the plain expression made it a third of a layer's time.
    """
    z = x * np.float32(1.0 / np.sqrt(2.0))
    a = np.abs(z)
    t = a * np.float32(_P)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    poly = t * np.float32(_A[4])
    for coefficient in reversed(_A[:4]):
        poly += np.float32(coefficient)
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # 1 - erf(|z|)
    np.subtract(np.float32(1.0), poly, out=poly)
    np.copysign(poly, z, out=poly)  # erf(z)
    poly += np.float32(1.0)
    poly *= x
    poly *= np.float32(0.5)
    return poly


def _layer_norm(x: Floats, weight: Floats, bias: Floats, eps: float) -> Floats:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return np.asarray(centred / np.sqrt(variance + np.float32(eps)) * weight + bias, dtype=np.float32)


class _Layer:
    """One encoder layer's weights, transposed and with Q, K and V fused into one matrix at load."""

    def __init__(self, tensors: Mapping[str, Floats], prefix: str) -> None:
        def w(name: str) -> Floats:
            return np.ascontiguousarray(tensors[f"{prefix}.{name}.weight"].T)

        def b(name: str) -> Floats:
            return tensors[f"{prefix}.{name}.bias"]

        names = ("attention.self.query", "attention.self.key", "attention.self.value")
        self.qkv = np.concatenate([w(name) for name in names], axis=1)
        self.qkv_bias = np.concatenate([b(name) for name in names])
        self.attention_out, self.attention_out_bias = w("attention.output.dense"), b("attention.output.dense")
        self.attention_norm = (tensors[f"{prefix}.attention.output.LayerNorm.weight"], b("attention.output.LayerNorm"))
        self.intermediate, self.intermediate_bias = w("intermediate.dense"), b("intermediate.dense")
        self.output, self.output_bias = w("output.dense"), b("output.dense")
        self.output_norm = (tensors[f"{prefix}.output.LayerNorm.weight"], b("output.LayerNorm"))


class Encoder:
    """Token ids and attention masks in, one unit-length sentence vector per row out."""

    def __init__(self, tensors: Mapping[str, Floats], config: Mapping[str, Any]) -> None:
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config["layer_norm_eps"])
        self.max_positions = int(config["max_position_embeddings"])
        self.words = tensors["embeddings.word_embeddings.weight"]
        self.positions = tensors["embeddings.position_embeddings.weight"]
        self.token_types = tensors["embeddings.token_type_embeddings.weight"]
        self.embedding_norm = (tensors["embeddings.LayerNorm.weight"], tensors["embeddings.LayerNorm.bias"])
        self.layers = [_Layer(tensors, f"encoder.layer.{i}") for i in range(int(config["num_hidden_layers"]))]

    def __call__(self, ids: NDArray[np.int64], mask: NDArray[np.int64]) -> Floats:
        """``ids`` and ``mask`` are (batch, tokens); returns (batch, hidden) L2-normalised mean-pooled vectors."""
        batch, length = ids.shape
        x = self.words[ids] + self.positions[:length] + self.token_types[0]
        x = _layer_norm(x, *self.embedding_norm, self.eps)
        # a padded key gets -1e9 before the softmax: exp() of it is exactly 0 in float32
        key_mask = ((mask[:, None, None, :] - 1) * np.float32(1e9)).astype(np.float32)
        width = self.hidden // self.heads
        scale = np.float32(1.0 / np.sqrt(width))
        for layer in self.layers:
            qkv = (x @ layer.qkv + layer.qkv_bias).reshape(batch, length, 3, self.heads, width)
            q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + key_mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.hidden)
            x = _layer_norm(
                context @ layer.attention_out + layer.attention_out_bias + x, *layer.attention_norm, self.eps
            )
            h = gelu(x @ layer.intermediate + layer.intermediate_bias)
            x = _layer_norm(h @ layer.output + layer.output_bias + x, *layer.output_norm, self.eps)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), np.float32(1e-9))
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
        return np.asarray(pooled / norms, dtype=np.float32)
