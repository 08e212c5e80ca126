"""Workflows (seed M5): validation, incremental editing, formats, the builder and the CLI.

The model itself is the SDK's (``symphony.hookspecs.Workflow``); this package
holds the algorithms, for the DAG tracker, the conductor and editors to use.
"""

from .builder import WorkflowBuilder, WorkflowBuildError
from .catalogue import Catalogue
from .edits import EditError
from .formats import WorkflowFormatError, decode, encode, load, save
from .session import EditSession
from .validate import Limits, ValidatedWorkflow, validate

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
    "validate",
]
