"""The policy in effect: the distribution's :class:`PermissionPolicy` plus the user's settings.

The user can add denials and trust marks (if the profile lets them trust);
nothing the user does lifts a denial of the profile.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import msgspec

from symphony.hookspecs import DistroProfile, Permission, PermissionPolicy, parse_permission

from ._identity import PublisherCheck, unverifiable
from ._requests import Subject

__all__ = ["EffectivePolicy"]


class EffectivePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What the checker holds every extension to."""

    #: Categories or permission texts denied to every extension (the profile's and the user's).
    deny: tuple[str, ...] = ()
    trusted_publishers: tuple[str, ...] = ()
    #: Trusted publishers pinned to keys: trusted only for a distribution the registry verified with one of them.
    publisher_keys: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    #: Checks an installed distribution's registry verification (see ``_identity``).
    check_publisher: PublisherCheck = unverifiable
    #: Extensions the user trusts (empty when the profile forbids user trust).
    trusted_extensions: frozenset[str] = frozenset()
    #: Extension name or ``"*"`` -> permission texts granted by the distribution.
    grants: dict[str, tuple[str, ...]] = msgspec.field(default_factory=dict)
    user_grants: bool = True
    user_trust: bool = True
    #: Deny entry -> where it comes from, for messages.
    deny_sources: dict[str, str] = msgspec.field(default_factory=dict)

    @classmethod
    def combine(
        cls,
        profile: DistroProfile | None,
        *,
        deny: Sequence[str] = (),
        trusted: Collection[str] = (),
        check_publisher: PublisherCheck = unverifiable,
    ) -> EffectivePolicy:
        """The profile's policy, plus the user's ``deny`` and ``trusted`` (the latter only if allowed)."""
        policy = profile.permissions if profile is not None else PermissionPolicy()
        sources = dict.fromkeys(deny, "the setting permissions.deny")
        if profile is not None:
            sources.update(dict.fromkeys(policy.deny, f"the distribution profile {profile.name!r}"))
        return cls(
            deny=tuple(sources),
            deny_sources=sources,
            trusted_publishers=policy.trusted_publishers,
            publisher_keys=dict(policy.publisher_keys),
            check_publisher=check_publisher,
            trusted_extensions=frozenset(trusted) if policy.user_trust else frozenset(),
            grants=dict(policy.grants),
            user_grants=policy.user_grants,
            user_trust=policy.user_trust,
        )

    def trust_reason(self, subject: Subject, marks: Collection[str] = ()) -> str | None:
        """Why ``subject`` is trusted (publisher, settings, or a user's trust ``marks``), or None."""
        if subject.publisher is not None and subject.publisher in self.trusted_publishers:
            if subject.publisher not in self.publisher_keys:
                return f"its publisher {subject.publisher!r} is trusted by the distribution's policy"
            if self.publisher_distrust(subject) is None:
                return (
                    f"its publisher {subject.publisher!r} is trusted by the distribution's policy, and the registry"
                    " verified their signature on it"
                )
        if subject.name in self.trusted_extensions:
            return "the setting permissions.trusted trusts it"
        if self.user_trust and subject.name in marks:
            return "the user marked it trusted (`symphony ext grant --trust`)"
        return None

    def publisher_distrust(self, subject: Subject) -> str | None:
        """Why a trusted publisher pinned in ``publisher_keys`` is not trusted for ``subject``; None otherwise."""
        publisher = subject.publisher
        if publisher is None or publisher not in self.trusted_publishers or publisher not in self.publisher_keys:
            return None
        why = self.check_publisher(subject.name, publisher, self.publisher_keys[publisher])
        if why is None:
            return None
        return (
            f"its publisher {publisher!r} is trusted by the distribution only for installs the registry verified with"
            f" their pinned keys (permissions.publisher_keys), and {why}"
        )

    def policy_grants(self, extension: str) -> tuple[Permission, ...]:
        """What the distribution grants ``extension`` (its own entry and ``"*"``)."""
        texts = (*self.grants.get("*", ()), *self.grants.get(extension, ()))
        return tuple(parse_permission(text) for text in dict.fromkeys(texts))

    def deny_permissions(self) -> tuple[Permission, ...]:
        """The ``deny`` entries that are permission texts (the others are whole categories)."""
        return tuple(parse_permission(entry) for entry in self.deny if ":" in entry)

    def denied_kinds(self) -> frozenset[str]:
        return frozenset(entry for entry in self.deny if ":" not in entry)

    def source(self, entry: str) -> str:
        return self.deny_sources.get(entry, "the permission policy")
