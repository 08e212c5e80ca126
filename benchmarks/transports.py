"""Transport benchmark ``transport_rtt``: request/response round trips across processes.

For each builtin transport (unix, tcp on loopback, tcp with TLS when
``trustme`` is installed to make a throwaway CA, stdio, shm) a peer
subprocess (this module run as ``python -m benchmarks.transports peer KIND
ADDRESS``) echoes every envelope it receives (decode, then encode again).  The
client sends a typical request envelope and waits for the echo, N times
sequentially (quick 2,000, full 20,000, after a warm-up), timing each round
trip with ``perf_counter_ns``: p50 and p99 in µs, and throughput in
round trips per second from a separate untimed loop of the same length.

Baseline, in the same run: pyzmq REQ/REP over ``ipc://`` with the same
envelope encoded and decoded with the same MessagePack codec on both sides
(blocking sockets, as pyzmq is normally used).  pyzmq is a dev-only dependency
(the ``test`` extra); without it the baseline is a blocking raw Unix socket
echo of the same frames.  The garbage collector is disabled while timing.

``transport_rtt.asyncio_floor.p50``, against the same baseline: the least a
request/response on the stock asyncio event loop costs here when each side
sleeps until its message arrives (see ``benchmarks/transport_floor.py``); the
stream transports get below it only by polling for a due answer.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import transport_floor
from benchmarks._measure import no_gc, percentile
from benchmarks.run import Record, record
from symphony.builtin_plugins.ipc.codecs import CODECS
from symphony.builtin_plugins.ipc.transports import StdioTransport, TcpTransport, UnixTransport, serve_stdio
from symphony.builtin_plugins.ipc.transports.shm import ShmTransport
from symphony.hookspecs import MessageEnvelope, RequestPayload, TransportError

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("unix", "tcp", "tcp_tls", "stdio", "shm")
#: The peer finds the TLS certificate and key here (the client writes them).
_TLS_DIR_ENV = "SYMPHONY_BENCH_TLS_DIR"
_LEN = struct.Struct(">I")
_MSGPACK = next(codec for codec in CODECS if codec.name == "msgpack")


def _envelope() -> MessageEnvelope:
    return MessageEnvelope.create(
        RequestPayload(method="workflow.run_node", params={"workflow_id": "wf-3f2a9c", "node": "summarise", "i": 1}),
        sender="bench",
        recipient="peer",
    )


def _env(tls_dir: str | None = None) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    env = os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}
    return env | {_TLS_DIR_ENV: tls_dir} if tls_dir else env


def _make_certificates(workdir: str) -> bool:
    """A CA and a certificate for 127.0.0.1 in ``workdir`` (ca.pem, cert.pem, key.pem); False without trustme."""
    try:
        import trustme
    except ImportError:
        return False
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(os.path.join(workdir, "ca.pem"))
    leaf.cert_chain_pems[0].write_to_path(os.path.join(workdir, "cert.pem"))
    leaf.private_key_pem.write_to_path(os.path.join(workdir, "key.pem"))
    return True


def _transport(kind: str, tls_dir: str | None, *, server: bool) -> Any:
    if kind != "tcp_tls":
        return {"unix": UnixTransport, "tcp": TcpTransport, "shm": ShmTransport}[kind]()
    assert tls_dir is not None
    files = ("cert.pem", "key.pem") if server else ("ca.pem",)
    keys = ("tls_cert", "tls_key") if server else ("tls_ca",)
    return TcpTransport({"tls": True} | {key: os.path.join(tls_dir, f) for key, f in zip(keys, files, strict=True)})


def _peer_argv(kind: str, address: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.transports", "peer", kind, address]


# --- the peer process ----------------------------------------------------------------


async def _echo(connection: Any) -> None:
    try:
        while True:
            await connection.send_envelope(await connection.receive_envelope())
    except TransportError:
        pass
    finally:
        await connection.close()


async def _serve(kind: str, address: str) -> None:
    if kind == "stdio":
        await _echo(await serve_stdio())
        return
    transport = _transport(kind, os.environ.get(_TLS_DIR_ENV), server=True)
    listener = await transport.listen(address)
    print("READY", listener.address, flush=True)
    await _echo(await listener.accept())
    await listener.close()


def _serve_zmq(address: str) -> None:
    import zmq

    context = zmq.Context()
    rep = context.socket(zmq.REP)
    rep.bind(address)
    print("READY", address, flush=True)
    while True:
        data = rep.recv()
        if data == b"":
            break
        rep.send(_MSGPACK.encode(_MSGPACK.decode(data)))
    rep.close(linger=0)
    context.term()


def _serve_raw(path: str) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    print("READY", path, flush=True)
    conn, _ = server.accept()
    reader = conn.makefile("rb")
    while header := reader.read(_LEN.size):
        data = reader.read(_LEN.unpack(header)[0])
        reply = _MSGPACK.encode(_MSGPACK.decode(data))
        conn.sendall(_LEN.pack(len(reply)) + reply)
    conn.close()


def _peer_main(kind: str, address: str) -> None:
    if kind == "zmq":
        _serve_zmq(address)
    elif kind == "raw":
        _serve_raw(address)
    elif kind == "floor":
        asyncio.run(transport_floor.serve(address))
    else:
        asyncio.run(_serve(kind, address))


# --- the client ------------------------------------------------------------------------


class _Peer:
    def __init__(self, kind: str, address: str, tls_dir: str | None = None) -> None:
        self.process = subprocess.Popen(_peer_argv(kind, address), stdout=subprocess.PIPE, env=_env(tls_dir), cwd=ROOT)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(b"READY "):
            self.stop()
            raise RuntimeError(f"{kind} peer did not start: {line!r}")
        self.address = line.split()[1].decode()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


async def _measure_async(kind: str, workdir: str, count: int) -> tuple[list[float], float]:
    peer: _Peer | None = None
    connection: Any
    if kind == "stdio":
        connection = await StdioTransport().spawn(_peer_argv("stdio", "-"), env=_env())
    else:
        address = "127.0.0.1:0" if kind.startswith("tcp") else os.path.join(workdir, f"{kind}.sock")
        tls_dir = workdir if kind == "tcp_tls" else None
        peer = _Peer(kind, address, tls_dir)
        connection = await _transport(kind, tls_dir, server=False).connect(peer.address)
    envelope = _envelope()
    clock = time.perf_counter_ns
    try:
        for _ in range(min(1_000, count)):
            await connection.send_envelope(envelope)
            await connection.receive_envelope()
        samples = [0] * count
        with no_gc():
            for i in range(count):
                start = clock()
                await connection.send_envelope(envelope)
                await connection.receive_envelope()
                samples[i] = clock() - start
            start = clock()
            for _ in range(count):
                await connection.send_envelope(envelope)
                await connection.receive_envelope()
            rate = count / ((clock() - start) / 1e9)
    finally:
        await connection.close()
        if peer is not None:
            peer.stop()
    return [ns / 1000 for ns in samples], rate


def _measure_baseline(workdir: str, count: int) -> tuple[str, list[float], float]:
    envelope = _envelope()
    encode, decode = _MSGPACK.encode, _MSGPACK.decode
    clock = time.perf_counter_ns
    try:
        import zmq
    except ImportError:
        zmq = None  # type: ignore[assignment]
    if zmq is not None:
        name = "pyzmq REQ/REP ipc://"
        peer = _Peer("zmq", f"ipc://{workdir}/zmq.ipc")
        context = zmq.Context()
        req = context.socket(zmq.REQ)
        req.connect(peer.address)

        def once() -> None:
            req.send(encode(envelope))
            decode(req.recv())

        def finish() -> None:
            req.send(b"")
            req.close(linger=0)
            context.term()
    else:
        name = "blocking raw Unix socket echo"
        peer = _Peer("raw", os.path.join(workdir, "raw.sock"))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(peer.address)
        reader = sock.makefile("rb")

        def once() -> None:
            data = encode(envelope)
            sock.sendall(_LEN.pack(len(data)) + data)
            decode(reader.read(_LEN.unpack(reader.read(_LEN.size))[0]))

        def finish() -> None:
            sock.close()

    try:
        for _ in range(min(1_000, count)):
            once()
        samples = [0] * count
        with no_gc():
            for i in range(count):
                start = clock()
                once()
                samples[i] = clock() - start
            start = clock()
            for _ in range(count):
                once()
            rate = count / ((clock() - start) / 1e9)
        finish()
    finally:
        peer.stop()
    return name, [ns / 1000 for ns in samples], rate


SEEDS = {"unix": "<0.1 ms", "shm": "<0.01 ms", "stdio": "<1 ms", "tcp": None, "tcp_tls": None}
GOALS = {"unix": "p50 ratio <= 0.7 (pyzmq REQ/REP ipc://)", "shm": "p50 <= 10 us"}


def _measure_floor(workdir: str, count: int) -> list[float]:
    peer = _Peer("floor", os.path.join(workdir, "floor.sock"))
    try:
        return asyncio.run(transport_floor.measure(peer.address, _envelope(), count))
    finally:
        peer.stop()


def run(quick: bool) -> list[Record]:
    count = 2_000 if quick else 20_000
    records: list[Record] = []
    with tempfile.TemporaryDirectory(prefix="symphony-bench-") as workdir:
        base_name, base_lat, base_rate = _measure_baseline(workdir, count)
        base_p50, base_p99 = statistics.median(base_lat), percentile(base_lat, 0.99)
        floor = statistics.median(_measure_floor(workdir, count))
        records.append(record(f"transport_rtt.asyncio_floor.p50@{count}", floor, "us", base_name, base_p50))
        kinds = KINDS if _make_certificates(workdir) else tuple(k for k in KINDS if k != "tcp_tls")
        for kind in kinds:
            lat, rate = asyncio.run(_measure_async(kind, workdir, count))
            seed, goal = SEEDS[kind], GOALS.get(kind)
            records += [
                record(
                    f"transport_rtt.{kind}.p50@{count}",
                    statistics.median(lat),
                    "us",
                    base_name,
                    base_p50,
                    seed_target=seed,
                    goal=goal,
                ),
                record(
                    f"transport_rtt.{kind}.p99@{count}",
                    percentile(lat, 0.99),
                    "us",
                    base_name,
                    base_p99,
                    seed_target=seed,
                ),
                record(f"transport_rtt.{kind}.throughput@{count}", rate, "msg/s", base_name, base_rate),
            ]
    return records


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "peer":
        _peer_main(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: python -m benchmarks.transports peer KIND ADDRESS")
