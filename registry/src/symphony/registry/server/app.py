"""The index's WSGI application: pypiserver's PEP 503 index, plus the TUF metadata and publisher signatures.

pypiserver answers ``/simple/``, ``/packages/`` and twine's uploads at ``/``;
its file backend is replaced by one that turns every stored wheel into a
signed TUF target (:meth:`Repository.store_wheel`) and refuses what is not a
readable wheel.  In front of it: ``GET /tuf/<file>`` (the metadata),
``GET /publishers.json`` (a target of the top-level targets role), ``POST
/symphony/signatures`` (a PublisherSignature), and a size check on every
request body before anything is read, so a hostile upload costs no memory.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, Final

import msgspec

from symphony.hookspecs import PublisherSignature, RegistryError, VerificationError

from ..records import PUBLISHERS_TARGET
from .repository import Repository

__all__ = ["DEFAULT_MAX_UPLOAD", "MAX_SIGNATURE", "make_app"]

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: The largest upload accepted by default (a wheel plus the form around it).
DEFAULT_MAX_UPLOAD: Final = 100 * 1024 * 1024
#: A PublisherSignature is well under 2 KiB; 64 KiB leaves room and bounds the read.
MAX_SIGNATURE: Final = 64 * 1024
_METADATA_NAME: Final = re.compile(r"^(?:[0-9]+\.)?[a-z0-9-]+\.json$")
_SIGNATURE_DECODER: Final = msgspec.json.Decoder(PublisherSignature)


def _reason(message: str) -> str:
    """A one-line, latin-1 status reason (twine shows the reason of a refused upload)."""
    line = " ".join(message.split())
    return line.encode("latin-1", "replace").decode("latin-1")[:300]


def _answer(start_response: StartResponse, status: int, message: str, reason: str | None = None) -> list[bytes]:
    body = (message + "\n").encode("utf-8")
    start_response(
        f"{status} {_reason(reason or message)}",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _file(start_response: StartResponse, path: Path, content_type: str, cache: str) -> list[bytes]:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return _answer(start_response, 404, f"{path.name} is not on this index", "Not Found")
    start_response(
        "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(data))), ("Cache-Control", cache)]
    )
    return [data]


class _SigningBackendMixin:
    """pypiserver's file backend, storing a wheel only once the repository has checked and signed it."""

    repository: Repository
    roots: list[Path]

    def add_package(self, filename: str, stream: BinaryIO) -> None:
        """pypiserver's upload hook: a wheel becomes a signed TUF target before pip sees it; an sdist is stored."""
        from pypiserver.bottle_wrapper import HTTPError

        # A hidden name (pypiserver lists no dot-file) and the umask's mode, as a plain write would give.
        temporary = self.repository.packages / f".upload-{secrets.token_hex(8)}"
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(descriptor, "wb") as handle:
                while chunk := stream.read(1024 * 1024):
                    handle.write(chunk)
            if filename.endswith(".whl"):
                try:
                    self.repository.store_wheel(temporary, filename)
                except RegistryError as error:
                    raise HTTPError(f"400 {_reason(str(error))}", str(error)) from None
            else:  # an sdist: on the index for pip, but not a signed target
                try:
                    os.link(temporary, self.repository.packages / filename)
                except FileExistsError:
                    raise HTTPError(f"400 {filename} is already on the index", "already on the index") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        invalidate = getattr(self, "cache_manager", None)
        if invalidate is not None:
            invalidate.invalidate_root_cache(self.roots[0])


def _pypiserver(repository: Repository, password_file: Path | None) -> tuple[WSGIApp, Any]:
    import pypiserver
    from pypiserver.backend import BackendProxy, get_file_backend

    app = pypiserver.app(
        roots=[repository.packages.resolve()],
        authenticate=["update"] if password_file else [],
        password_file=str(password_file) if password_file else ".",
        disable_fallback=True,
        overwrite=False,
        log_stream=None,
    )
    config = app._pypiserver_config
    base = type(get_file_backend(config))
    backend = type("SigningBackend", (_SigningBackendMixin, base), {})(config)
    backend.repository = repository
    config.backend = BackendProxy(backend)
    return app, config


def make_app(repository: Repository, *, password_file: Path | None, max_upload: int = DEFAULT_MAX_UPLOAD) -> WSGIApp:
    """The WSGI app serving ``repository``; uploads need a login from ``password_file`` (htpasswd) when given."""
    pypi, config = _pypiserver(repository, password_file)

    def authorised(environ: dict[str, Any]) -> bool:
        if password_file is None:
            return True
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return bool(config.auther(user, password))

    def signatures(environ: dict[str, Any], start_response: StartResponse, length: int) -> list[bytes]:
        if not authorised(environ):
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="pypi"'), ("Content-Length", "0")])
            return []
        if length > MAX_SIGNATURE:
            return _answer(start_response, 413, f"a signature is at most {MAX_SIGNATURE} bytes; this is {length}")
        body = environ["wsgi.input"].read(length)
        try:
            signature = _SIGNATURE_DECODER.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            return _answer(start_response, 400, f"the body is not a publisher signature (JSON): {error}")
        try:
            attached = repository.attach_signature(signature)
        except VerificationError as error:
            return _answer(start_response, 403, f"signature refused: {error}")
        except RegistryError as error:
            return _answer(start_response, 400, f"signature refused: {error}")
        filename = signature.statement.filename
        if attached:
            return _answer(start_response, 200, f"signature attached to {filename}", "OK")
        return _answer(start_response, 202, f"signature kept; attached to {filename} when it is uploaded", "Accepted")

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if method in {"GET", "HEAD"} and path.startswith("/tuf/"):
            name = path[len("/tuf/") :]
            if not _METADATA_NAME.match(name):
                return _answer(start_response, 404, f"no metadata file {name!r}", "Not Found")
            cache = "no-cache" if name == "timestamp.json" else "public, max-age=300"
            return _file(start_response, repository.metadata / name, "application/json", cache)
        if method in {"GET", "HEAD"} and path == f"/{PUBLISHERS_TARGET}":
            return _file(start_response, repository.publishers_file, "application/json", "no-cache")
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or "")
            except ValueError:
                return _answer(start_response, 411, "a request body needs a Content-Length", "Length Required")
            if path == "/symphony/signatures":
                return signatures(environ, start_response, length)
            if length > max_upload:
                return _answer(
                    start_response,
                    413,
                    f"an upload is at most {max_upload} bytes on this index; this one is {length}",
                    "Request Entity Too Large",
                )
        return pypi(environ, start_response)

    return application
