"""``serve --passwords``: uploads and signatures need a login from the htpasswd file; downloads do not."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from .conftest import RegistryServer, make_publisher, run_symphony, start_registry_server
from .test_publish import make_project
from .wheels import make_extension_wheel

pytestmark = pytest.mark.slow  # a server of its own


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    directory = tmp_path_factory.mktemp("guarded")
    digest = base64.b64encode(hashlib.sha1(b"s3cret").digest()).decode()  # htpasswd's {SHA} form, fine for a test
    (directory / "htpasswd").write_text(f"alice:{{SHA}}{digest}\n")
    server = start_registry_server(directory / "index", "--passwords", str(directory / "htpasswd"))
    yield server
    server.stop()


def _upload(server: RegistryServer, wheel: Path, auth: tuple[str, str] | None) -> httpx.Response:
    return httpx.post(
        server.url,
        data={":action": "file_upload"},
        files={"content": (wheel.name, wheel.read_bytes())},
        auth=auth,
    )


def test_an_upload_without_a_login_is_refused(guarded: RegistryServer, tmp_path: Path) -> None:
    wheel = make_extension_wheel(
        tmp_path, distribution="guarded-a", version="1.0.0", extension="guarded-a", publisher="X"
    )
    assert _upload(guarded, wheel, None).status_code == 401
    assert _upload(guarded, wheel, ("alice", "wrong")).status_code == 403
    assert not list((guarded.dir / "packages").glob("guarded_a-*"))


def test_an_upload_with_a_login_is_stored(guarded: RegistryServer, tmp_path: Path) -> None:
    wheel = make_extension_wheel(
        tmp_path, distribution="guarded-b", version="1.0.0", extension="guarded-b", publisher="X"
    )
    assert _upload(guarded, wheel, ("alice", "s3cret")).status_code == 200
    assert httpx.get(f"{guarded.url}simple/guarded-b/").status_code == 200


def test_a_signature_without_a_login_is_refused(guarded: RegistryServer, tmp_path: Path) -> None:
    wheel = make_extension_wheel(
        tmp_path, distribution="guarded-c", version="1.0.0", extension="guarded-c", publisher="X"
    )
    signature = make_publisher(tmp_path, "X").sign(wheel)
    answer = httpx.post(f"{guarded.url}symphony/signatures", content=msgspec.json.encode(signature))
    assert answer.status_code == 401


def test_publish_logs_in_for_the_signature_and_the_upload(guarded: RegistryServer, tmp_path: Path) -> None:
    acme = make_publisher(tmp_path, "Acme Labs")
    guarded.repository().add_publisher_key(acme.name, acme.public)
    project = make_project(tmp_path, "guarded-published")
    options = ("--repository-url", guarded.url, "--key", acme.key_path, "--username", "alice", "--password", "s3cret")
    result = run_symphony("ext", "publish", project, *options, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list((guarded.dir / "packages").glob("guarded_published-1.0.0-*.whl"))
