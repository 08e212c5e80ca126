"""A new publisher, from ``symphony ext new`` to another user's verified install, against the real index server.

The publisher: ``ext new`` → ``ext keygen`` → the index's operator registers the key
(``registry publisher add``) → ``ext publish`` (validate, build, sign, upload with twine).
Another user, with their own data directory and a throwaway environment: ``registry use``
→ ``ext search`` → ``ext install --yes`` (verified against the publisher's key) → the
extension runs in its confined worker and reaches, through the host, the one host it declared.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import VERIFICATION_FILE
from tests.conftest import Symphony
from tests.registry.conftest import RegistryServer
from tests.registry.install_venv import ThrowawayVenv, make_venv

pytestmark = pytest.mark.slow

NAME = "e2e-hello-fetch"
PUBLISHER = "Hello Publishers"


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"$ {' '.join(map(str, result.args))}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


@dataclass(frozen=True)
class Published:
    project: Path
    public_key: str
    publish_output: str


@pytest.fixture(scope="module")
def published(registry_server: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """What a new publisher does, each step through the real command."""
    home = tmp_path_factory.mktemp("e2e-publisher")
    cli = Symphony(sites=(), home=home / "home")
    project = home / NAME
    ok(cli.run("ext", "new", NAME, str(project), "--runtime", "subprocess", "--publisher", PUBLISHER))
    keygen = ok(cli.run("ext", "keygen", str(home / "publisher-key.pem")))
    found = re.search(r"Public key \(id [^)]+\): (ed25519:\S+)", keygen)
    assert found, keygen
    ok(cli.run("registry", "publisher", "add", str(registry_server.dir), PUBLISHER, found[1]))  # the operator
    output = ok(
        cli.run(
            "ext",
            "publish",
            str(project),
            "--repository-url",
            registry_server.url,
            "--key",
            str(home / "publisher-key.pem"),
        )
    )
    return Published(project=project, public_key=found[1], publish_output=output)


@pytest.fixture(scope="module")
def user(
    registry_server: RegistryServer, published: Published, tmp_path_factory: pytest.TempPathFactory
) -> ThrowawayVenv:
    """Another user: their own environment and data directory, trusting the index's root."""
    venv = make_venv(tmp_path_factory.mktemp("e2e-user") / "venv")
    ok(venv.symphony("registry", "use", registry_server.url, "--root", str(registry_server.root)))
    return venv


@pytest.fixture(scope="module")
def installed(user: ThrowawayVenv) -> str:
    return ok(user.symphony("ext", "install", NAME, "--yes"))


@pytest.fixture
def url() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1, the host the generated extension declares."""

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_another_user_finds_the_published_extension_by_search(user: ThrowawayVenv) -> None:
    hits = json.loads(ok(user.symphony("ext", "search", "fetch", "--json")))
    (hit,) = [h for h in hits if h["name"] == NAME]
    assert (hit["version"], hit["publisher"], hit["signed"], hit["runtime"]) == ("0.1.0", PUBLISHER, True, "subprocess")
    assert hit["operators"] == ["fetch"]
    assert hit["capabilities"] == ["network:127.0.0.1"]


def test_the_install_is_verified_as_signed_by_the_registered_publisher(
    user: ThrowawayVenv, installed: str, published: Published
) -> None:
    assert f"signed by {PUBLISHER}, verified" in installed
    (dist_info,) = user.site_packages.glob("e2e_hello_fetch-0.1.0.dist-info")
    signature = json.loads((dist_info / VERIFICATION_FILE).read_text(encoding="utf-8"))
    assert signature["statement"]["publisher"] == PUBLISHER
    assert signature["key"] == published.public_key


def test_the_installed_extension_fetches_through_the_host_from_its_confined_worker(
    user: ThrowawayVenv, installed: str, url: str
) -> None:
    result = json.loads(ok(user.symphony("ext", "invoke", NAME, "fetch", "--input", f"url={url}", "--json")))
    assert result["result"] == {"status": 200, "body": "hello"}
