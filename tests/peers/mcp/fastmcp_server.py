"""An MCP server built with the Python MCP SDK (FastMCP), for the interoperability tests.

    python3 fastmcp_server.py            # stdio
    PORT=8123 python3 fastmcp_server.py http   # Streamable HTTP at http://127.0.0.1:8123/mcp

Tools: `add` (two integers), `shout` (upper-cases a text), `fail` (raises: a tool error).
Prompt: `summarize` (a text). Resource: `note://welcome`, template `note://{name}`.
On start it writes one line to stderr, which the runner shows in the task's log.
"""

import os
import sys

from mcp.server.fastmcp import FastMCP

server = FastMCP("workflow-peer")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """Returns the text in upper case."""
    return text.upper()


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the reason given."""
    raise ValueError(f"failed on purpose: {reason}")


@server.prompt()
def summarize(text: str) -> str:
    """Asks for a summary of a text."""
    return f"Please summarize: {text}"


@server.resource("note://welcome")
def welcome() -> str:
    """A fixed note."""
    return "Welcome to the workflow peer."


@server.resource("note://{name}")
def note(name: str) -> str:
    """A note by name."""
    return f"Note {name}"


if __name__ == "__main__":
    print("fastmcp peer starting", file=sys.stderr, flush=True)
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        server.settings.host = "127.0.0.1"
        server.settings.port = int(os.environ["PORT"])
        server.settings.log_level = "WARNING"
        server.run(transport="streamable-http")
    else:
        server.run(transport="stdio")
