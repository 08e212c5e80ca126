"""Reading a file into a buffer and saving it back atomically, with the disk baseline for conflict detection.

The baseline is the file's ``(st_mtime_ns, st_size)`` when the buffer last matched
it, or None when there was no file; a save refuses when the file no longer has it.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import stat
from collections.abc import Iterable, Iterator

from .errors import CHANGED_ON_DISK, INVALID_PARAMS, IO_ERROR, RpcError

__all__ = ["Baseline", "decode", "read_file", "save_chunks", "stat_baseline"]

Baseline = tuple[int, int] | None


def _io_error(error: OSError, path: str, doing: str) -> RpcError:
    return RpcError(IO_ERROR, f"Cannot {doing} {path}: {error.strerror or error}. Check the path and its permissions.")


def stat_baseline(path: str) -> Baseline:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _io_error(error, path, "inspect") from None
    return info.st_mtime_ns, info.st_size


def read_file(path: str) -> tuple[bytes, Baseline]:
    """The file's bytes and its baseline; a missing file is empty with no baseline."""
    try:
        # Non-blocking, so a FIFO is refused below instead of hanging the core in open().
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise RpcError(INVALID_PARAMS, f"{path} is not a regular file; open a text file.")
            data = handle.read()
    except FileNotFoundError:
        return b"", None
    except OSError as error:
        raise _io_error(error, path, "read") from None
    return data, (info.st_mtime_ns, info.st_size)


def decode(data: bytes, path: str, piece: int = 1 << 20) -> Iterator[str]:
    """``data`` as UTF-8 text, a piece at a time: the whole file never exists as one str next to the rope."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for start in range(0, len(data), piece):
        try:
            yield decoder.decode(view[start : start + piece], final=start + piece >= len(data))
        except UnicodeDecodeError as error:
            raise RpcError(
                INVALID_PARAMS,
                f"{path} is not UTF-8 (byte {start + error.start}: {error.reason}); convert it to UTF-8 to edit it.",
            ) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_chunks(path: str, chunks: Iterable[str], baseline: Baseline, force: bool) -> tuple[int, int]:
    """Write the text atomically unless the file changed since ``baseline`` (and not ``force``); the new baseline.

    Temporary file in the same directory, fsync, rename, fsync of the directory: a crash
    leaves the old file or the new one, never a mix.  An existing file's mode is kept;
    a new one gets ``0o666 & ~umask`` as ``open()`` would give it.
    """
    path = os.path.realpath(path)  # through a symlink to its target, which keeps being the link's target
    current = stat_baseline(path)
    if current != baseline and not force:
        mtime, size = current if current is not None else (None, None)
        raise RpcError(
            CHANGED_ON_DISK,
            f"{path} changed on disk since it was opened or last saved; reload it, or save with force to overwrite.",
            {"disk_mtime_ns": mtime, "disk_size": size},
        )
    directory = os.path.dirname(path) or "."
    mode = 0o666 & ~_umask()
    if current is not None:
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(os.stat(path).st_mode) & 0o777
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.urandom(6).hex()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(descriptor, "wb", buffering=1 << 20) as handle:
            for chunk in chunks:
                handle.write(chunk.encode("utf-8"))
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _io_error(error, path, "save") from None
    with contextlib.suppress(OSError):
        directory_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)
    saved = stat_baseline(path)
    if saved is None:
        raise RpcError(IO_ERROR, f"{path} was removed right after it was saved; save again.")
    return saved
