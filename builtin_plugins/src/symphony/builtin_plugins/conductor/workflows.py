"""Turn what a caller hands the conductor (a Workflow, a document, a path) into a Workflow."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import msgspec

from symphony.hookspecs import ValidationError, Workflow

from ..workflow.formats import WorkflowFormatError, decode, load

__all__ = ["workflow_of"]


def workflow_of(value: Any) -> Workflow:
    """``value`` as a Workflow: a Workflow or what carries one (``.workflow``), a document, or a TOML/JSON path.

    Raises WorkflowFormatError for a file or document that is not a workflow,
    ValidationError for anything else.
    """
    if isinstance(value, Workflow):
        return value
    if isinstance(carried := getattr(value, "workflow", None), Workflow):
        return carried
    if isinstance(value, str | PathLike):
        return load(Path(value))
    if isinstance(value, dict):
        # Through the JSON decoder, so a document gets the same checks and messages as a file.
        try:
            data = msgspec.json.encode(value)
        except TypeError as error:
            raise WorkflowFormatError(f"The document is not a workflow: {error}.") from None
        return decode(data, "json")
    if value is None:
        raise ValidationError("No workflow to orchestrate: give a Workflow, a document or a file path (or `resume`).")
    raise ValidationError(
        f"Expected a Workflow, a workflow document (dict) or a path to a TOML/JSON file, got {type(value).__name__}."
    )
