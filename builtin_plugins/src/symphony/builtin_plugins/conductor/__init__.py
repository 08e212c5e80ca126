"""The conductor (ConductorPort, seed M1.1/M1.2): takes a workflow and inputs and sees the run through.

- :mod:`.embedded`: the conductor in this process, over the DAG tracker (the default);
- :mod:`.remote`: the port as a client of a supervised ``symphony conductor serve`` child;
- :mod:`.wire`: the ``conductor.*`` methods on the envelope, and the serving handlers;
- :mod:`.serve`: the child's side, on stdio or a Unix socket;
- :mod:`.options`, :mod:`.workflows`, :mod:`.cli`, :mod:`.plugin`.

See docs/runs.md, "The conductor".
"""

from .embedded import EmbeddedConductor, result_of
from .options import ConductorOptions
from .remote import ConductorCrashedError, RemoteConductor
from .wire import ENDPOINT, METHODS
from .workflows import workflow_of

__all__ = [
    "ENDPOINT",
    "METHODS",
    "ConductorCrashedError",
    "ConductorOptions",
    "EmbeddedConductor",
    "RemoteConductor",
    "result_of",
    "workflow_of",
]
