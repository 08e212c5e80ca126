"""A RetryPolicy as tenacity strategies: the one backoff implementation builtin retry loops share.

``backoff(policy)`` waits exactly what ``RetryPolicy.delay`` documents: before
attempt ``n`` (from 2), ``min(backoff_initial * backoff_multiplier ** (n - 2), backoff_max)``
seconds.  See docs/decisions.md, "One retry implementation: tenacity".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_exponential
from tenacity.retry import retry_base

from symphony.hookspecs import RetryPolicy

__all__ = ["backoff", "retrying"]


def backoff(policy: RetryPolicy) -> wait_exponential:
    """The waits between ``policy``'s attempts (tenacity numbers the attempt that just failed)."""
    return wait_exponential(
        multiplier=policy.backoff_initial, exp_base=policy.backoff_multiplier, max=policy.backoff_max
    )


def retrying(
    policy: RetryPolicy,
    *,
    retry: retry_base,
    attempts: int | None = None,
    asked: Callable[[BaseException], float | None] | None = None,
    before_sleep: Callable[[RetryCallState], Awaitable[None]] | None = None,
) -> AsyncRetrying:
    """Up to ``attempts`` (default ``policy.max_attempts``) tries of what ``retry`` accepts, waiting ``backoff``.

    ``asked`` gives the wait a failure asks for itself (a server's
    ``Retry-After``), or None for the backoff.  The last failure is re-raised
    as it is; ``before_sleep`` runs before each wait.
    """
    exponential = backoff(policy)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        own = asked(error) if asked is not None and error is not None else None
        return exponential(state) if own is None else own

    return AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.max_attempts if attempts is None else attempts)),
        wait=wait,
        retry=retry,
        reraise=True,
        before_sleep=before_sleep,
    )
