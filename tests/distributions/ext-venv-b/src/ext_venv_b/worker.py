"""The handler: which symphony_venv_lib this worker imported, and whether it may read a path."""

import sys
from typing import Any


def handle(operation: str, input: dict[str, Any]) -> dict[str, Any]:
    if operation == "version":
        import symphony_venv_lib

        return {"version": symphony_venv_lib.VERSION, "library": symphony_venv_lib.__file__, "python": sys.executable}
    if operation == "read":
        try:
            with open(input["path"], "rb") as handle:
                handle.read(1)
        except OSError as error:
            return {"readable": False, "error": str(error)}
        return {"readable": True, "error": ""}
    raise ValueError(f"unknown operation {operation!r}")
