"""The data layer's pre-validators: technical checks only (presence, lengths, formats, serializability, size).

Contributed through ``symphony_pre_validators``; the host's pre-validation port
runs them and lists every problem in one PreValidationError, so a malformed
request is refused before a request to the data service is made.  Business
rules (a name taken, who may do what) are the service's alone.  Each check is
one field so that each problem is its own line; the host's port already says
when a workflow name is blank or an email lacks '@', so those are not repeated.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from symphony.hookspecs import PreValidationError, PreValidatorSpec

__all__ = ["MAX_EMAIL", "MAX_NAME", "MAX_SPEC_BYTES", "ROLES", "pre_validators"]

#: Longest name (characters) of a workflow or user: room for any real name, not for a pasted document.
MAX_NAME = 200
#: Longest email address (RFC 5321's path limit).
MAX_EMAIL = 254
#: Largest workflow document (encoded JSON bytes); the service refuses larger request bodies anyway.
MAX_SPEC_BYTES = 1_000_000
#: The roles a user may have.
ROLES = ("admin", "editor", "viewer", "service")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_encode = msgspec.json.Encoder().encode


def _name(kind: str, name: str | None, *, required: bool) -> None:
    if name is None:
        return
    if required and not name.strip():
        raise PreValidationError(f"expected a non-empty {kind} name, found {name!r}.")
    if len(name) > MAX_NAME:
        raise PreValidationError(f"expected at most {MAX_NAME} characters, found {len(name)}; shorten the name.")
    if _CONTROL.search(name):
        raise PreValidationError(f"expected no control characters (newline, tab...), found {name!r}.")


def _workflow_name(request: Any) -> None:
    _name("workflow", request.name, required=False)  # blank names are the host's own check


def _workflow_spec(request: Any) -> None:
    try:
        size = len(_encode(request.spec))
    except (TypeError, ValueError, OverflowError) as error:
        raise PreValidationError(
            f"the document must be plain JSON data (mappings, lists, text, numbers): {error}."
        ) from None
    if size > MAX_SPEC_BYTES:
        raise PreValidationError(
            f"the document is {size:,} bytes encoded, more than the {MAX_SPEC_BYTES:,} allowed; split it or move"
            " large values into artifacts."
        )


def _workflow_owner(request: Any) -> None:
    owner = request.owner
    if owner is not None and not owner.strip():
        raise PreValidationError("expected a user id or no owner, found ''.")


def _workflow_version(request: Any) -> None:
    version = request.expected_version
    if version < 1:
        raise PreValidationError(f"expected_version counts from 1, found {version}; read the workflow first.")


def _user_name(request: Any) -> None:
    _name("user", request.name, required=True)


def _user_email(request: Any) -> None:
    email = request.email
    if len(email) > MAX_EMAIL:
        raise PreValidationError(f"expected at most {MAX_EMAIL} characters, found {len(email)}.")
    if "@" in email and not _EMAIL.fullmatch(email):  # no '@' at all is the host's own check
        raise PreValidationError(f"expected the form name@domain.tld without spaces, found {email!r}.")


def _user_role(request: Any) -> None:
    if request.role not in ROLES:
        raise PreValidationError(f"expected one of {', '.join(map(repr, ROLES))}, found {request.role!r}.")


def pre_validators() -> list[PreValidatorSpec]:
    """The data layer's checks, one per field, for targets ``workflow``, ``workflow_update`` and ``user``."""

    def spec(name: str, target: str, check: Any, description: str) -> PreValidatorSpec:
        return PreValidatorSpec(name=name, target=target, check=check, description=description)

    return [
        spec("workflow-name", "workflow", _workflow_name, f"At most {MAX_NAME} characters, no control characters."),
        spec("workflow-spec", "workflow", _workflow_spec, f"Plain JSON data, at most {MAX_SPEC_BYTES:,} bytes."),
        spec("workflow-owner", "workflow", _workflow_owner, "A user id when given."),
        spec("update-name", "workflow_update", _workflow_name, f"At most {MAX_NAME} characters when given."),
        spec("update-spec", "workflow_update", _workflow_spec, f"Plain JSON data, at most {MAX_SPEC_BYTES:,} bytes."),
        spec("update-version", "workflow_update", _workflow_version, "The expected version counts from 1."),
        spec("user-name", "user", _user_name, f"Present, at most {MAX_NAME} characters, no control characters."),
        spec("user-email", "user", _user_email, f"name@domain.tld, at most {MAX_EMAIL} characters."),
        spec("user-role", "user", _user_role, f"One of {', '.join(ROLES)}."),
    ]
