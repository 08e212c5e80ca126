"""The editor core: a separate process holding rope buffers, spoken to in xi-style JSON-RPC over stdio.

It imports only the standard library, msgspec and its own modules, so it starts in
tens of milliseconds and a restart by the bridge is cheap (docs/editor.md).
"""
