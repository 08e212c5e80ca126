"""Fixtures for the registry: a real ``symphony registry serve`` on loopback, a registered publisher, uploads.

- ``registry_server`` (session): ``symphony registry init`` then ``serve --port 0 --no-auth`` as a
  subprocess; a :class:`RegistryServer` with ``.url``, ``.dir``, ``.root`` (the root.json users pin)
  and ``.stop()``.  Tests that change keys or expiry start their own with :func:`start_registry_server`.
- ``publisher`` (session): a generated key registered for publisher "Acme Labs" on ``registry_server``.
- :func:`upload_wheel`, :func:`post_signature`, :func:`publish_wheel`: what ``twine upload`` and
  ``symphony ext publish`` send, without building (multipart form, the PublisherSignature JSON).
"""

from __future__ import annotations

import selectors
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from symphony.hookspecs import PublisherSignature
from symphony.registry import signing
from symphony.registry.server.repository import Repository
from symphony.registry.wheels import read_wheel

SYMPHONY: Final = Path(sys.executable).parent / "symphony"
#: How long a starting server may take on a busy 2-core machine before the test gives up.
_START_DEADLINE_S: Final = 60.0


@dataclass
class RegistryServer:
    """A running ``symphony registry serve``."""

    url: str
    dir: Path
    root: Path
    process: subprocess.Popen[str] = field(repr=False)

    def repository(self) -> Repository:
        """The registry directory's repository (its writes take the same lock as the server's)."""
        return Repository.open(self.dir)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def run_symphony(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the ``symphony`` command; its output, checked unless ``check=False``."""
    result = subprocess.run([SYMPHONY, *map(str, args)], check=False, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"symphony {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result


def start_registry_server(directory: Path, *options: str) -> RegistryServer:
    """``init`` ``directory`` (unless it is a registry already) and serve it on a free loopback port.

    Uploads need no login unless ``options`` has ``--passwords FILE``.
    """
    auth = () if "--passwords" in options else ("--no-auth",)
    if not (directory / "tuf").is_dir():
        run_symphony("registry", "init", directory)
    process = subprocess.Popen(
        [SYMPHONY, "registry", "serve", str(directory), "--port", "0", *auth, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:  # not select.select: it refuses descriptors above 1023
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(_START_DEADLINE_S)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("Serving http://"):
        process.kill()
        _, errors = process.communicate()
        raise AssertionError(f"symphony registry serve did not start: {line!r}\n{errors}")
    return RegistryServer(url=line.split()[1], dir=directory, root=directory / "root.json", process=process)


@pytest.fixture(scope="session")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = start_registry_server(tmp_path_factory.mktemp("registry-server") / "index")
    yield server
    server.stop()


@dataclass(frozen=True)
class Publisher:
    """A publisher whose key the index trusts."""

    name: str
    key_path: Path
    public: str
    key: Ed25519PrivateKey = field(repr=False)

    def sign(self, wheel: Path, *, publisher: str | None = None) -> PublisherSignature:
        """This publisher's signature over ``wheel`` (as ``publisher`` when given, to test a mismatch)."""
        return signing.sign(self.key, read_wheel(wheel).statement(publisher or self.name))


def make_publisher(directory: Path, name: str) -> Publisher:
    """A new key for ``name`` saved under ``directory`` (not registered anywhere yet)."""
    key = signing.generate_key()
    path = directory / f"{name.replace(' ', '-').lower()}.pem"
    signing.save_private_key(key, path)
    return Publisher(name=name, key_path=path, public=signing.public_text(key), key=key)


@pytest.fixture(scope="session")
def publisher(registry_server: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Publisher:
    acme = make_publisher(tmp_path_factory.mktemp("publisher"), "Acme Labs")
    registry_server.repository().add_publisher_key(acme.name, acme.public)
    return acme


def upload_wheel(server: RegistryServer, wheel: Path, *, filename: str | None = None) -> httpx.Response:
    """Upload ``wheel`` the way twine does (a multipart ``file_upload`` form at ``/``)."""
    data = {":action": "file_upload", "protocol_version": "1", "filetype": "bdist_wheel"}
    with wheel.open("rb") as handle:
        files = {"content": (filename or wheel.name, handle, "application/octet-stream")}
        return httpx.post(server.url, data=data, files=files, timeout=60)


def post_signature(server: RegistryServer, signature: PublisherSignature) -> httpx.Response:
    """POST a PublisherSignature to ``/symphony/signatures``."""
    return httpx.post(f"{server.url}symphony/signatures", content=msgspec.json.encode(signature), timeout=60)


def publish_wheel(server: RegistryServer, wheel: Path, publisher: Publisher | None = None) -> None:
    """Upload ``wheel`` and, when ``publisher`` is given, its signature; fails the test if either is refused."""
    uploaded = upload_wheel(server, wheel)
    assert uploaded.status_code == 200, f"upload of {wheel.name} refused: {uploaded.status_code} {uploaded.text}"
    if publisher is not None:
        signed = post_signature(server, publisher.sign(wheel))
        assert signed.status_code == 200, f"signature on {wheel.name} refused: {signed.status_code} {signed.text}"


def wait_for(condition: object, *, deadline_s: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition()`` until it is true; fail after ``deadline_s`` (never a wall-clock assertion)."""
    assert callable(condition)
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {deadline_s} s")
        time.sleep(0.05)


__all__: Sequence[str] = [
    "Publisher",
    "RegistryServer",
    "make_publisher",
    "post_signature",
    "publish_wheel",
    "run_symphony",
    "start_registry_server",
    "upload_wheel",
    "wait_for",
]
