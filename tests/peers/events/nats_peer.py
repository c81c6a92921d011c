"""An independent NATS client (nats-py) publishing and consuming CloudEvents alongside the
`workflow` binary in the integration tests and benchmarks.

  nats_peer.py publish SUBJECT EVENT_JSON [--binary]   publish one event (structured, or binary
                                                       mode: ce- headers and the data as body);
                                                       prints when it reached the server
  nats_peer.py consume SUBJECT COUNT [--headers]       print COUNT event bodies, one per line
                                                       (with --headers: {"headers", "body"});
                                                       prints `ready` once subscribed
  nats_peer.py wait-consumer SUBJECT SECONDS [N]       exit 0 once N (default 1) JetStream
                                                       consumers filter on SUBJECT (the runner
                                                       is listening)
  nats_peer.py count-consumers SUBJECT                 print how many consumers filter on SUBJECT
  nats_peer.py make-stream SUBJECT                     create a JetStream stream storing SUBJECT
  nats_peer.py bench-publish SUBJECT COUNT             publish COUNT structured events and print
                                                       the seconds it took
"""

import asyncio
import json
import sys
import time
import uuid

import nats

URL = "nats://127.0.0.1:4222"


def event(subject, data, n=0):
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "https://peer.example/nats-py",
        "type": subject,
        "datacontenttype": "application/json",
        "data": data if data is not None else {"n": n},
    }


async def publish(subject, text, binary):
    nc = await nats.connect(URL)
    ev = json.loads(text)
    if binary:
        headers = {"ce-" + k: str(v) for k, v in ev.items() if k not in ("data", "datacontenttype")}
        headers["content-type"] = ev.get("datacontenttype", "application/json")
        await nc.publish(subject, json.dumps(ev.get("data")).encode(), headers=headers)
    else:
        await nc.publish(subject, json.dumps(ev).encode())
    await nc.flush()
    # When the event was on the server (seconds since the epoch), for latency measurements.
    print(f"{time.time():.6f}", flush=True)
    await nc.close()


async def make_stream(subject):
    nc = await nats.connect(URL)
    js = nc.jetstream()
    name = "BENCH_" + "".join(c if c.isalnum() else "_" for c in subject)
    await js.add_stream(name=name, subjects=[subject], max_age=3600)
    await nc.close()


async def consume(subject, count, with_headers=False):
    nc = await nats.connect(URL)
    sub = await nc.subscribe(subject)
    await nc.flush()
    print("ready", flush=True)
    for _ in range(count):
        msg = await sub.next_msg(timeout=60)
        if with_headers:
            print(json.dumps({"headers": dict(msg.headers or {}), "body": msg.data.decode()}), flush=True)
        else:
            print(msg.data.decode(), flush=True)
    await nc.close()


async def consumers_on(js, subject):
    try:
        stream = await js.find_stream_name_by_subject(subject)
        infos = await js.consumers_info(stream)
    except Exception:
        return 0
    count = 0
    for info in infos:
        config = info.config
        subjects = list(config.filter_subjects or []) + [config.filter_subject or ""]
        count += subject in subjects
    return count


async def wait_consumer(subject, seconds, at_least):
    nc = await nats.connect(URL)
    js = nc.jetstream()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await consumers_on(js, subject) >= at_least:
            await nc.close()
            return 0
        await asyncio.sleep(0.05)
    await nc.close()
    return 1


async def count_consumers(subject):
    nc = await nats.connect(URL)
    print(await consumers_on(nc.jetstream(), subject), flush=True)
    await nc.close()


async def bench_publish(subject, count):
    nc = await nats.connect(URL)
    js = nc.jetstream()
    try:
        await js.find_stream_name_by_subject(subject)
        stored = True
    except Exception:
        stored = False
    start = time.perf_counter()
    for n in range(count):
        # Acknowledged one by one, as `emit` waits for each acknowledgement: the stream's
        # acknowledgement when a stream stores the subject, else the server's answer to a flush.
        payload = json.dumps(event(subject, None, n)).encode()
        if stored:
            await js.publish(subject, payload)
        else:
            await nc.publish(subject, payload)
            await nc.flush()
    elapsed = time.perf_counter() - start
    await nc.close()
    print(f"{elapsed:.6f}")


def main(argv):
    command = argv[1]
    if command == "publish":
        asyncio.run(publish(argv[2], argv[3], "--binary" in argv))
    elif command == "consume":
        asyncio.run(consume(argv[2], int(argv[3]), "--headers" in argv[4:]))
    elif command == "wait-consumer":
        at_least = int(argv[4]) if len(argv) > 4 else 1
        return asyncio.run(wait_consumer(argv[2], float(argv[3]), at_least))
    elif command == "count-consumers":
        asyncio.run(count_consumers(argv[2]))
    elif command == "make-stream":
        asyncio.run(make_stream(argv[2]))
    elif command == "bench-publish":
        asyncio.run(bench_publish(argv[2], int(argv[3])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
