"""Hypothesis fuzzing of the wasm host functions; run as a script by test_fuzz_host_calls.py.

Run in a subprocess so that an abort or a crash of the host fails the test instead of
killing pytest. Each property feeds hostile guests to one runtime and checks that every
invocation ends in a result, a WasmGuestError or a WasmTrapError (never another
exception, never a dead process), that every load of broken bytes is a WasmLoadError,
and that the host's memory stays bounded.

``python fuzz_host_calls.py EXAMPLES COMPILED_DIR [HOSTILE_COMPONENT]``: exits 0 when
every property held.
"""

from __future__ import annotations

import contextlib
import json
import logging
import resource
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symphony.hookspecs import Permission, PermissionDeniedError
from symphony.sandbox.wasm import (
    HttpRequest,
    HttpResponse,
    WasmGuestError,
    WasmLimits,
    WasmLoadError,
    WasmRuntime,
    WasmTrapError,
)

I32: Final = st.integers(min_value=-(2**31), max_value=2**31 - 1)
NAMES: Final = st.sampled_from([b"log", b"http-request", b"model-call"]) | st.binary(max_size=40)
JSON_ARGS: Final = st.fixed_dictionaries(
    {},
    optional={
        "level": st.text(max_size=20),
        "message": st.text(max_size=200),
        "url": st.sampled_from(["http://[::1", "https://h:99999/", "http://a/", "ftp://x", "http://[v1.x]/"])
        | st.text(max_size=60),
        "method": st.text(max_size=10),
        "headers": st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=3),
        "body": st.text(max_size=50),
        "model": st.text(max_size=20),
        "input": st.text(max_size=50),
    },
)
ARGS: Final = JSON_ARGS.map(lambda value: json.dumps(value).encode()) | st.binary(max_size=300)
LIMITS: Final = WasmLimits(fuel=5_000_000, memory_bytes=4 << 20, timeout=5.0)
#: What the host may keep after a whole run (the component's compiled code and memory
#: included), not per example: a leak per call would exceed it.
GROWTH_BOUND: Final = 200 << 20


class Services:
    """Services that fail in every way a real one might."""

    def http_request(self, request: HttpRequest) -> HttpResponse:
        if "raise" in request.url:
            raise RuntimeError("the network broke")
        return HttpResponse(status=200, headers=(("x", "\udcff"),), body=b"\xff" * 10)

    def model_call(self, model: str, input: str) -> str:
        if model == "raise":
            raise MemoryError("model pool exhausted")
        return "\udcff" if model == "surrogate" else input


def allow_some(permission: Permission) -> None:
    """Allows, denies or breaks, depending on the permission asked for."""
    verdict = zlib.crc32(repr(permission).encode()) % 3
    if verdict == 1:
        raise PermissionDeniedError("denied")
    if verdict == 2:
        raise ValueError("a broken checker")


def _escape(data: bytes) -> str:
    return "".join(f"\\{byte:02x}" for byte in data)


@dataclass(frozen=True)
class Guest:
    """A core module whose invoke makes ``calls`` host calls with these exact (maybe hostile) pointers."""

    name: bytes
    args: bytes
    #: name_ptr, name_len, arg_ptr, arg_len, ret_ptr; None for honest ones.
    pointers: tuple[int, int, int, int, int] | None
    allocator: str
    address: int
    calls: int

    def wat(self) -> str:
        name, args = self.name, self.args
        pointers = self.pointers or (0, len(name), 1024, len(args), 8)
        alloc = {
            "honest": "",
            "fixed": f"(return (i32.const {self.address}))",
            "reenter": f"(drop (call $call (i32.const 0) (i32.const {len(name)}) (i32.const 1024) "
            f"(i32.const {len(args)}) (i32.const 8)))",
            "trap": "unreachable",
            "grow": f"(drop (memory.grow (i32.const {self.address & 0xFFFF})))",
        }[self.allocator]
        call = "(drop (call $call " + " ".join(f"(i32.const {value})" for value in pointers) + "))"
        return f"""(module
  (import "symphony" "call" (func $call (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 0) "{_escape(name)}")
  (data (i32.const 1024) "{_escape(args)}")
  (data (i32.const 4096) "{{}}")
  (func (export "symphony_alloc") (param $size i32) (result i32)
    (local $ptr i32)
    {alloc}
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))))
    (local.get $ptr))
  (func (export "symphony_reset") (global.set $heap (i32.const 8192)))
  (func (export "symphony_invoke") (param i32 i32 i32 i32) (param $ret i32) (result i32)
    {" ".join([call] * self.calls)}
    (i32.store (local.get $ret) (i32.const 4096))
    (i32.store offset=4 (local.get $ret) (i32.const 2))
    (i32.const 0)))"""


