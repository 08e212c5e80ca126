"""TransportConfig: the settings every transport factory receives, checked when built."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import msgspec

from symphony.hookspecs import ConfigurationError, IpcError, RetryPolicy
from symphony.hookspecs.wire.frames import DEFAULT_OUTPUT_LIMIT
from symphony.hookspecs.wire.handshake import DEFAULT_CODECS

from ..codecs import CODECS
from ..framing import DEFAULT_MAX_FRAME_SIZE

__all__ = ["TransportConfig", "TransportConfigError", "load_config"]

_CODEC_NAMES: Final = frozenset(codec.name for codec in CODECS)


class TransportConfigError(IpcError, ConfigurationError):
    """A transport was configured in a way that would be unsafe or cannot work."""

    category = "ipc.configuration"


class TransportConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The seed's TransportConfig, as each transport factory receives it.

    - ``buffer_size``: receive buffer in bytes (reading pauses at twice this much unconsumed).
    - ``timeout``: seconds for one connect attempt and for the handshake (TLS included).
    - ``retry_policy``: how ``connect`` retries a refused or missing endpoint.
    - ``max_frame_size``: largest frame accepted (and sent), in bytes.
    - ``codecs``: what a client offers / a server accepts, in order of preference.
    - ``token``: sent by clients; required from clients by listeners when set.
    - ``allowed_uids``: Unix only; peers allowed besides none (default: our own uid only).
    - ``tls``: TCP only; speak TLS (both sides must agree).
    - ``tls_cert``, ``tls_key``: the listener's PEM certificate chain and private key
      (the key may be in the certificate file, then ``tls_key`` is left unset).
    - ``tls_ca``: PEM CA bundle a client verifies the server against (default: the system store).
    - ``tls_server_name``: the name a client expects on the server's certificate
      (default: the host part of the address it dials).
    - ``output_limit``: bytes of outgoing frames a connection buffers before senders wait
      (and the bus server drops events instead of queueing them).
    - ``stall_timeout``: listeners only; seconds a client may read nothing while its output is
      full before it is disconnected (None: never).
    - ``max_connections``: listeners only; connections open or handshaking at once; more are refused.
    """

    buffer_size: int = 64 * 1024
    timeout: float = 10.0
    retry_policy: RetryPolicy = RetryPolicy()
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    codecs: tuple[str, ...] = DEFAULT_CODECS
    token: str | None = None
    allowed_uids: tuple[int, ...] | None = None
    tls: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    tls_server_name: str | None = None
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    stall_timeout: float | None = 30.0
    max_connections: int = 256

    def __post_init__(self) -> None:
        unknown = [c for c in self.codecs if c not in _CODEC_NAMES]
        if unknown or not self.codecs:
            raise TransportConfigError(
                f"codecs must be a non-empty subset of {sorted(_CODEC_NAMES)}, got {self.codecs}"
            )
        if self.buffer_size <= 0 or self.max_frame_size <= 0:
            raise TransportConfigError(
                f"buffer_size and max_frame_size must be positive, got {self.buffer_size} and {self.max_frame_size}"
            )
        if self.output_limit <= 0 or self.max_connections <= 0:
            raise TransportConfigError(
                f"output_limit and max_connections must be positive, got {self.output_limit} and {self.max_connections}"
            )
        if self.stall_timeout is not None and self.stall_timeout <= 0:
            raise TransportConfigError(
                f"stall_timeout must be positive seconds or null (never), got {self.stall_timeout}"
            )
        stray = [
            name
            for name in ("tls_cert", "tls_key", "tls_ca", "tls_server_name")
            if getattr(self, name) is not None and not self.tls
        ]
        if stray:
            raise TransportConfigError(
                f"{', '.join(stray)} set but tls is false; set tls: true to use TLS, or remove {stray[0]}"
            )
        if self.tls_key is not None and self.tls_cert is None:
            raise TransportConfigError("tls_key is set without tls_cert; set tls_cert to the matching certificate")


def load_config(config: TransportConfig | Mapping[str, Any] | None) -> TransportConfig:
    """A TransportConfig from a settings mapping (or one already built); errors name the key."""
    if config is None:
        return TransportConfig()
    if isinstance(config, TransportConfig):
        return config
    try:
        return msgspec.convert(dict(config), TransportConfig)
    except msgspec.ValidationError as error:
        raise TransportConfigError(f"invalid transport configuration: {error}") from None
