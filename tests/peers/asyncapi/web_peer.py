"""Independent web servers for the AsyncAPI `ws` and `http` tests (the `websockets` package and
Python's standard library http.server), on 127.0.0.1 with a free port.

    web_peer.py ws   --feed JSON [--feed JSON ...]   # WebSocket server
    web_peer.py ws   --tls CERT KEY ...               # the same over TLS (wss)
    web_peer.py http --sse JSON ... --poll JSON ...  # HTTP server

Both print `port N` once listening, then one JSON line per thing seen (stdout, flushed).

WebSocket paths:
  /sink...   prints the upgrade (`path`, `headers`) and every frame received (`text`/`binary`)
  /feed...   prints the upgrade, sends every --feed message as a text frame, then stays open
             (with --first N: the first connection gets the first N, later ones the rest)
  /drop...   prints the upgrade, sends the first --feed message, then aborts the TCP connection

HTTP paths:
  POST|PUT /sink...  prints method, path, headers and body; answers 204 (`/sink/reject`: 503)
  GET  /sse      text/event-stream: the first request gets the first two --sse messages as
                 events (ids 1, 2; event `reading`) and the response ends; a later request
                 prints its Last-Event-ID and gets the events after it, then stays open
  GET  /poll     long polling: each request gets the next --poll batch (a JSON array); once they
                 are exhausted, `[]` after a short hold
  GET  /ndjson   application/x-ndjson: every --sse message on a line, then stays open
"""

import argparse
import asyncio
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def say(record):
    print(json.dumps(record), flush=True)


async def ws_main(feed, first, tls):
    from websockets.asyncio.server import serve

    connections = []

    async def handler(connection):
        request = connection.request
        say({"kind": "connect", "path": request.path,
             "headers": {k.lower(): v for k, v in request.headers.raw_items()}})
        path = request.path
        if path.startswith("/feed"):
            messages = feed
            if first:
                messages = feed[:first] if not connections else feed[first:]
            connections.append(path)
            for message in messages:
                await connection.send(message)
            await connection.wait_closed()
        elif path.startswith("/drop"):
            await connection.send(feed[0])
            # Give the frame time to leave, then cut the connection without a close frame.
            await asyncio.sleep(0.2)
            connection.transport.abort()
        else:
            async for frame in connection:
                if isinstance(frame, bytes):
                    say({"kind": "binary", "hex": frame.hex()})
                else:
                    say({"kind": "text", "data": frame})

    context = None
    if tls:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls[0], tls[1])
    async with serve(handler, "127.0.0.1", 0, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"port {port}", flush=True)
        await asyncio.Future()


def http_main(sse, polls):
    batches = list(polls)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode()
            say({"kind": "request", "method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            self.send_response(503 if self.path.startswith("/sink/reject") else 204)
            self.end_headers()

        def do_PUT(self):
            self.do_POST()

        def hold(self):
            # Open until the client goes away (the runner ended its subscription).
            try:
                while True:
                    time.sleep(0.2)
                    self.wfile.write(b": keep-alive\n\n" if self.path == "/sse" else b"\n")
                    self.wfile.flush()
            except OSError:
                pass

        def do_GET(self):
            say({"kind": "request", "method": "GET", "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()}})
            if self.path == "/sse":
                last = self.headers.get("last-event-id")
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                start = int(last) if last else 0
                end = len(sse) if last else min(2, len(sse))
                for index in range(start, end):
                    self.wfile.write(
                        f"id: {index + 1}\nevent: reading\ndata: {sse[index]}\n\n".encode())
                self.wfile.flush()
                if last:
                    self.hold()
            elif self.path == "/ndjson":
                self.send_response(200)
                self.send_header("content-type", "application/x-ndjson")
                self.end_headers()
                for message in sse:
                    self.wfile.write(message.encode() + b"\n")
                self.wfile.flush()
                self.hold()
            elif self.path == "/poll":
                with lock:
                    batch = batches.pop(0) if batches else None
                if batch is None:
                    time.sleep(0.5)
                    batch = "[]"
                body = batch.encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["ws", "http"])
    parser.add_argument("--feed", action="append", default=[])
    parser.add_argument("--sse", action="append", default=[])
    parser.add_argument("--poll", action="append", default=[])
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    if args.mode == "ws":
        asyncio.run(ws_main(args.feed, args.first, args.tls))
    else:
        http_main(args.sse, args.poll)


if __name__ == "__main__":
    sys.exit(main())
