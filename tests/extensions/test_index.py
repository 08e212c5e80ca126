"""The manifest index: a second listing parses nothing unchanged; changes and removals are seen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from symphony.host.extensions import clear, find_extension, list_extensions

from .helpers import manifest_text, write_extension


def touch_later(path: Path) -> None:
    """Move ``path``'s mtime forward, as a later write would (filesystem clocks can be coarse)."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def populate(site: Path, count: int) -> None:
    for number in range(count):
        write_extension(site, f"ext-{number}")
    touch_later(site)


def test_listing_reads_every_installed_manifest(site: Path, tmp_path: Path) -> None:
    populate(site, 3)
    listing = list_extensions(tmp_path / "cache")
    assert sorted(e.name for e in listing.extensions) == ["ext-0", "ext-1", "ext-2"]
    assert all(e.status == "ok" for e in listing.extensions)
    assert listing.parsed == 3


def test_second_listing_parses_no_unchanged_manifest(site: Path, tmp_path: Path) -> None:
    populate(site, 5)
    first = list_extensions(tmp_path / "cache")
    second = list_extensions(tmp_path / "cache")
    assert (second.parsed, second.reused) == (0, 5)
    assert second.extensions == first.extensions


def test_changed_manifest_is_parsed_again_alone(site: Path, tmp_path: Path) -> None:
    populate(site, 3)
    list_extensions(tmp_path / "cache")
    manifest = site / "ext_1" / "symphony-extension.toml"
    manifest.write_text(manifest_text("ext-1", "ext_1").replace('version = "1.2.3"', 'version = "2.0.0"'))
    touch_later(manifest)
    listing = list_extensions(tmp_path / "cache")
    assert (listing.parsed, listing.reused) == (1, 2)
    changed = listing.get("ext-1")
    assert changed is not None and changed.manifest is not None
    assert changed.manifest.extension.version == "2.0.0"


def test_reinstalled_distribution_is_read_again(site: Path, tmp_path: Path) -> None:
    populate(site, 2)
    list_extensions(tmp_path / "cache")
    record = next(site.glob("ext_0-*.dist-info")) / "RECORD"
    record.write_text(record.read_text() + "ext_0/extra.py,,\n")
    touch_later(record)
    assert list_extensions(tmp_path / "cache").parsed == 1


def test_removed_distribution_is_dropped(site: Path, tmp_path: Path) -> None:
    populate(site, 3)
    list_extensions(tmp_path / "cache")
    shutil.rmtree(site / "ext_2")
    shutil.rmtree(next(site.glob("ext_2-*.dist-info")))
    touch_later(site)
    listing = list_extensions(tmp_path / "cache")
    assert sorted(e.name for e in listing.extensions) == ["ext-0", "ext-1"]
    assert listing.parsed == 0


def test_added_distribution_is_the_only_one_parsed(site: Path, tmp_path: Path) -> None:
    populate(site, 2)
    list_extensions(tmp_path / "cache")
    write_extension(site, "ext-new")
    touch_later(site)
    listing = list_extensions(tmp_path / "cache")
    assert (listing.parsed, listing.reused) == (1, 2)


def test_without_the_cache_every_manifest_is_parsed_and_nothing_is_written(site: Path, tmp_path: Path) -> None:
    populate(site, 2)
    list_extensions(tmp_path / "cache", use_cache=False)
    assert list_extensions(tmp_path / "cache", use_cache=False).parsed == 2
    assert not (tmp_path / "cache").exists()


def test_clear_deletes_the_index_so_the_next_listing_parses_again(site: Path, tmp_path: Path) -> None:
    populate(site, 2)
    list_extensions(tmp_path / "cache")
    assert clear(tmp_path / "cache") == 1
    assert list_extensions(tmp_path / "cache").parsed == 2


def test_corrupt_index_file_is_rebuilt(site: Path, tmp_path: Path) -> None:
    populate(site, 2)
    list_extensions(tmp_path / "cache")
    for path in (tmp_path / "cache").glob("extensions-*.msgpack"):
        path.write_bytes(b"\x00garbage")
    assert list_extensions(tmp_path / "cache").parsed == 2
    assert list_extensions(tmp_path / "cache").parsed == 0


def test_invalid_manifest_is_listed_with_its_problems_and_cached_too(site: Path, tmp_path: Path) -> None:
    write_extension(site, "bad-ext", manifest_text("bad-ext", "bad_ext").replace('"512MiB"', '"huge"'))
    touch_later(site)
    entry = list_extensions(tmp_path / "cache").get("bad-ext")
    assert entry is not None
    assert entry.status == "invalid"
    assert [p.path for p in entry.problems] == ["resources.memory_limit"]
    assert list_extensions(tmp_path / "cache").parsed == 0


