"""Registers the local artifact store as the ``artifact_store`` port.

Every command loads this plugin, few use the store: the store (SQLAlchemy,
Tantivy, the ciphers) is imported when the port is first asked for, so
loading the plugin costs only its options.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symphony.hookspecs import (
    ArtifactScoreSignal,
    ComponentOptionsSpec,
    ConfigurationError,
    HealthCheck,
    HealthStatus,
    StaleSource,
    hookimpl,
)
from symphony.hookspecs.ports import ArtifactStorePort, HostContext, PoolManagerPort, port_as

from .options import StoreOptions

if TYPE_CHECKING:
    import click

    from .backend import Backend
    from .store import ArtifactStore

SYMPHONY_API = "^1.0"
COMPONENT = "artifacts"


@hookimpl
def symphony_component_options() -> list[ComponentOptionsSpec]:
    return [ComponentOptionsSpec(name=COMPONENT, options=StoreOptions)]


@hookimpl(trylast=True)
def symphony_provide_artifact_store(context: HostContext) -> ArtifactStore:
    from .crypto import make_sealer
    from .store import ArtifactStore

    options = StoreOptions.from_options(context.component_config(COMPONENT).options)
    key_file = Path(options.key_file).expanduser() if options.key_file else None
    root = context.data_dir / "artifacts"
    signals = [spec for _plugin, spec in context.contributions("symphony_artifact_score_signals").values()]
    return ArtifactStore(
        root,
        options,
        backend=_backend(root, options),
        sealer=make_sealer(options.encryption, key_file, os.environ),
        score_signals=signals,
    )


@hookimpl
def symphony_stale_sources(context: HostContext) -> list[StaleSource]:
    from .stale import artifacts_source

    return [artifacts_source(context)]


@hookimpl
def symphony_artifact_score_signals() -> list[ArtifactScoreSignal]:
    from .scores import BUILTIN_SIGNALS

    return list(BUILTIN_SIGNALS)


def _backend(root: Path, options: StoreOptions) -> Backend | None:
    """The configured object store, or None for the store's own directory."""
    if options.backend == "local":
        return None
    try:
        from .s3 import S3Backend
    except ImportError:
        raise ConfigurationError(
            'The artifact store\'s backend = "s3" needs obstore, which is not installed:'
            " pip install 'symphony-builtins[s3]'."
        ) from None
    return S3Backend(options.s3_bucket, options.s3_prefix, options.s3_endpoint_url, options.s3_region, index=root)


@hookimpl
def symphony_health_checks(context: HostContext) -> list[HealthCheck]:
    def check() -> HealthStatus:
        from .store import ArtifactStore

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
    from symphony.hookspecs.commands import lazy_command

    def commands() -> click.Command:  # the CLI imports the store: SQLAlchemy, hundreds of ms
        from .cli import artifacts_commands

        return artifacts_commands(
            lambda: port_as(context, "artifact_store", ArtifactStorePort, user="`symphony artifacts`"),
            lambda: port_as(context, "pool_manager", PoolManagerPort, user="`symphony artifacts search --semantic`"),
        )

    cli.add_command(lazy_command("artifacts", commands, help="Store, fetch and inspect content-addressed artifacts."))
