"""What plugins contribute through the broadcast hooks.

Contributions hold callables (factories, checks), so they are Structs for
their validation and repr, not wire types.  Their ``name`` is how workflows,
settings and the CLI refer to them; names are unique per kind across all
plugins, and a clash is reported by the host with both plugins named.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import msgspec

from ._base import Base

__all__ = [
    "ArtifactScoreSignal",
    "ArtifactSignals",
    "CodecSpec",
    "ComponentOptionsSpec",
    "DataRule",
    "InstrumentSpec",
    "Invocation",
    "ModelSpec",
    "OperatorSpec",
    "PortSpec",
    "PreValidatorSpec",
    "StaleItem",
    "StaleSource",
    "TransportSpec",
    "WorkflowCheck",
]


class PortSpec(Base, frozen=True):
    """One typed input or output of an instrument or operator.

    ``type`` is a type name of the workflow type language (``string``,
    ``number``, ``json``, ``list[string]``, ...).
    """

    type: str
    required: bool = True
    description: str = ""


class _Contribution(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str = ""


class _NodeContribution(_Contribution, frozen=True, kw_only=True):
    factory: Callable[[Mapping[str, Any]], Any]
    inputs: dict[str, PortSpec] = msgspec.field(default_factory=dict)
    outputs: dict[str, PortSpec] = msgspec.field(default_factory=dict)
    #: The keys of a node's ``config`` the factory reads, typed like ports: what ``symphony nodes show`` lists.
    config: dict[str, PortSpec] = msgspec.field(default_factory=dict)
    #: Where its calls run (``in-process``, or an extension's runtime: ``python``, ``subprocess``, ``wasm``);
    #: wrappers of ``symphony_invoke`` and traces report it.
    runtime: str = "in-process"
    #: The extension behind the node, when an extension contributes it.
    extension: str | None = None


class InstrumentSpec(_NodeContribution, frozen=True, kw_only=True):
    """An AI model call usable as a workflow node.

    ``factory(config)`` returns an object with ``async def __call__(inputs) -> outputs``.
    """

    models: tuple[str, ...] = ()


class OperatorSpec(_NodeContribution, frozen=True, kw_only=True):
    """A utility step usable as a workflow node; ``factory`` as for instruments.

    ``cpu_bound`` operators are run off the event loop.
    """

    cpu_bound: bool = False


class ModelSpec(_Contribution, frozen=True, kw_only=True):
    """A model the pool manager can load, each instance in a worker process of its own.

    ``loader`` names a function as ``"module:function"``: the worker imports it
    and calls ``function(config)``, which loads the model and returns an object
    whose methods ``PoolManagerPort.call`` invokes by name, each taking and
    returning values msgspec can encode.  Loading happens in the worker, so a
    crash or a leak costs that worker, not the host.  Instruments name the
    models they use in ``InstrumentSpec.models``, which is how the pool learns
    what a workflow will need before it runs.
    """

    loader: str
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    #: ``shared``: many handles at once; ``exclusive``: one holder per instance at a time.
    sharing: Literal["shared", "exclusive"] = "shared"
    #: How many instances (workers) of the model the pool may run at once.
    instances: int = 1
    #: Seconds a warm-up may take before it fails (the model goes back to cold, with the cause).
    warm_timeout: float = 120.0
    #: Seconds unused before the pool cools the model; None takes the pool's setting.
    idle_timeout: float | None = None
    #: Bytes the model is expected to need, reserved from the arbitration engine before warming
    #: (0: nothing reserved); the pool's memory budget counts measured RSS, not this.
    memory: int = 0


class TransportSpec(_Contribution, frozen=True, kw_only=True):
    """A transport kind (``unix``, ``tcp``, ``stdio``...); ``factory(config)`` gives a Transport."""

    factory: Callable[[Mapping[str, Any]], Any]
    schemes: tuple[str, ...] = ()


class CodecSpec(_Contribution, frozen=True, kw_only=True):
    """A wire format for envelopes; ``content_type`` is used in the handshake."""

    content_type: str
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]


class PreValidatorSpec(_Contribution, frozen=True, kw_only=True):
    """A fast technical check (seed M1.6) run before a request is attempted.

    ``target`` is the request kind it checks (``workflow``: a CreateWorkflowRequest,
    ``workflow_update``: an UpdateWorkflowRequest, ``user``, ``extension_manifest``);
    ``check`` raises PreValidationError or returns None.
    """

    target: str
    check: Callable[[Any], None]


class ComponentOptionsSpec(_Contribution, frozen=True, kw_only=True):
    """The type of ``[components.<name>.options]``, so the host checks it when settings load.

    ``options`` is a type ``msgspec.convert`` accepts, usually a Struct with
    ``forbid_unknown_fields=True``: a misspelt key then fails at once, named in
    full with the closest valid key, instead of when the component first runs.
    """

    options: type


class Invocation(msgspec.Struct, kw_only=True):
    """One call of an instrument, operator or extension, as ``symphony_invoke`` wrappers see it.

    ``HostContext.invoke`` runs it: wrappers (``@hookimpl(wrapper=True)``) run
    code around it, may read or annotate ``attributes``, and see its result or
    exception; then ``call(inputs)`` performs it (awaited if it returns an
    awaitable).  ``target`` is the contribution's name, or
    ``"<extension>:<operation>"`` for the hop into an extension's runtime.
    ``plugin`` made the contribution (``local`` when none did, in embedding).
    ``node_id`` and ``run_id`` are set when a workflow run makes the call; an
    invocation made inside another (an extension node's hop into its sandbox)
    has that one as ``parent`` and inherits its node and run.
    """

    kind: Literal["instrument", "operator", "extension"]
    target: str
    inputs: Mapping[str, Any]
    call: Callable[[Mapping[str, Any]], Awaitable[Any] | Any]
    plugin: str = "local"
    extension: str | None = None
    runtime: str = "in-process"
    node_id: str | None = None
    run_id: str | None = None
    parent: Invocation | None = None
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


class WorkflowCheck(_Contribution, frozen=True, kw_only=True):
    """A validation stage a plugin adds to every workflow report (after the builtin stages).

    ``check(workflow)`` returns the problems it finds (``WorkflowProblem``s);
    it must be quick and side-effect free, since editors re-validate often.
    """

    check: Callable[[Any], list[Any]]


class ArtifactSignals(msgspec.Struct, frozen=True, kw_only=True):
    """What a quality signal sees of one artifact when its score is computed.

    ``events`` totals the signal events recorded for it by kind (``use``:
    downstream uses, ``feedback``: the sum of +1/-1 votes, ``validation``: +1
    passed / -1 failed, or a plugin's own kind) and ``counts`` how many
    were recorded; ``now`` and ``created_at`` are Unix times.
    """

    artifact_id: str
    metadata: Mapping[str, Any]
    created_at: float
    now: float
    events: Mapping[str, float] = msgspec.field(default_factory=dict)
    counts: Mapping[str, int] = msgspec.field(default_factory=dict)


class ArtifactScoreSignal(_Contribution, frozen=True, kw_only=True):
    """One input of an artifact's quality score.

    ``value(signals)`` rates the artifact in [0, 1], or returns None when the
    signal has no opinion of it.  A rating above 1/2 raises the score, one
    below lowers it, by ``weight`` times as much as a signal of weight 1 (the
    formula is in docs/artifacts.md), so a plugin's signal joins the builtins'
    on equal terms.
    """

    value: Callable[[ArtifactSignals], float | None]
    weight: float = 1.0


class StaleItem(Base, frozen=True):
    """One thing a stale source found out of date or past its retention, and could reclaim.

    ``kind`` groups items in reports (``cache``, ``run``, ``log``, ``model``,
    ``chunks``...); ``key`` identifies the item within its source; ``reason``
    says in one sentence why it is stale; ``size`` is the bytes reclaiming it
    frees (0 when unknown or not bytes, e.g. a model's memory is in ``detail``).
    """

    source: str
    kind: str
    key: str
    reason: str
    size: int = 0
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


class StaleSource(_Contribution, frozen=True, kw_only=True):
    """Something that holds state which goes out of date, and can find and reclaim it.

    ``find()`` returns what is stale now under the source's retention
    settings, without changing anything; ``reclaim(items)`` reclaims those
    of its own items that are still stale (re-checked: the world may have
    moved since ``find``) and returns the ones it reclaimed.  Both may be
    async.  The stale manager runs every source's ``find`` for ``symphony
    stale report`` and ``reclaim`` for ``symphony stale gc``.
    """

    find: Callable[[], Awaitable[list[StaleItem]] | list[StaleItem]]
    reclaim: Callable[[list[StaleItem]], Awaitable[list[StaleItem]] | list[StaleItem]]


class DataRule(_Contribution, frozen=True, kw_only=True):
    """A business rule the data service enforces on every write to one kind of resource.

    ``resource`` is the kind it guards (``workflow``, ``user``, ``token``,
    ``share``); ``check(action, record, before)`` runs inside the write's
    transaction with ``action`` (``create``, ``update``, ``delete``), the
    record as it will be stored and the one it replaces (None on create),
    and raises ValidationError to refuse the write (nothing is stored).
    """

    resource: str
    check: Callable[[str, Mapping[str, Any], Mapping[str, Any] | None], None]
