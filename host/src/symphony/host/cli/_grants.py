"""``symphony ext grants [--prune]``: every grant and trust mark, and whose distribution it belongs to.

Grants belong to the distribution they were given to (see
``docs/permissions.md``); once it is uninstalled or another takes its name they
are *stale*: shown here as such, never applied, and removed with ``--prune``.
"""

from __future__ import annotations

import click

from ._app import HostFactory
from ._output import print_json, print_table

__all__ = ["grants"]


@click.command("grants")
@click.option("--prune", is_flag=True, help="Remove the stale grants and trust marks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
def grants(factory: HostFactory, *, prune: bool, as_json: bool) -> None:
    """Every user grant and trust mark and whose distribution it is; stale ones (uninstalled, replaced) do not apply."""
    from ..permissions import open_permissions, provided_records
    from ._permissions import installed_extensions

    host = factory.host()
    records = provided_records(host)
    store = open_permissions(host.settings, host.distro.profile, installed_extensions(factory), records=records).grants
    if prune:
        removed, marks = store.prune()
        if as_json:
            print_json({"removed": removed, "untrusted": sorted(marks)})
            return
        for name, gone in removed.items():
            for grant in gone:
                click.echo(
                    f"Removed {grant.permission} of {name} (granted to {grant.identity or 'an unknown distribution'})."
                )
        for name in sorted(marks):
            click.echo(f"Removed the trust mark of {name}.")
        if not removed and not marks:
            click.echo("No stale grants.")
        return
    stale, marks, stale_marks = store.stale(), store.trust_marks(), store.stale_trust()
    everything = store.all_grants()
    if as_json:
        print_json(
            {
                "grants": everything,
                "stale": {name: [g.permission for g in s] for name, s in stale.items()},
                "trusted": marks,
                "stale_trust": sorted(stale_marks),
            }
        )
        return
    rows = []
    for name, items in everything.items():
        stale_texts = {g.permission for g in stale.get(name, ())}
        for grant in items:
            status = "stale: not applied" if grant.permission in stale_texts else "applied"
            rows.append((name, grant.permission, grant.identity or "-", status))
    for name, identity in sorted(marks.items()):
        rows.append((name, "trusted", identity or "-", "stale: not applied" if name in stale_marks else "applied"))
    if not rows:
        click.echo("No grants.")
        return
    print_table("Grants", ("extension", "permission", "distribution", "status"), rows)
    if stale or stale_marks:
        click.echo(
            "Stale grants belong to a distribution that no longer provides the name; "
            "`symphony ext grants --prune` removes them."
        )
