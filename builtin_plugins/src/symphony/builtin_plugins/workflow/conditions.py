"""The condition language of conditional edges and gates: small, safe, and never ``eval``.

A condition decides whether a conditional edge is taken.  It reads the outputs of
the edge's upstream node (a gate reads its input ``in``), so it must be safe to run
on text from anyone's workflow file: it is tokenized and parsed here by hand and
compiled to closures, with no ``eval``, ``exec`` or Python ``ast`` anywhere.

Examples::

    label == "urgent"
    label == "urgent" and score >= 0.5
    not (label in ["spam", "junk"]) or result.score > 0.9
    "refund" in text                      # substring of a string
    tags                                  # truthiness: non-empty, non-zero, not null
    in.approved == true                   # a gate's input `in`
    result.reason == null                 # true when the field is absent

Grammar (keywords are lowercase and case-sensitive; whitespace is free between tokens)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") operand)?
    operand := literal | path | "(" expr ")" | list
    list    := "[" (literal ("," literal)*)? "]"
    path    := NAME ("." NAME)*
    literal := STRING | NUMBER | "true" | "false" | "null"

* ``NAME`` is ASCII ``[A-Za-z_][A-Za-z0-9_]*``.  Keywords (``and or not in true false
  null``) are reserved, except that any keyword may follow a dot (``result.in``) and
  ``in`` may start a path (``in.approved``), where neither can be read as an operator.
  Names that are keywords in another case (``True``, ``AND``) and ``None`` are
  refused with a hint, because they are nearly always a mistake for the keyword.
* ``STRING`` is ``'...'`` or ``"..."``; a backslash escapes only the quote and the
  backslash itself (``"say \\"hi\\""``).  Any other character, newlines included,
  stands for itself.
* ``NUMBER`` is an int or a float with an optional leading ``-`` written directly
  before the digits, and an optional exponent: ``3``, ``-0.5``, ``1e-3``.
* Comparisons do not chain (``a < b < c`` is an error); join them with ``and``.
* A condition is at most 1,000 characters and nests at most 32 levels, counting
  each ``(`` and each ``not``; that keeps parsing and evaluation far from Python's
  recursion limit and a bad document from costing much.

Meaning, given the upstream node's outputs (a mapping of output port name to value):

* A path's first name is an output port; each further name indexes into a mapping
  (a JSON object).  A missing port or key, or indexing into something that is not a
  mapping, gives ``null`` -- so ``x == null`` is true when ``x`` is absent, and the
  validator, not evaluation, reports names that can never exist.
* A bare value (no comparison) means its truthiness: ``null``, ``false``, ``0``,
  ``""``, ``[]`` and ``{}`` are false, everything else true.
* ``==``/``!=`` compare strictly: numbers equal numbers (``1 == 1.0``), but ``true`` is
  not ``1`` and ``"1"`` is not ``1``; lists and objects compare element by element.
* ``<``, ``<=``, ``>``, ``>=`` compare two numbers or two strings; any other pair of
  types (``"a" < 1``, ``null < 1``) is simply false rather than an error, since the
  outputs come from models and may be anything.
* ``x in y`` is: membership when ``y`` is a list (literal or value), a substring test
  when both are strings, key membership when ``y`` is an object and ``x`` a string,
  and false otherwise.  ``x not in y`` is exactly ``not (x in y)``, as ``!=`` is
  exactly ``not ==``.
* ``and``/``or`` short-circuit and always give a boolean.

Every syntax error is a :class:`ConditionError` that says what was expected, what
was found, where (1-based column), and often how to fix it, e.g.
``Expected a value after '==', found end of condition at column 9 in: label ==``.
The message is printable: control characters of the condition appear escaped
(``\\n``, ``\\x1b``), while the error's ``text`` keeps the condition as written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

__all__ = ["MAX_CONDITION_DEPTH", "MAX_CONDITION_LENGTH", "Condition", "ConditionError", "parse_condition"]

#: Longest condition accepted, in characters.
MAX_CONDITION_LENGTH: Final = 1_000
#: Deepest nesting accepted, counting each ``(`` and each ``not``.
MAX_CONDITION_DEPTH: Final = 32

_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_COMPARISONS: Final = ("==", "!=", "<=", ">=", "<", ">")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_LITERAL_KINDS: Final = ("string", "number")
_LITERAL_WORDS: Final = {"true": True, "false": False, "null": None}
#: Characters people type out of habit from other languages, and what to write instead.
_CHARACTER_HINTS: Final = {
    "&": "use 'and' to require both",
    "|": "use 'or' to accept either",
    "!": "use 'not' to negate, or '!=' to compare",
    "=": "use '==' to compare",
    "-": "a minus sign must be written directly before a number's digits",
    "\u201c": "use straight quotes: \" or '",
    "\u201d": "use straight quotes: \" or '",
    "\u2018": "use straight quotes: \" or '",
    "\u2019": "use straight quotes: \" or '",
}

Value = Any
Outputs = Mapping[str, Any]
_Compiled = Callable[[Outputs], Any]


class ConditionError(ValueError):
    """A condition that cannot be parsed; the message says what, where and how to fix it.

    ``position`` is the 0-based character offset of the problem (messages show the
    1-based column), so an editor can put the cursor on it; ``text`` is the condition.
    """

    def __init__(self, message: str, position: int = 0, text: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.text = text

    def __reduce__(self) -> tuple[type[ConditionError], tuple[str, int, str]]:
        # Errors travel between processes; keep position and text when pickled.
        return (type(self), (str(self), self.position, self.text))


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition: its text, the names it reads, and a fast evaluator.

    Immutable and hashable (by text), so parsed conditions can be cached and shared
    between threads; build one with :func:`parse_condition`.
    """

    text: str
    #: Every name path the condition reads, e.g. ``{("label",), ("result", "score")}``;
    #: the validator checks each first element against the upstream node's outputs.
    paths: frozenset[tuple[str, ...]]
    _run: _Compiled = field(repr=False, compare=False)

    def evaluate(self, outputs: Mapping[str, Any]) -> bool:
        """Whether the condition holds on ``outputs`` (output port name -> value).

        Never raises for JSON-like outputs: missing names are null and mismatched types
        compare false (see the module documentation).
        """
        return bool(self._run(outputs))


