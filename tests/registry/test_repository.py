"""The TUF repository on its own: batches sign each bin once, every write leaves a complete view, renewal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from symphony.hookspecs import RegistryError
from symphony.registry.records import PACKAGES_PREFIX, ReleaseMetadata
from symphony.registry.server.repository import BINS, Repository


def _releases(count: int) -> list[tuple[Path | None, ReleaseMetadata, str, int]]:
    return [
        (
            None,
            ReleaseMetadata(
                distribution=f"gen-{index}",
                version="1.0.0",
                filename=f"gen_{index}-1.0.0-py3-none-any.whl",
                uploaded_at=1.0,
                extension=f"gen-{index}",
                manifest={"resources": {"timeout": 5.0}},
                manifest_sha256="ab" * 32,
            ),
            f"{index:064x}",
            100 + index,
        )
        for index in range(count)
    ]


def _signed(repository: Repository, name: str) -> dict[str, object]:
    document: dict[str, object] = json.loads((repository.metadata / name).read_text())["signed"]
    return document


def _snapshot_meta(repository: Repository) -> dict[str, dict[str, int]]:
    timestamp = _signed(repository, "timestamp.json")
    version = timestamp["meta"]["snapshot.json"]["version"]  # type: ignore[index]
    meta: dict[str, dict[str, int]] = _signed(repository, f"{version}.snapshot.json")["meta"]  # type: ignore[assignment]
    return meta


def test_a_batch_signs_each_touched_bin_once(tmp_path: Path) -> None:
    repository = Repository.create(tmp_path / "index")
    assert repository.add_releases(_releases(300)) == 300
    meta = _snapshot_meta(repository)
    assert {meta[f"{name}.json"]["version"] for name in BINS.get_roles()} == {2}


def test_a_batch_puts_each_release_in_its_bin(tmp_path: Path) -> None:
    repository = Repository.create(tmp_path / "index")
    repository.add_releases(_releases(20))
    meta = _snapshot_meta(repository)
    path = PACKAGES_PREFIX + "gen_7-1.0.0-py3-none-any.whl"
    role = BINS.get_role_for_target(path)
    targets = _signed(repository, f"{meta[f'{role}.json']['version']}.{role}.json")["targets"]
    assert targets[path]["hashes"] == {"sha256": f"{7:064x}"}  # type: ignore[index]


def test_every_file_the_timestamp_leads_to_exists(tmp_path: Path) -> None:
    repository = Repository.create(tmp_path / "index")
    for _ in range(3):
        repository.add_releases(_releases(5))
    for name, entry in _snapshot_meta(repository).items():
        assert (repository.metadata / f"{entry['version']}.{name}").is_file()


def test_the_previous_version_is_kept_and_older_ones_are_deleted(tmp_path: Path) -> None:
    repository = Repository.create(tmp_path / "index")
    for _ in range(3):
        repository.add_releases(_releases(1))
    role = BINS.get_role_for_target(PACKAGES_PREFIX + "gen_0-1.0.0-py3-none-any.whl")
    assert sorted(path.name for path in repository.metadata.glob(f"*.{role}.json")) == [
        f"3.{role}.json",
        f"4.{role}.json",
    ]


def test_renew_re_signs_nothing_that_is_fresh(tmp_path: Path) -> None:
    repository = Repository.create(tmp_path / "index")
    assert repository.renew() == []


def test_renew_re_signs_a_timestamp_past_half_its_life(tmp_path: Path) -> None:
    repository = Repository.create(tmp_path / "index")
    before = _signed(repository, "timestamp.json")["version"]
    assert "timestamp" in repository.renew(now=datetime.now(UTC) + timedelta(hours=13))
    assert _signed(repository, "timestamp.json")["version"] == before + 1  # type: ignore[operator]


def test_a_shorter_timestamp_expiry_takes_effect_at_once(tmp_path: Path) -> None:
    Repository.create(tmp_path / "index")
    repository = Repository.open(tmp_path / "index", timestamp_expiry=timedelta(seconds=30))
    assert "timestamp" in repository.renew()


def test_create_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(RegistryError, match="is not empty"):
        Repository.create(tmp_path)


def test_open_says_how_to_create_a_registry(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="symphony registry init"):
        Repository.open(tmp_path)


def test_rotating_an_unknown_role_names_the_roles(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="the roles are root, targets, snapshot, timestamp, bins"):
        Repository.create(tmp_path / "index").rotate("mirror")
