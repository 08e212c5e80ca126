"""``[components.data.options]``: where the data service is (embedded here, or remote) and how to reach it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec

from symphony.hookspecs import ConfigurationError

__all__ = ["COMPONENT", "DataOptions"]

COMPONENT = "data"


class DataOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The embedded service by default; a ``url`` points this host at a remote one (``symphony data serve``)."""

    #: A remote data service (``https://data.example.org``); empty: the embedded service in this process.
    url: str = ""
    #: The embedded service's database: a SQLAlchemy URL, or empty for ``<data_dir>/data/service.db``.
    database: str = ""
    #: The file holding the token for ``url``; empty: the embedded service's own token, or ``symphony login``'s.
    token_file: str = ""
    #: Seconds a request to a remote service may take before it fails with a NetworkError.
    timeout: float = 30.0
    #: A PEM file of the certificate authorities to trust for an ``https://`` url (a private CA); empty: the system's.
    ca_cert: str = ""
    #: How the embedded service is called: ``direct`` (its handlers, no HTTP) or ``asgi`` (the whole HTTP app
    #: through httpx's ASGI transport, as a remote client would see it, without a socket).
    transport: Literal["direct", "asgi"] = "direct"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> DataOptions:
        try:
            return msgspec.convert(dict(options), cls)
        except msgspec.ValidationError as error:
            where = str(error).replace("`$.", "`components.data.options.").replace("`$`", "`components.data.options`")
            raise ConfigurationError(f"Invalid data options in [components.data.options]: {where}.") from None

    def __post_init__(self) -> None:
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"components.data.options.url must start with http:// or https://, found {self.url!r}."
            )
        if self.url and self.transport != "direct":
            raise ConfigurationError(
                f"components.data.options.transport = {self.transport!r} applies to the embedded service only;"
                " remove it, or remove url."
            )
        if self.timeout <= 0:
            raise ConfigurationError(f"components.data.options.timeout must be above 0 seconds, found {self.timeout}.")
