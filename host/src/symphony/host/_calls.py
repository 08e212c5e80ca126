"""Calling hook implementations one by one: isolated sync calls and awaitable calls.

pluggy stops at the first exception and has no async hooks (its users have
asked for years).  The host needs both: a broken plugin must cost only itself,
and startup/shutdown hooks may be coroutines.  Implementations are called in
pluggy's own order (tryfirst first, then last-registered first); wrappers are
not called here, except by :func:`invoke`, which drives ``symphony_invoke``'s
wrappers around an awaited call.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator, Mapping
from contextvars import ContextVar
from typing import Any, Protocol, cast

import msgspec
import pluggy

from symphony.hookspecs import HookCallError, HookTimeoutError, Invocation, SymphonyError, async_mode

__all__ = [
    "HookCallError",
    "Outcome",
    "acall",
    "acall_each",
    "as_hook_error",
    "call_each",
    "implementations",
    "invoke",
    "reason",
]

#: The invocation running in this task, so one made inside it (an extension node's sandbox hop) nests.
_CURRENT: ContextVar[Invocation | None] = ContextVar("symphony_invocation", default=None)
_RETURNED: Any = object()


class _Implementations(Protocol):
    """A pluggy HookCaller, or anything else that lists implementations the same way."""

    def get_hookimpls(self) -> list[pluggy.HookImpl]: ...


class Outcome(msgspec.Struct, frozen=True):
    """What one plugin's implementation returned or raised."""

    plugin: str
    result: Any = None
    error: BaseException | None = None


def implementations(caller: _Implementations) -> list[pluggy.HookImpl]:
    """Non-wrapper implementations in call order."""
    return [impl for impl in reversed(caller.get_hookimpls()) if not (impl.wrapper or impl.hookwrapper)]


def _arguments(impl: pluggy.HookImpl, kwargs: Mapping[str, Any]) -> list[Any]:
    return [kwargs[name] for name in impl.argnames]


def call_each(caller: _Implementations, kwargs: Mapping[str, Any]) -> list[Outcome]:
    """Call every implementation, catching each one's exception separately."""
    outcomes = []
    for impl in implementations(caller):
        try:
            outcomes.append(Outcome(impl.plugin_name, impl.function(*_arguments(impl, kwargs))))
        except Exception as error:
            outcomes.append(Outcome(impl.plugin_name, error=error))
    return outcomes


async def _settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def acall_each(caller: pluggy.HookCaller, kwargs: Mapping[str, Any], timeout: float) -> list[Outcome]:
    """Await every implementation (concurrently or in order, as the spec says), each isolated.

    An implementation still running after ``timeout`` seconds is cancelled and
    its outcome is a HookTimeoutError naming it.
    """
    impls = implementations(caller)
    spec = caller.spec
    sequential = spec is not None and async_mode(spec.function) == "sequential"
    firstresult = spec is not None and spec.opts.get("firstresult", False)
    if sequential:
        outcomes = []
        for impl in impls:
            outcome = (await _run_all([impl], kwargs, timeout, caller.name))[0]
            outcomes.append(outcome)
            if firstresult and outcome.error is None and outcome.result is not None:
                break
        return outcomes
    return await _run_all(impls, kwargs, timeout, caller.name)


async def _run_all(impls: list[pluggy.HookImpl], kwargs: Mapping[str, Any], timeout: float, hook: str) -> list[Outcome]:
    import asyncio  # here: loading a host (every command) runs no coroutine

    tasks: dict[asyncio.Task[Any], pluggy.HookImpl] = {}
    outcomes: dict[str, Outcome] = {}
    for impl in impls:
        try:
            value = impl.function(*_arguments(impl, kwargs))
        except Exception as error:
            outcomes[impl.plugin_name] = Outcome(impl.plugin_name, error=error)
            continue
        tasks[asyncio.ensure_future(_settle(value))] = impl
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        for task, impl in tasks.items():
            name = impl.plugin_name
            if task in pending:
                timeout_error = HookTimeoutError(
                    f"Plugin {name!r} did not finish {hook} within {timeout:g} s; it was cancelled.",
                    plugin=name,
                    hook=hook,
                )
                outcomes[name] = Outcome(name, error=timeout_error)
            elif task.exception() is not None:
                outcomes[name] = Outcome(name, error=task.exception())
            else:
                outcomes[name] = Outcome(name, task.result())
    return [outcomes[impl.plugin_name] for impl in impls]


