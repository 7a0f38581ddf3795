"""Events off the box: the outbox written in the event's own transaction, a real Mosquitto broker
stopped in the middle of a run and started again, a real HTTP server as the webhook."""

import hashlib
import hmac
import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import paho.mqtt.client as mqtt
import pytest

from edge.publish.config import MqttConfig, WebhookConfig
from edge.publish.deliver import Publisher, open_sinks
from edge.store import outbox
from edge.store.config import StoreConfig
from edge.store.db import EventStore, StoreBusy
from tests.brokers import Mosquitto
from tests.conftest import wait_for
from tests.test_store import make_event


def _store(tmp_path, sinks=("mqtt", "webhook"), **kw) -> EventStore:
    return EventStore(StoreConfig(path=str(tmp_path / "events.db"), **kw), sinks=sinks)


def test_each_event_and_relay_outcome_waits_in_the_outbox_once_per_sink(tmp_path):
    store = _store(tmp_path)
    event = make_event()
    store.add(event, "open", "listed")
    store.set_relay(event.event_id, "pulsed", time.time())
    rows = store.conn.execute("SELECT sink, kind, payload FROM outbox ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("mqtt", "event"), ("webhook", "event"), ("mqtt", "relay"),
                                            ("webhook", "relay")]
    message = json.loads(rows[0][2])
    assert message["event_id"] == event.event_id and message["text"] == "品川 300 さ 12-34"
    assert message["decision"] == "open" and message["decision_reason"] == "listed"
    assert json.loads(rows[2][2])["relay"] == "pulsed"
    store.add(event)  # the same event again (a retried write): no second row, no second message
    assert store.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 4
    store.close()


