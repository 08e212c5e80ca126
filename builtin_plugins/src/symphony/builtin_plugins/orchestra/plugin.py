"""The builtin Orchestra Kit: text/JSON operators, file and HTTP operators, the OpenAI-compatible instrument,
and the local embedding model (``all-minilm-l6-v2``, loaded by the pool) with its ``embed`` instrument.

Settings: ``[components.orchestra.options] workspace`` (the root of
``file-read``/``file-write``; default the working directory),
``[components.openai.options]`` (defaults of ``openai-chat``: ``base_url``,
``model``, ``api_key_env``, ``timeout``, ``max_retries``) and
``[components.embedding.options]`` (``threads``, ``batch_size`` of the model's worker).
"""

from __future__ import annotations

from typing import Any

from symphony.hookspecs import (
    ComponentOptionsSpec,
    ConfigurationError,
    InstrumentSpec,
    ModelSpec,
    OperatorSpec,
    hookimpl,
)
from symphony.hookspecs.ports import HostContext

from .buffers import buffer_read
from .chat import chat_instrument
from .embedding.instrument import MODEL, embed_instrument
from .embedding.options import EmbeddingOptions
from .io import file_read, file_write, http_request
from .operators import OPERATORS, ports

SYMPHONY_API = "^1.0"


def _workspace(context: HostContext) -> str | None:
    workspace: Any = context.component_config("orchestra").options.get("workspace")
    if workspace is not None and not isinstance(workspace, str):
        raise ConfigurationError(f"components.orchestra.options.workspace must be a directory path; got {workspace!r}.")
    return workspace


@hookimpl
def symphony_operators(context: HostContext) -> list[OperatorSpec]:
    workspace = _workspace(context)
    return [
        *OPERATORS,
        OperatorSpec(
            name="http-request",
            factory=http_request,
            inputs=ports(url="string?", body="any?"),
            outputs=ports(status="integer", headers="object", text="string", json="json"),
            config=ports(method="string?", url="string?", headers="object?", timeout="number?"),
            description="An HTTP request (config.method, config.url or input url, config.headers); the response.",
        ),
        OperatorSpec(
            name="file-read",
            factory=file_read(workspace),
            inputs=ports(path="string"),
            outputs=ports(text="string", value="json"),
            config=ports(root="string?", json="boolean?"),
            description="Read a UTF-8 file under the workspace (config.json = true also parses it).",
        ),
        OperatorSpec(
            name="buffer-read",
            factory=buffer_read(context, workspace),
            inputs=ports(path="string"),
            outputs=ports(text="string", unsaved="boolean"),
            config=ports(root="string?"),
            description="A file under the workspace as the editor holds it, unsaved edits included.",
        ),
        OperatorSpec(
            name="file-write",
            factory=file_write(workspace),
            inputs=ports(path="string", content="any"),
            outputs=ports(path="string", bytes="integer"),
            config=ports(root="string?"),
            description="Write text (or JSON of any other value) to a file under the workspace, atomically.",
        ),
    ]


@hookimpl
def symphony_instruments(context: HostContext) -> list[InstrumentSpec]:
    return [
        InstrumentSpec(
            name="openai-chat",
            factory=chat_instrument(context.component_config("openai").options),
            inputs=ports(prompt="string?", messages="json?"),
            outputs=ports(text="string", model="string", finish_reason="string", usage="json"),
            config=ports(
                base_url="string?",
                model="string?",
                api_key_env="string?",
                system="string?",
                temperature="number?",
                max_tokens="integer?",
                top_p="number?",
                stop="json?",
                seed="integer?",
                timeout="number?",
                max_retries="integer?",
                retry_backoff="number?",
            ),
            description="A chat completion from any OpenAI-compatible endpoint (config.model, config.base_url).",
        ),
        InstrumentSpec(
            name="embed",
            factory=embed_instrument(context),
            inputs=ports(text="string?", texts="json?"),
            outputs=ports(vector="json?", vectors="json"),
            config=ports(decimals="integer?"),
            models=(MODEL,),
            description="Sentence vectors (384 floats, unit length) of text or texts from the pooled all-MiniLM-L6-v2.",
        ),
    ]


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name="embedding", options=EmbeddingOptions)]


@hookimpl
def symphony_models(context: HostContext) -> list[ModelSpec]:
    options = EmbeddingOptions.from_options(context.component_config("embedding").options)
    return [
        ModelSpec(
            name=MODEL,
            loader="symphony.builtin_plugins.orchestra.embedding.model:load",
            config={"cache_dir": str(context.cache_dir), "threads": options.threads, "batch_size": options.batch_size},
            sharing="shared",
            # measured resident: ~135 MiB once loaded (87 MiB of float32 weights), ~170 MiB after 256-token batches
            memory=180 * 1024 * 1024,
            warm_timeout=60.0,
            description="all-MiniLM-L6-v2 sentence embeddings (384 dimensions), a numpy forward pass on the CPU.",
        )
    ]
