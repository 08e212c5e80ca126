"""A node's config is checked against the keys its contribution declares, before anything runs."""

from __future__ import annotations

from typing import Any, Final

from symphony.builtin_plugins.orchestra.operators import OPERATORS
from symphony.builtin_plugins.workflow import Catalogue
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import OperatorNode, WorkflowProblem

from .helpers import CATALOGUE, workflow

BUILTINS: Final = Catalogue.from_contributions(operators=[("operators", spec) for spec in OPERATORS])


def problems(uses: str, catalogue: Catalogue = BUILTINS, **config: Any) -> list[WorkflowProblem]:
    doc = workflow({"n": OperatorNode(uses=uses, config=config, with_={"values": 1})}, outputs={"o": "n.text"})
    return [p for p in validate(doc, catalogue).report().problems if p.kind == "bad_config"]


def test_a_misspelt_key_names_the_keys_there_are_and_the_closest() -> None:
    found = problems("text-template", templete="Hi", template="Hi")
    assert [p.message for p in found] == [
        "Node 'n' (text-template) has config.templete, which it does not read (its keys: template)."
        " Did you mean 'template'? See `symphony nodes show text-template`."
    ]


def test_a_missing_required_key_is_named_with_its_type() -> None:
    assert [p.message for p in problems("text-template")] == [
        "Node 'n' (text-template) needs config.template, a string."
    ]


def test_a_value_of_the_wrong_type_is_named_with_what_is_expected() -> None:
    doc = workflow(
        {"n": OperatorNode(uses="regex-extract", config={"pattern": "a", "timeout": "slow"}, with_={"text": "a"})},
        outputs={"o": "n.matched"},
    )
    (problem,) = validate(doc, BUILTINS).report().problems
    assert problem.message == "Node 'n' (regex-extract) has config.timeout = 'slow' (string), but it expects number."


def test_the_run_options_are_every_nodes_config() -> None:
    assert problems("text-template", template="Hi", run={"attempts": 3}) == []


def test_a_contribution_that_declares_no_config_keys_is_not_checked() -> None:
    assert CATALOGUE.operators["render"].config == {}
    doc = workflow({"n": OperatorNode(uses="render", config={"anything": 1})}, outputs={"o": "n.text"})
    assert [p for p in validate(doc, CATALOGUE).report().problems if p.kind == "bad_config"] == []
