"""Reading a wheel without installing it: metadata, the manifest found through the entry point, clear refusals."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from symphony.registry.wheels import WheelError, read_wheel

from .wheels import make_extension_wheel


def _wheel(tmp_path: Path, **overrides: object) -> Path:
    options: dict[str, object] = {
        "distribution": "acme-echo",
        "version": "1.2.0",
        "extension": "acme-echo",
        "publisher": "Acme Labs",
        "requires_dist": ("httpx>=0.27",),
    }
    options.update(overrides)
    return make_extension_wheel(tmp_path, **options)  # type: ignore[arg-type]


def _without(wheel: Path, suffix: str) -> Path:
    """A copy of ``wheel`` (same file name, in a sibling directory) without the members ending in ``suffix``."""
    copy = wheel.parent / f"without-{suffix}" / wheel.name
    copy.parent.mkdir()
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            if not item.filename.endswith(suffix):
                target.writestr(item, source.read(item))
    return copy


def test_a_wheel_gives_its_name_version_and_requirements(tmp_path: Path) -> None:
    info = read_wheel(_wheel(tmp_path))
    assert (info.distribution, info.version) == ("acme-echo", "1.2.0")
    assert info.requires_python == ">=3.11"
    assert info.requires_dist == ("httpx>=0.27",)


def test_a_wheel_gives_its_digest_and_length(tmp_path: Path) -> None:
    path = _wheel(tmp_path)
    info = read_wheel(path)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.length == path.stat().st_size


def test_the_manifest_is_found_through_the_entry_point(tmp_path: Path) -> None:
    info = read_wheel(_wheel(tmp_path, capabilities={"network_access": ["example.org"]}))
    assert info.extension == "acme-echo"
    assert info.manifest is not None
    assert info.manifest["capabilities"] == {"network_access": ["example.org"]}
    assert info.manifest["resources"]["timeout"] == 5.0


def test_the_manifest_digest_covers_its_bytes_in_the_wheel(tmp_path: Path) -> None:
    path = _wheel(tmp_path)
    with zipfile.ZipFile(path) as archive:
        raw = archive.read("acme_echo/symphony-extension.toml")
    info = read_wheel(path)
    assert info.manifest_bytes == raw
    assert info.manifest_sha256 == hashlib.sha256(raw).hexdigest()


def test_the_publisher_is_the_manifests_publisher_else_its_author(tmp_path: Path) -> None:
    assert read_wheel(_wheel(tmp_path / "a")).publisher == "Acme Labs"
    assert read_wheel(_wheel(tmp_path / "b", publisher=None)).publisher == "Registry Tests"


def test_the_statement_describes_the_wheel(tmp_path: Path) -> None:
    info = read_wheel(_wheel(tmp_path))
    statement = info.statement()
    assert (statement.publisher, statement.filename, statement.sha256) == ("Acme Labs", info.filename, info.sha256)
    assert statement.manifest_sha256 == info.manifest_sha256


def test_a_library_without_an_extension_has_no_manifest(tmp_path: Path) -> None:
    info = read_wheel(_without(_wheel(tmp_path), "entry_points.txt"))
    assert (info.extension, info.manifest, info.publisher) == (None, None, None)


def test_a_file_that_is_not_a_zip_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "acme_echo-1.0.0-py3-none-any.whl"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(WheelError, match="not a valid zip archive"):
        read_wheel(path)


def test_a_name_that_is_not_a_wheel_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "acme.zip"
    path.write_bytes(b"")
    with pytest.raises(WheelError, match="not a wheel file name"):
        read_wheel(path)


def test_an_entry_point_without_a_manifest_is_refused(tmp_path: Path) -> None:
    broken = _without(_wheel(tmp_path), "symphony-extension.toml")
    with pytest.raises(WheelError, match=r"has no acme_echo/symphony-extension\.toml"):
        read_wheel(broken)


def test_a_manifest_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WheelError, match="not valid TOML"):
        read_wheel(_wheel(tmp_path, manifest="[extension\nname ="))


def test_metadata_that_disagrees_with_the_file_name_is_refused(tmp_path: Path) -> None:
    path = _wheel(tmp_path)
    renamed = path.with_name("acme_echo-9.9.9-py3-none-any.whl")
    path.rename(renamed)
    with pytest.raises(WheelError, match="the file name says"):
        read_wheel(renamed)


def test_a_huge_manifest_is_not_read_whole(tmp_path: Path) -> None:
    with pytest.raises(WheelError, match="at most"):
        read_wheel(_wheel(tmp_path, manifest="# " + "x" * (2 * 1024 * 1024)))
