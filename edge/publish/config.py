"""The ``mqtt`` and ``webhook`` sections: where events go off the box. Both are off until a
broker host or a URL is given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from edge.common.sections import check, is_count, is_number

_TOPIC_PART = re.compile(r"^[^#+\s/][^#+\s]*[^#+\s/]$|^[^#+\s/]$")


@dataclass(frozen=True)
class MqttConfig:
    host: str = ""  # the site's broker; "" sends nothing over MQTT
    port: int = 1883
    username: str = ""
    password: str = ""
    client_id: str = ""  # "" : anpr-LANE
    topic_prefix: str = "anpr"  # events on PREFIX/LANE/event (README: the topic layout)
    discovery: bool = True  # Home Assistant discovery messages, retained
    discovery_prefix: str = "homeassistant"
    keepalive_s: int = 30
    tls: bool = False
    ca_file: str = ""  # TLS: the broker's CA (default: the system's)
    ack_timeout_s: float = 10.0  # a message not acknowledged within this is tried again later

    def __post_init__(self):
        check(isinstance(self.host, str), "mqtt.host", self.host, "a host name or address, or \"\" for none")
        check(is_count(self.port, 1) and self.port <= 65535, "mqtt.port", self.port, "a port number, 1 to 65535")
        for key in ("username", "password", "client_id", "ca_file"):
            check(isinstance(getattr(self, key), str), f"mqtt.{key}", getattr(self, key), "a string")
        for key in ("topic_prefix", "discovery_prefix"):
            value = getattr(self, key)
            check(isinstance(value, str) and bool(_TOPIC_PART.match(value)), f"mqtt.{key}", value,
                  "topic levels without +, #, spaces or a leading or trailing /")
        check(isinstance(self.discovery, bool), "mqtt.discovery", self.discovery, "true or false")
        check(isinstance(self.tls, bool), "mqtt.tls", self.tls, "true or false")
        check(is_count(self.keepalive_s, 5) and self.keepalive_s <= 3600, "mqtt.keepalive_s", self.keepalive_s,
              "5 to 3600 seconds")
        check(is_number(self.ack_timeout_s, 0.5, 300), "mqtt.ack_timeout_s", self.ack_timeout_s, "0.5 to 300 seconds")

    @property
    def enabled(self) -> bool:
        return self.host.strip() != ""


@dataclass(frozen=True)
class WebhookConfig:
    url: str = ""  # http(s)://... each event and relay outcome is POSTed there as JSON; "" for none
    secret: str = ""  # when set, X-Anpr-Signature: sha256=HMAC(secret, body) on every POST
    timeout_s: float = 10.0

    def __post_init__(self):
        parts = urlsplit(self.url) if isinstance(self.url, str) else None
        check(isinstance(self.url, str) and (self.url == "" or (parts.scheme in ("http", "https") and parts.netloc)),
              "webhook.url", self.url, "an http:// or https:// URL, or \"\" for none")
        check(isinstance(self.secret, str), "webhook.secret", self.secret, "a string")
        check(is_number(self.timeout_s, 0.5, 300), "webhook.timeout_s", self.timeout_s, "0.5 to 300 seconds")

    @property
    def enabled(self) -> bool:
        return self.url != ""
