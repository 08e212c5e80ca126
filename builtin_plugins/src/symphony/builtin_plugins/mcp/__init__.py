"""``symphony mcp serve``: the project's validated workflows as MCP tools, their runs as MCP resources.

Every call runs through the conductor port and ``HostContext.invoke``, so the
permission checker, its audit and the distribution's policy apply to an MCP
client exactly as to ``symphony run``; see docs/mcp.md.
"""
