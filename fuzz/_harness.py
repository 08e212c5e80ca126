"""What every harness shares: coverage instrumentation when fuzzing, and the libFuzzer entry.

A harness is a script ``fuzz_<name>.py`` with a ``target(data: bytes)`` that
feeds one input to one parser and lets through only a result or the parser's
own documented error; anything else escaping ``target`` is a finding.  The same
``target`` replays saved inputs under pytest (tests/fuzz/test_corpus_replay.py),
so the harness is imported there without atheris doing anything.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any, cast

#: Only our own code is instrumented: coverage of the standard library would steer the fuzzer off our parsers.
_INSTRUMENTED = ["symphony"]


def instrumented(module_name: str) -> contextlib.AbstractContextManager[Any]:
    """Imports inside this block get coverage feedback, but only when the harness runs as the fuzzer."""
    if module_name != "__main__":
        return contextlib.nullcontext()
    import atheris

    return cast(contextlib.AbstractContextManager[Any], atheris.instrument_imports(include=_INSTRUMENTED))


def fuzz(target: Callable[[bytes], None]) -> None:
    """Run libFuzzer on ``target`` with the command line's options (corpus directories, -max_total_time=...)."""
    import atheris

    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


#: Harnesses whose saved crash inputs show a defect in code outside the fuzzing owner's files,
#: reported and not yet fixed: ``fuzz/run.py`` skips them unless named, and the corpus replay
#: skips their crash inputs.  Remove the entry with the fix; the inputs then guard against a return.
UNFIXED: dict[str, str] = {}
