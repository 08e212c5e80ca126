"""Helpers of the socket server tests: a raw client and a real server process.

The client speaks the handshake and msgpack envelopes over a plain blocking
socket (nothing of the project's transport code), so what it sees is what any
client on the socket sees. The server is ``symphony bus serve`` or ``symphony
conductor serve`` as a subprocess; its memory is its VmRSS from /proc.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import msgspec

from symphony.hookspecs import MessageEnvelope, RequestPayload

SYMPHONY: Final = str(Path(sys.executable).parent / "symphony")
DEADLINE: Final = 60.0


def wait_for(condition: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def receive_frame(sock: socket.socket) -> bytes:
    """The next frame's payload; ConnectionError once the server closed."""
    (length,) = struct.unpack(">I", _exactly(sock, 4))
    return _exactly(sock, length)


def _exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data


def request(method: str, to: str, **params: Any) -> MessageEnvelope:
    return MessageEnvelope.create(RequestPayload(method=method, params=params), sender="test", recipient=to)


class Client:
    """A raw client: the handshake and msgpack envelopes over a blocking socket."""

    def __init__(self, address: tuple[str, str]) -> None:
        scheme, where = address
        if scheme == "unix":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(where)
        else:
            host, port = where.rsplit(":", 1)
            self.sock = socket.create_connection((host, int(port)))
        self.sock.settimeout(DEADLINE)
        self.sock.sendall(frame(json.dumps({"symphony": 1, "codecs": ["msgpack"], "token": None}).encode()))
        assert json.loads(self.receive()) == {"symphony": 1, "codec": "msgpack"}

    def receive(self) -> bytes:
        return receive_frame(self.sock)

    def receive_envelope(self) -> dict[str, Any]:
        result: dict[str, Any] = msgspec.msgpack.decode(self.receive())
        return result

    def send(self, envelope: MessageEnvelope) -> None:
        self.sock.sendall(frame(msgspec.msgpack.encode(envelope)))

    def ask(self, envelope: MessageEnvelope) -> dict[str, Any]:
        """Send and return the answer, skipping anything else (events)."""
        self.send(envelope)
        while True:
            reply = self.receive_envelope()
            if reply["header"]["correlation_id"] == envelope.header.message_id:
                return reply

    def flood(self, count: int, make: Callable[[], MessageEnvelope | bytes], patience: float = 3.0) -> int:
        """Send up to ``count`` envelopes (or raw payloads) unread; how many went before the socket stayed full."""
        self.sock.settimeout(patience)
        try:
            for sent in range(count):
                item = make()
                try:
                    if isinstance(item, bytes):
                        self.sock.sendall(frame(item))
                    else:
                        self.send(item)
                except TimeoutError:
                    return sent
            return count
        finally:
            self.sock.settimeout(DEADLINE)

    def close(self) -> None:
        self.sock.close()


class Server:
    def __init__(self, process: subprocess.Popen[str], addresses: dict[str, tuple[str, str]]) -> None:
        self.process, self.addresses = process, addresses

    @property
    def rss(self) -> int:
        return rss(self.process.pid)

    def others(self) -> dict[str, Any]:
        """The load of every connection but the one asking, as ``ping`` reports it."""
        client = Client(self.addresses["unix"])
        try:
            reply = client.ask(request("ping", "bus"))
        finally:
            client.close()
        others: dict[str, Any] = reply["payload"]["result"]["others"]
        return others

    def settled_rss(self) -> int:
        """RSS once the warm-up is done (imports, first connection), so growth is the test's alone."""
        self.others()
        return self.rss


def serve(tmp_path: Path, *command: str) -> Iterator[Server]:
    socket_path = tmp_path / "server.sock"
    env = {**os.environ, "SYMPHONY_CACHE_DIR": str(tmp_path / "cache"), "SYMPHONY_DATA_DIR": str(tmp_path / "data")}
    with (tmp_path / "server.err").open("w") as errors:  # a file, not a pipe: logs never block the server
        process = subprocess.Popen(
            [SYMPHONY, *command, "--unix", str(socket_path)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
            cwd=tmp_path,
        )
    try:
        assert process.stdout is not None
        addresses: dict[str, tuple[str, str]] = {}
        while len(addresses) < command.count("--tcp") + 1:
            line = process.stdout.readline()
            assert line.startswith("listening on "), (line, (tmp_path / "server.err").read_text())
            scheme, where = line.removeprefix("listening on ").strip().split(":", 1)
            addresses[scheme] = (scheme, where)
        yield Server(process, addresses)
        assert process.poll() is None, (tmp_path / "server.err").read_text()
    finally:
        terminate(process)


def terminate(process: subprocess.Popen[str]) -> None:
    """SIGTERM (the server's clean stop), SIGKILL if it hangs, then close its pipes."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
