"""Events to the site's MQTT broker (paho-mqtt): QoS 1, a retained lane status, Home Assistant
discovery.

Topics (``P`` is ``mqtt.topic_prefix``, ``LANE`` the lane's name):

| topic | retained | payload |
|---|---|---|
| ``P/LANE/event`` | no | each event, JSON (``event_id`` for de-duplication) |
| ``P/LANE/relay`` | no | what the relay did after an event's decision to open |
| ``P/LANE/state`` | yes | the latest event delivered |
| ``P/LANE/availability`` | yes | ``online``, or ``offline`` (the broker's will when the box is gone) |
| ``HA/sensor/anpr_LANE/NAME/config`` | yes | Home Assistant discovery: plate, decision, confidence |

A message counts as delivered when the broker has acknowledged it (PUBACK); until then its
outbox row stays, and it is sent again after a reconnect or a timeout.
"""

from __future__ import annotations

import json
import re
import ssl
import threading

import paho.mqtt.client as mqtt

from edge import __version__
from edge.publish.config import MqttConfig
from edge.publish.sink import DeliveryError
from edge.store.outbox import Message


def lane_topic(lane: str) -> str:
    """A lane's name as one topic level (``+``, ``#`` and ``/`` would change the topic's meaning)."""
    return re.sub(r"[+#/\s]", "_", lane) or "_"


def _slug(lane: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", lane)


class MqttSink:
    """One connection to the broker, kept up by paho's network thread (reconnects by itself)."""

    name = "mqtt"

    def __init__(self, config: MqttConfig, lane: str, report=lambda message: None):
        self.config, self.lane, self.report = config, lane, report
        self.base = f"{config.topic_prefix}/{lane_topic(lane)}"
        self._connected = threading.Event()
        self._closing = False
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=config.client_id or f"anpr-{_slug(lane)}",
                             protocol=mqtt.MQTTv311)
        if config.username:
            client.username_pw_set(config.username, config.password or None)
        if config.tls:
            client.tls_set(ca_certs=config.ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        client.will_set(self.topic("availability"), "offline", qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        self.client = client
        client.connect_async(config.host, config.port, keepalive=config.keepalive_s)
        client.loop_start()

    def topic(self, name: str) -> str:
        return f"{self.base}/{name}"

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.report(f"MQTT broker {self.config.host}:{self.config.port} refused the connection: {reason_code}")
            return
        client.publish(self.topic("availability"), "online", qos=1, retain=True)
        if self.config.discovery:
            for topic, payload in self.discovery_messages():
                client.publish(topic, json.dumps(payload, ensure_ascii=False), qos=1, retain=True)
        self._connected.set()
        self.report(f"MQTT broker {self.config.host}:{self.config.port}: connected")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected.is_set() and not self._closing:
            self.report(f"MQTT broker {self.config.host}:{self.config.port}: connection lost ({reason_code}); "
                        "events wait in the outbox")
        self._connected.clear()

    def discovery_messages(self) -> list[tuple[str, dict]]:
        """Home Assistant MQTT discovery: one sensor each for the plate, the decision, the confidence."""
        slug = _slug(self.lane)
        device = {"identifiers": [f"anpr_{slug}"], "name": f"ANPR {self.lane}", "manufacturer": "anpr",
                  "model": "edge-anpr", "sw_version": __version__}
        sensors = (("plate", "Plate", "{{ value_json.text if value_json.text else 'unread' }}", {}),
                   ("decision", "Gate decision", "{{ value_json.decision }}", {}),
                   ("confidence", "Read confidence", "{{ (value_json.confidence * 100) | round(0) }}",
                    {"unit_of_measurement": "%"}))
        out = []
        for key, name, template, extra in sensors:
            out.append((f"{self.config.discovery_prefix}/sensor/anpr_{slug}/{key}/config", {
                "name": name, "unique_id": f"anpr_{slug}_{key}", "object_id": f"anpr_{slug}_{key}",
                "state_topic": self.topic("state"), "value_template": template,
                "json_attributes_topic": self.topic("state"), "availability_topic": self.topic("availability"),
                "device": device, **extra}))
        return out

    def ready(self) -> bool:
        return self._connected.is_set()

    def deliver(self, message: Message) -> None:
        """Publish and wait for the broker's acknowledgement; DeliveryError when it does not come."""
        body = json.dumps(message.payload, ensure_ascii=False)
        topic = self.topic("event" if message.kind == "event" else "relay")
        info = self.client.publish(topic, body, qos=1)
        try:
            info.wait_for_publish(timeout=self.config.ack_timeout_s)
        except (RuntimeError, ValueError) as exc:  # not connected, or paho's queue is full
            raise DeliveryError(f"MQTT publish to {topic}: {exc}") from exc
        if not info.is_published():
            raise DeliveryError(f"MQTT publish to {topic}: no acknowledgement within {self.config.ack_timeout_s} s")
        if message.kind == "event":
            self.client.publish(self.topic("state"), body, qos=1, retain=True)

    def close(self) -> None:
        self._closing = True
        if self._connected.is_set():
            self.client.publish(self.topic("availability"), "offline", qos=1, retain=True).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()
