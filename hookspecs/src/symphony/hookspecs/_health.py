"""Health reports, as components and health checks return them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec

from ._base import Base

__all__ = ["HealthCheck", "HealthStatus", "Problem", "Status"]

Status = Literal["ok", "degraded", "failed", "unknown"]


class Problem(Base, frozen=True):
    """Something wrong, and what the user can do about it."""

    message: str
    fix: str = ""
    severity: Literal["error", "warning"] = "error"


class HealthStatus(Base, frozen=True):
    """The answer of one health check.

    ``degraded`` means it works with reduced capability (a missing optional
    kernel feature, say); ``failed`` means it does not work.
    """

    status: Status
    message: str = ""
    problems: tuple[Problem, ...] = ()
    details: dict[str, Any] = msgspec.field(default_factory=dict)

    @classmethod
    def ok(cls, message: str = "", **details: Any) -> HealthStatus:
        return cls(status="ok", message=message, details=details)

    @classmethod
    def failed(cls, message: str, fix: str = "") -> HealthStatus:
        return cls(status="failed", message=message, problems=(Problem(message=message, fix=fix),))


class HealthCheck(msgspec.Struct, frozen=True, kw_only=True):
    """A named check a plugin contributes; ``check`` may be sync or async.

    Not a wire type: it holds a callable.  ``component`` groups checks in
    ``symphony doctor``; it defaults to the check's name.
    """

    name: str
    check: Callable[[], HealthStatus | Awaitable[HealthStatus]]
    component: str = ""
