"""Content-defined chunking (FastCDC): cut points follow the content, so an edit moves few chunk boundaries."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyfastcdc import FastCDC

__all__ = ["Chunker"]


class Chunker:
    """Cuts a stream of blocks into chunks without holding more than a few maximum-size chunks in memory.

    pyfastcdc's ``avg_size`` is the normalisation target *past* ``min_size``: its real average chunk is
    about ``avg_size + min_size``.  Chunks are read-only views of the data they were cut from (no copy each;
    slicing them out cost as much as hashing them).
    """

    def __init__(self, min_size: int, avg_size: int, max_size: int) -> None:
        self._cdc = FastCDC(avg_size=avg_size, min_size=min_size, max_size=max_size)
        self._max = max_size
        self._pending = bytearray()

    def chunks(self, blocks: Iterable[bytes]) -> Iterator[memoryview]:
        """The chunks of the concatenated ``blocks``, in order."""
        for block in blocks:
            yield from self.feed(block)
        yield from self.finish()

    def feed(self, block: bytes) -> Iterator[memoryview]:
        """The chunks ``block`` completes; only the last chunk of the data so far is held back."""
        if len(self._pending) + len(block) < 4 * self._max:
            self._pending += block
            return
        # A large block with nothing pending is cut where it is, not copied into the buffer first.
        data = block if not self._pending else bytes(self._pending) + block
        view, cut = memoryview(data).toreadonly(), 0
        for chunk in self._cdc.cut_buf(data):
            if chunk.offset + chunk.length == len(data):
                break  # it may be cut short by the buffer's end: carry it to the next block
            yield view[chunk.offset : chunk.offset + chunk.length]
            cut = chunk.offset + chunk.length
        self._pending = bytearray(view[cut:])

    def finish(self) -> Iterator[memoryview]:
        """The remaining chunks, at the end of the data."""
        data = bytes(self._pending)
        self._pending.clear()
        view = memoryview(data).toreadonly()
        for chunk in self._cdc.cut_buf(data) if data else ():
            yield view[chunk.offset : chunk.offset + chunk.length]
