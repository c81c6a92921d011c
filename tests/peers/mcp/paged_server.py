"""A minimal MCP server on stdio that pages its lists, for the pagination test: no SDK in Python
or TypeScript pages `tools/list` by itself, so this one is written by hand (newline-delimited
JSON-RPC, as the stdio transport specifies).

`tools/list` hands out 25 tools, `tool-0` .. `tool-24`, ten per page. Every request it receives is
also written to stderr, so a test can see the client's `initialize`.
"""

import json
import sys

TOOLS = [{"name": f"tool-{i}", "inputSchema": {"type": "object"}} for i in range(25)]
PAGE = 10


def answer(request):
    method = request.get("method")
    params = request.get("params") or {}
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "paged", "version": "1.0.0"},
        }
    if method == "tools/list":
        start = int(params.get("cursor") or 0)
        result = {"tools": TOOLS[start:start + PAGE]}
        if start + PAGE < len(TOOLS):
            result["nextCursor"] = str(start + PAGE)
        return result
    if method == "ping":
        return {}
    raise LookupError(method)


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    request = json.loads(line)
    print("request " + json.dumps(request, sort_keys=True), file=sys.stderr, flush=True)
    if "id" not in request:
        continue
    try:
        message = {"jsonrpc": "2.0", "id": request["id"], "result": answer(request)}
    except LookupError as missing:
        message = {"jsonrpc": "2.0", "id": request["id"],
                   "error": {"code": -32601, "message": f"Method not found: {missing}"}}
    print(json.dumps(message), flush=True)
