"""MCP answers as the plain JSON an extension call returns, and the reserved ``mcp/...`` operations."""

from __future__ import annotations

from typing import Any, Final

import mcp_types as types
from mcp import ClientSession

from symphony.hookspecs import ExtensionError, ValidationError

__all__ = ["RESERVED", "reserved_call", "tool_result"]

#: Operations that are never a tool's name: the server's catalogue and its resources and prompts.
RESERVED: Final = frozenset(
    {"mcp/tools/list", "mcp/resources/list", "mcp/resources/read", "mcp/prompts/list", "mcp/prompts/get"}
)


def _plain(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)  # type: ignore[no-any-return]


def _text(name: str, input: dict[str, Any], operation: str) -> str:
    value = input.get(name)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{operation} needs {name!r} as a non-empty string; got {value!r}.")
    return value


async def reserved_call(session: ClientSession, operation: str, input: dict[str, Any]) -> dict[str, Any]:
    """Answer one of :data:`RESERVED` from the server."""
    if operation == "mcp/tools/list":
        tools = (await session.list_tools()).tools
        keys = ("name", "description", "inputSchema", "outputSchema")
        return {"tools": [{key: _plain(tool).get(key) for key in keys} for tool in tools]}
    if operation == "mcp/resources/list":
        return {"resources": [_plain(item) for item in (await session.list_resources()).resources]}
    if operation == "mcp/resources/read":
        contents = (await session.read_resource(_text("uri", input, operation))).contents
        return {"contents": [_plain(item) for item in contents]}
    if operation == "mcp/prompts/list":
        return {"prompts": [_plain(item) for item in (await session.list_prompts()).prompts]}
    arguments = input.get("arguments") or {}
    if not isinstance(arguments, dict) or not all(isinstance(v, str) for v in arguments.values()):
        raise ValidationError(f"{operation} takes 'arguments' as a table of strings; got {arguments!r}.")
    prompt = await session.get_prompt(_text("name", input, operation), arguments)
    return _plain(prompt)


def tool_result(extension: str, tool: str, result: types.CallToolResult) -> dict[str, Any]:
    """``{"result", "text", "content"}``; a tool's own error (``isError``) raises ExtensionError with its text."""
    text = "\n".join(item.text for item in result.content if isinstance(item, types.TextContent))
    if result.is_error:
        raise ExtensionError(f"MCP tool {tool!r} of extension {extension!r} failed: {text or 'no message'}")
    return {"result": result.structured_content, "text": text, "content": [_plain(item) for item in result.content]}
