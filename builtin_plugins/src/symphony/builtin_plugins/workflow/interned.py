"""The edge scan over integer arrays: every end interned to a node and a port number, checked in numpy.

At 50,000 edges even C-level ``map`` over Python strings costs tens of
milliseconds (each end split into two new strings, each looked up twice).
Here the ends land in one byte buffer, are split at their first ``.`` by
array operations, and each name is packed into 64-bit words, so that finding
a node, a port and its type are hash-table probes and table lookups.  The
buffer is msgspec's JSON encoding of the edges when their layout allows (one
compiled pass over the structs, where reading each end in Python costs more
than the whole array work), else the ends joined by a NUL byte.
Packing is exact (names are compared byte for byte, never by a hash alone);
when a name holds the separator or is too long to pack, :func:`scan_interned`
returns None and the caller takes the string path in :mod:`.bulk`."""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from symphony.hookspecs import ConditionalEdge, ControlEdge, DataEdge, Edge, NodeSignature

from .array_levels import ArrayGraph
from .bulk import EdgeScan, NumberedSignatures, number_signatures

if TYPE_CHECKING:
    import msgspec
    import numpy as np
    from numpy.typing import NDArray

    Ints = NDArray[np.int64]
    Flags = NDArray[np.bool_]

__all__ = ["INTERNED_FROM", "FedInputs", "scan_interned"]

INTERNED_FROM = 4_000  # edges: below this the string scan is as fast (measured), and numpy is not imported

_GLUE = "\x00"
_WIDEST = 64  # bytes: longer node or port names take the string path
_PAD = _WIDEST + 8  # bytes after the last end, for the word loads of :func:`_pack`
_KINDS = {DataEdge: 0, ControlEdge: 1, ConditionalEdge: 2}
_SPARE_MAX = 16 << 20  # bytes: a larger buffer is not kept for the next scan


class _Spare(threading.local):
    """The byte buffers a thread's last scan used, kept for its next one.

    They are megabytes; freed and allocated again on every validation, glibc
    hands them back to the kernel and each of their pages faults again (about
    1 us each, thousands per validation).  Per thread, since validations may run
    in several; taken while in use, so that a scan inside a scan makes its own.
    """

    def __init__(self) -> None:
        self.encoded: bytearray | None = None
        self.scratch: NDArray[np.uint8] | None = None


_SPARE = _Spare()


