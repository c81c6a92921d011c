"""An independent AMQP 0-9-1 client (pika) publishing and consuming CloudEvents alongside the
`workflow` binary in the integration tests, on RabbitMQ's topic exchange `cloudevents` with the
event type as routing key.

  amqp_peer.py publish TYPE EVENT_JSON [--binary] [--until-routed SECONDS]
      publish one persistent event with a publisher confirm (structured JSON, or binary mode:
      the attributes as `cloudEvents:` headers, the data as body). With --until-routed, the
      publish is mandatory and sent again until a queue took it (a runner is listening).
  amqp_peer.py consume TYPE COUNT
      print COUNT message bodies, one per line; prints `ready` once its queue is bound
"""

import json
import sys
import time

import pika

URL = "amqp://guest:guest@127.0.0.1:5672/%2f"
EXCHANGE = "cloudevents"


def channel():
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    ch = connection.channel()
    ch.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    return connection, ch


def publish(event_type, text, binary, until_routed):
    connection, ch = channel()
    ch.confirm_delivery()
    event = json.loads(text)
    if binary:
        headers = {
            "cloudEvents:" + k: str(v)
            for k, v in event.items()
            if k not in ("data", "datacontenttype")
        }
        properties = pika.BasicProperties(
            content_type=event.get("datacontenttype", "application/json"),
            headers=headers,
            delivery_mode=2,
        )
        body = json.dumps(event.get("data")).encode()
    else:
        properties = pika.BasicProperties(
            content_type="application/cloudevents+json", delivery_mode=2
        )
        body = json.dumps(event).encode()
    deadline = time.monotonic() + until_routed
    while True:
        try:
            ch.basic_publish(
                EXCHANGE, event_type, body, properties=properties, mandatory=until_routed > 0
            )
            break
        except pika.exceptions.UnroutableError:
            if time.monotonic() > deadline:
                print("no queue is bound for " + event_type, file=sys.stderr)
                return 1
            time.sleep(0.1)
    print(f"{time.time():.6f}", flush=True)
    connection.close()
    return 0


def consume(event_type, count):
    connection, ch = channel()
    queue = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(queue, EXCHANGE, routing_key=event_type)
    print("ready", flush=True)
    printed = 0
    for _method, _properties, body in ch.consume(queue, auto_ack=True, inactivity_timeout=60):
        if body is None:
            break
        print(body.decode(), flush=True)
        printed += 1
        if printed == count:
            break
    connection.close()
    return 0 if printed == count else 1


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "publish":
        until = 0.0
        if "--until-routed" in argv:
            until = float(argv[argv.index("--until-routed") + 1])
        return publish(argv[2], argv[3], "--binary" in argv, until)
    if command == "consume":
        return consume(argv[2], int(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
