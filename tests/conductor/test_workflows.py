"""What the conductor accepts as a workflow: a Workflow, what carries one, a document or a path."""

from __future__ import annotations

import msgspec
import pytest

from symphony.builtin_plugins.conductor import workflow_of
from symphony.builtin_plugins.workflow import load
from symphony.builtin_plugins.workflow.catalogue import Catalogue
from symphony.builtin_plugins.workflow.validate import validate
from symphony.hookspecs import ValidationError

from .conftest import EXAMPLES

WELCOME = EXAMPLES / "welcome.toml"


def test_a_validated_workflow_is_taken_as_the_workflow_it_carries() -> None:
    workflow = load(WELCOME)

    assert workflow_of(validate(workflow, Catalogue())) == workflow


def test_a_path_and_a_document_give_the_same_workflow() -> None:
    workflow = load(WELCOME)

    assert workflow_of(WELCOME) == workflow_of(msgspec.to_builtins(workflow)) == workflow


def test_anything_else_is_an_error_naming_what_is_accepted() -> None:
    with pytest.raises(ValidationError, match=r"Expected a Workflow, a workflow document .* got int"):
        workflow_of(3)
