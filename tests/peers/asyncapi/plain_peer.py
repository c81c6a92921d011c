"""An independent client of the four brokers (nats-py, paho-mqtt, pika, redis-py) exchanging
plain messages (not CloudEvents) with `workflow`'s AsyncAPI calls in the integration tests.

  plain_peer.py PROTOCOL publish ADDRESS PAYLOAD [--header NAME=VALUE]... [--exchange X]
                [--stream] [--correlation-id ID] [--until-routed SECONDS]
      publish one message and wait for the broker's acknowledgement (a JetStream ack when a
      stream stores the NATS subject, the PUBACK at QoS 1 over MQTT 5 with the headers as user
      properties, an AMQP publisher confirm, Redis's answer). `--exchange`: AMQP's exchange
      (else the default exchange, the address naming the queue). `--stream`: a Redis stream
      entry (fields `payload`, `contentType` and the headers) instead of PUBLISH.
      `--correlation-id`: AMQP's `correlation-id` property. With
      --until-routed, wait until a runner subscribed first: a JetStream consumer or a Redis
      consumer group exists, or publish again until the broker says someone took it.
  plain_peer.py PROTOCOL consume ADDRESS COUNT [--exchange X] [--stream]
      print `ready` once subscribed, then COUNT messages, one JSON line each:
      {"payload": TEXT, "headers": {...}}
  plain_peer.py nats make-stream SUBJECT
      create a JetStream stream storing SUBJECT
  plain_peer.py amqp make-exchange NAME
      declare a durable topic exchange
PROTOCOL is nats, mqtt, amqp or redis; the brokers are on 127.0.0.1, standard ports.
"""

import asyncio
import json
import sys
import threading
import time


def option(argv, name, default=None):
    if name in argv:
        return argv[argv.index(name) + 1]
    return default


def headers_of(argv):
    found = {}
    for i, arg in enumerate(argv):
        if arg == "--header":
            name, _, value = argv[i + 1].partition("=")
            found[name] = value
    return found


def stream_name(subject):
    return "AA_" + "".join(c if c.isalnum() else "_" for c in subject)


# --- NATS -------------------------------------------------------------------------------------


async def nats_connect():
    import nats

    return await nats.connect("nats://127.0.0.1:4222")


async def nats_make_stream(subject):
    nc = await nats_connect()
    js = nc.jetstream()
    # Gone an hour later: tests leave nothing behind for long.
    await js.add_stream(name=stream_name(subject), subjects=[subject], max_age=3600)
    await nc.close()


async def nats_publish(subject, payload, headers, until_routed):
    nc = await nats_connect()
    js = nc.jetstream()
    stream = None
    try:
        stream = await js.find_stream_name_by_subject(subject)
    except Exception:
        stream = None
    if stream is not None:
        deadline = time.monotonic() + until_routed
        while until_routed:
            consumers = await js.consumers_info(stream)
            if any(c.config.filter_subject == subject for c in consumers):
                break
            if time.monotonic() > deadline:
                print("no consumer on " + subject, file=sys.stderr)
                return 1
            await asyncio.sleep(0.1)
        await js.publish(subject, payload.encode(), headers=headers or None)
    else:
        await nc.publish(subject, payload.encode(), headers=headers or None)
        await nc.flush()
    await nc.close()
    return 0


async def nats_consume(subject, count):
    nc = await nats_connect()
    sub = await nc.subscribe(subject)
    await nc.flush()
    print("ready", flush=True)
    for _ in range(count):
        message = await sub.next_msg(timeout=60)
        print(json.dumps({"payload": message.data.decode(), "headers": message.headers or {}}),
              flush=True)
    await nc.close()
    return 0


# --- MQTT -------------------------------------------------------------------------------------

NO_MATCHING_SUBSCRIBERS = 16


def mqtt_publish(topic, payload, headers, until_routed):
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    acks = {}
    done = threading.Condition()

    def on_publish(client, userdata, mid, reason_code, properties):
        with done:
            acks[mid] = reason_code.value if hasattr(reason_code, "value") else int(reason_code)
            done.notify_all()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_publish = on_publish
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    deadline = time.monotonic() + until_routed
    while True:
        properties = Properties(PacketTypes.PUBLISH)
        properties.ContentType = "application/json"
        if headers:
            properties.UserProperty = list(headers.items())
        info = client.publish(topic, payload.encode(), qos=1, properties=properties)
        with done:
            done.wait_for(lambda: info.mid in acks, timeout=30)
        code = acks.get(info.mid)
        if code is None:
            print("no PUBACK", file=sys.stderr)
            return 1
        if code == NO_MATCHING_SUBSCRIBERS and until_routed:
            if time.monotonic() > deadline:
                print("nobody subscribed", file=sys.stderr)
                return 1
            time.sleep(0.1)
            continue
        break
    client.loop_stop()
    client.disconnect()
    return 0


def mqtt_consume(topic, count):
    import paho.mqtt.client as mqtt

    subscribed = threading.Event()
    received = []
    arrived = threading.Condition()

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        subscribed.set()

    def on_message(client, userdata, message):
        properties = getattr(message, "properties", None)
        pairs = getattr(properties, "UserProperty", None) or []
        with arrived:
            received.append({"payload": message.payload.decode(), "headers": dict(pairs)})
            arrived.notify_all()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    client.subscribe(topic, qos=1)
    if not subscribed.wait(30):
        return 1
    print("ready", flush=True)
    with arrived:
        arrived.wait_for(lambda: len(received) >= count, timeout=60)
    for message in received[:count]:
        print(json.dumps(message), flush=True)
    client.loop_stop()
    client.disconnect()
    return 0 if len(received) >= count else 1


