"""The data layer's pre-validators, as the host's pre-validation port runs them: every problem, exact messages."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.hookspecs import PreValidationError, PreValidatorSpec, WorkflowId, hookimpl
from symphony.hookspecs.ports import (
    CreateUserRequest,
    CreateWorkflowRequest,
    PreValidationPort,
    UpdateWorkflowRequest,
)
from symphony.host import Host


@pytest.fixture(scope="module")
def port() -> PreValidationPort:
    host = Host().load()  # the installed builtins, so the data plugin is named as users see it
    resolved: PreValidationPort = host.port("pre_validation")
    return resolved


def _problems(call: Any, request: Any) -> list[str]:
    with pytest.raises(PreValidationError) as raised:
        call(request)
    return str(raised.value).splitlines()


def test_a_well_formed_workflow_request_passes(port: PreValidationPort) -> None:
    port.validate_workflow_request(CreateWorkflowRequest(name="triage", spec={"nodes": {"a": {"type": "x"}}}))


def test_a_well_formed_user_request_passes(port: PreValidationPort) -> None:
    port.validate_user_request(CreateUserRequest(name="Ada Lovelace", email="ada@example.org", role="editor"))


def test_every_workflow_problem_is_listed_in_one_error(port: PreValidationPort) -> None:
    request = CreateWorkflowRequest(name="x" * 201, spec={"when": type}, owner="")  # type: ignore[arg-type]
    assert _problems(port.validate_workflow_request, request) == [
        f"Workflow request {'x' * 201!r} has 3 problem(s):",
        "  workflow-name (data): expected at most 200 characters, found 201; shorten the name.",
        "  workflow-spec (data): the document must be plain JSON data (mappings, lists, text, numbers):"
        " Encoding objects of type type is unsupported.",
        "  workflow-owner (data): expected a user id or no owner, found ''.",
    ]


def test_a_workflow_name_with_a_newline_is_refused(port: PreValidationPort) -> None:
    assert _problems(port.validate_workflow_request, CreateWorkflowRequest(name="a\nb", spec={}))[1:] == [
        "  workflow-name (data): expected no control characters (newline, tab...), found 'a\\nb'."
    ]


def test_a_document_over_the_size_bound_is_refused_with_its_size(port: PreValidationPort) -> None:
    request = CreateWorkflowRequest(name="big", spec={"blob": "a" * 1_000_000})
    assert _problems(port.validate_workflow_request, request)[1:] == [
        "  workflow-spec (data): the document is 1,000,011 bytes encoded, more than the 1,000,000 allowed;"
        " split it or move large values into artifacts."
    ]


def test_an_update_gets_the_document_checks_and_its_version_checked(port: PreValidationPort) -> None:
    request = UpdateWorkflowRequest(id=WorkflowId("w1"), spec={"x": object()}, expected_version=0, name=" ")
    assert _problems(port.validate_workflow_update, request) == [
        "Workflow update 'w1' has 3 problem(s):",
        "  name: expected a non-empty workflow name, found ''.",
        "  update-spec (data): the document must be plain JSON data (mappings, lists, text, numbers):"
        " Encoding objects of type object is unsupported.",
        "  update-version (data): expected_version counts from 1, found 0; read the workflow first.",
    ]


def test_an_update_without_a_new_name_keeps_the_name_unchecked(port: PreValidationPort) -> None:
    port.validate_workflow_update(UpdateWorkflowRequest(id=WorkflowId("w1"), spec={}, expected_version=3))


def test_every_user_problem_is_listed_in_one_error(port: PreValidationPort) -> None:
    request = CreateUserRequest(name="", email="ada@example", role="owner")
    assert _problems(port.validate_user_request, request) == [
        "User request '' has 3 problem(s):",
        "  user-name (data): expected a non-empty user name, found ''.",
        "  user-email (data): expected the form name@domain.tld without spaces, found 'ada@example'.",
        "  user-role (data): expected one of 'admin', 'editor', 'viewer', 'service', found 'owner'.",
    ]


def test_an_email_without_at_sign_is_reported_once(port: PreValidationPort) -> None:
    assert _problems(port.validate_user_request, CreateUserRequest(name="ada", email="ada.example.org"))[1:] == [
        "  email: expected an address with '@', found 'ada.example.org'."
    ]


@pytest.mark.parametrize("email", ["a b@example.org", "ada@@example.org", "ada@example.org.", "@example.org"])
def test_malformed_emails_are_refused(port: PreValidationPort, email: str) -> None:
    assert _problems(port.validate_user_request, CreateUserRequest(name="ada", email=email))[1:] == [
        f"  user-email (data): expected the form name@domain.tld without spaces, found {email!r}."
    ]


def test_an_email_over_the_length_limit_is_refused(port: PreValidationPort) -> None:
    email = "a" * 250 + "@example.org"
    assert _problems(port.validate_user_request, CreateUserRequest(name="ada", email=email))[1:] == [
        "  user-email (data): expected at most 254 characters, found 262."
    ]


class _OwnerRequired:
    """A plugin's check written for new workflows: it reads ``owner``, which an update does not have."""

    @hookimpl
    def symphony_pre_validators(self, context: Any) -> list[PreValidatorSpec]:
        def check(request: Any) -> None:
            if request.owner is None:
                raise PreValidationError("an owner is required here.")

        return [PreValidatorSpec(name="owner-required", target="workflow", check=check)]


def test_an_update_runs_only_workflow_update_checks() -> None:
    port: PreValidationPort = Host(plugins=[_OwnerRequired()]).load().port("pre_validation")
    with pytest.raises(PreValidationError, match=r"owner-required \(.*\): an owner is required here"):
        port.validate_workflow_request(CreateWorkflowRequest(name="triage", spec={}))
    port.validate_workflow_update(UpdateWorkflowRequest(id=WorkflowId("w1"), spec={}, expected_version=1))
