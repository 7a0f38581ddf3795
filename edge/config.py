"""The configuration tree: one validated ``Config`` composed of each package's section, loaded
from a TOML file. A bad key or value stops start-up with a message naming the key and what is
allowed; every section and key is optional and takes its default.

```toml
[lane]     # edge/stream/config.py: LaneConfig   (name, source, roi)
[vision]   # edge/vision/config.py: VisionConfig (models, backend, threads, thresholds)
[stream]   # edge/stream/config.py: StreamConfig (motion, search cadence, settling, tracking)
[store]    # edge/store/config.py:  StoreConfig  (database, evidence, retention)
[gate]     # edge/gate/config.py:   GateConfig   (mode, relay, thresholds, tolerance, cooldowns)
[mqtt]     # edge/publish/config.py: MqttConfig  (broker, topics, Home Assistant discovery)
[webhook]  # edge/publish/config.py: WebhookConfig (URL, signing secret)
[web]      # edge/web/config.py:    WebConfig    (listen address, login, sessions, live view)
```
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from edge.common.errors import ConfigError
from edge.common.sections import section_from_dict
from edge.gate.config import GateConfig
from edge.publish.config import MqttConfig, WebhookConfig
from edge.store.config import StoreConfig
from edge.stream.config import LaneConfig, StreamConfig
from edge.vision.config import VisionConfig
from edge.web.config import WebConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # JetPack 6 ships Python 3.10
    import tomli as tomllib

__all__ = ["Config", "ConfigError", "load_config"]


@dataclass(frozen=True)
class Config:
    lane: LaneConfig = field(default_factory=LaneConfig)
    vision: VisionConfig = field(default_factory=lambda: VisionConfig(threads=1))
    stream: StreamConfig = field(default_factory=StreamConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    web: WebConfig = field(default_factory=WebConfig)

    @classmethod
    def from_dict(cls, data: dict) -> "Config":
        sections = {"lane": LaneConfig, "stream": StreamConfig, "store": StoreConfig, "gate": GateConfig,
                    "mqtt": MqttConfig, "webhook": WebhookConfig, "web": WebConfig}
        unknown = sorted(set(data) - set(sections) - {"vision"})
        if unknown:
            raise ConfigError(f"unknown section(s) [{'], ['.join(unknown)}]; known: "
                              f"[{'], ['.join(sorted([*sections, 'vision']))}]")
        built = {name: section_from_dict(kind, data.get(name, {}), name) for name, kind in sections.items()}
        vision = data.get("vision", {})
        if not isinstance(vision, dict):
            raise ConfigError("vision: expected a table of keys")
        # the lane loop runs its stages side by side on the cores: one thread inside each model run
        built["vision"] = VisionConfig.from_dict({"threads": 1, **vision})
        return cls(**built)

    def with_overrides(self, source: str | None = None, db: str | None = None, mode: str | None = None,
                       relay: str | None = None) -> "Config":
        """The command line's ``SOURCE``, ``--db``, ``--mode`` and ``--relay`` over the file's."""
        lane = replace(self.lane, source=source) if source else self.lane
        store = replace(self.store, path=db) if db else self.store
        gate = replace(self.gate, **{k: v for k, v in (("mode", mode), ("relay", relay)) if v})
        return replace(self, lane=lane, store=store, gate=gate)

    @property
    def sinks(self) -> tuple[str, ...]:
        """Where events are delivered off the box (the outbox's sinks)."""
        return tuple(name for name, on in (("mqtt", self.mqtt.enabled), ("webhook", self.webhook.enabled)) if on)


def load_config(path: str | Path) -> Config:
    """The configuration in a TOML file, validated; ConfigError naming the file and the key otherwise."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Config.from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except TypeError as exc:  # a value of a type no key takes, caught by the dataclass itself
        raise ConfigError(f"{path}: {exc}") from None
