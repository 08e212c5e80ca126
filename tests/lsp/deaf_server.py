"""A language server that answers ``initialize`` and then never reads its input again."""

import json
import sys
import time

length = 0
while (line := sys.stdin.buffer.readline().strip()) != b"":
    if line.lower().startswith(b"content-length:"):
        length = int(line.split(b":")[1])
request = json.loads(sys.stdin.buffer.read(length))
body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": {"capabilities": {"textDocumentSync": 1}}})
sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode()))
sys.stdout.buffer.flush()
time.sleep(120)
