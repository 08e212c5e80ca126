"""One exception tree for everything Symphony raises on purpose.

::

    SymphonyError
    ├── ConfigurationError            bad settings, profile or version range
    │   ├── ApiRangeSyntaxError
    │   └── DistroSelectionError
    ├── PluginError                   .plugin names the culprit
    │   ├── PluginLoadError           deprecated: never raised (failed plugins are recorded)
    │   ├── ProviderConflictError     two plugins claim one port at one priority
    │   ├── HookCallError             an implementation raised
    │   │   └── HookTimeoutError
    │   └── ComponentError            deprecated: never raised (failed components are recorded)
    ├── PortUnavailableError          nobody provides a port
    ├── ModelUnavailableError         a pooled model's worker died or failed to warm (retryable)
    ├── LanguageServerError           no language server for a buffer, or it cannot start or answer
    ├── IpcError
    │   ├── SerializationError
    │   └── TransportError
    ├── ExtensionError
    │   └── PermissionDeniedError
    ├── RegistryError                 the extension registry: index, catalogue, install
    │   └── VerificationError         a signature, hash or metadata check failed: nothing was installed
    └── DataError                     the data layer's categories
        ├── PreValidationError
        ├── ValidationError
        ├── AuthorizationError
        ├── NotFoundError
        └── NetworkError

    HostStateError(RuntimeError)      misuse: e.g. asking a stopped host for a port

Every SymphonyError has a stable ``category`` (used on the wire in
``ErrorPayload``) and a message that says what happened and how to fix it.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

__all__ = [
    "ApiRangeSyntaxError",
    "AuthorizationError",
    "ComponentError",
    "ConfigurationError",
    "DataError",
    "DistroSelectionError",
    "ExtensionError",
    "HookCallError",
    "HookTimeoutError",
    "HostStateError",
    "IpcError",
    "LanguageServerError",
    "ModelUnavailableError",
    "NetworkError",
    "NotFoundError",
    "PermissionDeniedError",
    "PermissionSyntaxError",
    "PluginError",
    "PluginLoadError",
    "PortUnavailableError",
    "PreValidationError",
    "ProviderConflictError",
    "RegistryError",
    "SerializationError",
    "SymphonyError",
    "TransportError",
    "ValidationError",
    "VerificationError",
    "error_class_for",
]


class SymphonyError(Exception):
    """Base of every error Symphony raises for a reason it can explain."""

    category: ClassVar[str] = "symphony"

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class ConfigurationError(SymphonyError):
    """A setting, profile or declared range is invalid; the message names the key."""

    category = "configuration"


class ApiRangeSyntaxError(ConfigurationError, ValueError):
    """A version range could not be parsed."""

    category = "configuration.api_range"


class PermissionSyntaxError(ConfigurationError, ValueError):
    """A permission's text or a manifest's short form is malformed; the message lists the accepted forms."""

    category = "configuration.permission"


class DistroSelectionError(ConfigurationError):
    """No single distribution profile can be chosen."""

    category = "configuration.distro"


def _deprecated(cls: type[SymphonyError]) -> None:
    warnings.warn(
        f"{cls.__name__} is deprecated and will be removed in plugin API 2.0: the host never raises it;"
        " raise or catch PluginError instead.",
        DeprecationWarning,
        stacklevel=3,
    )


class PluginError(SymphonyError):
    """A plugin misbehaved; ``plugin`` names it as listed by ``symphony plugins list``."""

    category = "plugin"

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin


class PluginLoadError(PluginError):
    """Deprecated since 1.0 (removed in 2.0): nothing raises it; catch PluginError.

    A plugin that cannot be imported, validated or registered does not stop
    the host: it is recorded as failed, with its error and traceback
    (``symphony plugins list --traceback``).  Creating one warns.
    """

    category = "plugin.load"

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        _deprecated(type(self))
        super().__init__(message, plugin=plugin)


class ProviderConflictError(PluginError):
    """Two plugins provide the same port at the same priority."""

    category = "plugin.provider_conflict"

    def __init__(self, message: str, *, port: str, plugins: tuple[str, ...]) -> None:
        super().__init__(message, plugin=plugins[0] if plugins else None)
        self.port = port
        self.plugins = plugins


class HookCallError(PluginError):
    """A hook implementation raised; ``hook`` and ``plugin`` say which."""

    category = "plugin.hook_call"

    def __init__(self, message: str, *, plugin: str | None, hook: str) -> None:
        super().__init__(message, plugin=plugin)
        self.hook = hook


class HookTimeoutError(HookCallError, TimeoutError):
    """A hook implementation did not finish within the call's timeout."""

    category = "plugin.hook_timeout"