# --- AMQP -------------------------------------------------------------------------------------


def amqp_channel():
    import pika

    connection = pika.BlockingConnection(
        pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2f")
    )
    return connection, connection.channel()


def amqp_publish(address, payload, headers, exchange, until_routed, correlation_id=None):
    import pika

    connection, ch = amqp_channel()
    if exchange:
        ch.exchange_declare(exchange, exchange_type="topic", durable=True)
    ch.confirm_delivery()
    properties = pika.BasicProperties(
        content_type="application/json", headers=headers or None, delivery_mode=2,
        correlation_id=correlation_id,
    )
    deadline = time.monotonic() + until_routed
    while True:
        try:
            ch.basic_publish(
                exchange or "", address, payload.encode(), properties=properties,
                mandatory=until_routed > 0,
            )
            break
        except pika.exceptions.UnroutableError:
            if time.monotonic() > deadline:
                print("no queue takes " + address, file=sys.stderr)
                return 1
            time.sleep(0.1)
    connection.close()
    return 0


def amqp_consume(address, count, exchange):
    connection, ch = amqp_channel()
    if exchange:
        ch.exchange_declare(exchange, exchange_type="topic", durable=True)
        queue = ch.queue_declare("", exclusive=True).method.queue
        ch.queue_bind(queue, exchange, routing_key=address)
    else:
        queue = ch.queue_declare(address, durable=True).method.queue
    print("ready", flush=True)
    printed = 0
    for _method, properties, body in ch.consume(queue, auto_ack=True, inactivity_timeout=60):
        if body is None:
            break
        headers = {k: (v.decode() if isinstance(v, bytes) else str(v))
                   for k, v in (properties.headers or {}).items()}
        print(json.dumps({"payload": body.decode(), "headers": headers}), flush=True)
        printed += 1
        if printed == count:
            break
    connection.close()
    return 0 if printed == count else 1


# --- Redis ------------------------------------------------------------------------------------


def redis_client():
    import redis

    return redis.Redis(host="127.0.0.1", port=6379)


def redis_publish(address, payload, headers, stream, until_routed):
    client = redis_client()
    deadline = time.monotonic() + until_routed
    if stream:
        while until_routed:
            try:
                if client.xinfo_groups(address):
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                print("no consumer group on " + address, file=sys.stderr)
                return 1
            time.sleep(0.1)
        fields = {"payload": payload, "contentType": "application/json"}
        fields.update(headers)
        client.xadd(address, fields)
        return 0
    while True:
        taken = client.publish(address, payload)
        if taken > 0 or not until_routed:
            return 0
        if time.monotonic() > deadline:
            print("nobody subscribed to " + address, file=sys.stderr)
            return 1
        time.sleep(0.1)


def redis_consume(address, count, stream):
    client = redis_client()
    printed = 0
    if stream:
        last = client.xinfo_stream(address)["last-generated-id"] if client.exists(address) else "0"
        print("ready", flush=True)
        deadline = time.monotonic() + 60
        while printed < count and time.monotonic() < deadline:
            for _key, entries in client.xread({address: last}, block=1000) or []:
                for entry_id, fields in entries:
                    last = entry_id
                    fields = {k.decode(): v.decode() for k, v in fields.items()}
                    payload = fields.pop("payload", "")
                    print(json.dumps({"payload": payload, "headers": fields}), flush=True)
                    printed += 1
        return 0 if printed == count else 1
    pubsub = client.pubsub()
    pubsub.subscribe(address)
    pubsub.get_message(timeout=10)  # the subscription's confirmation
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while printed < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1)
        if message and message["type"] == "message":
            print(json.dumps({"payload": message["data"].decode(), "headers": {}}), flush=True)
            printed += 1
    return 0 if printed == count else 1


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    protocol, command, address = argv[1], argv[2], argv[3]
    until = float(option(argv, "--until-routed", "0"))
    exchange = option(argv, "--exchange")
    stream = "--stream" in argv
    if protocol == "nats" and command == "make-stream":
        asyncio.run(nats_make_stream(address))
        return 0
    if protocol == "amqp" and command == "make-exchange":
        connection, ch = amqp_channel()
        ch.exchange_declare(address, exchange_type="topic", durable=True)
        connection.close()
        return 0
    if command == "publish":
        payload, headers = argv[4], headers_of(argv)
        if protocol == "nats":
            return asyncio.run(nats_publish(address, payload, headers, until))
        if protocol == "mqtt":
            return mqtt_publish(address, payload, headers, until)
        if protocol == "amqp":
            return amqp_publish(
                address, payload, headers, exchange, until, option(argv, "--correlation-id")
            )
        if protocol == "redis":
            return redis_publish(address, payload, headers, stream, until)
    if command == "consume":
        count = int(argv[4])
        if protocol == "nats":
            return asyncio.run(nats_consume(address, count))
        if protocol == "mqtt":
            return mqtt_consume(address, count)
        if protocol == "amqp":
            return amqp_consume(address, count, exchange)
        if protocol == "redis":
            return redis_consume(address, count, stream)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
