"""Entry point of the zygote (the workers' fork server): ``python -I -S zygote.py HOST_PID CONTROL_FD ROOT...``.

Started like a worker (``-I -S``, a scrubbed environment, the runtime's
roots on ``sys.path``); it imports the worker's runtime once and forks a
worker per request.  The real work is in :mod:`._zygote_server`.
"""

import sys


def _run() -> int:
    sys.dont_write_bytecode = True
    sys.path[:0] = sys.argv[3:]
    from symphony.sandbox.subprocess._zygote_server import serve

    return serve(int(sys.argv[1]), int(sys.argv[2]))


if __name__ == "__main__":
    sys.exit(_run())
