"""One installed extension that cannot be read never stops the listing, the host or the other extensions.

``tests/distributions/ext-broken`` declares one entry point per way of being
broken (and two manifests inside namespace packages, which are fine); it is
installed with the sample operator into a site of this module, where two of its
manifests are then replaced by what no wheel can ship: a huge file and a FIFO.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from symphony.host.extensions import _index
from symphony.host.extensions._index import MAX_MANIFEST_BYTES

if TYPE_CHECKING:
    from tests.conftest import Installer, Symphony

pytestmark = pytest.mark.slow

BROKEN = (
    "ext-broken-big-integer",
    "ext-broken-deep",
    "ext-broken-fifo",
    "ext-broken-huge",
    "ext-broken-manifest-dir",
    "ext-broken-missing",
    "ext-broken-non-utf8",
)
NAMESPACED = ("ext-broken-namespace", "ext-broken-ns-inner")


@pytest.fixture(scope="module")
def broken_site(installer: Installer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = installer.install(tmp_path_factory.mktemp("broken-site"), "sample-operator", "ext-broken")
    package = site / "ext_broken_pkg"
    os.truncate(package / "huge" / "symphony-extension.toml", 64 * MAX_MANIFEST_BYTES)  # sparse: no disk used
    fifo = package / "fifo" / "symphony-extension.toml"
    fifo.unlink()
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    return site


@pytest.fixture
def ext(broken_site: Path, symphony: Callable[..., Symphony]) -> Symphony:
    return symphony(broken_site)


def listed(ext: Symphony) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in ext.json("ext", "list")}


def test_the_listing_shows_every_extension_and_the_good_ones_are_ok(ext: Symphony) -> None:
    listing = listed(ext)
    assert sorted(listing) == sorted(("sample-operator", *BROKEN, *NAMESPACED))
    assert listing["sample-operator"]["status"] == "ok"
    assert all(listing[name]["status"] != "ok" and listing[name]["problems"] for name in BROKEN)


@pytest.mark.parametrize("name", NAMESPACED)
def test_a_manifest_inside_a_namespace_package_is_found(ext: Symphony, name: str) -> None:
    entry = listed(ext)[name]
    assert (entry["status"], entry["problems"]) == ("ok", [])
    assert entry["manifest_path"].endswith(f"{entry['package'].replace('.', '/')}/symphony-extension.toml")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("ext-broken-manifest-dir", "manifest: expected symphony-extension.toml inside package"),
        ("ext-broken-fifo", "manifest: expected symphony-extension.toml inside package"),
        ("ext-broken-missing", "manifest: expected symphony-extension.toml inside package"),
        ("ext-broken-non-utf8", "manifest: expected UTF-8 text, found undecodable bytes"),
        ("ext-broken-huge", f"manifest: expected a manifest of at most 1024 KiB, found {64 * 1024 * 1024} bytes"),
    ],
    ids=["manifest-is-a-directory", "manifest-is-a-fifo", "missing-module", "non-utf8", "huge"],
)
def test_a_manifest_that_cannot_be_read_makes_its_extension_invalid(ext: Symphony, name: str, problem: str) -> None:
    entry = listed(ext)[name]
    assert entry["status"] == "invalid"
    assert entry["problems"][0].startswith(problem), entry["problems"]


def test_an_unforeseen_failure_makes_only_its_extension_broken_with_the_reason(
    broken_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the manifest reader meets that no check foresaw (injected here: none is left to find)."""
    monkeypatch.syspath_prepend(str(broken_site))
    check = _index.check_manifest  # type: ignore[attr-defined]

    def failing(path: Path, **options: Any) -> Any:
        if "big_integer" in str(path):
            raise RuntimeError("the reader met what nobody foresaw")
        return check(path, **options)

    monkeypatch.setattr(_index, "check_manifest", failing)
    listing = _index.list_extensions(None, use_cache=False)
    entry = listing.get("ext-broken-big-integer")
    assert entry is not None and entry.status == "broken"
    (problem,) = entry.problems
    assert problem.found == "RuntimeError: the reader met what nobody foresaw"
    assert problem.fix == (
        "Reinstall symphony-test-ext-broken, or report this to its author; the other extensions are not affected."
    )
    assert getattr(listing.get("sample-operator"), "status", None) == "ok"


def test_an_integer_too_long_to_convert_is_a_toml_problem_of_its_manifest(ext: Symphony) -> None:
    entry = listed(ext)["ext-broken-big-integer"]  # 5,000 digits: tomllib let int()'s ValueError escape
    assert entry["status"] == "invalid"
    assert entry["problems"][0].startswith("manifest: expected valid TOML, found an integer has more than 4300 digits")


def test_the_table_lists_each_problem_and_exits_0(ext: Symphony) -> None:
    result = ext.run("ext", "list", env={"COLUMNS": "300"})  # so that the table does not wrap its cells
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "invalid (1 problem(s))" in result.stdout
    for name in BROKEN:
        assert f"{name}: manifest: expected" in result.stdout


def test_a_good_extension_is_still_shown_and_a_broken_one_explained(ext: Symphony) -> None:
    assert ext.json("ext", "show", "sample-operator")["status"] == "ok"
    details = ext.json("ext", "show", "ext-broken-big-integer")
    assert details["status"] == "invalid"
    assert "an integer has more than 4300 digits" in details["problems"][0]


@pytest.mark.parametrize("unreadable", ["entry_points.txt", "METADATA"])
def test_a_distribution_whose_metadata_is_not_utf8_is_skipped_with_a_warning(
    broken_site: Path, symphony: Callable[..., Symphony], tmp_path: Path, unreadable: str
) -> None:
    """What a hostile wheel can install: its dist-info's files are not text; discovery of the others goes on."""
    dist_info = tmp_path / "site" / "symphony_test_garbled-1.0.dist-info"
    dist_info.mkdir(parents=True)
    files = {
        "METADATA": b"Metadata-Version: 2.1\nName: symphony-test-garbled\nVersion: 1.0\n",
        "entry_points.txt": b"[symphony.extensions]\next-garbled = ext_garbled\n",
        "RECORD": b"",
    }
    files[unreadable] = files[unreadable].replace(b"garbled", b"garbl\xe9d")
    for name, data in files.items():
        (dist_info / name).write_bytes(data)
    result = symphony(tmp_path / "site", broken_site).run("ext", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert f"WARNING: skipped {dist_info}: its metadata cannot be read (UnicodeDecodeError: " in result.stderr
    assert {item["name"]: item["status"] for item in json.loads(result.stdout)}["sample-operator"] == "ok"


def test_an_extension_whose_manifest_cannot_be_read_is_never_invoked(ext: Symphony) -> None:
    result = ext.run("ext", "invoke", "ext-broken-big-integer", "run")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "Extension 'ext-broken-big-integer' has an invalid manifest" in result.stderr