class _Names:
    """Distinct names packed into 64-bit words, found again through an open-addressing table.

    A sorted search would do, but at 100,000 lookups its cache misses cost ten
    times the table's one or two probes.
    """

    def __init__(self, names: Sequence[str], joined: str) -> None:
        import numpy as np

        self.count = len(names)
        encoded = joined.encode()
        starts, stops = _segments(np.frombuffer(encoded, np.uint8), len(names))
        self.width = max(8, -(-int((stops - starts).max(initial=0)) // 8) * 8)
        lengths = stops - starts
        buffer = np.frombuffer(encoded + bytes(self.width + 8), np.uint8)
        self.words = _pack(buffer, starts, lengths, self.width, int(lengths.max(initial=0)))
        self.keys = _fold(self.words)
        bits = max(4, (8 * len(names)).bit_length())  # at most an eighth full: one probe for most
        self.mask, self.shift = (1 << bits) - 1, np.uint64(64 - bits)
        self.slots = np.full(1 << bits, -1, np.int64)
        pending, at = np.arange(len(names)), self._home(self.keys)
        while len(pending):
            free = self.slots[at] < 0
            self.slots[at[free]] = pending[free]
            lost = self.slots[at] != pending  # the slot was taken, before or by a rival in this round
            pending, at = pending[lost], (at[lost] + 1) & self.mask
        self.distinct = self.width == 8 or len(np.unique(self.keys)) == len(names)  # one word: the names themselves
        self.probed = np.append(self.keys, np.uint64(0))  # an empty slot (-1) reads the extra key

    def _home(self, keys: NDArray[np.uint64]) -> Ints:
        import numpy as np

        mixed = keys >> np.uint64(29)
        mixed ^= keys
        mixed *= np.uint64(0x9E3779B97F4A7C15)
        mixed >>= self.shift
        return mixed.view(np.int64)

    def find(self, buffer: NDArray[np.uint8], starts: Ints, lengths: Ints) -> Ints:
        """Each span's name number, or -1 for a span that names nothing here."""
        import numpy as np

        longest = int(lengths.max(initial=0))
        words = _pack(buffer, starts, lengths, self.width, longest)  # a longer span packs its first bytes: unfit
        keys = _fold(words)
        at = self._home(keys)
        found = self.slots[at]
        going = found >= 0
        going &= self.probed[found] != keys
        found[going] = -1
        todo = np.flatnonzero(going)
        while len(todo):
            at = (at[going] + 1) & self.mask
            slot = self.slots[at]
            hit = (slot >= 0) & (self.probed[slot] == keys[todo])
            found[todo[hit]] = slot[hit]
            going = (slot >= 0) & ~hit
            todo = todo[going]
        if longest > self.width:
            found[lengths > self.width] = -1
        if self.width > 8:  # folded keys matched: compare every word
            known = np.flatnonzero(found >= 0)
            found[known[(self.words[found[known]] != words[known]).any(axis=1)]] = -1
        return found


def _segments(buffer: NDArray[np.uint8], count: int) -> tuple[Ints, Ints]:
    """Where each of ``count`` glued names starts and stops in ``buffer``."""
    import numpy as np

    glue = np.flatnonzero(buffer == 0)
    starts = np.empty(count, np.int64)
    stops = np.empty(count, np.int64)
    if count:
        starts[0] = 0
        starts[1:] = glue + 1
        stops[:-1] = glue
        stops[-1] = len(buffer)
    return starts, stops


def _pack(buffer: NDArray[np.uint8], starts: Ints, lengths: Ints, width: int, longest: int) -> NDArray[np.uint64]:
    """Each span's bytes, zero-padded to ``width`` and read as ``width // 8`` words (exact: no name holds a zero).

    Each word is one unaligned little-endian load at the span's start, its bytes past the span masked off;
    ``buffer`` must go on for ``width + 8`` bytes after the last start.
    """
    import numpy as np

    loads = np.ndarray((len(buffer) - 7,), "<u8", buffer, 0, (1,))
    masks = np.array([(1 << 8 * size) - 1 for size in range(9)], np.uint64)  # the low ``size`` bytes
    if width == 8:  # the common case: one load and one mask per span
        words = loads[starts]
        words &= masks[lengths if longest <= 8 else np.minimum(lengths, 8)]
        return words[:, None]
    words = np.empty((len(starts), width // 8), np.uint64)
    for column in range(width // 8):
        left = np.clip(lengths - 8 * column, 0, 8)
        words[:, column] = loads[starts + 8 * column] & masks[left]
    return words


def _fold(words: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """One 64-bit key per packed name (exact for one word; matches are checked word by word anyway)."""
    import numpy as np

    if words.shape[1] == 1:
        return words[:, 0]
    key = words[:, 0].copy()
    for column in range(1, words.shape[1]):
        key *= np.uint64(0x9E3779B97F4A7C15)
        key ^= words[:, column]
    return key


class FedInputs:
    """The inputs (``"node.port"``) that data edges feed, as integer codes; membership as for a set of strings.

    Only nodes that fail the bulk checks ask, so the lookup tables are built on the first question.
    """

    def __init__(self, nodes: Sequence[str], ports: Sequence[str], codes: Ints, others: set[str]) -> None:
        self._nodes, self._ports, self._codes, self._others = nodes, ports, codes, others
        self._tables: tuple[dict[str, int], dict[str, int], set[int]] | None = None

    def __contains__(self, target: object) -> bool:
        if not isinstance(target, str):
            return False
        if self._tables is None:
            self._tables = (
                {name: number for number, name in enumerate(self._nodes)},
                {port: number for number, port in enumerate(self._ports)},
                set(self._codes.tolist()),
            )
        node_index, port_index, codes = self._tables
        node, dot, port = target.partition(".")
        number, port_number = node_index.get(node), port_index.get(port)
        if dot and number is not None and port_number is not None and number * len(port_index) + port_number in codes:
            return True
        return target in self._others


def scan_interned(
    edges: Sequence[Edge],
    nodes: Mapping[str, object],
    signatures: Mapping[str, NodeSignature | None],
    compatible: Callable[[str, str], bool],
    numbered: NumberedSignatures | None = None,
) -> EdgeScan | None:
    """What :func:`.bulk.scan_edges` finds, from integer arrays; None when a name cannot be packed.

    ``numbered``, when given, is ``signatures`` numbered in node order (see :class:`.bulk.NumberedSignatures`).
    """
    import numpy as np

    names = list(nodes)
    if numbered is None:  # a validator's map is in node order, so it is read as it stands
        declared = list(signatures.values()) if list(signatures) == names else list(map(signatures.get, names))
        numbered = number_signatures(declared)
    ports = list(
        dict.fromkeys(port for s in numbered.table if s is not None for side in (s.inputs, s.outputs) for port in side)
    )
    ends = _intern_ends(edges, names, ports)
    if ends is None:
        return None
    count = len(edges)
    kind = ends.kind
    data, flow = kind == 0, kind != 0
    source, target = ends.node[:count], ends.node[count:]
    linked = (source >= 0) & (target >= 0)
    fits = data & _typed(ends, numbered=numbered, ports=ports, compatible=compatible)
    fits |= (kind == 1) & linked & (ends.port_length[:count] == 0) & (ends.port_length[count:] == 0)
    fed, crowded, repeated = _feeding(edges, ends, data, names, ports)
    plain = flow & linked & ~ends.dotted[:count] & ~ends.dotted[count:]
    flow_codes = (kind[plain].astype(np.int64) * (len(names) + 1) + source[plain]) * (len(names) + 1) + target[plain]
    flow_others = [
        (type(edges[at]), edges[at].source, edges[at].target) for at in np.flatnonzero(flow & ~plain).tolist()
    ]
    keys_may_repeat = (
        ends.named or repeated or _repeats(np.sort(flow_codes)).size > 0 or len(set(flow_others)) < len(flow_others)
    )
    leaving = np.zeros(len(names) + 1, np.bool_)
    leaving[source] = True  # -1 (no such node) marks the extra slot
    order = np.concatenate((np.flatnonzero(data & linked), np.flatnonzero(flow & linked)))
    suspects = np.concatenate((np.flatnonzero(data & ~fits), np.flatnonzero(flow & ~fits)))
    return EdgeScan(
        idle={names[at] for at in np.flatnonzero(~leaving[:-1]).tolist()},
        fed=fed,
        crowded=crowded,
        graph=ArrayGraph(source[order], target[order]),
        suspects=[edges[at] for at in suspects.tolist()],
        keys_may_repeat=keys_may_repeat,
    )


@dataclasses.dataclass(slots=True, frozen=True)
class _Spans:
    """Every edge's source end, then every target end, as a span of a byte buffer, and each edge's kind."""

    buffer: NDArray[np.uint8]  # followed by at least _PAD bytes that belong to no end
    starts: Ints
    stops: Ints
    cut: Ints  # each end's first dot, or its stop
    kind: NDArray[np.uint8]  # per edge: _KINDS
    named: bool  # some edge has an id
    spare: bytearray | None = None  # the buffer's memory, for the thread's next scan once its arrays are gone


@dataclasses.dataclass(slots=True, frozen=True)
class _Ends:
    """Every edge's source end, then every target end: its node and port numbers (-1: none such)."""

    kind: NDArray[np.uint8]
    named: bool
    node: Ints
    port: Ints
    port_length: Ints  # bytes after the first dot (0 without a dot)
    dotted: Flags


def _intern_ends(edges: Sequence[Edge], names: list[str], ports: list[str]) -> _Ends | None:
    """Split each end at its first dot and number its node and port; None when a name cannot be packed."""
    joined_names, joined_ports = _GLUE.join(names), _GLUE.join(ports)
    if (
        not edges
        or joined_names.count(_GLUE) != max(len(names) - 1, 0)
        or joined_ports.count(_GLUE) != max(len(ports) - 1, 0)
    ):
        return None
    try:
        node_names, port_names = _Names(names, joined_names), _Names(ports, joined_ports)
        spans = (_json_spans(edges) if _json_layout_holds() else None) or _text_spans(edges)
    except UnicodeEncodeError:  # a lone surrogate: the string scan copes
        return None
    if (
        spans is None
        or not node_names.distinct
        or not port_names.distinct
        or max(node_names.width, port_names.width) > _WIDEST
    ):
        return None
    buffer, starts, stops, cut = spans.buffer, spans.starts, spans.stops, spans.cut
    dotted = cut != stops
    port_length = (stops - cut - 1) * dotted
    node = node_names.find(buffer, starts, cut - starts)
    port = port_names.find(buffer, cut + 1, port_length)
    if spans.spare is not None and len(spans.spare) <= _SPARE_MAX:
        _SPARE.encoded = spans.spare  # its views die with this frame, before the thread scans again
    return _Ends(kind=spans.kind, named=spans.named, node=node, port=port, port_length=port_length, dotted=dotted)


def _text_spans(edges: Sequence[Edge]) -> _Spans | None:
    """The ends read out of the edges one by one and joined; None when an end holds the glue byte."""
    import numpy as np

    text = [edge.source for edge in edges]
    text += [edge.target for edge in edges]
    joined = _GLUE.join(text)
    if joined.count(_GLUE) != len(text) - 1:
        return None
    buffer = np.frombuffer(joined.encode() + bytes(_PAD), np.uint8)
    separators, cut = _first_dots(buffer[:-_PAD], 0)
    kind = np.frombuffer(bytes([_KINDS[type(edge)] for edge in edges]), np.uint8)
    return _Spans(
        buffer=buffer,
        starts=separators[:-1] + 1,
        stops=separators[1:],
        cut=cut,
        kind=kind,
        named=any([edge.id for edge in edges]),  # noqa: C419 -- a list first is faster than a generator
    )


#: Encoded after the edges, so that the word loads past the last end stay in the buffer.
_TAIL = " " * _PAD
#: How msgspec writes a data and a control edge without an id: the layout :func:`_json_spans` reads.
_JSON_SAMPLE = ((DataEdge(source="a.b", target="c"), ControlEdge(source="d", target="e")), _TAIL)
_JSON_LAYOUT = b'[[{"kind":"data","from":"a.b","to":"c"},{"kind":"control","from":"d","to":"e"}],"%s"]' % _TAIL.encode()


def _unviewed(buffer: bytearray) -> bool:
    """Whether no array views ``buffer``: resizing a viewed bytearray raises."""
    try:
        buffer.append(0)
    except BufferError:
        return False
    del buffer[-1]
    return True


@functools.cache
def _json_encoder() -> msgspec.json.Encoder:
    import msgspec

    return msgspec.json.Encoder()


@functools.cache
def _json_layout_holds() -> bool:
    import msgspec

    return msgspec.json.encode(_JSON_SAMPLE) == _JSON_LAYOUT


def _json_spans(edges: Sequence[Edge]) -> _Spans | None:
    """The ends as msgspec's JSON encoder writes them, one compiled pass over the edge structs.

    Read only when every edge is ``{"kind":…,"from":…,"to":…}`` (data and
    control edges without ids) and no name holds a ``:`` or an escaped
    character, so that the colons are exactly three per edge and the bytes
    between quotes are the names' UTF-8; otherwise None.
    """
    import numpy as np

    encoded, _SPARE.encoded = _SPARE.encoded, None
    if encoded is None or not _unviewed(encoded):  # msgspec would write over what an array still reads
        encoded = bytearray()
    _json_encoder().encode_into((edges, _TAIL), encoded)
    if b"\\" in encoded:
        return None
    buffer = np.frombuffer(encoded, np.uint8)
    count = len(edges)
    separators, after = _first_dots(buffer, ord(":"))
    if len(separators) != 3 * count + 2:
        return None
    # {"kind":"K","from":"S","to":"T"},{"kind":… -- each edge's colons: kind's, from's and to's.
    colons = separators[1:-1].reshape(count, 3)
    starts = np.empty(2 * count, np.int64)
    starts[:count], starts[count:] = colons[:, 1] + 2, colons[:, 2] + 2
    stops = np.empty(2 * count, np.int64)
    stops[:count] = colons[:, 2] - 6  # S","to":
    stops[count:-1] = colons[1:, 0] - 10  # T"},{"kind":
    stops[-1] = len(encoded) - len(_TAIL) - 7  # T"}],"<tail>"]
    after = after[1:].reshape(count, 3)
    cut = np.empty(2 * count, np.int64)
    cut[:count], cut[count:] = after[:, 1], after[:, 2]
    np.minimum(cut, stops, out=cut)  # no dot: the mark after the colon is the next colon, past the end
    kind = (buffer[colons[:, 0] + 2] == ord("c")).view(np.uint8)  # "data" 0, "control" 1
    return _Spans(buffer=buffer, starts=starts, stops=stops, cut=cut, kind=kind, named=False, spare=encoded)


def _first_dots(buffer: NDArray[np.uint8], separator: int) -> tuple[Ints, Ints]:
    """Where each ``separator`` byte is, and the first dot or separator after each.

    A separator is taken to stand before the buffer (at -1) and at its end, so
    with ``n`` separators inside, the answers hold ``n + 2`` and ``n + 1`` positions.
    """
    import numpy as np

    # One pass for both bytes: those equal to both outside the bits where they differ (a few others too).
    differ = separator ^ ord(".")
    spare, _SPARE.scratch = _SPARE.scratch, None
    if spare is None or len(spare) < len(buffer):
        spare = np.empty(len(buffer), np.uint8)
    scratch = np.bitwise_or(buffer, differ, out=spare[: len(buffer)])
    inner = np.flatnonzero(np.equal(scratch, separator | differ, out=scratch.view(np.bool_)))
    if len(spare) <= _SPARE_MAX:
        _SPARE.scratch = spare
    found = buffer[inner]
    is_inner_separator = found == separator
    if np.count_nonzero(is_inner_separator) + np.count_nonzero(found == ord(".")) < len(inner):
        inner = inner[is_inner_separator | (found == ord("."))]
        is_inner_separator = buffer[inner] == separator
    marks = np.empty(len(inner) + 2, np.int64)
    marks[0], marks[1:-1], marks[-1] = -1, inner, len(buffer)
    is_separator = np.ones(len(marks), np.bool_)
    is_separator[1:-1] = is_inner_separator
    at = np.flatnonzero(is_separator)
    return marks[at], marks[at[:-1] + 1]


def _repeats(ordered: Ints) -> Ints:
    """The values a sorted array holds more than once, each once (``np.unique`` hashes: ten times slower here)."""
    import numpy as np

    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    return np.concatenate((twice[:1], twice[1:][twice[1:] != twice[:-1]]))


def _typed(
    ends: _Ends,
    *,
    numbered: NumberedSignatures,
    ports: list[str],
    compatible: Callable[[str, str], bool],
) -> Flags:
    """Whether each edge, read as a data edge, joins a known output to a known input of an agreeing type.

    Types come from tables (signature number, port number) -> type number, and
    ``compatible`` is asked once per distinct pair of type numbers.
    """
    import numpy as np

    width = len(ports) + 1  # the extra column serves ends without a known port (-1)
    signature_of = np.full(len(numbered.numbers) + 1, -1, np.int64)  # the extra -1 serves ends that name no node
    signature_of[:-1] = numbered.numbers
    type_numbers: dict[str, int] = {}
    # Two extra rows, so that a flat cell of -1s (-width - 1 at the lowest) stays inside; None's row has no ports.
    output_types = np.full((len(numbered.table) + 2, width), -1, np.int32)
    input_types = output_types.copy()
    port_numbers = {port: number for number, port in enumerate(ports)}
    for row, signature in enumerate(numbered.table):
        if signature is None:
            continue
        for table, side in ((output_types, signature.outputs), (input_types, signature.inputs)):
            for port, spec in side.items():
                table[row, port_numbers[port]] = type_numbers.setdefault(spec.type, len(type_numbers))
    count = len(ends.node) // 2
    cell = signature_of[ends.node]  # each end's (row, column), flat: -1s land in the extra row or column
    cell *= width
    cell += ends.port
    source_type = output_types.ravel()[cell[:count]]
    target_type = input_types.ravel()[cell[count:]]
    typed = (source_type >= 0) & (target_type >= 0)
    fits = typed.copy()
    if typed.any():
        pairs = source_type[typed].astype(np.int64) * len(type_numbers) + target_type[typed]
        agree = np.zeros(len(type_numbers) ** 2, np.bool_)
        by_number = list(type_numbers)
        for pair in np.flatnonzero(np.bincount(pairs, minlength=len(agree))).tolist():
            agree[pair] = compatible(by_number[pair // len(type_numbers)], by_number[pair % len(type_numbers)])
        fits[typed] = agree[pairs]
    return fits


def _feeding(
    edges: Sequence[Edge], ends: _Ends, data: Flags, names: list[str], ports: list[str]
) -> tuple[FedInputs, set[str], bool]:
    """The inputs data edges feed, those fed more than once, and whether two data edges share a target."""
    import numpy as np

    count, width = len(data), len(ports)
    target, target_port = ends.node[count:], ends.port[count:]
    coded = data & (ends.port_length[count:] > 0) & (target >= 0) & (target_port >= 0)
    codes = target[coded] * width + target_port[coded]
    repeated = _repeats(np.sort(codes))
    uncoded = [edges[at].target for at in np.flatnonzero(data & ~coded).tolist()]
    others = Counter(end for end in uncoded if "." in end)
    crowded = {f"{names[code // width]}.{ports[code % width]}" for code in repeated.tolist()}
    crowded.update(end for end, times in others.items() if times > 1)
    shared = len(repeated) > 0 or len(set(uncoded)) < len(uncoded)
    return FedInputs(names, ports, codes, set(others)), crowded, shared
