"""Scale-out: the DAG tracker's nodes run on a Dask distributed cluster (``executor = "dask"``).

What runs where:

- **In the tracker's process**: the scheduler (which node is ready or skipped),
  control nodes (branch, gate, merge), the cache lookup, retries, timeouts,
  checkpoints, events and metrics.  Nothing about them changes.
- **On a Dask worker**: one task per attempt of an operator or instrument node.
  The tracker ships the contribution's factory (pickled once: by reference for a
  module-level function, by value for a closure), the node's config and its
  inputs; the worker rebuilds ``factory(config)`` (cached per worker) and calls it.
- **Stays local** (``[components.dag.options.dask] local = [NAME, ...]``): a
  contribution whose factory does not pickle (a sandboxed extension holding a
  process) or that must touch this machine's files.  Without that setting such a
  node fails with a ``configuration`` error that says so.

Importing this package imports ``distributed``: the host does it only when the
``dask`` executor is selected (install ``symphony-builtins[dask]``).
"""

from .errors import ClusterUnavailableError, WorkerLostError
from .executor import DaskExecutor
from .worker import WorkItem, run_node

__all__ = ["ClusterUnavailableError", "DaskExecutor", "WorkItem", "WorkerLostError", "run_node"]
