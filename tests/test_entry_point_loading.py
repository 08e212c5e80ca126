"""The host loads an entry point's object as importlib.metadata's ``EntryPoint.load`` does, without importing it."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from symphony.host._plugins import load_entry_point


@pytest.mark.parametrize(
    "value",
    [
        "json",
        "json:loads",
        "json.decoder:JSONDecoder.decode",
        "json.decoder : JSONDecoder",
        "json:dumps [extra, other]",
    ],
    ids=["module", "attribute", "dotted-attribute", "spaces", "extras"],
)
def test_an_entry_point_loads_the_same_object_as_importlib_metadata(value: str) -> None:
    assert load_entry_point(value) is EntryPoint("x", value, "symphony.plugins").load()


def test_a_missing_attribute_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        load_entry_point("json:no_such_name")


def test_a_missing_module_is_a_module_not_found_error() -> None:
    with pytest.raises(ModuleNotFoundError, match="no_such_module_for_symphony"):
        load_entry_point("no_such_module_for_symphony:x")
