"""How big a workflow may be, and how long validating it may take: ``[components.workflow.options]``.

Its own module so that reading settings (every command) does not import validation.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["Limits"]


class Limits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Bounds checked before any expensive work: 10,000 nodes, 50,000 edges.

    ``timeout`` (seconds) is off by default: a time budget turns a correct
    document into an error on a busy machine.  Editors that must answer within
    a frame ask for one, and get a ``timeout`` problem when it runs out.
    """

    max_nodes: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    max_edges: Annotated[int, msgspec.Meta(ge=0)] = 50_000
    timeout: Annotated[float, msgspec.Meta(ge=0)] | None = None
