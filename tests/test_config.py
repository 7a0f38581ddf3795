"""The configuration tree: the appliance's default file is valid and says the defaults."""

from dataclasses import replace

import pytest

from edge.common.errors import ConfigError
from edge.config import Config, load_config
from tests.conftest import REPO


def test_the_shipped_config_is_valid_and_holds_the_defaults():
    shipped = load_config(REPO / "boot" / "anpr.toml")
    default = Config()
    assert shipped.stream == default.stream and shipped.vision == default.vision
    assert replace(shipped.store, path=default.store.path) == default.store
    assert shipped.lane.source == "v4l2:///dev/video0"
    assert (shipped.gate, shipped.mqtt, shipped.webhook, shipped.web) == \
           (default.gate, default.mqtt, default.webhook, default.web)


def test_command_line_source_and_db_override_the_file(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[lane]\nsource = "rtsp://cam/1"\nname = "exit"\n[store]\npath = "a.db"\n')
    merged = load_config(config).with_overrides("clip.mp4", "b.db")
    assert (merged.lane.source, merged.lane.name, merged.store.path) == ("clip.mp4", "exit", "b.db")


@pytest.mark.parametrize("data, fragment", [
    ({"lane": {"name": ""}}, "lane.name"),
    ({"stream": {"motion_cells": True}}, "stream.motion_cells"),
    ({"stream": {"lost_after": "1s"}}, "stream.lost_after = '1s'"),
    ({"store": {"jpeg_quality": 101}}, "store.jpeg_quality"),
    ({"vision": {"threads": 0}}, "vision.threads"),
    ({"vision": {"side_by_side": 1}}, "vision.side_by_side = 1"),
    ({"vision": {"side_by_side": "yes"}}, "vision.side_by_side = 'yes'"),
    ({"vision": {"second_opinion_model": "ppocr6"}}, "vision.second_opinion_model = 'ppocr6'"),
    ({"vision": {"second_opinion": ["region", "kana"], "second_opinion_model": "ppocr-rec"}},
     "vision.second_opinion = ('region', 'kana')"),
    ({"vision": {"second_opinion": ["serial"]}}, "vision.second_opinion"),
    ({"lane": []}, "lane: expected a table"),
    ({"mqtt": {"port": 70000}}, "mqtt.port"),
    ({"mqtt": {"topic_prefix": "anpr/#"}}, "mqtt.topic_prefix"),
    ({"webhook": {"url": "ftp://x"}}, "webhook.url"),
    ({"web": {"listen": "8080"}}, "web.listen"),
    ({"web": {"session_minutes": 0}}, "web.session_minutes"),
])
def test_bad_values_name_their_key(data, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Config.from_dict(data)


def test_an_unreadable_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"[lane]\nname = \"\xe9\"\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad)
