"""``[components.pool.options]``: checked when settings load, with messages naming the key."""

from __future__ import annotations

import pytest

from symphony.builtin_plugins.pit.pool.options import PoolOptions
from symphony.hookspecs import ConfigurationError


@pytest.mark.parametrize(
    ("given", "size"), [(1024, 1024), ("4GiB", 4 * 2**30), ("512 MB", 512_000_000), ("1.5KiB", 1536)]
)
def test_a_memory_budget_is_bytes_or_a_number_with_a_unit(given: int | str, size: int) -> None:
    assert PoolOptions.from_options({"memory_budget": given}).budget_bytes == size


def test_a_memory_budget_that_is_not_a_size_names_the_key_and_the_accepted_forms() -> None:
    with pytest.raises(ConfigurationError, match=r"memory_budget: 'lots' is not a size; write a number with a unit"):
        PoolOptions.from_options({"memory_budget": "lots"})


def test_a_misspelt_option_is_refused_with_its_full_name() -> None:
    with pytest.raises(
        ConfigurationError, match=r"\[components.pool.options\]: Object contains unknown field `max_hots`"
    ):
        PoolOptions.from_options({"max_hots": 3})


def test_max_hot_below_one_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="max_hot"):
        PoolOptions.from_options({"max_hot": 0})
