"""Fuzzing the manifest checker: a Manifest or a list of problems, nothing else, for any text.

Random text, the valid sample manifest with bytes spliced, arbitrary values
planted under known and unknown keys, and tables nested thousands deep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_workflow_formats import VALUES, mutated  # type: ignore[import-not-found]  # tests/fuzz is no package

from symphony.host.extensions import check_manifest_text

SECTIONS: Final = ("extension", "runtime", "permissions", "contributes", "config", "nowhere")
FUZZ: Final = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SAMPLES: Final = Path(__file__).resolve().parents[2] / "sample_extensions"
#: Real manifests: a subprocess one with permissions and configuration, and a wasm one.
VALID: Final = [
    next((SAMPLES / f"symphony-sample-{name}").rglob("symphony-extension.toml")).read_text()
    for name in ("fetcher", "wasm-operator")
]


def checks(text: str) -> None:
    """The only outcomes allowed: a manifest and no problem, or no manifest and problems that say something."""
    manifest, problems = check_manifest_text(text)
    assert (manifest is None) == bool(problems)
    assert all(str(problem) for problem in problems)


@FUZZ
@given(text=st.text(max_size=1024))
def test_random_text_is_a_manifest_or_problems(text: str) -> None:
    checks(text)


def test_the_sample_manifests_are_valid() -> None:
    assert all(check_manifest_text(text) == (check_manifest_text(text)[0], []) for text in VALID)


@FUZZ
@given(data=st.data(), text=st.sampled_from(VALID))
def test_a_valid_manifest_mutated_is_a_manifest_or_problems(data: st.DataObject, text: str) -> None:
    checks(data.draw(mutated(text.encode())).decode("utf-8", "replace"))


@FUZZ
@given(section=st.sampled_from(SECTIONS), key=st.text(min_size=1, max_size=12), value=VALUES)
def test_any_value_under_any_key_is_a_manifest_or_problems(section: str, key: str, value: Any) -> None:
    try:
        planted = tomli_w.dumps({section: {key: value}})
    except (TypeError, ValueError):
        return  # not TOML (a null)
    checks(VALID[0] + planted if section not in ("extension", "runtime") else planted + VALID[0])


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(levels=st.integers(1, 6_000), kind=st.sampled_from(["arrays", "tables", "headers"]))
def test_deeply_nested_manifests_are_problems(levels: int, kind: str) -> None:
    if kind == "headers":
        checks(VALID[0] + "[extension.x." + ".".join(["k"] * levels) + "]\n")
    else:
        nest = "[" * levels + "]" * levels if kind == "arrays" else "{ a = " * levels + "1" + " }" * levels
        checks(VALID[0].replace("[extension]\n", f"[extension]\nx = {nest}\n"))
