"""``symphony ext keygen`` and ``symphony ext publish`` against the real index: validate, build, sign, upload."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from .conftest import Publisher, RegistryServer, make_publisher, run_symphony
from .tuf_client import release, updater
from .wheels import manifest_text

_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "{distribution}"
version = "{version}"
requires-python = ">=3.11"

[project.entry-points."symphony.extensions"]
{extension} = "{module}"

[tool.hatch.build.targets.wheel]
packages = ["src/{module}"]
"""


def make_project(
    directory: Path, distribution: str, *, publisher: str = "Acme Labs", manifest: str | None = None
) -> Path:
    """A buildable extension project (hatchling) named ``distribution`` under ``directory``."""
    module = distribution.replace("-", "_")
    package = directory / distribution / "src" / module
    package.mkdir(parents=True)
    (directory / distribution / "pyproject.toml").write_text(
        _PYPROJECT.format(distribution=distribution, version="1.0.0", extension=distribution, module=module)
    )
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def handle(operation, input):\n    return {'echo': input.get('text', '')}\n")
    text = manifest or manifest_text(extension=distribution, version="1.0.0", publisher=publisher, module=module)
    (package / "symphony-extension.toml").write_text(text)
    return directory / distribution


def _publish(server: RegistryServer, project: Path, key: Path) -> tuple[int, str]:
    result = run_symphony("ext", "publish", project, "--repository-url", server.url, "--key", key, check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.slow
def test_publish_uploads_a_signed_release(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    code, output = _publish(registry_server, make_project(tmp_path, "acme-published"), publisher.key_path)
    assert code == 0, output
    assert "Building without isolation" in output
    metadata = release(
        updater(registry_server.url, registry_server.root, tmp_path / "c"), "acme_published-1.0.0-py3-none-any.whl"
    )
    assert metadata is not None and metadata.signature is not None
    assert metadata.signature.key == publisher.public


@pytest.mark.slow
def test_publish_refuses_a_project_that_does_not_validate_and_uploads_nothing(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    project = make_project(tmp_path, "acme-invalid", manifest='schema_version = 1\n[extension]\nname = "Not A Name"\n')
    code, output = _publish(registry_server, project, publisher.key_path)
    assert code == 1
    assert "does not validate" in output
    assert not list((registry_server.dir / "packages").glob("acme_invalid-*"))


@pytest.mark.slow
def test_publish_with_a_key_the_index_does_not_know_uploads_nothing(
    registry_server: RegistryServer, publisher: Publisher, tmp_path: Path
) -> None:
    stranger = make_publisher(tmp_path, "stranger")
    code, output = _publish(registry_server, make_project(tmp_path, "acme-stranger"), stranger.key_path)
    assert code == 1
    assert "is not a key of publisher 'Acme Labs'" in output
    assert not list((registry_server.dir / "packages").glob("acme_stranger-*"))


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    result = run_symphony("ext", "keygen", tmp_path / "me.pem")
    assert "ed25519:" in result.stdout
    assert stat.S_IMODE((tmp_path / "me.pem").stat().st_mode) == 0o600


def test_keygen_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    (tmp_path / "me.pem").write_text("precious")
    result = run_symphony("ext", "keygen", tmp_path / "me.pem", check=False)
    assert result.returncode == 1
    assert "never overwritten" in result.stderr
    assert (tmp_path / "me.pem").read_text() == "precious"


@pytest.mark.slow
def test_publish_to_an_index_that_does_not_answer_says_so_and_uploads_nothing(
    publisher: Publisher, tmp_path: Path
) -> None:
    project = make_project(tmp_path, "acme-unreachable")
    result = run_symphony(
        "ext", "publish", project, "--repository-url", "http://127.0.0.1:9/", "--key", publisher.key_path, check=False
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Cannot reach the index at http://127.0.0.1:9/: [Errno 111] Connection refused." in result.stderr


def test_publish_refuses_a_repository_url_that_is_not_http_before_building(
    publisher: Publisher, tmp_path: Path
) -> None:
    project = make_project(tmp_path, "acme-ftp")
    result = run_symphony(
        "ext", "publish", project, "--repository-url", "ftp://x/", "--key", publisher.key_path, check=False
    )
    assert result.returncode == 2
    assert "'ftp://x/' is not an http(s) URL" in result.stderr
    assert not (project / "dist").exists() and "Building" not in result.stdout


def test_keygen_where_no_file_can_be_written_says_so_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("mine")
    result = run_symphony("ext", "keygen", tmp_path / "a-file" / "key.pem", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"Cannot write a key to {tmp_path / 'a-file' / 'key.pem'}:" in result.stderr
