"""The conductor (ConductorPort, seed M1.1/M1.2): takes a workflow and inputs and sees the run through.

- :mod:`.embedded`: the conductor in this process, over the DAG tracker (the default);
- :mod:`.remote`: the port as a client of a supervised ``symphony conductor serve`` child;
- :mod:`.wire`: the ``conductor.*`` methods on the envelope, and the serving handlers;
- :mod:`.serve`: the child's side, on stdio or a Unix socket;
- :mod:`.options`, :mod:`.workflows`, :mod:`.cli`, :mod:`.plugin`.

See docs/runs.md, "The conductor".
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .embedded import EmbeddedConductor, result_of
    from .options import ConductorOptions
    from .remote import ConductorCrashedError, RemoteConductor
    from .wire import ENDPOINT, METHODS
    from .workflows import workflow_of

#: Public names and their modules, imported on first use (loading the plugin stays cheap).
_WHERE = {
    "EmbeddedConductor": "embedded",
    "result_of": "embedded",
    "ConductorOptions": "options",
    "ConductorCrashedError": "remote",
    "RemoteConductor": "remote",
    "ENDPOINT": "wire",
    "METHODS": "wire",
    "workflow_of": "workflows",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
