"""Start one MCP server confined: ``python -I -S launcher.py SPEC ROOT...``, then become the server.

Before any server code runs, this process enters a private user and network
namespace (only a loopback interface, which it brings up), listens there on
``127.0.0.1`` and hands that listening socket to the runtime over a Unix socket:
the runtime's HTTP proxy answers on it, and the server's ``HTTP_PROXY`` points
at it, so every connection the server can make ends in the host's mediation.
Then Landlock, rlimits and seccomp are applied and the process ``exec`` s the
server, which inherits them all (nothing can lift them).  Run by path with
``-I -S`` like the subprocess worker's bootstrap; ROOTs go on ``sys.path``.
"""

import sys


def _run() -> int:
    sys.dont_write_bytecode = True
    sys.path[:0] = sys.argv[2:]
    from symphony.sandbox.mcp._become import become

    return become(sys.argv[1])


if __name__ == "__main__":
    sys.exit(_run())
