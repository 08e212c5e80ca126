"""What ``symphony login`` remembers: a remote data service's URL and a token for it, readable by this user only.

The file is ``$XDG_CONFIG_HOME/symphony/data-login.json`` (``~/.config/...``), mode 0600 in
a 0700 directory, replaced atomically (a temporary file made 0600 from the start, then
renamed): no moment exists where another user could read the token, and the process's
umask is never changed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import msgspec

from symphony.hookspecs import ConfigurationError

__all__ = ["Login", "forget", "login_file", "read_login", "store"]

#: A login file larger than this is not one this module wrote.
_MAX_BYTES = 64 * 1024


class Login(msgspec.Struct, frozen=True, kw_only=True):
    """A remote data service and the CLI's token for it (``ca_cert``: the CA to trust, if not the system's)."""

    url: str
    token: str
    ca_cert: str = ""

    def __repr__(self) -> str:  # the token must never reach a log or a traceback through a repr
        return f"Login(url={self.url!r})"


def login_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "symphony" / "data-login.json"


def read_login() -> Login | None:
    """The stored login, or None when there is none; a damaged file is an error saying how to redo it."""
    path = login_file()
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigurationError(f"Cannot read {path}: {error.strerror}; run `symphony login URL` again.") from None
    try:
        if len(data) > _MAX_BYTES:
            raise msgspec.DecodeError("too large")
        return msgspec.json.decode(data, type=Login)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise ConfigurationError(
            f"{path} is not a login this version wrote; run `symphony logout`, then `symphony login URL`."
        ) from None


def store(login: Login) -> Path:
    """Write ``login`` (0600, atomically) and return where."""
    path = login_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(msgspec.json.encode(login))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def forget() -> bool:
    """Remove the stored login; whether there was one."""
    try:
        login_file().unlink()
    except FileNotFoundError:
        return False
    return True
