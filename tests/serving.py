"""Helpers for the tests that run a real server as a subprocess: a certificate to serve TLS with, and cleaning up."""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme


@dataclass(frozen=True, slots=True)
class Tls:
    """A certificate chain and key for 127.0.0.1 and localhost, and a client context trusting their authority."""

    chain: Path
    key: Path
    verify: ssl.SSLContext

    @property
    def args(self) -> tuple[str, ...]:
        """The serve command's options to serve with them."""
        return ("--tls-cert", str(self.chain), "--tls-key", str(self.key))


def tls_files(directory: Path) -> Tls:
    """A fresh authority's certificate for the loopback names, written as PEM files in ``directory``."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    chain, key, ca = directory / "chain.pem", directory / "key.pem", directory / "ca.pem"
    certificate.private_key_pem.write_to_path(str(key))
    certificate.cert_chain_pems[0].write_to_path(str(chain))
    authority.cert_pem.write_to_path(str(ca))
    return Tls(chain, key, ssl.create_default_context(cafile=str(ca)))


def killed(process: subprocess.Popen[Any]) -> None:
    """Kill ``process`` if it still runs, and close its output pipes."""
    if process.poll() is None:
        process.kill()
        process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
