"""Workflows (seed M5): validation, incremental editing, formats, the builder and the CLI.

The model itself is the SDK's (``symphony.hookspecs.Workflow``); this package
holds the algorithms, for the DAG tracker, the conductor and editors to use.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .builder import WorkflowBuilder, WorkflowBuildError
    from .catalogue import Catalogue
    from .edits import EditError
    from .formats import WorkflowFormatError, decode, encode, load, save
    from .limits import Limits
    from .session import EditSession
    from .validate import ValidatedWorkflow

#: Imported on first use: every command loads the workflow plugin, few need the builder or validation.
#: (The function ``validate`` is imported from its module: the package's attribute of that name is the module.)
_MODULE_OF = {
    "Catalogue": "catalogue",
    "EditError": "edits",
    "EditSession": "session",
    "Limits": "limits",
    "ValidatedWorkflow": "validate",
    "WorkflowBuildError": "builder",
    "WorkflowBuilder": "builder",
    "WorkflowFormatError": "formats",
    "decode": "formats",
    "encode": "formats",
    "load": "formats",
    "save": "formats",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = [
    "Catalogue",
    "EditError",
    "EditSession",
    "Limits",
    "ValidatedWorkflow",
    "WorkflowBuildError",
    "WorkflowBuilder",
    "WorkflowFormatError",
    "decode",
    "encode",
    "load",
    "save",
]