# -- tokens ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "name", "keyword", "string", "number", "op", "end"
    text: str  # the source text, or the keyword/operator itself
    position: int
    value: Value = None


def _printable(text: str) -> str:
    """``text`` with each unprintable character as its Python escape (``\\n``, ``\\x1b``).

    Messages end up in terminals and editors; a condition comes from anyone's
    workflow, and its control characters must not move the cursor or recolour
    the screen there.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _shown(text: str) -> str:
    """The condition as quoted in messages: long ones are cut so a message stays readable."""
    return _printable(text if len(text) <= 200 else text[:200] + "...")


def _fail(text: str, position: int, problem: str, hint: str | None = None) -> NoReturn:
    hint_part = f" ({hint})" if hint else ""
    raise ConditionError(f"{problem} at column {position + 1}{hint_part} in: {_shown(text)}", position, text)


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "end of condition"
    source = token.text if len(token.text) <= 30 else token.text[:30] + "..."
    return f"'{_printable(source)}'"


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    chars: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return "".join(chars), index + 1
        if char == "\\":
            following = text[index + 1 : index + 2]
            if following not in ('"', "'", "\\"):
                found = f"'{_printable(following)}'" if following else "end of condition"
                _fail(
                    text,
                    index,
                    f"Expected a quote or a backslash after '\\', found {found}",
                    "a backslash escapes only quotes and backslashes",
                )
            chars.append(following)
            index += 2
            continue
        chars.append(char)
        index += 1
    return _fail(
        text,
        start,
        f"Expected a closing {quote!r} for the string that starts",
        f"found end of condition; write \\{quote} for a quote inside the string",
    )


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = _skip_space(text, 0)
    while index < len(text):
        char = text[index]
        if char in "\"'":
            value, end = _read_string(text, index)
            tokens.append(_Token("string", text[index:end], index, value))
        elif number := _NUMBER.match(text, index):
            source = number.group()
            is_float = number.group(1) is not None or number.group(2) is not None
            tokens.append(_Token("number", source, index, float(source) if is_float else int(source)))
            end = number.end()
        elif name := _NAME.match(text, index):
            word = name.group()
            tokens.append(_Token("keyword" if word in _KEYWORDS else "name", word, index))
            end = name.end()
        elif operator := next((op for op in _COMPARISONS if text.startswith(op, index)), None):
            tokens.append(_Token("op", operator, index))
            end = index + len(operator)
        elif char in "()[],.":
            tokens.append(_Token("op", char, index))
            end = index + 1
        else:
            _fail(
                text,
                index,
                f"Expected a name, value, operator or parenthesis, found '{_printable(char)}'",
                _CHARACTER_HINTS.get(char),
            )
        index = _skip_space(text, end)
    tokens.append(_Token("end", "", len(text)))
    return tokens


# -- evaluation helpers --------------------------------------------------------------


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Value, right: Value) -> bool:
    """Equality without Python's ``True == 1``: booleans, numbers and strings stay apart.

    Lists and objects are walked with a stack, not recursion: outputs come from
    extensions, and one nested deeper than Python's recursion limit must compare
    like any other value rather than raise.
    """
    pending = [(left, right)]
    while pending:
        left, right = pending.pop()
        if isinstance(left, list | tuple) and isinstance(right, list | tuple):
            if len(left) != len(right):
                return False
            pending.extend(zip(left, right, strict=True))
        elif isinstance(left, Mapping) and isinstance(right, Mapping):
            if left.keys() != right.keys():
                return False
            pending.extend((left[key], right[key]) for key in left)
        elif not _equal_leaf(left, right):
            return False
    return True


def _equal_leaf(left: Value, right: Value) -> bool:
    """Equality of two values that are not both lists or both objects."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    if _is_number(left) or _is_number(right):
        return _is_number(left) and _is_number(right) and bool(left == right)
    if isinstance(left, list | tuple | Mapping) or isinstance(right, list | tuple | Mapping):
        return False
    try:
        return bool(left == right)
    except Exception:  # an exotic value with a broken __eq__ must not break routing
        return False


