"""``[components.<name>.options]`` checked against the types plugins declare, as settings load.

A component used to read its options only when first used, so a misspelt key
passed ``config show`` and failed mid-``run`` as a plugin error.  The host
learns each section's type through ``symphony_component_options`` (never by
importing a builtin) and refuses the settings at once, naming the full key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from symphony.hookspecs import ComponentOptionsSpec, ConfigurationError

if TYPE_CHECKING:
    from ._snapshot import SettingsView

__all__ = ["check_component_options", "did_you_mean"]


def did_you_mean(key: str, known: list[str], *, prefix: str = "") -> str:
    """`` did you mean `prefix.closest`?`` when one valid key is close to ``key``, else the valid keys."""
    import difflib  # only for a wrong key: every command loading the host imports this module

    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f" did you mean `{prefix}{close[0]}`?"
    return f" valid keys: {', '.join(sorted(known))}." if known else ""


def check_component_options(settings: SettingsView, declared: Mapping[str, tuple[str, ComponentOptionsSpec]]) -> None:
    """Raise one ConfigurationError listing every unknown or invalid option of a declared section."""
    problems: list[str] = []
    for name, (plugin, spec) in declared.items():
        options = settings.component(name).options
        if not options:
            continue
        prefix = f"components.{name}.options"
        unknown = list(_unknown_keys(spec.options, options, prefix))
        if unknown:
            problems += [f"{line} (options of plugin {plugin!r})" for line in unknown]
            continue
        try:
            msgspec.convert(options, spec.options)
        except msgspec.ValidationError as error:
            problems.append(f"{_invalid(str(error), prefix, options)} (options of plugin {plugin!r})")
    if problems:
        raise ConfigurationError("\n".join(problems))


def _unknown_keys(schema: Any, value: Any, prefix: str) -> Iterator[str]:
    """Keys a Struct that forbids unknown fields does not have, nested Structs included."""
    if not (isinstance(schema, type) and issubclass(schema, msgspec.Struct)) or not isinstance(value, Mapping):
        return
    fields = {field.encode_name: field for field in msgspec.structs.fields(schema)}
    for key, item in value.items():
        field = fields.get(key)
        if field is not None:
            yield from _unknown_keys(field.type, item, f"{prefix}.{key}")
        elif schema.__struct_config__.forbid_unknown_fields:
            hint = did_you_mean(str(key), list(fields), prefix=f"{prefix}.")
            yield f"Unknown setting `{prefix}.{key}`;{hint}"


def _invalid(message: str, prefix: str, options: Mapping[str, Any]) -> str:
    """msgspec's ``Expected `int` >= 1 - at `$.max_concurrency``` as the settings' own wording."""
    reason, _, path = message.rpartition(" - at `")
    if not reason:
        return f"Invalid setting `{prefix}`: {message}."
    path = path.rstrip("`").removeprefix("$")
    value: Any = options
    for part in path.removeprefix(".").split(".") if path else ():
        value = value.get(part) if isinstance(value, Mapping) else None
    shown = f" = {value!r}" if value is not None and "[" not in path else ""
    return f"Invalid setting `{prefix}{path}`{shown}: {reason}."
