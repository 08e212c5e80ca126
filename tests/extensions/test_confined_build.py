"""The confinement every step of building an extension's environment runs under, tried with real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from symphony.host.extensions._confined import confined, readable_sources

PROBE = """
import sys
from pathlib import Path
for action, path in zip(sys.argv[1::2], sys.argv[2::2]):
    try:
        Path(path).write_text("x") if action == "write" else Path(path).read_text()
        print(action, path, "allowed")
    except OSError as error:
        print(action, path, "denied", type(error).__name__)
"""


def probe(tmp_path: Path, *attempts: str, readable: tuple[str, ...] = ()) -> list[str]:
    """What a confined step allowed of ``attempts`` (action, path pairs), writing only ``tmp_path/building``."""
    command = confined(
        [sys.executable, "-I", "-S", "-c", PROBE, *attempts],
        writable=[str(tmp_path / "building")],
        readable=readable,
        environ=os.environ,
        weaker_allowed=False,
    )
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_a_step_writes_its_environment_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "building").mkdir()
    inside, outside = tmp_path / "building" / "file", tmp_path / "outside"
    assert probe(tmp_path, "write", str(inside), "write", str(outside)) == [
        f"write {inside} allowed",
        f"write {outside} denied PermissionError",
    ]
    assert not outside.exists()


def test_a_step_reads_the_sources_it_is_pointed_at_and_no_other_file(tmp_path: Path) -> None:
    (tmp_path / "building").mkdir()
    (tmp_path / "wheels").mkdir()
    source, secret = tmp_path / "wheels" / "index.html", tmp_path / "id_rsa"
    source.write_text("wheels")
    secret.write_text("secret")
    assert probe(tmp_path, "read", str(source), "read", str(secret), readable=(str(tmp_path / "wheels"),)) == [
        f"read {source} allowed",
        f"read {secret} denied PermissionError",
    ]


def test_the_sources_are_the_absolute_paths_and_file_urls_pip_is_given() -> None:
    pip_args = ["--no-index", "--find-links", "/srv/wheels", "--find-links=/opt/more", "-i", "file:///srv/simple", "x"]
    environ = {"PIP_FIND_LINKS": "/a /b https://example.com", "PIP_CERT": "/etc/corp.pem", "HOME": "/root"}
    assert readable_sources(pip_args, environ) == (
        "/srv/wheels",
        "/opt/more",
        "/srv/simple",
        "/a",
        "/b",
        "/etc/corp.pem",
    )


def test_a_step_does_not_read_an_import_path_that_does_not_hold_its_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "building").mkdir()
    (tmp_path / "home").mkdir()
    secret = tmp_path / "home" / "id_rsa"
    secret.write_text("secret")
    monkeypatch.syspath_prepend(str(tmp_path / "home"))  # as PYTHONPATH=$HOME would
    assert probe(tmp_path, "read", str(secret)) == [f"read {secret} denied PermissionError"]