async def acall(caller: pluggy.HookCaller, kwargs: Mapping[str, Any], timeout: float) -> Any:
    """Await a hook like a pluggy call: a list of results, or the first result for firstresult.

    Raises HookCallError (or HookTimeoutError) naming the first plugin that failed.
    """
    outcomes = await acall_each(caller, kwargs, timeout)
    for outcome in outcomes:
        if outcome.error is not None:
            raise as_hook_error(outcome, caller.name) from outcome.error
    results = [outcome.result for outcome in outcomes if outcome.result is not None]
    spec = caller.spec
    if spec is not None and spec.opts.get("firstresult", False):
        return results[0] if results else None
    return results


def reason(error: BaseException | None) -> str:
    """What a plugin's exception says to users.

    A SymphonyError (ConfigurationError...) carries a message written for them: shown as
    it is.  Anything else is a bug, whose type matters: shown as its repr.
    """
    return str(error) if isinstance(error, SymphonyError) else repr(error)


def as_hook_error(outcome: Outcome, hook: str) -> HookCallError:
    """The outcome's error as a HookCallError that names the plugin and hook."""
    error = outcome.error
    if isinstance(error, HookCallError):
        return error
    return HookCallError(
        f"Plugin {outcome.plugin!r} raised in {hook}: {reason(error)}", plugin=outcome.plugin, hook=hook
    )


async def invoke(caller: pluggy.HookCaller, invocation: Invocation) -> Any:
    """Run ``invocation`` through ``symphony_invoke``: wrappers around it, then the first implementation.

    pluggy calls wrappers synchronously, so a wrapper would see only the
    coroutine of an async call.  Here each wrapper's generator is entered,
    the call is awaited in the same task (a span or context variable a
    wrapper sets stays current for it), and the generators are resumed with
    its result or exception, innermost first, as pluggy does.
    """
    parent = _CURRENT.get()
    if parent is not None and invocation.parent is None:
        invocation.parent = parent
        invocation.node_id = invocation.node_id or parent.node_id
        invocation.run_id = invocation.run_id or parent.run_id
    token = _CURRENT.set(invocation)
    args = (invocation,)  # the spec's one argument; an implementation may take none
    entered: list[tuple[pluggy.HookImpl, Generator[Any, Any, Any]]] = []
    result: Any = None
    error: BaseException | None = None
    try:
        impls = caller.get_hookimpls()[::-1]
        try:
            for impl in impls:
                if impl.wrapper or impl.hookwrapper:
                    generator = cast("Generator[Any, Any, Any]", impl.function(*args[: len(impl.argnames)]))
                    if next(generator, _RETURNED) is _RETURNED:
                        raise RuntimeError(
                            f"Plugin {impl.plugin_name!r} has a symphony_invoke wrapper that returned without yielding."
                        )
                    entered.append((impl, generator))
            for impl in impls:
                if not (impl.wrapper or impl.hookwrapper):
                    result = impl.function(*args[: len(impl.argnames)])
                    if inspect.isawaitable(result):
                        result = await result
                    if result is not None:
                        break
        except BaseException as raised:
            error = raised
        for impl, generator in reversed(entered):
            result, error = _resume(impl, generator, result, error)
    finally:
        _CURRENT.reset(token)
    if error is not None:
        raise error
    return result


def _resume(
    impl: pluggy.HookImpl, generator: Generator[Any, Any, Any], result: Any, error: BaseException | None
) -> tuple[Any, BaseException | None]:
    """Finish one wrapper with the call's outcome; return the outcome it leaves (changed or not)."""
    outcome = pluggy.Result(result, error) if impl.hookwrapper else None
    try:
        if outcome is not None:
            generator.send(outcome)
        elif error is not None:
            generator.throw(error)
        else:
            generator.send(result)
    except StopIteration as stop:
        if outcome is None:
            return stop.value, None
        try:
            return outcome.get_result(), None
        except BaseException as raised:
            return None, raised
    except BaseException as raised:
        return None, raised
    generator.close()
    return None, RuntimeError(f"Plugin {impl.plugin_name!r} has a symphony_invoke wrapper that yielded twice.")