def test_an_event_not_written_leaves_no_message(tmp_path):
    store = _store(tmp_path, busy_timeout_ms=100)
    other = sqlite3.connect(tmp_path / "events.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    with pytest.raises(StoreBusy):
        store.add(make_event())
    other.execute("ROLLBACK")
    assert store.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    store.close()


def test_without_sinks_nothing_waits(tmp_path):
    store = _store(tmp_path, sinks=())
    store.add(make_event())
    assert store.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    with pytest.raises(ValueError, match="unknown sink"):
        _store(tmp_path, sinks=("carrier-pigeon",))
    store.close()


def test_messages_go_with_their_events_when_retention_deletes_them(tmp_path):
    store = _store(tmp_path, keep_days=1)
    old, new = make_event(when=time.time() - 3 * 86400), make_event()
    store.add(old)
    store.add(new)
    store.retain()
    left = {r[0] for r in store.conn.execute("SELECT event_id FROM outbox")}
    assert left == {new.event_id}
    store.close()


def test_a_failed_try_backs_off_doubling_up_to_the_cap(tmp_path):
    assert [outbox.backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert outbox.backoff(40) == outbox.MAX_BACKOFF_SECONDS
    store = _store(tmp_path, sinks=("webhook",))
    store.add(make_event())
    message = outbox.due(store.conn, "webhook")[0]
    next_try = outbox.failed(store.conn, message, "HTTP 503", now=1000.0)
    assert next_try == 1001.0 and outbox.due(store.conn, "webhook", now=1000.5) == []
    store.add(make_event("横浜 580 む 13-76", "yellow"))  # a later message waits behind the one put off
    assert outbox.due(store.conn, "webhook", now=1000.5) == []
    assert [m.id for m in outbox.due(store.conn, "webhook", now=1001.0)][0] == message.id
    assert outbox.pending(store.conn)["webhook"]["last_error"] == "HTTP 503"
    store.close()


class Subscriber:
    """A site's collector: a persistent session (QoS 1, clean_session off), so what the broker
    queued for it while it was away is delivered when it is back."""

    def __init__(self, port: int, topics: list[str]):
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="site-collector", clean_session=False)
        self.client.on_connect = lambda c, u, f, rc, p: [c.subscribe(t, qos=1) for t in topics]
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append((msg.topic, msg.payload, msg.retain))

    def on(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def event_ids(self) -> list[str]:
        return [json.loads(p)["event_id"] for p in self.on("anpr/lane-1/event")]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_every_event_arrives_once_after_the_broker_is_stopped_mid_run_and_started_again(tmp_path):
    broker = Mosquitto(tmp_path).start()
    sub = Subscriber(broker.port, ["anpr/lane-1/#", "homeassistant/#"])
    assert wait_for(lambda: sub.client.is_connected(), 10)
    store = _store(tmp_path, sinks=("mqtt",))
    reports: list[str] = []
    config = MqttConfig(host="127.0.0.1", port=broker.port, ack_timeout_s=2.0)
    publisher = Publisher(store.config.path, open_sinks(config, WebhookConfig(), "lane-1", reports.append),
                          reports.append)
    events = [make_event(f"品川 300 さ {n}", when=time.time() + n) for n in range(1, 31)]
    try:
        for i, event in enumerate(events):  # a run: one event every 50 ms, the broker gone for the middle third
            if i == 10:
                broker.stop()
            if i == 20:
                assert store.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] >= 9  # waiting, not lost
                broker.start()
            store.add(event, "log")
            publisher.wake()
            time.sleep(0.05)
        assert wait_for(lambda: set(sub.event_ids()) == {e.event_id for e in events}, 60), \
            f"{len(set(sub.event_ids()))} of {len(events)} arrived; {reports}"
        assert publisher.drain(10)
    finally:
        publisher.close()
        sub.close()
        store.close()
        broker.stop()
    ids = sub.event_ids()
    assert len(set(ids)) == len(events)  # every event, and after de-duplication by id none twice
    assert all(json.loads(p)["text"] for p in sub.on("anpr/lane-1/event"))
    assert any("connection lost" in r for r in reports) and any("connected" in r for r in reports)
    assert sub.on("anpr/lane-1/availability")[-1] == b"offline"  # closed: the retained status says so
    assert b"online" in sub.on("anpr/lane-1/availability")
    discovery = json.loads(sub.on("homeassistant/sensor/anpr_lane-1/plate/config")[-1])
    assert discovery["state_topic"] == "anpr/lane-1/state" and discovery["availability_topic"] == "anpr/lane-1/availability"


def test_the_lane_state_is_retained_for_a_subscriber_that_comes_later(tmp_path):
    broker = Mosquitto(tmp_path).start()
    store = _store(tmp_path, sinks=("mqtt",))
    config = MqttConfig(host="127.0.0.1", port=broker.port)
    publisher = Publisher(store.config.path, open_sinks(config, WebhookConfig(), "lane-1", print), print)
    event = make_event("横浜 580 む 13-76", "yellow")
    try:
        store.add(event, "deny", "not on the allow-list")
        publisher.wake()
        assert publisher.drain(10)
        late = Subscriber(broker.port, ["anpr/lane-1/state", "anpr/lane-1/availability"])
        assert wait_for(lambda: late.on("anpr/lane-1/state") and late.on("anpr/lane-1/availability"), 10)
        state = json.loads(late.on("anpr/lane-1/state")[0])
        assert state["event_id"] == event.event_id and state["decision"] == "deny"
        assert late.on("anpr/lane-1/availability") == [b"online"]
        late.close()
    finally:
        publisher.close()
        store.close()
        broker.stop()


class _Hook(BaseHTTPRequestHandler):
    failures_left = 2
    received: list[tuple[dict, dict]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.failures_left > 0:
            cls.failures_left -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.received.append((dict(self.headers), json.loads(body)))
        sig = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        self.send_response(204 if self.headers["X-Anpr-Signature"] == f"sha256={sig}" else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_webhook_is_tried_again_until_it_answers_and_each_post_is_signed(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = _store(tmp_path, sinks=("webhook",))
    reports: list[str] = []
    hook = WebhookConfig(url=f"http://127.0.0.1:{server.server_address[1]}/anpr", secret="s3cret")
    publisher = Publisher(store.config.path, open_sinks(MqttConfig(), hook, "lane-1", reports.append), reports.append)
    events = [make_event(f"品川 300 さ {n}") for n in (11, 12, 13)]
    try:
        for e in events:
            store.add(e)
        publisher.wake()
        assert publisher.drain(20), reports
    finally:
        publisher.close()
        server.shutdown()
        store.close()
    ids = [body["event_id"] for _, body in _Hook.received]
    assert ids == [e.event_id for e in events]  # in order, after two refusals
    assert all(h["X-Anpr-Event-Id"] == b["event_id"] and b["kind"] == "event" for h, b in _Hook.received)
    assert any("HTTP 503" in r for r in reports) and any("delivering again" in r for r in reports)


def test_the_daemon_delivers_its_events_and_shares_its_live_view(tmp_path, lane_clip):
    from edge.common.live import live_paths, read_state
    from tests.conftest import anpr

    broker = Mosquitto(tmp_path).start()
    sub = Subscriber(broker.port, ["anpr/gate-2/#"])
    config = tmp_path / "anpr.toml"
    db = tmp_path / "events.db"
    config.write_text(f'[lane]\nname = "gate-2"\n[store]\npath = "{db}"\n[mqtt]\nhost = "127.0.0.1"\n'
                      f"port = {broker.port}\n", encoding="utf-8")
    try:
        run = anpr("run", str(lane_clip / "clip.mp4"), "--config", str(config), "--json", timeout=300)
        assert run.returncode == 0, run.stderr
        written = {json.loads(line)["event_id"] for line in run.stdout.splitlines()}
        assert len(written) == 4
        assert wait_for(lambda: {json.loads(p)["event_id"] for p in sub.on("anpr/gate-2/event")} == written, 20)
    finally:
        sub.close()
        broker.stop()
    frame, state = live_paths(db)
    import cv2
    assert cv2.imread(str(frame)).shape[1] == 960  # the 1280-wide clip, shown at most 960 wide
    shared = read_state(state)
    assert shared["running"] is False and shared["lane"] == "gate-2" and shared["frames_seen"] > 100
    assert set(shared["models"]) >= {"yolov3-tiny", "plate-seg", "read-region"}
    assert "ppocr-det" not in shared["models"]  # the lane's search never takes the second route: not loaded
    store = sqlite3.connect(db)
    assert store.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
