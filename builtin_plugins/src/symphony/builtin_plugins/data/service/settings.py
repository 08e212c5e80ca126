"""What the data service needs to run: its database and the limits that keep hostile input bounded."""

from __future__ import annotations

import msgspec


class ServiceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The service's database URL and limits; every limit refuses with a problem, never truncates."""

    #: SQLAlchemy URL: ``sqlite:///path.db`` or ``postgresql://...`` (driven by psycopg 3).
    database: str
    #: Largest request body accepted (413 beyond it).
    max_body_bytes: int = 1_048_576
    #: Largest body of a request carrying a workflow document (creating or changing a workflow or a run): the
    #: largest workflow file (64 MiB), base64-encoded in a run, with room for its inputs.
    max_document_body_bytes: int = 96 * 1_048_576
    #: Page size when a listing names none, and the largest one may ask for (422 beyond it).
    default_page_size: int = 50
    max_page_size: int = 200
    #: Failed token checks a client may make per window before it gets 429 until the window passes.
    max_failed_token_checks: int = 10
    token_check_window: float = 60.0
    #: Clients whose failures are remembered at once (the oldest is forgotten first), so memory stays bounded.
    max_tracked_clients: int = 10_000
    #: Longest lifetime a token may be given, in seconds (a year).
    max_token_lifetime: float = 365 * 86_400.0
    #: How long a write's Idempotency-Key is remembered (a retry after that writes again), in seconds.
    idempotency_ttl: float = 86_400.0
    #: Forget expired keys on one write in this many, inside that write's transaction (indexed, so cheap).
    idempotency_prune_every: int = 1000