def _ordered(left: Value, right: Value) -> bool:
    return (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))


def _contains(left: Value, right: Value) -> bool:
    if isinstance(right, str):
        return isinstance(left, str) and left in right
    if isinstance(right, list | tuple):
        return any(_equal(left, item) for item in right)
    if isinstance(right, Mapping):
        return isinstance(left, str) and left in right
    return False


_OPERATORS: Final[dict[str, Callable[[Value, Value], bool]]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": lambda a, b: _ordered(a, b) and a < b,
    "<=": lambda a, b: _ordered(a, b) and a <= b,
    ">": lambda a, b: _ordered(a, b) and a > b,
    ">=": lambda a, b: _ordered(a, b) and a >= b,
    "in": _contains,
    "not in": lambda a, b: not _contains(a, b),
}


def _constant(value: Value) -> _Compiled:
    return lambda _outputs: value


def _lookup(path: tuple[str, ...]) -> _Compiled:
    first, rest = path[0], path[1:]
    if not rest:
        return lambda outputs: outputs.get(first)

    def run(outputs: Outputs) -> Value:
        value = outputs.get(first)
        for key in rest:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    return run


def _compare(operator: str, left: _Compiled, right: _Compiled) -> _Compiled:
    function = _OPERATORS[operator]
    return lambda outputs: function(left(outputs), right(outputs))


def _all(parts: list[_Compiled]) -> _Compiled:
    return lambda outputs: all(part(outputs) for part in parts)


def _any(parts: list[_Compiled]) -> _Compiled:
    return lambda outputs: any(part(outputs) for part in parts)


def _negate(inner: _Compiled) -> _Compiled:
    return lambda outputs: not inner(outputs)


