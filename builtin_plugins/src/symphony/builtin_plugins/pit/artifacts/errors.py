"""The artifact store's errors, each under the SDK's tree so callers catch them by category."""

from __future__ import annotations

from symphony.hookspecs import ConfigurationError, DataError

__all__ = ["ArtifactCorruptError", "WrongKeyError"]


class ArtifactCorruptError(DataError):
    """Stored bytes do not match their digest: the store refuses to return them."""

    category = "data.artifact_corrupt"

    def __init__(self, what: str, where: str) -> None:
        super().__init__(
            f"Artifact store corruption: {what} at {where} does not match its digest; it was not returned."
            " Run `symphony artifacts verify` to list every damaged object, then restore the store from a backup"
            " or store the content again."
        )


class WrongKeyError(ConfigurationError):
    """The configured encryption key is not the one that sealed the data."""

    category = "configuration.artifact_key"
