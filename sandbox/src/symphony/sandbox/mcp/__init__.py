"""The ``mcp`` extension runtime: MCP servers over stdio, confined like subprocess workers, network mediated.

See docs/mcp.md.  :mod:`.launcher` confines a server before it runs;
:mod:`.runtime` speaks MCP to it through the official SDK's ClientSession.
"""
