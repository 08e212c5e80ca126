"""Whatever a caller sends, pre-validation answers with None or one PreValidationError: never another exception."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symphony.hookspecs import PreValidationError, WorkflowId
from symphony.hookspecs.ports import (
    CreateUserRequest,
    CreateWorkflowRequest,
    PreValidationPort,
    UpdateWorkflowRequest,
)
from symphony.host import Host


@cache
def _port() -> PreValidationPort:
    """The installed builtins' port, made once (not at collection)."""
    port: PreValidationPort = Host().load().port("pre_validation")
    return port


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_hostile = _json | st.builds(object) | st.integers(min_value=2**64) | st.sets(st.integers(), max_size=3)
_text = st.text(max_size=300)


def _answers(call: Any, request: Any) -> None:
    try:
        call(request)
    except PreValidationError as error:
        assert str(error).splitlines()[0].endswith("problem(s):")


@settings(max_examples=300, deadline=None)
@given(name=_text, spec=st.dictionaries(st.text(max_size=8), _hostile, max_size=4), owner=st.none() | _text)
def test_any_workflow_request_passes_or_is_one_pre_validation_error(
    name: str, spec: dict[str, Any], owner: Any
) -> None:
    _answers(_port().validate_workflow_request, CreateWorkflowRequest(name=name, spec=spec, owner=owner))


@settings(max_examples=300, deadline=None)
@given(
    name=st.none() | _text,
    spec=st.dictionaries(st.text(max_size=8), _hostile, max_size=4),
    version=st.integers(min_value=-(2**70), max_value=2**70),
)
def test_any_workflow_update_passes_or_is_one_pre_validation_error(
    name: str | None, spec: dict[str, Any], version: int
) -> None:
    request = UpdateWorkflowRequest(id=WorkflowId("w"), spec=spec, expected_version=version, name=name)
    _answers(_port().validate_workflow_update, request)


@settings(max_examples=300, deadline=None)
@given(name=_text, email=_text | st.emails(), role=_text | st.sampled_from(["admin", "editor", "viewer"]))
def test_any_user_request_passes_or_is_one_pre_validation_error(name: str, email: str, role: str) -> None:
    _answers(_port().validate_user_request, CreateUserRequest(name=name, email=email, role=role))


@pytest.mark.parametrize("email", ["ada@example.org", "a.b+c@mail.example.co.uk", "root@localhost.localdomain"])
def test_ordinary_emails_pass(email: str) -> None:
    _port().validate_user_request(CreateUserRequest(name="ada", email=email))
