"""An independent MQTT client (paho-mqtt) publishing and consuming CloudEvents alongside the
`workflow` binary in the integration tests. Topics are event types with `.` turned into `/`.

  mqtt_peer.py publish TYPE EVENT_JSON [--binary] [--until-routed SECONDS]
      publish one event at QoS 1 over MQTT 5 (structured JSON, or binary mode: the attributes
      as user properties, the data as payload) and wait for the PUBACK. With --until-routed,
      publish again until the broker says a subscription matched (a runner is listening).
  mqtt_peer.py consume TYPE COUNT
      print COUNT message payloads, one per line; prints `ready` once subscribed
"""

import json
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

HOST = "127.0.0.1"
PORT = 1883
NO_MATCHING_SUBSCRIBERS = 16


def topic(event_type):
    return event_type.replace(".", "/")


def connected_client(protocol):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
    client.connect(HOST, PORT)
    client.loop_start()
    return client


def publish(event_type, text, binary, until_routed):
    acks = {}
    done = threading.Condition()

    def on_publish(client, userdata, mid, reason_code, properties):
        with done:
            acks[mid] = reason_code.value if hasattr(reason_code, "value") else int(reason_code)
            done.notify_all()

    client = connected_client(mqtt.MQTTv5)
    client.on_publish = on_publish
    event = json.loads(text)
    deadline = time.monotonic() + until_routed
    while True:
        properties = Properties(PacketTypes.PUBLISH)
        if binary:
            properties.UserProperty = [
                (k, str(v)) for k, v in event.items() if k not in ("data", "datacontenttype")
            ]
            properties.ContentType = event.get("datacontenttype", "application/json")
            payload = json.dumps(event.get("data")).encode()
        else:
            properties.ContentType = "application/cloudevents+json"
            payload = json.dumps(event).encode()
        info = client.publish(topic(event_type), payload, qos=1, properties=properties)
        with done:
            done.wait_for(lambda: info.mid in acks, timeout=30)
        code = acks.get(info.mid)
        if code is None:
            print("no PUBACK", file=sys.stderr)
            return 1
        if code == NO_MATCHING_SUBSCRIBERS and until_routed and time.monotonic() < deadline:
            time.sleep(0.1)
            continue
        if code == NO_MATCHING_SUBSCRIBERS and until_routed:
            print("nobody subscribed", file=sys.stderr)
            return 1
        break
    print(f"{time.time():.6f}", flush=True)
    client.loop_stop()
    client.disconnect()
    return 0


def consume(event_type, count):
    subscribed = threading.Event()
    received = []
    arrived = threading.Condition()

    def on_subscribe(client, userdata, mid, reason_codes, properties):
        subscribed.set()

    def on_message(client, userdata, message):
        with arrived:
            received.append(message.payload.decode())
            arrived.notify_all()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect(HOST, PORT)
    client.loop_start()
    client.subscribe(topic(event_type), qos=1)
    if not subscribed.wait(30):
        return 1
    print("ready", flush=True)
    printed = 0
    deadline = time.monotonic() + 60
    while printed < count and time.monotonic() < deadline:
        with arrived:
            arrived.wait_for(lambda: len(received) > printed, timeout=1)
            while printed < len(received) and printed < count:
                print(received[printed], flush=True)
                printed += 1
    client.loop_stop()
    client.disconnect()
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
