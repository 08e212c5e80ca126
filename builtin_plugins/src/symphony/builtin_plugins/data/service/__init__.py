"""The authoritative data service (seed M1.6): validation, RBAC, business rules, audit and persistence.

An ASGI application (Starlette) over SQLAlchemy 2; callers reach it through the
DataAccessPort client, in-process or over HTTP.
"""

from .app import create_app
from .migrate import migrate
from .settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app", "migrate"]
