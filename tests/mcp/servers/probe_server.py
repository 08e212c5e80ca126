"""An MCP server for the runtime's tests: a resource, a prompt, and tools that echo, fail, hang or corrupt stdout."""

import os
import socket
import time
import urllib.error
import urllib.request

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("probe")
#: The protocol's pipe, kept before the SDK diverts fd 1 to stderr: a native library writing here corrupts the wire.
WIRE = os.dup(1)


@server.tool()
def echo(text: str) -> dict[str, str]:
    """Return the text."""
    return {"echoed": text}


@server.tool()
def fail(reason: str) -> str:
    """Raise, so the call is a tool error carrying ``reason``."""
    raise ToolError(reason)


@server.tool()
def hang(seconds: float) -> str:
    """Sleep (blocking the server) for ``seconds``."""
    time.sleep(seconds)
    return "woke"


@server.tool()
def garbage() -> str:
    """Write a line that is not JSON-RPC on stdout, as a broken server does."""
    os.write(WIRE, b"this is not json-rpc\n")
    time.sleep(30)
    return "unreachable"


@server.tool()
def connect(host: str, port: int) -> str:
    """Open a TCP connection straight to ``host:port``, past the proxy the server was given."""
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as error:
        raise ToolError(f"no connection: {error}") from None
    return "connected"


@server.tool()
def read_file(path: str) -> str:
    """The text of the file at ``path``."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as error:
        raise ToolError(f"cannot read: {error}") from None


@server.tool()
def proxied(url: str) -> str:
    """GET ``url`` the usual way, which honours the proxy variables the server was given."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())
    except urllib.error.HTTPError as error:
        raise ToolError(f"status {error.code}: {error.read().decode()}") from None
    except OSError as error:
        raise ToolError(f"no answer: {error}") from None


@server.tool()
def undeclared() -> str:
    """A tool the test manifest does not contribute."""
    return "should not be callable"


@server.resource("probe://greeting")
def greeting() -> str:
    """A fixed text resource."""
    return "hello from a resource"


@server.prompt()
def review(language: str) -> str:
    """A prompt with one argument."""
    return f"Review this {language} code."


def main() -> None:
    """Serve over stdio (the entry an ``entry = "probe_server:main"`` manifest names)."""
    server.run()


if __name__ == "__main__":
    main()
