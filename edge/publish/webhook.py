"""Events POSTed to a webhook as JSON (the standard library's HTTP client: one request per
message, nothing to keep open). A 2xx answer is the acknowledgement; anything else, or no answer,
leaves the message in the outbox to be tried again."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from edge import __version__
from edge.publish.config import WebhookConfig
from edge.publish.sink import DeliveryError
from edge.store.outbox import Message


class WebhookSink:
    name = "webhook"

    def __init__(self, config: WebhookConfig):
        self.config = config

    def ready(self) -> bool:
        return True  # only a try tells whether the far end is there

    def request(self, message: Message) -> urllib.request.Request:
        body = json.dumps({"kind": message.kind, **message.payload}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": f"anpr/{__version__}",
                   "X-Anpr-Event-Id": message.event_id, "X-Anpr-Kind": message.kind}
        if self.config.secret:
            digest = hmac.new(self.config.secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
            headers["X-Anpr-Signature"] = f"sha256={digest}"
        return urllib.request.Request(self.config.url, data=body, headers=headers, method="POST")

    def deliver(self, message: Message) -> None:
        try:
            with urllib.request.urlopen(self.request(message), timeout=self.config.timeout_s) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook {self.config.url}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"webhook {self.config.url}: {getattr(exc, 'reason', exc)}") from exc

    def close(self) -> None:
        pass
