"""A small language server that reports what the client did: the answers to its own requests, and the text it holds.

It takes whole texts (TextDocumentSyncKind.Full); after ``initialized`` it asks the client
for ``workspace/configuration`` (section ``demo.greeting``), a progress token, and an
unknown method.  A hover answers JSON of what it has seen (the first one on a text
holding ``overtaken`` answers ContentModified instead).  After ``shutdown`` and
``exit`` it writes ``exited-cleanly`` in its working directory (the workspace root).
"""

import json
import sys
from pathlib import Path
from typing import Any

seen: dict[str, dict[str, Any]] = {"answers": {}, "texts": {}}


def read() -> Any:
    length = 0
    while (line := sys.stdin.buffer.readline().strip()) != b"":
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return json.loads(sys.stdin.buffer.read(length))


def send(message: dict[str, Any]) -> None:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()


shut_down = False
while True:
    message = read()
    method = message.get("method")
    if method is None:  # an answer to one of our requests
        seen["answers"][message["id"]] = message.get("error", {}).get("code") or message.get("result")
    elif method == "initialize":
        send({"id": message["id"], "result": {"capabilities": {"textDocumentSync": 1, "hoverProvider": True}}})
    elif method == "initialized":
        send({"id": "config", "method": "workspace/configuration", "params": {"items": [{"section": "demo.greeting"}]}})
        send({"id": "progress", "method": "window/workDoneProgress/create", "params": {"token": "t"}})
        send({"id": "unknown", "method": "x/unknown", "params": {}})
    elif method == "textDocument/didOpen":
        seen["texts"][message["params"]["textDocument"]["uri"]] = message["params"]["textDocument"]["text"]
    elif method == "textDocument/didChange":
        (change,) = message["params"]["contentChanges"]
        seen["texts"][message["params"]["textDocument"]["uri"]] = change["text"]
    elif method == "textDocument/didClose":
        del seen["texts"][message["params"]["textDocument"]["uri"]]
    elif method == "textDocument/hover" and "overtaken" in seen["texts"][message["params"]["textDocument"]["uri"]]:
        seen["texts"][message["params"]["textDocument"]["uri"]] = "asked again"  # answered the next time
        send({"id": message["id"], "error": {"code": -32801, "message": "content modified"}})
    elif method == "textDocument/hover":
        send({"id": message["id"], "result": {"contents": {"kind": "plaintext", "value": json.dumps(seen)}}})
    elif method == "shutdown":
        shut_down = True
        send({"id": message["id"], "result": None})
    elif method == "exit":
        if shut_down:
            Path("exited-cleanly").write_text("yes")
        sys.exit(0 if shut_down else 1)
