"""Registers the local artifact store as the ``artifact_store`` port."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from symphony.hookspecs import ComponentOptionsSpec, HealthCheck, HealthStatus, hookimpl
from symphony.hookspecs.ports import ArtifactStorePort, HostContext, port_as

from .crypto import make_sealer
from .options import StoreOptions
from .store import ArtifactStore

SYMPHONY_API = "^1.0"
COMPONENT = "artifacts"


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=StoreOptions)]


@hookimpl(trylast=True)
def symphony_provide_artifact_store(context: HostContext) -> ArtifactStore:
    options = StoreOptions.from_options(context.component_config(COMPONENT).options)
    key_file = Path(options.key_file).expanduser() if options.key_file else None
    return ArtifactStore(
        context.data_dir / "artifacts", options, sealer=make_sealer(options.encryption, key_file, os.environ)
    )


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    def check() -> HealthStatus:
        if not isinstance(context.port("artifact_store"), ArtifactStore):  # another provider's: not our directory
            return HealthStatus.ok(f"served by plugin {context.port_provider('artifact_store')!r}")
        root = context.data_dir / "artifacts"
        probe = root
        while not probe.exists():
            probe = probe.parent
        if not os.access(probe, os.W_OK):
            return HealthStatus.failed(
                f"artifact directory {root} is not writable", fix="Set data_dir to a writable directory."
            )
        return HealthStatus.ok(f"artifacts in {root}", root=str(root))

    return [HealthCheck(name="artifact_store", check=check)]


@hookimpl
def symphony_register_commands(cli: Any, context: HostContext) -> None:
    from .cli import artifacts_commands

    cli.add_command(
        artifacts_commands(lambda: port_as(context, "artifact_store", ArtifactStorePort, user="`symphony artifacts`")),
        "artifacts",
    )
