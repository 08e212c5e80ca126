"""``buffer-read``: a workflow reads a file as the editor holds it, unsaved edits included.

A file open in the editor (the ``text_editing`` port) is read from its buffer; one
that is not open is opened, read and closed again, so the operator leaves the
editor as it found it.  Paths are confined to the same root as ``file-read``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from symphony.hookspecs import NotFoundError, PortUnavailableError, ValidationError
from symphony.hookspecs.ports import HostContext, TextEditingPort

from .io import confined_path, root_of
from .operators import Run

__all__ = ["buffer_read"]


def buffer_read(context: HostContext, workspace: str | None) -> Any:
    def factory(config: Mapping[str, Any]) -> Run:
        root = root_of(config, workspace)

        async def run(inputs: Mapping[str, Any]) -> dict[str, Any]:
            path = confined_path(root, inputs, "buffer-read")
            editing = _editing(context)
            found = {Path(info.path): info for info in await editing.list_buffers()}.get(path)
            if found is not None:
                return {"text": await editing.get_buffer_content(found.buffer_id), "unsaved": found.dirty}
            if not path.is_file():
                raise NotFoundError(f"Operator 'buffer-read': no file {path}, and no buffer open on it.")
            buffer_id = await editing.open_file(path)
            try:
                return {"text": await editing.get_buffer_content(buffer_id), "unsaved": False}
            finally:
                await editing.close_buffer(buffer_id)

        return run

    return factory


def _editing(context: HostContext) -> TextEditingPort:
    try:
        return context.port("text_editing")
    except PortUnavailableError:
        raise ValidationError(
            "Operator 'buffer-read' needs the editor (port text_editing), which no plugin provides here;"
            " use file-read, or enable the editor plugin."
        ) from None
