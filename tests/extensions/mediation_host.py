"""A host's mediation (the real checker, grants and HostServices) for one extension; run as a script,
the host side of a real subprocess worker whose peak memory is measured.

``python mediation_host.py DATA_DIR BIG_URL SMALL_URL``: the extension ``fetcher`` (granted
``network:127.0.0.1``) fetches BIG_URL then SMALL_URL in one worker; prints, as JSON, both
answers, the worker's statistics and this process's peak RSS growth over the big fetch.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from symphony.hookspecs import NetworkAccess, Permission
from symphony.host import Host, Settings
from symphony.host.extensions._services import HostServices
from symphony.host.permissions import Permissions, Subject, open_permissions

GUESTS: Final = str(Path(__file__).resolve().parent / "guests")


@contextmanager
def mediation(
    data_dir: Path,
    declared: tuple[Permission, ...],
    grants: list[str],
    extension: str = "fetcher",
    *,
    plugins: Sequence[object] = (),
    components: Mapping[str, object] | None = None,
) -> Iterator[tuple[HostServices, Permissions]]:
    """HostServices over a real permission checker where ``extension`` declares ``declared`` and holds ``grants``
    (granted without a budget: a test that needs one grants it itself)."""
    settings = Settings.model_validate(
        {"data_dir": data_dir / "data", "cache_dir": data_dir / "cache", "components": dict(components or {})}
    )
    host = Host(settings, plugins=list(plugins), discover_plugins=False)
    host.load()
    permissions = open_permissions(settings, None, lambda name: Subject(name=name, declared=declared))
    try:
        if grants:
            permissions.grants.grant(extension, grants)
        yield HostServices(permissions.checker(), host.context), permissions
    finally:
        permissions.close()


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def _measure(data_dir: Path, big_url: str, small_url: str) -> dict[str, object]:
    from symphony.sandbox.subprocess import SubprocessWorker

    declared = (NetworkAccess(hosts=("127.0.0.1",)),)
    with mediation(data_dir, declared, ["network:127.0.0.1"]) as (services, _):
        worker = SubprocessWorker(
            "fetcher", "symphony_test_mediated:handle", sys_path=[GUESTS], host_call=services.host_call("fetcher")
        )
        async with worker:
            await worker.invoke("fetch", {"url": small_url})
            before = _peak_rss_bytes()
            big = await worker.invoke("fetch", {"url": big_url})
            growth = _peak_rss_bytes() - before
            small = await worker.invoke("fetch", {"url": small_url})
            stats = worker.stats()
    return {
        "big": big,
        "small": small,
        "rss_growth": growth,
        "starts": stats.starts,
        "failures": stats.failures,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_measure(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))))
