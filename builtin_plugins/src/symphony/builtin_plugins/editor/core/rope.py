"""A B-tree rope: the editor core's text buffer, O(log n) edits and position conversions.

Structure: leaves hold chunks of text (at most ``_MAX_LEAF`` code points, at least
``_MIN_LEAF`` except in a tiny buffer; built at ``_FILL``); internal nodes hold ``_MIN_FANOUT``..``_FANOUT``
children; every leaf is at the same depth.  Each node caches three sums over its
subtree -- code points (``chars``), line breaks (``lines``, ``\\n`` only) and UTF-16
code units (``units``) -- so finding a code point offset, a line start or a UTF-16
offset descends one path, scanning at most ``_FANOUT`` children per level: O(log n)
for a fixed fanout, as in Ropey.  An edit rewrites one or two leaves (O(leaf size)),
splits or merges them when they leave their size bounds, and propagates the split
or merge upwards; sums along the path are recomputed on the way back.

Offsets are code points (Python ``str`` indices); UTF-16 offsets count an astral
character (emoji) as two units, as LSP positions do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["Rope", "utf16_length"]

_MAX_LEAF = 2048
_MIN_LEAF = 512
#: Leaves built in bulk are filled to here, leaving room for edits before they split.
_FILL = 1536
_FANOUT = 32
_MIN_FANOUT = 8


def utf16_length(text: str) -> int:
    """UTF-16 code units of ``text`` (two for each character above U+FFFF)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


class _Node:
    """A leaf (``text`` is a str, ``children`` empty) or an internal node (``text`` is None)."""

    __slots__ = ("chars", "children", "lines", "text", "units")

    def __init__(self, text: str | None = None, children: list[_Node] | None = None) -> None:
        self.text = text
        self.children: list[_Node] = children if children is not None else []
        if text is not None:
            self.chars = len(text)
            self.lines = text.count("\n")
            self.units = utf16_length(text)
        else:
            self.recount()

    def recount(self) -> None:
        chars = lines = units = 0
        for child in self.children:
            chars += child.chars
            lines += child.lines
            units += child.units
        self.chars, self.lines, self.units = chars, lines, units

    def too_small(self) -> bool:
        if self.text is not None:
            return self.chars < _MIN_LEAF
        return len(self.children) < _MIN_FANOUT


def _leaf(text: str) -> _Node:
    if not text.isascii():
        return _Node(text)
    leaf = _Node.__new__(_Node)
    leaf.text = text
    leaf.children = []
    leaf.chars = leaf.units = len(text)
    leaf.lines = text.count("\n")
    return leaf


