"""``symphony ext permissions|grant|revoke``: what an extension declares, is granted, and can do.

The commands are standalone (the ``ext`` group attaches them).  They find an
extension's declarations through a *lookup factory*: given the invocation's
:class:`HostFactory`, a function from extension name to :class:`Subject`
(raising LookupError for an unknown name).  :func:`installed_extensions` reads
the installed manifests; :func:`make_commands` builds the commands over any
other lookup (tests build declarations directly).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ._app import HostFactory
from ._output import print_json, print_table

if TYPE_CHECKING:
    from ..permissions import Permissions, Subject, SubjectLookup

__all__ = ["LookupFactory", "grant", "installed_extensions", "make_commands", "permissions", "revoke"]

#: Builds the extension lookup of one CLI invocation.
LookupFactory = Callable[[HostFactory], "SubjectLookup"]


def installed_extensions(factory: HostFactory) -> SubjectLookup:
    """Look extensions up among the installed manifests (the ``symphony.extensions`` entry points)."""
    from ..extensions import list_extensions
    from ..permissions import subject_from_manifest

    settings = factory.host().settings
    listing = list_extensions(settings.cache_dir, use_cache=settings.plugins.index_cache)

    def lookup(name: str) -> Subject:
        installed = listing.get(name)
        if installed is None:
            raise LookupError(
                f"No installed extension is named {name!r}; `symphony ext list` shows the installed ones."
            )
        if installed.manifest is None:
            raise LookupError(f"The manifest of {name!r} has problems; `symphony ext validate` lists them.")
        return subject_from_manifest(installed.manifest)

    return lookup


def _open(factory: HostFactory, lookup: SubjectLookup) -> Permissions:
    from ..permissions import open_permissions, provided_records

    host = factory.host()
    return open_permissions(host.settings, host.distro.profile, lookup, records=provided_records(host))


def _subject(lookup: SubjectLookup, name: str) -> Subject:
    try:
        return lookup(name)
    except LookupError as error:
        raise click.ClickException(str(error).strip("'\"")) from None


def _parse(texts: tuple[str, ...]) -> list[str]:
    """Canonical single-target texts; a malformed one is a usage error listing the accepted forms."""
    from symphony.hookspecs import PermissionSyntaxError, format_permission, parse_permission, single_targets

    out: list[str] = []
    for text in texts:
        try:
            permission = parse_permission(text)
        except PermissionSyntaxError as error:
            raise click.BadParameter(str(error), param_hint="PERMISSION") from None
        out += [format_permission(single)[0] for single in single_targets(permission)]
    return list(dict.fromkeys(out))


def make_commands(lookup_factory: LookupFactory = installed_extensions) -> tuple[click.Command, ...]:
    """The ``permissions``, ``grant`` and ``revoke`` commands over ``lookup_factory``."""

    @click.command("permissions")
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @click.pass_obj
    def permissions_command(factory: HostFactory, *, name: str, as_json: bool) -> None:
        """What NAME declares, what is granted, what it can effectively do, and how to grant the rest."""
        _show(factory, lookup_factory, name=name, as_json=as_json)

    @click.command("grant")
    @click.argument("name")
    @click.argument("permission", nargs=-1)
    @click.option("--calls", type=click.IntRange(min=0), help="Model calls allowed per run (model grants).")
    @click.option("--tokens", type=click.IntRange(min=0), help="Model tokens allowed per run (model grants).")
    @click.option("--cost", type=click.FloatRange(min=0), help="Model cost allowed per run (model grants).")
    @click.option("--trust", is_flag=True, help="Also mark NAME trusted: it gets what it declares.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @click.pass_obj
    def grant_command(factory: HostFactory, /, **options: Any) -> None:
        """Grant NAME each PERMISSION (text form, e.g. file:read:~/notes/** or network:api.example.com:443)."""
        _grant(factory, lookup_factory, **options)

    @click.command("revoke")
    @click.argument("name")
    @click.argument("permission", nargs=-1)
    @click.option("--all", "revoke_all", is_flag=True, help="Revoke every grant of NAME.")
    @click.option("--trust", is_flag=True, help="Also remove the user's trust mark from NAME.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @click.pass_obj
    def revoke_command(factory: HostFactory, /, **options: Any) -> None:
        """Revoke NAME's grant of each PERMISSION (or --all of them)."""
        _revoke(factory, lookup_factory, **options)

    return permissions_command, grant_command, revoke_command


def _show(factory: HostFactory, lookup_factory: LookupFactory, *, name: str, as_json: bool) -> None:
    lookup = lookup_factory(factory)
    store = _open(factory, lookup)
    report = store.report(_subject(lookup, name))
    if as_json:
        print_json(report)
    else:
        _print_report(report)


def _grant(
    factory: HostFactory,
    lookup_factory: LookupFactory,
    *,
    name: str,
    permission: tuple[str, ...],
    calls: int | None,
    tokens: int | None,
    cost: float | None,
    trust: bool,
    as_json: bool,
) -> None:
    from symphony.hookspecs import ModelBudget, covers, is_denied_by, parse_permission, single_targets

    texts = _parse(permission)
    if not texts and not trust:
        raise click.UsageError("Give at least one PERMISSION (e.g. file:read:~/notes/**), or --trust.")
    has_budget = any(v is not None for v in (calls, tokens, cost))
    if has_budget and not any(t.startswith("model:") for t in texts):
        raise click.BadParameter("--calls, --tokens and --cost apply to model permissions (model:<id>).")
    lookup = lookup_factory(factory)
    subject = _subject(lookup, name)
    store = _open(factory, lookup)
    policy = store.policy
    if texts and not policy.user_grants:
        raise click.ClickException(
            "The distribution's permission policy does not let users grant permissions (user_grants = false); "
            "only the distribution's own grants apply."
        )
    if trust and not policy.user_trust:
        raise click.ClickException("The distribution's permission policy does not let users trust extensions.")
    forbidden = [t for t in texts if is_denied_by(policy.deny, parse_permission(t))]
    if forbidden:
        raise click.ClickException(
            f"The permission policy forbids {', '.join(forbidden)} for every extension "
            f"({policy.source(_deny_entry(policy.deny, forbidden[0]))}); a grant would have no effect."
        )
    budget = ModelBudget(calls=calls, tokens=tokens, cost=cost) if has_budget else None
    granted = store.grants.grant(name, texts, source="symphony ext grant", budget=budget) if texts else []
    if trust:
        store.grants.trust(name)
    declared = [s for p in subject.declared for s in single_targets(p)]
    undeclared = [g.permission for g in granted if not any(covers(d, g.value()) for d in declared)]
    if as_json:
        print_json({"extension": name, "granted": granted, "trusted": trust, "undeclared": undeclared})
        return
    for item in granted:
        suffix = f" (budget per run: {_budget_text(item.budget)})" if item.budget else ""
        click.echo(f"Granted {item.permission} to {name}{suffix}.")
    if trust:
        click.echo(f"Marked {name} trusted: it gets what its manifest declares.")
    for text in undeclared:
        click.echo(f"Note: {name}'s manifest does not declare {text}; the grant has no effect until it does.", err=True)


def _revoke(
    factory: HostFactory,
    lookup_factory: LookupFactory,
    *,
    name: str,
    permission: tuple[str, ...],
    revoke_all: bool,
    trust: bool,
    as_json: bool,
) -> None:
    from symphony.hookspecs import format_permission

    texts = _parse(permission)
    if not texts and not revoke_all and not trust:
        raise click.UsageError("Give at least one PERMISSION to revoke, or --all, or --trust.")
    store = _open(factory, lookup_factory(factory))
    current = [g.permission for g in store.grants.grants(name)]
    missing = [t for t in texts if t not in current]
    if missing:
        by_policy = {format_permission(p)[0] for p in store.policy.policy_grants(name)}
        if any(t in by_policy for t in missing):
            raise click.ClickException(
                f"{', '.join(t for t in missing if t in by_policy)} is granted to {name} by the distribution's "
                "policy, not by you; it cannot be revoked (deny it with `permissions.deny` in symphony.toml)."
            )
        granted_list = ", ".join(current) if current else "nothing"
        raise click.ClickException(
            f"{', '.join(missing)} is not granted to {name}; its grants are: {granted_list}. "
            f"Revoke with the exact text `symphony ext permissions {name}` shows."
        )
    revoked = store.grants.revoke_all(name) if revoke_all else store.grants.revoke(name, texts)
    untrusted = store.grants.untrust(name) if trust else False
    if as_json:
        print_json({"extension": name, "revoked": revoked, "untrusted": untrusted})
        return
    for text in revoked:
        click.echo(f"Revoked {text} from {name}.")
    if revoke_all and not revoked:
        click.echo(f"{name} had no grants.")
    if trust:
        click.echo(f"Removed the trust mark of {name}." if untrusted else f"{name} was not marked trusted.")


def _deny_entry(deny: tuple[str, ...], text: str) -> str:
    from symphony.hookspecs import is_denied_by, parse_permission

    return next((entry for entry in deny if is_denied_by([entry], parse_permission(text))), text)


def _budget_text(budget: object) -> str:
    from symphony.hookspecs import ModelBudget

    assert isinstance(budget, ModelBudget)
    parts = [
        f"{name} {value:g}" for name in ("calls", "tokens", "cost") if (value := getattr(budget, name)) is not None
    ]
    return ", ".join(parts)


def _print_report(report: object) -> None:
    from ..permissions import PermissionReport

    assert isinstance(report, PermissionReport)
    who = f" (publisher {report.publisher})" if report.publisher else ""
    click.echo(f"{report.extension}{who}")
    click.echo(f"trusted: {report.trusted}" if report.trusted else "trusted: no")
    if report.publisher_distrust:
        click.echo(f"not trusted as its publisher's: {report.publisher_distrust}")
    granted = {g.permission: g for g in report.granted}
    rows = []
    for text in report.declared:
        status = "effective" if text in report.effective else "forbidden by policy"
        if text in report.missing:
            status = "declared, not granted"
        grant = granted.get(text)
        source = (
            f"{grant.granted_by} via {grant.source}" if grant else ("policy" if text in report.policy_granted else "")
        )
        rows.append((text, status, source))
    rows += [(text, "granted, not declared (no effect)", "") for text in report.undeclared_grants]
    if rows:
        print_table(f"Permissions of {report.extension}", ("permission", "status", "granted by"), rows)
    else:
        click.echo("It declares no permissions.")
    if report.grant_command:
        click.echo(f"To grant what is declared but not granted:\n  {report.grant_command}")
    if report.replaced_grants:
        click.echo(report.replaced_grants)
    if not report.user_grants_allowed:
        click.echo("The distribution's policy does not let users grant permissions.")


permissions, grant, revoke = make_commands()
