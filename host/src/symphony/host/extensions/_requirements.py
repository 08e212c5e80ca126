"""Which ``python_dependencies`` an extension may ask for: a name and version specifiers, from an index.

A direct reference (``name @ file:///...``, a URL, a VCS link) makes pip fetch
and build code the index never vouched for, and a pip option in the list
(``--index-url``, ``-e``, ``-r``) would change where everything comes from.
Both are refused when a manifest is checked and again just before pip runs,
and pip is handed the requirement as :mod:`packaging` re-wrote it, so that
what it installs is what was checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from packaging.requirements import InvalidRequirement, Requirement

from symphony.hookspecs import ExtensionError

__all__ = ["MAX_REQUIREMENT_LENGTH", "checked_requirements", "requirement_problem"]

#: Longer than any real requirement; a longer one is refused before it is parsed.
MAX_REQUIREMENT_LENGTH: Final = 1000
_EXAMPLE: Final = "a requirement from the package index such as 'httpx>=0.27' (a name and version specifiers)"


def _parse(text: str) -> Requirement | str:
    """The requirement ``text`` names, or what is wrong with it."""
    stripped = text.strip()
    if not stripped:
        return "an empty requirement"
    if len(stripped) > MAX_REQUIREMENT_LENGTH:
        return f"a requirement of {len(stripped)} characters (at most {MAX_REQUIREMENT_LENGTH})"
    if stripped.startswith("-"):
        return f"the pip option {stripped.split()[0]!r}: pip options are not requirements"
    try:
        requirement = Requirement(stripped)
    except InvalidRequirement as error:
        return f"{stripped!r}, which is not a requirement ({str(error).splitlines()[0]})"
    if requirement.url is not None:
        return f"the direct reference {stripped!r}: only packages from the index are installed"
    return requirement


def requirement_problem(text: str) -> str | None:
    """What is wrong with the ``python_dependencies`` entry ``text``, said as what was found; None if it is fine."""
    parsed = _parse(text)
    return parsed if isinstance(parsed, str) else None


def checked_requirements(requirements: Sequence[str], *, extension: str) -> tuple[str, ...]:
    """``requirements`` as pip will get them (normalised, sorted, unique); ExtensionError naming any refused one."""
    wanted: set[str] = set()
    for text in requirements:
        parsed = _parse(text)
        if isinstance(parsed, str):
            raise ExtensionError(
                f"Extension {extension!r}: [runtime] python_dependencies names {parsed}; expected {_EXAMPLE}."
                " Nothing was installed. Ask its author to publish the dependency to an index."
            )
        wanted.add(str(parsed))
    return tuple(sorted(wanted))