def _leaves(text: str) -> list[_Node]:
    """``text`` cut into leaves of about ``_FILL`` code points (one leaf if it fits in one)."""
    if len(text) <= _MAX_LEAF:
        return [_leaf(text)]
    count = -(-len(text) // _FILL)
    size = -(-len(text) // count)
    return [_leaf(text[i : i + size]) for i in range(0, len(text), size)]


def _group(nodes: list[_Node]) -> list[_Node]:
    """``nodes`` under parents of ``_MIN_FANOUT``..``_FANOUT`` children each (one parent if few)."""
    if len(nodes) <= _FANOUT:
        return [_Node(children=nodes)]
    count = -(-len(nodes) // _FANOUT)
    size = -(-len(nodes) // count)
    return [_Node(children=nodes[i : i + size]) for i in range(0, len(nodes), size)]


def _split(node: _Node) -> list[_Node]:
    """An overfull node as one or more nodes within bounds, at the same height."""
    if node.text is not None:
        return _leaves(node.text) if node.chars > _MAX_LEAF else [node]
    if len(node.children) > _FANOUT:
        return _group(node.children)
    return [node]


def _build(nodes: list[_Node]) -> _Node:
    while len(nodes) > 1:
        nodes = _group(nodes)
    return nodes[0]


class Rope:
    """A text buffer: replace a range, convert between code points, lines and UTF-16 units."""

    __slots__ = ("_root",)

    def __init__(self, text: str = "") -> None:
        self._root = _build(_leaves(text))

    @classmethod
    def from_pieces(cls, pieces: Iterable[str]) -> Rope:
        """A rope of the pieces' concatenation, built without ever holding it as one str (or copying a piece)."""
        leaves: list[_Node] = []
        carry = ""
        for piece in pieces:
            start = 0
            if carry:
                start = _FILL - len(carry)
                carry += piece[:start]
                if len(carry) < _FILL:
                    continue
                leaves.append(_leaf(carry))
            stop = start + (len(piece) - start) // _FILL * _FILL
            leaves.extend(_leaf(piece[i : i + _FILL]) for i in range(start, stop, _FILL))
            carry = piece[stop:]
        if leaves and len(carry) < _MIN_LEAF:
            carry = (leaves.pop().text or "") + carry
        leaves.extend(_leaves(carry))
        rope = cls.__new__(cls)
        rope._root = _build(leaves)
        return rope

    # -- sizes --------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._root.chars

    @property
    def line_count(self) -> int:
        """Lines, split on ``\\n``: one more than the line breaks."""
        return self._root.lines + 1

    @property
    def length_utf16(self) -> int:
        return self._root.units

    def __str__(self) -> str:
        return "".join(self.chunks())

    def chunks(self) -> Iterator[str]:
        stack = [self._root]
        while stack:
            node = stack.pop()
            if node.text is not None:
                yield node.text
            else:
                stack.extend(reversed(node.children))

    def depth(self) -> int:
        node, depth = self._root, 1
        while node.text is None:
            node, depth = node.children[0], depth + 1
        return depth

    # -- reading ------------------------------------------------------------------------

    def slice(self, start: int, end: int) -> str:
        """Text between two code point offsets (clamped to the buffer)."""
        start, end = max(start, 0), min(end, self._root.chars)
        if start >= end:
            return ""
        parts: list[str] = []
        self._collect(self._root, start, end, parts)
        return "".join(parts)

    def _collect(self, node: _Node, start: int, end: int, parts: list[str]) -> None:
        if node.text is not None:
            parts.append(node.text[start:end])
            return
        for child in node.children:
            if start < child.chars and end > 0:
                self._collect(child, max(start, 0), min(end, child.chars), parts)
            start -= child.chars
            end -= child.chars
            if end <= 0:
                break

    # -- conversions --------------------------------------------------------------------

    def line_start(self, line: int) -> int:
        """Code point offset where ``line`` (0-based) begins; ``line`` must be < ``line_count``."""
        if line <= 0:
            return 0
        node, offset = self._root, 0  # the line-th "\n" ends the line before
        while node.text is None:
            for child in node.children:
                if line <= child.lines:
                    node = child
                    break
                line -= child.lines
                offset += child.chars
            else:
                raise IndexError(f"line {line} is past the end of the buffer")
        text, at = node.text, -1
        for _ in range(line):
            at = text.find("\n", at + 1)
        return offset + at + 1

    def line_of(self, offset: int) -> int:
        """The line that code point ``offset`` is on."""
        node, lines = self._root, 0
        while node.text is None:
            for child in node.children:
                if offset < child.chars:
                    node = child
                    break
                offset -= child.chars
                lines += child.lines
            else:
                return self._root.lines
        return lines + node.text.count("\n", 0, offset)

    def units_at(self, offset: int) -> int:
        """UTF-16 units before code point ``offset``."""
        node, units = self._root, 0
        while node.text is None:
            for child in node.children:
                if offset < child.chars:
                    node = child
                    break
                offset -= child.chars
                units += child.units
            else:
                return self._root.units
        if node.units == node.chars:
            return units + offset
        return units + utf16_length(node.text[:offset])

    def offset_of_units(self, units: int) -> int | None:
        """Code point offset at UTF-16 offset ``units``; None inside a surrogate pair or past the end."""
        if units >= self._root.units:
            return self._root.chars if units == self._root.units else None
        node, offset = self._root, 0
        while node.text is None:
            for child in node.children:
                if units < child.units:
                    node = child
                    break
                units -= child.units
                offset += child.chars
        if node.units == node.chars:
            return offset + units
        for i, char in enumerate(node.text):
            if units <= 0:
                return offset + i if units == 0 else None
            units -= 2 if char > "\uffff" else 1
        return offset + node.chars if units == 0 else None

    def line_end(self, line: int) -> int:
        """Code point offset of the end of ``line``'s text (its ``\\n``, or the buffer's end)."""
        return self.line_start(line + 1) - 1 if line < self._root.lines else self._root.chars

    def position_offset(self, line: int, character: int) -> int | None:
        """Code point offset of an LSP position; None past the line's end, inside a surrogate pair, or no such line."""
        root = self._root
        if line < 0 or character < 0 or line > root.lines:
            return None
        node, offset, count = root, 0, line
        while node.text is None:
            for child in node.children:
                lines = child.lines
                if count <= lines:
                    node = child
                    break
                count -= lines
                offset += child.chars
        text, at = node.text, -1
        for _ in range(count):
            at = text.find("\n", at + 1)
        begin = at + 1
        stop = text.find("\n", begin)
        if stop < 0:
            if offset + len(text) != root.chars:
                return self._position_offset_across_leaves(line, character)
            stop = len(text)
        if node.units == node.chars:
            return offset + begin + character if character <= stop - begin else None
        units = character
        for i in range(begin, stop):
            if units <= 0:
                return offset + i if units == 0 else None
            units -= 2 if text[i] > "\uffff" else 1
        return offset + stop if units == 0 else None

    def _position_offset_across_leaves(self, line: int, character: int) -> int | None:
        start = self.line_start(line)
        first = self.units_at(start)
        if character > self.units_at(self.line_end(line)) - first:
            return None
        return self.offset_of_units(first + character)

    def offset_position(self, offset: int) -> tuple[int, int]:
        """The LSP position (line, UTF-16 character) of code point ``offset``."""
        line = self.line_of(offset)
        return line, self.units_at(offset) - self.units_at(self.line_start(line))

    # -- editing ------------------------------------------------------------------------

    def replace(self, start: int, end: int, text: str) -> None:
        """Replace code points ``start``..``end`` by ``text`` (0 <= start <= end <= len)."""
        if not 0 <= start <= end <= self._root.chars:
            raise IndexError(f"range {start}..{end} outside 0..{self._root.chars}")
        if self._replace_in_leaf(start, end, text):
            return
        if end > start:
            self._delete(self._root, start, end)
            self._fix_root()
        if text:
            grown = self._insert(self._root, start, text)
            while len(grown) > 1:
                grown = _group(grown)
            self._root = grown[0]

    def _replace_in_leaf(self, start: int, end: int, text: str) -> bool:
        """The common case: the range lies in one leaf that stays within its size bounds; one descent."""
        path: list[_Node] = []
        node = self._root
        while node.text is None:
            path.append(node)
            for child in node.children:
                size = child.chars
                if end <= size:
                    node = child
                    break
                if start < size:
                    return False
                start -= size
                end -= size
            else:
                return False
        old_text = node.text
        size = len(old_text) + len(text) - (end - start)
        if size > _MAX_LEAF or (size < _MIN_LEAF and size < len(old_text) and path):
            return False
        removed = old_text[start:end]
        node.text = old_text[:start] + text + old_text[end:]
        chars = size - len(old_text)
        lines = text.count("\n") - removed.count("\n")
        units = utf16_length(text) - utf16_length(removed)
        node.chars += chars
        node.lines += lines
        node.units += units
        for parent in path:
            parent.chars += chars
            parent.lines += lines
            parent.units += units
        return True

    def _fix_root(self) -> None:
        root = self._root
        while root.text is None and len(root.children) == 1:
            root = root.children[0]
        if root.text is None and not root.children:
            root = _Node("")
        self._root = root

    def _insert(self, node: _Node, offset: int, text: str) -> list[_Node]:
        if node.text is not None:
            node.text = node.text[:offset] + text + node.text[offset:]
            node.chars += len(text)
            node.lines += text.count("\n")
            node.units += utf16_length(text)
            return _split(node)
        children = node.children
        last = len(children) - 1
        for i, child in enumerate(children):
            if offset <= child.chars or i == last:
                grown = self._insert(child, offset, text)
                if len(grown) == 1:
                    node.chars += len(text)
                    node.lines += text.count("\n")
                    node.units += utf16_length(text)
                    return [node]
                children[i : i + 1] = grown
                node.recount()
                return _split(node)
            offset -= child.chars
        raise AssertionError("unreachable: an internal node has children")

    def _delete(self, node: _Node, start: int, end: int) -> None:
        if node.text is not None:
            node.text = node.text[:start] + node.text[end:]
            node.chars = len(node.text)
            node.lines = node.text.count("\n")
            node.units = utf16_length(node.text)
            return
        kept: list[_Node] = []
        touched: list[int] = []
        for index, child in enumerate(node.children):
            if end <= 0:
                kept.extend(node.children[index:])
                break
            size = child.chars
            if start >= size:
                kept.append(child)
            elif start > 0 or end < size:  # partly deleted; a child wholly inside the range is dropped
                self._delete(child, max(start, 0), min(end, size))
                touched.append(len(kept))
                kept.append(child)
            start -= size
            end -= size
        node.children = kept
        for index in reversed(touched):
            self._merge(node, index)
        node.recount()

    @staticmethod
    def _merge(parent: _Node, index: int) -> None:
        """Merge an undersized child with a neighbour, re-splitting if the result is too big."""
        children = parent.children
        if index >= len(children) or len(children) < 2 or not children[index].too_small():
            return
        left = index - 1 if index > 0 else index
        a, b = children[left], children[left + 1]
        if a.text is not None and b.text is not None:
            merged = _Node(a.text + b.text)
        else:
            merged = _Node(children=a.children + b.children)
        children[left : left + 2] = _split(merged)