GUESTS: Final = st.builds(
    Guest,
    name=NAMES,
    args=ARGS,
    pointers=st.none() | st.tuples(I32, I32, I32, I32, I32),
    allocator=st.sampled_from(["honest", "fixed", "reenter", "trap", "grow"]),
    address=I32,
    calls=st.integers(min_value=1, max_value=3),
)


def fuzz_core(runtime: WasmRuntime, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(guest=GUESTS)
    def host_call(guest: Guest) -> None:
        wasm = guest.wat().encode()
        ext = runtime.load(wasm, name="fuzzed", permissions=allow_some, services=Services(), limits=LIMITS)
        try:
            for _ in range(2):  # the second call follows a trap or reuses the instance
                with contextlib.suppress(WasmGuestError, WasmTrapError):
                    ext.invoke_json("op", "{}")
        finally:
            ext.close()

    host_call()


def fuzz_load(runtime: WasmRuntime, examples: int) -> None:
    """Bytes that claim to be wasm, or WAT, load or fail with a WasmLoadError, nothing else."""
    headers = st.sampled_from([b"\0asm\x01\x00\x00\x00", b"\0asm\x0d\x00\x01\x00", b"\0asm", b""])
    wat = st.sampled_from(["(module", "(component", "(module (memory 70000))", "(module (table 1 funcref))"])

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        data=st.tuples(headers, st.binary(max_size=300)).map(b"".join)
        | st.tuples(wat, st.text(max_size=100)).map(lambda parts: "".join(parts).encode())
    )
    def load(data: bytes) -> None:
        with contextlib.suppress(WasmLoadError):
            runtime.load(data, name="fuzzed", permissions=allow_some).close()

    load()


def fuzz_component(runtime: WasmRuntime, component: str, examples: int) -> None:
    limits = WasmLimits(memory_bytes=64 << 20)
    ext = runtime.load(component, name="fuzzed", permissions=allow_some, services=Services(), limits=limits)
    text = st.text(st.characters(codec="utf-8"), max_size=200)

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        operation=st.sampled_from(["http", "model", "log", "read", "listdir"]),
        value=text | st.sampled_from(["http://[::1", "http://raise/", "raise", "surrogate", "\0", "/" * 5000]),
    )
    def host_function(operation: str, value: str) -> None:
        arguments = {"url": value, "model": value, "input": value, "message": value, "path": value}
        with contextlib.suppress(WasmGuestError, WasmTrapError):
            ext.invoke(operation, arguments)

    host_function()
    ext.close()


def resident() -> int:
    """The host's resident memory now, in bytes."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()


def main() -> None:
    examples, compiled = int(sys.argv[1]), sys.argv[2]
    logging.disable(logging.CRITICAL)  # the host logs every denial; thousands of lines say nothing here
    component = sys.argv[3] if len(sys.argv) > 3 else None
    with WasmRuntime(compiled) as runtime:
        # Warm up: compiling the component and the first modules settles the baseline.
        fuzz_core(runtime, 5)
        if component:
            fuzz_component(runtime, component, 1)
        start = resident()
        fuzz_load(runtime, examples)
        fuzz_core(runtime, examples)
        if component:
            fuzz_component(runtime, component, examples)
    grown = resident() - start
    if grown > GROWTH_BOUND:
        sys.exit(f"the host kept {grown >> 20} MiB more after fuzzing than before")
    print("fuzzed", examples, "examples per property")


if __name__ == "__main__":
    main()