def test_entry_point_name_must_match_the_manifest_name(site: Path, tmp_path: Path) -> None:
    write_extension(site, "alias-ext", manifest_text("real-name", "alias_ext"))
    touch_later(site)
    entry = list_extensions(tmp_path / "cache").get("alias-ext")
    assert entry is not None and entry.status == "invalid"
    assert str(entry.problems[0]) == (
        "extension.name: expected 'alias-ext', the entry-point name in alias-ext, found 'real-name'."
        " Make the entry-point name and [extension] name the same."
    )


def test_second_distribution_with_a_taken_name_is_reported(site: Path, tmp_path: Path) -> None:
    write_extension(site, "twin-ext")
    other = site / "other"
    other.mkdir()
    package = write_extension(other, "twin-ext")
    info = next(other.glob("twin_ext-*.dist-info"))
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: twin-copy\nVersion: 1.0\n")
    shutil.move(str(package), site / "twin_copy_pkg")
    shutil.move(str(info), site / "twin_copy-1.0.dist-info")
    (site / "twin_copy-1.0.dist-info" / "entry_points.txt").write_text(
        "[symphony.extensions]\ntwin-ext = twin_copy_pkg\n"
    )
    touch_later(site)
    entries = [e for e in list_extensions(tmp_path / "cache").extensions if e.name == "twin-ext"]
    assert len(entries) == 2
    assert sorted(e.status for e in entries) == ["invalid", "ok"]
    loser = next(e for e in entries if e.status == "invalid")
    assert "already provided by" in str(loser.problems[-1])


def test_package_without_manifest_is_reported_and_adding_the_manifest_is_seen(site: Path, tmp_path: Path) -> None:
    package = write_extension(site, "late-ext")
    (package / "symphony-extension.toml").unlink()
    touch_later(site)
    entry = list_extensions(tmp_path / "cache").get("late-ext")
    assert entry is not None and entry.status == "invalid"
    assert str(entry.problems[0]).startswith("manifest: expected symphony-extension.toml inside package 'late_ext'")
    assert list_extensions(tmp_path / "cache").parsed == 0
    (package / "symphony-extension.toml").write_text(manifest_text("late-ext", "late_ext"))
    listing = list_extensions(tmp_path / "cache")
    assert listing.parsed == 1
    assert listing.get("late-ext").status == "ok"  # type: ignore[union-attr]


def test_entry_point_value_that_is_not_a_package_name_is_reported(site: Path, tmp_path: Path) -> None:
    write_extension(site, "odd-ext")
    info = next(site.glob("odd_ext-*.dist-info"))
    (info / "entry_points.txt").write_text("[symphony.extensions]\nodd-ext = odd_ext:manifest.toml\n")
    touch_later(site)
    entry = list_extensions(tmp_path / "cache").get("odd-ext")
    assert entry is not None
    assert str(entry.problems[0]) == (
        "manifest: expected an entry point odd-ext = '<package>' naming the package that holds"
        " symphony-extension.toml, found 'odd_ext:manifest.toml'."
        ' Fix [project.entry-points."symphony.extensions"] in odd-ext\'s pyproject.toml.'
    )


def corrupt_keeping_stamps(path: Path) -> None:
    """Overwrite ``path`` with same-size garbage and restore its mtime: only a parse would notice."""
    info = path.stat()
    path.write_bytes(b"=" * info.st_size)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_unchanged_stamps_mean_the_manifest_file_is_not_read_at_all(site: Path, tmp_path: Path) -> None:
    populate(site, 2)
    list_extensions(tmp_path / "cache")
    corrupt_keeping_stamps(site / "ext_0" / "symphony-extension.toml")
    assert list_extensions(tmp_path / "cache").get("ext-0").status == "ok"  # type: ignore[union-attr]


def test_find_extension_reuses_the_index_for_one_extension(site: Path, tmp_path: Path) -> None:
    populate(site, 3)
    listed = list_extensions(tmp_path / "cache").get("ext-2")
    corrupt_keeping_stamps(site / "ext_2" / "symphony-extension.toml")
    assert find_extension(tmp_path / "cache", "ext-2") == listed


def test_find_extension_reads_a_changed_manifest(site: Path, tmp_path: Path) -> None:
    populate(site, 2)
    list_extensions(tmp_path / "cache")
    manifest = site / "ext_1" / "symphony-extension.toml"
    manifest.write_text(manifest_text("ext-1", "ext_1").replace('version = "1.2.3"', 'version = "3.0.0"'))
    touch_later(manifest)
    found = find_extension(tmp_path / "cache", "ext-1")
    assert found is not None and found.manifest is not None
    assert found.manifest.extension.version == "3.0.0"


def test_find_extension_of_an_unknown_name_is_none(site: Path, tmp_path: Path) -> None:
    populate(site, 1)
    assert find_extension(tmp_path / "cache", "nope") is None
