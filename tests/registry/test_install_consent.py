"""Consent before install: each capability against the distribution's policy, and who must say yes."""

from __future__ import annotations

from typing import Any

import pytest

from symphony.hookspecs import PermissionPolicy, RegistryError
from symphony.registry.install.consent import ConsentRefused, ask_consent, plan_consent


def _manifest(publisher: str = "Acme Labs", **capabilities: Any) -> dict[str, Any]:
    return {"extension": {"name": "acme-echo", "publisher": publisher}, "capabilities": capabilities}


def _statuses(plan: Any) -> dict[str, str]:
    return {line.permission: line.status for line in plan.lines}


def test_each_capability_is_denied_granted_or_asks_by_the_policy() -> None:
    policy = PermissionPolicy(deny=("system:processes",), grants={"acme-echo": ("network:api.example.com",)})
    manifest = _manifest(
        network_access=["api.example.com"], system_access=["processes"], file_access=["read:~/notes/**"]
    )
    plan = plan_consent(manifest, policy, extension="acme-echo", version="1.0")
    assert _statuses(plan) == {
        "file:read:~/notes/**": "asks",
        "network:api.example.com": "granted",
        "system:processes": "denied",
    }


def test_a_trusted_publishers_capabilities_are_granted_by_the_distribution() -> None:
    policy = PermissionPolicy(trusted_publishers=("Acme Labs",))
    plan = plan_consent(_manifest(model_access=["gpt-4"]), policy, extension="acme-echo", version="1.0")
    assert _statuses(plan) == {"model:gpt-4": "granted"}
    assert "publisher 'Acme Labs' is trusted" in plan.text()


def test_a_users_own_deny_setting_denies_too() -> None:
    plan = plan_consent(
        _manifest(network_access=["x.example.com"]), PermissionPolicy(), extension="e", version="1", deny=("network",)
    )
    assert plan.denied[0].why == "denied by permissions.deny"


def test_a_capability_the_policy_denies_refuses_the_install_naming_it_and_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = plan_consent(
        _manifest(system_access=["processes"]),
        PermissionPolicy(deny=("system",)),
        extension="acme-echo",
        version="1.0",
    )
    with pytest.raises(ConsentRefused, match=r"declares system:processes, denied by the distribution's policy"):
        ask_consent(plan, yes=True)
    assert "[x] system:processes" in capsys.readouterr().out


def test_yes_consents_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    plan = plan_consent(_manifest(network_access=["a.example.com"]), PermissionPolicy(), extension="e", version="1")
    ask_consent(plan, yes=True)


def test_ci_mode_without_yes_refuses_and_says_how_to_proceed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    plan = plan_consent(_manifest(network_access=["a.example.com"]), PermissionPolicy(), extension="e", version="1")
    with pytest.raises(ConsentRefused, match=r"in CI mode .* asks for network:a\.example\.com .* --yes"):
        ask_consent(plan, yes=False)


def test_without_a_terminal_and_without_yes_it_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    plan = plan_consent(_manifest(network_access=["a.example.com"]), PermissionPolicy(), extension="e", version="1")
    with pytest.raises(ConsentRefused, match=r"no terminal to ask on. Re-run in a terminal, or with --yes"):
        ask_consent(plan, yes=False)


def test_nothing_to_ask_needs_no_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    plan = plan_consent(_manifest(), PermissionPolicy(), extension="e", version="1")
    ask_consent(plan, yes=False)
    assert "declares no capabilities" in plan.text()


def test_an_update_asks_only_for_capabilities_the_installed_version_did_not_declare() -> None:
    old = _manifest(network_access=["a.example.com"], file_access=["read:~/old/**"])
    new = _manifest(network_access=["a.example.com", "b.example.com"])
    plan = plan_consent(new, PermissionPolicy(), extension="e", version="2", previous=old)
    assert [line.permission for line in plan.to_ask] == ["network:b.example.com"]
    assert plan.removed == ("file:read:~/old/**",)
    assert "already declared" in plan.text() and "no longer declared" in plan.text()


def test_a_malformed_capabilities_table_is_a_clear_error() -> None:
    with pytest.raises(RegistryError, match=r"\[capabilities\] cannot be read"):
        plan_consent(_manifest(file_access=["sideways:/x"]), PermissionPolicy(), extension="e", version="1")


def test_when_users_may_not_grant_nothing_is_asked_and_the_capability_is_shown_as_not_granted() -> None:
    plan = plan_consent(
        _manifest(network_access=["a.example.com"]), PermissionPolicy(user_grants=False), extension="e", version="1"
    )
    assert _statuses(plan) == {"network:a.example.com": "ungrantable"}
    assert plan.to_ask == ()
    assert "[-] network:a.example.com  (not granted: the distribution does not let users grant" in plan.text()
