"""The catalogue database on its own: what a sync writes, what search and releases answer (real SQLite + FTS5)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from symphony.hookspecs import RegistryError
from symphony.registry.client._catalogue import Catalogue, VerifiedRelease, open_catalogue
from symphony.registry.records import PublisherDirectory, PublisherRecord, ReleaseMetadata


def _release(
    name: str,
    version: str = "1.0.0",
    *,
    description: str = "Echoes its input.",
    api: str = "^1.0",
    kind: str = "instruments",
    node: str = "echo",
    capabilities: dict[str, Any] | None = None,
    yanked: bool = False,
    requires_python: str | None = None,
    distribution: str | None = None,
    publisher: str = "Acme Labs",
) -> VerifiedRelease:
    manifest = {
        "schema_version": 1,
        "extension": {
            "name": name,
            "version": version,
            "type": "instrument" if kind == "instruments" else "operator",
            "author": "Someone",
            "publisher": publisher,
            "description": description,
        },
        "runtime": {"kind": "subprocess", "entry": "m.handler:handle"},
        "capabilities": capabilities or {},
        "dependencies": {"symphony": api},
        "resources": {"timeout": 5.0},
        "contributes": {kind: [{"name": node, "description": "Does it.", "inputs": {"text": {"type": "string"}}}]},
    }
    dist = distribution or name
    filename = f"{dist.replace('-', '_')}-{version}-py3-none-any.whl"
    return VerifiedRelease(
        target_path=f"packages/{filename}",
        sha256="0" * 64,
        length=100,
        metadata=ReleaseMetadata(
            distribution=dist,
            version=version,
            filename=filename,
            uploaded_at=1.0,
            extension=name,
            manifest=manifest,
            requires_python=requires_python,
            yanked=yanked,
            yanked_reason="broken build" if yanked else None,
        ),
    )


@pytest.fixture
def catalogue(tmp_path: Path) -> Iterator[Catalogue]:
    opened = open_catalogue(tmp_path / "catalogue.db")
    yield opened
    opened.close()


def _fill(catalogue: Catalogue, bins: dict[str, list[VerifiedRelease]], version: int = 1) -> tuple[int, int]:
    return catalogue.apply(bins=dict.fromkeys(bins, version), changed=bins, publishers=None, snapshot_version=version)


def _names(hits: list[Any]) -> list[str]:
    return [hit.name for hit in hits]


def test_search_matches_a_word_of_the_name_as_a_prefix(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("weather-station"), _release("notes")]})
    assert _names(catalogue.search("weath")) == ["weather-station"]


def test_search_matches_the_description(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha", description="Reads barometric pressure"), _release("beta")]})
    assert _names(catalogue.search("barometric")) == ["alpha"]


def test_search_matches_a_contributed_node_and_its_ports(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha", node="summarize"), _release("beta")]})
    assert _names(catalogue.search("summarize")) == ["alpha"]
    assert sorted(_names(catalogue.search("text"))) == ["alpha", "beta"]  # both take a port named text


def test_search_matches_a_declared_capability(catalogue: Catalogue) -> None:
    _fill(
        catalogue,
        {"bins-00": [_release("alpha", capabilities={"network_access": ["api.weather.example"]}), _release("beta")]},
    )
    assert _names(catalogue.search("api.weather.example")) == ["alpha"]


def test_search_needs_every_word(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("weather-station"), _release("weather-maps", description="Draws maps")]})
    assert _names(catalogue.search("weather draws")) == ["weather-maps"]


def test_search_treats_fts_syntax_as_plain_words(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha")]})
    assert _names(catalogue.search('alpha OR "beta* NEAR(')) == []
    assert _names(catalogue.search('"alpha"')) == ["alpha"]


def test_search_ranks_a_name_match_above_a_description_match(catalogue: Catalogue) -> None:
    _fill(
        catalogue,
        {"bins-00": [_release("other", description="Works well with maps"), _release("maps", description="Maps")]},
    )
    assert _names(catalogue.search("maps")) == ["maps", "other"]


def test_search_filters_by_contribution_type(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha", kind="operators"), _release("beta", kind="instruments")]})
    assert _names(catalogue.search("", contributes="operator")) == ["alpha"]
    assert _names(catalogue.search("", contributes="instrument")) == ["beta"]


def test_capability_filter_takes_an_exact_permission_or_its_kind(catalogue: Catalogue) -> None:
    _fill(
        catalogue,
        {
            "bins-00": [
                _release("alpha", capabilities={"network_access": ["api.example.com"]}),
                _release("beta", capabilities={"file_access": ["read:workspace"]}),
            ]
        },
    )
    assert _names(catalogue.search("", capabilities=["network:api.example.com"])) == ["alpha"]
    assert _names(catalogue.search("", capabilities=["network"])) == ["alpha"]
    assert _names(catalogue.search("", capabilities=["file:read"])) == ["beta"]
    assert _names(catalogue.search("", capabilities=["network:api"])) == []


def test_declared_capabilities_are_shown_as_permission_texts(catalogue: Catalogue) -> None:
    capabilities = {"network_access": ["api.example.com"], "file_access": ["write:~/notes/**"], "system_access": []}
    _fill(catalogue, {"bins-00": [_release("alpha", capabilities=capabilities)]})
    (hit,) = catalogue.search("alpha")
    assert hit.capabilities == ("file:write:~/notes/**", "network:api.example.com")


def test_a_hit_shows_the_newest_installable_release_and_every_version_not_yanked(catalogue: Catalogue) -> None:
    _fill(
        catalogue,
        {
            "bins-00": [_release("alpha", "1.0.0"), _release("alpha", "3.0.0", api="^2.0")],
            "bins-01": [_release("alpha", "2.0.0"), _release("alpha", "2.1.0", yanked=True)],
        },
    )
    (hit,) = catalogue.search("alpha")
    assert (hit.version, hit.compatible, hit.yanked) == ("2.0.0", True, False)
    assert hit.versions == ("3.0.0", "2.0.0", "1.0.0")


def test_releases_are_newest_first_by_version_not_text(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha", "1.9.0"), _release("alpha", "1.10.0"), _release("alpha", "1.2.0")]})
    assert [r.metadata.version for r in catalogue.releases("alpha")] == ["1.10.0", "1.9.0", "1.2.0"]


def test_a_release_needing_another_symphony_api_says_why(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha", "2.0.0", api="^2.0")]})
    (release,) = catalogue.releases("alpha")
    assert not release.compatible
    assert release.incompatible_reason == "needs Symphony API ^2.0; this host has 1.0"


def test_a_release_needing_another_python_says_why(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha", requires_python=">=4")]})
    (release,) = catalogue.releases("alpha")
    assert release.incompatible_reason is not None and release.incompatible_reason.startswith("needs Python >=4;")


def test_releases_are_found_by_distribution_name_too(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha", distribution="Acme_Alpha")]})
    assert [r.metadata.extension for r in catalogue.releases("acme-alpha")] == ["alpha"]


def test_a_changed_bin_replaces_only_its_own_releases(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha")], "bins-01": [_release("beta")]})
    added, removed = catalogue.apply(
        bins={"bins-00": 1, "bins-01": 2},
        changed={"bins-01": [_release("gamma")]},
        publishers=None,
        snapshot_version=2,
    )
    assert (added, removed) == (1, 1)
    assert sorted(_names(catalogue.search(""))) == ["alpha", "gamma"]
    assert catalogue.bin_versions() == {"bins-00": 1, "bins-01": 2}


def test_a_re_signed_bin_rewrites_only_the_releases_that_differ(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha"), _release("beta")]})
    added = catalogue.apply(
        bins={"bins-00": 2},
        changed={"bins-00": [_release("alpha"), _release("beta"), _release("gamma")]},
        publishers=None,
        snapshot_version=2,
    )
    yanked = catalogue.apply(
        bins={"bins-00": 3},
        changed={"bins-00": [_release("alpha"), _release("beta", yanked=True), _release("gamma")]},
        publishers=None,
        snapshot_version=3,
    )
    assert (added, yanked) == ((1, 0), (1, 1))
    assert catalogue.releases("beta")[0].metadata.yanked


def test_a_bin_no_longer_in_the_snapshot_is_dropped(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha")], "bins-01": [_release("beta")]})
    catalogue.apply(bins={"bins-00": 1}, changed={}, publishers=None, snapshot_version=2)
    assert _names(catalogue.search("")) == ["alpha"]
    assert catalogue.bin_versions() == {"bins-00": 1}


def test_a_failed_sync_leaves_the_previous_catalogue_whole(catalogue: Catalogue) -> None:
    _fill(catalogue, {"bins-00": [_release("alpha")]})
    duplicate = _release("beta")
    with pytest.raises(sqlite3.IntegrityError):
        catalogue.apply(
            bins={"bins-00": 2}, changed={"bins-00": [duplicate, duplicate]}, publishers=None, snapshot_version=2
        )
    assert _names(catalogue.search("")) == ["alpha"]
    assert catalogue.bin_versions() == {"bins-00": 1}
    assert catalogue.state().snapshot_version == 1


def test_the_publisher_directory_is_kept_with_the_sync(catalogue: Catalogue) -> None:
    directory = PublisherDirectory(publishers={"Acme Labs": PublisherRecord(keys=("ed25519:AAAA",))})
    catalogue.apply(bins={}, changed={}, publishers=directory, snapshot_version=1)
    assert catalogue.publishers() == directory


def test_a_catalogue_built_for_another_host_is_rechecked_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.db"
    first = open_catalogue(path)
    _fill(first, {"bins-00": [_release("alpha")]})
    first.close()
    with sqlite3.connect(path) as db:  # as another host version would have left it
        db.execute("UPDATE releases SET incompatible_reason = 'needs Symphony API ^9.0; this host has 9.0'")
        db.execute("UPDATE meta SET value = 'api 9.0; python 3.99' WHERE key = 'host'")
    reopened = open_catalogue(path)
    (release,) = reopened.releases("alpha")
    assert release.compatible
    assert reopened.search("alpha")[0].compatible
    reopened.close()


def test_a_catalogue_of_another_schema_is_rebuilt_empty(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.db"
    first = open_catalogue(path)
    _fill(first, {"bins-00": [_release("alpha")]})
    first.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    rebuilt = open_catalogue(path)
    assert rebuilt.state().releases == 0 and rebuilt.bin_versions() == {}
    assert rebuilt.search("alpha") == []
    rebuilt.close()


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.db"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(RegistryError, match="Delete it and run `symphony registry sync`"):
        open_catalogue(path)
