"""The first identities, made directly (not over HTTP): nobody holds a token before the first admin has one."""

from __future__ import annotations

from symphony.hookspecs import ValidationError, new_id

from . import audit, schemas
from .auth import ROLES, digest, new_token
from .db import Database
from .models import ApiToken, User

#: The audit actor of writes made by bootstrap (no identity made them).
SYSTEM = "system"


def create_identity(database: str, *, name: str, email: str, role: str, token_name: str) -> tuple[str, str]:
    """Create a user (or service identity) with one token; return ``(user_id, token)``, the token shown once."""
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}, not {role!r}.")
    db = Database(database)
    try:
        with db.session(write=True) as session:
            user = User(id=new_id(), name=name, email=email, role=role)
            secret = new_token()
            token = ApiToken(id=new_id(), user_id=user.id, name=token_name, digest=digest(secret), expires_at=None)
            session.add(user)
            session.flush()
            session.add(token)
            session.flush()
            audit.record(session, SYSTEM, "create", "user", user.id, after=schemas.user(user))
            audit.record(session, SYSTEM, "create", "token", token.id, after=schemas.token(token))
            session.commit()
    finally:
        db.dispose()
    return user.id, secret
