#!/usr/bin/env python3
"""A gRPC peer built with grpcio (the reference Python implementation), for the interoperability
tests and the benchmark of `call: grpc`.

    server.py serve [--tls-cert CERT --tls-key KEY]
        Serves greeter.proto on 127.0.0.1 (a free port), prints `PORT <n>` once ready, then one
        line per notable event (`CANCELLED <key>` when a client cancels a Slow call).
    server.py client PORT COUNT
        Makes COUNT sequential SayHello calls with grpcio's own client and prints
        `ELAPSED <seconds>`.

Stubs are generated at start-up with grpcio-tools into a temporary directory, so nothing
generated is checked in.
"""

import argparse
import importlib
import os
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))


def generated_modules():
    out = tempfile.mkdtemp(prefix="grpc-peer-")
    well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    for proto in ("types.proto", "greeter.proto"):
        code = protoc.main([
            "protoc",
            f"-I{HERE}",
            f"-I{well_known}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            os.path.join(HERE, proto),
        ])
        if code != 0:
            sys.exit(f"protoc failed on {proto}")
    sys.path.insert(0, out)
    return importlib.import_module("greeter_pb2"), importlib.import_module("greeter_pb2_grpc")


pb, rpc = generated_modules()


def say(line):
    print(line, flush=True)


class Greeter(rpc.GreeterServicer):
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = {}

    def SayHello(self, request, context):
        metadata = dict(context.invocation_metadata())
        reply = pb.HelloReply(
            message=f"Hello, {request.name}!",
            big_number=request.big_number,
            mood=request.mood,
            tags=request.tags,
            authorization=metadata.get("authorization", ""),
        )
        if request.HasField("sent_at"):
            reply.sent_at.CopyFrom(request.sent_at)
        if request.HasField("address"):
            reply.address.CopyFrom(request.address)
        if request.HasField("extra"):
            reply.extra.CopyFrom(request.extra)
        return reply

    def CountTo(self, request, context):
        for value in range(1, request.up_to + 1):
            yield pb.Count(value=value)

    def Fail(self, request, context):
        code = getattr(grpc.StatusCode, request.code, grpc.StatusCode.UNKNOWN)
        context.abort(code, request.message)

    def Slow(self, request, context):
        remaining = context.time_remaining()
        # grpcio reports a call without a deadline as a huge time remaining.
        deadline = -1.0 if remaining is None or remaining > 1e9 else remaining
        until = time.monotonic() + request.seconds
        while time.monotonic() < until:
            if not context.is_active():
                say(f"CANCELLED {request.key}")
                return pb.SlowReply()
            time.sleep(0.01)
        return pb.SlowReply(message="done", deadline_seconds=deadline)

    def Flaky(self, request, context):
        with self.lock:
            count = self.calls.get(request.key, 0) + 1
            self.calls[request.key] = count
        if count < request.succeed_on:
            context.abort(grpc.StatusCode.UNAVAILABLE, f"try again (call {count})")
        return pb.HelloReply(message=f"ok after {count}", calls=count)

    def Collect(self, request_iterator, context):
        names = [request.name for request in request_iterator]
        return pb.HelloReply(message=", ".join(names))


def serve(args):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    rpc.add_GreeterServicer_to_server(Greeter(), server)
    if args.tls_cert:
        with open(args.tls_cert, "rb") as cert, open(args.tls_key, "rb") as key:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
        port = server.add_secure_port("127.0.0.1:0", credentials)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    say(f"PORT {port}")
    try:
        # Ends when the test closes our stdin or kills us.
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    server.stop(0)


def client(args):
    with grpc.insecure_channel(f"127.0.0.1:{args.port}") as channel:
        stub = rpc.GreeterStub(channel)
        stub.SayHello(pb.HelloRequest(name="warm-up"))
        started = time.perf_counter()
        for index in range(args.count):
            stub.SayHello(pb.HelloRequest(name=f"n{index}"))
        say(f"ELAPSED {time.perf_counter() - started:.6f}")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    serve_parser = sub.add_parser("serve")
    serve_parser.add_argument("--tls-cert")
    serve_parser.add_argument("--tls-key")
    client_parser = sub.add_parser("client")
    client_parser.add_argument("port", type=int)
    client_parser.add_argument("count", type=int)
    args = parser.parse_args()
    serve(args) if args.mode == "serve" else client(args)


if __name__ == "__main__":
    main()
