"""Does the operator's page slow the frame loop? The lane daemon runs a clip as fast as it can
(`anpr run CLIP --stats`), alternately alone and with `anpr web` serving a real headless Chromium
that keeps the live view open (it polls once a second) while a logged-in client reloads the
events and health pages every two seconds. Prints each run's frames seen and analysed per second.

    .venv/bin/python tools/page_load.py CLIP.mp4 [--runs 2]

Needs Debian's chromium and chromium-driver (`make test-tools`).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from werkzeug.security import generate_password_hash

REPO = Path(__file__).resolve().parents[1]
ANPR = [sys.executable, "-m", "edge.cli"]
PASSWORD = "measure-the-page"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(folder: Path, port: int) -> Path:
    path = folder / "anpr.toml"
    path.write_text(f'[store]\npath = "{folder}/events.db"\n[web]\nlisten = "127.0.0.1:{port}"\n'
                    f'password_hash = "{generate_password_hash(PASSWORD)}"\n', encoding="utf-8")
    return path


def _wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"anpr web did not listen on {port}")


class PageLoad:
    """anpr web, a headless Chromium on the live view, and a client reloading the other pages."""

    def __init__(self, config: Path, port: int):
        from selenium import webdriver
        from selenium.webdriver.common.by import By

        self.url = f"http://127.0.0.1:{port}"
        self.web = subprocess.Popen([*ANPR, "web", "--config", str(config)], cwd=REPO, stderr=subprocess.DEVNULL)
        _wait_for_port(port)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options,
                                       service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))
        self.driver.get(self.url + "/")
        self.driver.find_element(By.ID, "user").send_keys("operator")
        self.driver.find_element(By.ID, "password").send_keys(PASSWORD)
        self.driver.find_element(By.ID, "login").click()
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._reload, daemon=True)
        self._thread.start()

    def _reload(self) -> None:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(self.url + "/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        opener.open(self.url + "/login", urllib.parse.urlencode(
            {"user": "operator", "password": PASSWORD, "csrf_token": token}).encode()).read()
        while not self._stop.wait(2.0):
            for path in ("/events", "/health"):
                opener.open(self.url + path).read()
                self.requests += 1

    def close(self) -> int:
        self._stop.set()
        self._thread.join(timeout=10)
        self.driver.quit()
        self.web.terminate()
        self.web.wait(timeout=10)
        return self.requests


def run_lane(clip: Path, config: Path) -> dict:
    run = subprocess.run([*ANPR, "run", str(clip), "--config", str(config), "--stats"], cwd=REPO,
                         capture_output=True, text=True, check=True)
    return json.loads(run.stderr.strip().splitlines()[-1])["lane"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("--runs", type=int, default=2, help="runs of each kind, alternating (default 2)")
    args = parser.parse_args()
    rows = []
    for i in range(args.runs * 2):
        with_page = i % 2 == 1
        folder = Path(tempfile.mkdtemp(prefix="page-load-"))
        port = _free_port()
        config = _config(folder, port)
        load = PageLoad(config, port) if with_page else None
        try:
            lane = run_lane(args.clip, config)
        finally:
            requests = load.close() if load else 0
        rows.append((with_page, lane["frames_per_second"], lane["frames_analysed_per_second"], requests))
        print(f"{'page open' if with_page else 'no page  '}  frames/s {lane['frames_per_second']:6.1f}  "
              f"analysed/s {lane['frames_analysed_per_second']:6.1f}  page requests besides the live view "
              f"{requests}", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    for with_page in (False, True):
        fps = [r[1] for r in rows if r[0] == with_page]
        analysed = [r[2] for r in rows if r[0] == with_page]
        print(f"{'page open' if with_page else 'no page'}: mean frames/s {sum(fps) / len(fps):.1f}, "
              f"analysed/s {sum(analysed) / len(analysed):.1f} over {len(fps)} run(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