# -- parser --------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list, compiling each rule to a closure as it goes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.paths: set[tuple[str, ...]] = set()

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def _is(self, kind: str, text: str) -> bool:
        token = self.token
        return token.kind == kind and token.text == text

    def _advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_CONDITION_DEPTH:
            _fail(
                self.text,
                token.position,
                f"Expected at most {MAX_CONDITION_DEPTH} levels of nesting, found level {self.depth} ('{token.text}')",
                "simplify the condition or compute a flag upstream",
            )

    def parse(self) -> _Compiled:
        if self.token.kind == "end":
            _fail(self.text, self.token.position, "Expected a condition, found end of condition")
        run = self._or()
        token = self.token
        if token.kind != "end":
            _fail(self.text, token.position, f"Expected end of condition, found {_describe(token)}", self._hint(token))
        return run

    def _hint(self, token: _Token) -> str | None:
        """Why a token cannot continue a complete condition, when there is a likely reason."""
        if token.kind == "op" and token.text in _COMPARISONS:
            return "comparisons do not chain; join them with 'and'"
        if token.kind == "op" and token.text == ")":
            return "this ')' has no matching '('"
        if token.kind == "keyword" and token.text == "not":
            return "write 'not in' to test that a value is absent"
        return "join conditions with 'and' or 'or'"

    def _or(self) -> _Compiled:
        parts = [self._and()]
        while self._is("keyword", "or"):
            operator = self._advance()
            parts.append(self._operand_of(operator, self._and))
        return parts[0] if len(parts) == 1 else _any(parts)

    def _and(self) -> _Compiled:
        parts = [self._not()]
        while self._is("keyword", "and"):
            operator = self._advance()
            parts.append(self._operand_of(operator, self._not))
        return parts[0] if len(parts) == 1 else _all(parts)

    def _not(self) -> _Compiled:
        if not self._is("keyword", "not"):
            return self._cmp()
        token = self._advance()
        self._enter(token)
        inner = self._operand_of(token, self._not)
        self.depth -= 1
        return _negate(inner)

    def _operand_of(self, after: _Token, rule: Callable[[], _Compiled]) -> _Compiled:
        """Parse what must follow ``after``, or say plainly that it is missing."""
        if not self._starts_operand():
            token = self.token
            _fail(self.text, token.position, f"Expected a value after '{after.text}', found {_describe(token)}")
        return rule()

    def _starts_operand(self) -> bool:
        token = self.token
        if token.kind in ("name", "string", "number"):
            return True
        if token.kind == "keyword":
            return token.text in ("not", "in", "true", "false", "null")
        return token.kind == "op" and token.text in ("(", "[")

    def _cmp(self) -> _Compiled:
        left = self._operand()
        token = self.token
        if token.kind == "op" and token.text in _COMPARISONS:
            operator = self._advance()
            name = operator.text
        elif token.kind == "keyword" and token.text == "in":
            operator = self._advance()
            name = "in"
        elif token.kind == "keyword" and token.text == "not" and self._next_is_in():
            operator = self._advance()
            self._advance()
            operator = _Token("keyword", "not in", operator.position)
            name = "not in"
        else:
            return left
        if self._is("keyword", "not"):
            _fail(
                self.text,
                self.token.position,
                f"Expected a value after '{name}', found 'not'",
                "wrap it in parentheses: (not ...)",
            )
        right = self._operand_of(operator, self._operand)
        return _compare(name, left, right)

    def _next_is_in(self) -> bool:
        following = self.tokens[self.index + 1]
        return following.kind == "keyword" and following.text == "in"

    def _operand(self) -> _Compiled:
        token = self.token
        if token.kind in _LITERAL_KINDS or (token.kind == "keyword" and token.text in _LITERAL_WORDS):
            return _constant(self._literal())
        if token.kind == "name" or (token.kind == "keyword" and token.text == "in"):
            return self._path()
        if token.kind == "op" and token.text == "(":
            return self._group()
        if token.kind == "op" and token.text == "[":
            return _constant(self._list())
        return _fail(self.text, token.position, f"Expected a value, found {_describe(token)}")

    def _literal(self) -> Value:
        token = self._advance()
        if token.kind == "keyword":
            return _LITERAL_WORDS[token.text]
        return token.value

    def _group(self) -> _Compiled:
        opening = self._advance()
        self._enter(opening)
        inner = self._operand_of(opening, self._or)
        if not self._is("op", ")"):
            token = self.token
            _fail(
                self.text,
                token.position,
                f"Expected ')' to close the '(' at column {opening.position + 1}, found {_describe(token)}",
            )
        self._advance()
        self.depth -= 1
        return inner

    def _list(self) -> tuple[Value, ...]:
        opening = self._advance()
        items: list[Value] = []
        if self._is("op", "]"):
            self._advance()
            return ()
        while True:
            token = self.token
            if not (token.kind in _LITERAL_KINDS or (token.kind == "keyword" and token.text in _LITERAL_WORDS)):
                _fail(
                    self.text,
                    token.position,
                    f"Expected a string, number, true, false or null in the list, found {_describe(token)}",
                    "lists hold literals only" if token.kind in ("name", "keyword") else None,
                )
            items.append(self._literal())
            if self._is("op", ","):
                self._advance()
                continue
            if self._is("op", "]"):
                self._advance()
                return tuple(items)
            token = self.token
            _fail(
                self.text,
                token.position,
                f"Expected ',' or ']' in the list that starts at column {opening.position + 1},"
                f" found {_describe(token)}",
            )

    def _path(self) -> _Compiled:
        names = [self._name(self._advance())]
        while self._is("op", "."):
            dot = self._advance()
            token = self.token
            if token.kind not in ("name", "keyword"):
                _fail(self.text, token.position, f"Expected a name after '{dot.text}', found {_describe(token)}")
            names.append(self._name(self._advance()))
        path = tuple(names)
        self.paths.add(path)
        return _lookup(path)

    def _name(self, token: _Token) -> str:
        word = token.text
        lowered = word.lower()
        if token.kind == "name" and (lowered in _KEYWORDS or word == "None"):
            keyword = "null" if word == "None" else lowered
            _fail(
                self.text,
                token.position,
                f"Expected a name, found '{word}'",
                f"keywords are lowercase: write '{keyword}'",
            )
        return word


@functools.lru_cache(maxsize=4096)
def parse_condition(text: str) -> Condition:
    """Parse ``text`` into a :class:`Condition`, or raise :class:`ConditionError`.

    Cached: the validator parses every conditional edge on every edit, and the
    conductor evaluates the same few conditions many times, so the same string
    gives back the same (immutable) object.
    """
    if len(text) > MAX_CONDITION_LENGTH:
        _fail(
            text,
            MAX_CONDITION_LENGTH,
            f"Expected at most {MAX_CONDITION_LENGTH:,} characters, found {len(text):,}; the excess starts",
            "split the logic across edges or compute a flag upstream",
        )
    parser = _Parser(text)
    run = parser.parse()
    return Condition(text=text, paths=frozenset(parser.paths), _run=run)
