"""TLS contexts for the TCP transport, built from TransportConfig's ``tls_*`` settings.

Kept apart from the transport so the policy is in one place: TLS 1.2 or
later, the server presents ``tls_cert`` (with ``tls_key``), and a client
always verifies the server's certificate chain (against ``tls_ca``, or the
system's trust store without it) and its host name (``tls_server_name``, or
the host of the address it dialled).  Errors name the setting to fix.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from symphony.hookspecs import TransportError

from ._config import TransportConfig, TransportConfigError

__all__ = ["TlsError", "client_context", "describe_tls_failure", "server_context"]


class TlsError(TransportError):
    """The TLS handshake failed: the peer's certificate is not trusted, names another host, or TLS is not spoken."""


def _existing(setting: str, path: str) -> str:
    if not Path(path).is_file():
        raise TransportConfigError(f"{setting} {path!r} does not exist or is not a file; point {setting} at a PEM file")
    return path


def server_context(config: TransportConfig) -> ssl.SSLContext:
    """The listener's context: our certificate chain and key; clients are authenticated by the token."""
    if not config.tls_cert:
        raise TransportConfigError(
            "tls is enabled but tls_cert is not set; set tls_cert (and tls_key) to a PEM certificate"
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    cert = _existing("tls_cert", config.tls_cert)
    key = _existing("tls_key", config.tls_key) if config.tls_key else None
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as error:
        raise TransportConfigError(
            f"cannot load the TLS certificate {cert!r}"
            + (f" with key {key!r}" if key else " (no tls_key: the key must be in the same file)")
            + f": {error.reason or error}; check that tls_cert and tls_key are a matching PEM pair"
        ) from None
    return context


def client_context(config: TransportConfig) -> ssl.SSLContext:
    """The dialler's context: verify the server against ``tls_ca`` (or the system store), host name included."""
    cafile = _existing("tls_ca", config.tls_ca) if config.tls_ca else None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    except ssl.SSLError as error:
        raise TransportConfigError(f"cannot load the CA bundle tls_ca {cafile!r}: {error.reason or error}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def describe_tls_failure(address: str, error: ssl.SSLError, config: TransportConfig) -> TlsError:
    """A TlsError saying why the handshake with ``address`` failed and which setting is likely wrong."""
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = error.verify_message or error.reason or str(error)
        trust = f"tls_ca {config.tls_ca!r}" if config.tls_ca else "the system trust store (tls_ca is not set)"
        if "hostname" in str(reason).lower() or "ip address mismatch" in str(reason).lower():
            hint = "set tls_server_name to a name on the server's certificate, or dial that name"
        else:
            hint = "set tls_ca to the CA certificate that signed the server's certificate"
        return TlsError(f"TLS: the certificate of {address} was rejected: {reason} (verified against {trust}); {hint}")
    return TlsError(
        f"TLS handshake with {address} failed: {error.reason or error}; "
        "check that the server has TLS enabled (tls: true with tls_cert) and speaks TLS 1.2 or later"
    )
