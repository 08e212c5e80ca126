"""Which port type may feed which: ``json`` is wide on the way in and narrow on the way out."""

from __future__ import annotations

import pytest

from symphony.builtin_plugins.workflow.types import compatible


@pytest.mark.parametrize("source", ["string", "number", "integer", "boolean", "object", "json", "list[string]"])
def test_every_json_type_feeds_a_json_input(source: str) -> None:
    assert compatible(source, "json")


@pytest.mark.parametrize("target", ["string", "number", "integer", "boolean", "object", "list[string]"])
def test_a_json_output_feeds_no_narrower_input(target: str) -> None:
    assert not compatible("json", target)


@pytest.mark.parametrize("target", ["json", "any"])
def test_a_json_output_feeds_json_and_any(target: str) -> None:
    assert compatible("json", target)


def test_a_list_of_json_does_not_feed_a_list_of_strings() -> None:
    assert not compatible("list[json]", "list[string]")
    assert compatible("list[string]", "list[json]")


def test_bytes_and_unknown_types_are_not_json() -> None:
    assert not compatible("bytes", "json")
    assert not compatible("vector", "json")
    assert compatible("vector", "vector")