class ComponentError(PluginError):
    """Deprecated since 1.0 (removed in 2.0): nothing raises it; catch PluginError.

    A component whose start fails is stopped and its plugin recorded as
    failed (``symphony doctor`` names both), so the host starts without it; a
    component may raise any exception from ``start``.  Creating one warns.
    """

    category = "plugin.component"

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        _deprecated(type(self))
        super().__init__(message, plugin=plugin)


class PortUnavailableError(SymphonyError):
    """No installed plugin provides the requested port."""

    category = "port_unavailable"


class ModelUnavailableError(SymphonyError):
    """A pooled model cannot serve now: its worker died or its warm-up failed.

    Retryable: the pool replaces a dead worker, so the same call made again
    usually succeeds; the message names the model and the cause.
    """

    category = "model_unavailable"


class LanguageServerError(SymphonyError):
    """No language server is configured for a buffer's language, or it cannot be started or answer.

    The message names the language and the server's command, and says which
    setting to change (``[components.lsp.options.servers.<language>]``).
    """

    category = "language_server"


class IpcError(SymphonyError):
    """Inter-process communication failed."""

    category = "ipc"


class SerializationError(IpcError):
    """A message could not be encoded or decoded."""

    category = "ipc.serialization"


class TransportError(IpcError):
    """A transport could not connect, send or receive."""

    category = "ipc.transport"


class ExtensionError(SymphonyError):
    """An Orchestra Kit extension failed to load or run."""

    category = "extension"


class PermissionDeniedError(ExtensionError):
    """An extension asked for something it was not granted."""

    category = "extension.permission_denied"


class RegistryError(SymphonyError):
    """The extension registry refused or failed: an index, its catalogue, or an install."""

    category = "registry"


class VerificationError(RegistryError):
    """A publisher signature, a hash or the registry's signed metadata did not check out."""

    category = "registry.verification"


class DataError(SymphonyError):
    """The data layer refused or failed a request."""

    category = "data"


class PreValidationError(DataError):
    """A fast technical check failed before any request was made."""

    category = "data.pre_validation"


class ValidationError(DataError):
    """Authoritative validation rejected the request."""

    category = "data.validation"


class AuthorizationError(DataError):
    """The caller may not do this."""

    category = "data.authorization"


class NotFoundError(DataError):
    """The requested resource does not exist."""

    category = "data.not_found"


class NetworkError(DataError):
    """The data service could not be reached."""

    category = "data.network"


class HostStateError(RuntimeError):
    """The host was used out of order (a programming error, not a user error)."""


def _walk(cls: type[SymphonyError]) -> list[type[SymphonyError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _walk(sub)
    return found


#: Never raised, so never decoded: their wire categories fall back to PluginError.
_DEPRECATED: tuple[type[SymphonyError], ...] = (PluginLoadError, ComponentError)


def error_class_for(category: str) -> type[SymphonyError]:
    """The most specific error class for a wire ``category``, falling back to its parents.

    ``"data.not_found"`` gives NotFoundError; an unknown ``"data.quota"`` gives
    DataError; anything else unknown gives SymphonyError.
    """
    # Only a class that declares its own category owns it: a subclass that merely
    # inherits one (a plugin's refinement) must not take its parent's place.
    by_category: dict[str, type[SymphonyError]] = {}
    for cls in _walk(SymphonyError):
        if "category" in vars(cls) and cls not in _DEPRECATED:
            by_category.setdefault(cls.category, cls)
    while category:
        if category in by_category:
            return by_category[category]
        category = category.rpartition(".")[0]
    return SymphonyError
