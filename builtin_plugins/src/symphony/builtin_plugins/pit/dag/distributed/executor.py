"""The tracker's side of the Dask executor: connect, submit one node attempt, await it, map its errors."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any, Final

import cloudpickle  # type: ignore[import-untyped]
import msgspec
from distributed import Client, Future, LocalCluster
from distributed.client import FutureCancelledError
from distributed.comm.core import CommClosedError
from distributed.scheduler import KilledWorker

from symphony.hookspecs import ConfigurationError

from ..executor import LocalExecutor, NodeTask
from ..options import DaskOptions
from .errors import ClusterUnavailableError, RemoteFailure, WorkerLostError, rebuild
from .worker import WorkItem, run_node

__all__ = ["DaskExecutor"]

_canonical: Final = msgspec.json.Encoder(order="sorted")
# distributed's constructors and client methods are untyped; they are called through these.
_new_client: Any = Client
_new_cluster: Any = LocalCluster


class DaskExecutor:
    """Runs each node attempt as one task on a Dask distributed cluster (see the package docstring).

    :meth:`connect` (which the tracker calls before a run starts, so a cluster's
    start-up counts in no node's run time or timeout) connects on the running event
    loop, or starts the LocalCluster; :meth:`close` ends both.
    Contributions named in ``options.local`` run in this process instead.
    """

    def __init__(self, options: DaskOptions | None = None) -> None:
        self.options = options or DaskOptions()
        #: The ``distributed.Client`` (asynchronous), once connected.
        self.client: Any = None
        self._cluster: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None
        self._local = LocalExecutor()
        self._factories: dict[int, tuple[Any, bytes, bytes]] = {}

    @property
    def scheduler_address(self) -> str | None:
        """The address of the scheduler in use, once connected."""
        if self.client is None:
            return None
        return str(self.client.scheduler.address)

    async def run(self, task: NodeTask) -> Mapping[str, Any]:
        if task.uses in self.options.local:
            return await self._local.run(task)
        item = self._item(task)
        client = await self.connect()
        future = client.submit(run_node, item, key=f"{task.uses}-{uuid.uuid4().hex}", pure=False, retries=0)
        try:
            outputs: Mapping[str, Any] = await future
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel(client, future))
            raise
        except RemoteFailure as failure:
            raise rebuild(failure) from None
        except KilledWorker as error:
            raise WorkerLostError(
                f"The Dask worker running node {task.node_id!r} died ({error.last_worker.address})."
            ) from None
        except FutureCancelledError as error:
            raise WorkerLostError(
                f"The Dask cluster dropped the task of node {task.node_id!r} (reason: {error.reason})."
            ) from None
        except CommClosedError as error:
            raise ClusterUnavailableError(
                f"Lost the connection to the Dask scheduler at {self.scheduler_address} while running node"
                f" {task.node_id!r} ({error})."
            ) from None
        return outputs

    async def connect(self) -> Any:
        """The client, connecting (or starting the LocalCluster) on first use in this event loop."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new loop (or the first): the old client cannot be used from it
            self.client, self._cluster, self._connecting, self._loop = None, None, asyncio.Lock(), loop
        client = self.client
        if client is not None:
            return client
        assert self._connecting is not None
        async with self._connecting:
            if self.client is None:
                self.client = await self._open()
            return self.client

    async def close(self) -> None:
        await self._local.close()
        client, cluster, same_loop = self.client, self._cluster, self._loop is asyncio.get_running_loop()
        self.client, self._cluster, self._loop, self._connecting = None, None, None, None
        if not same_loop:
            return
        if client is not None:
            await client.close()
        if cluster is not None:
            await cluster.close()

    # -- internals ------------------------------------------------------------------

    async def _open(self) -> Any:
        options = self.options
        if options.scheduler == "local":
            _quiet(logging.getLogger("distributed"))
            self._cluster = await _new_cluster(
                n_workers=options.workers,
                threads_per_worker=options.threads_per_worker,
                processes=options.processes,
                host="127.0.0.1",
                protocol="tcp",
                dashboard_address=None,
                asynchronous=True,
                scheduler_kwargs={
                    # A worker that dies fails its node at once; the tracker's retry policy decides what next.
                    "allowed_failures": 0,
                    # No dashboard; the scheduler's small HTTP server listens on loopback only, on any free port.
                    "dashboard": False,
                    "dashboard_address": "127.0.0.1:0",
                },
            )
            return await _new_client(self._cluster, asynchronous=True)
        try:
            client = await _new_client(options.scheduler, asynchronous=True, timeout=options.connect_timeout)
        except (OSError, TimeoutError) as error:
            raise ClusterUnavailableError(
                f"Could not reach the Dask scheduler at {options.scheduler} within {options.connect_timeout:g} s"
                f" ({error}). Start one (`dask scheduler`, then `dask worker ADDRESS`), or change"
                " [components.dag.options.dask] scheduler."
            ) from None
        return client

    @staticmethod
    async def _cancel(client: Any, future: Future[Any]) -> None:
        with contextlib.suppress(OSError, CommClosedError):  # the cluster is gone: nothing left to cancel
            await client.cancel([future], reason="the node was cancelled by the DAG tracker")

    def _item(self, task: NodeTask) -> WorkItem:
        blob, digest = self._pickled(task)
        try:
            config = _canonical.encode(task.config)
        except (TypeError, msgspec.EncodeError):  # not JSON-like: never share its build
            config = uuid.uuid4().bytes
        return WorkItem(
            node_id=task.node_id,
            kind=task.kind,
            uses=task.uses,
            factory=blob,
            build_key=hashlib.sha256(digest + b"\0" + config).hexdigest(),
            config=task.config,
            inputs=task.inputs,
        )

    def _pickled(self, task: NodeTask) -> tuple[bytes, bytes]:
        """The factory pickled once per factory object, and its digest."""
        factory = task.factory
        entry = self._factories.get(id(factory))
        if entry is None or entry[0] is not factory:
            try:
                blob = cloudpickle.dumps(factory)
            except Exception as error:
                raise ConfigurationError(
                    f"Node {task.node_id!r} ({task.kind} {task.uses!r}) cannot run on a Dask worker: its factory"
                    f" cannot be pickled ({type(error).__name__}: {error}). Keep it in the tracker's process with"
                    f' [components.dag.options.dask] local = ["{task.uses}"], or give it a module-level factory.'
                ) from None
            entry = (factory, blob, hashlib.sha256(blob).digest())
            self._factories[id(factory)] = entry
        return entry[1], entry[2]


def _quiet(logger: logging.Logger) -> None:
    """Our own cluster's start/stop chatter (INFO) is not the user's business; its warnings still are."""
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
