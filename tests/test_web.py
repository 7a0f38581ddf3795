"""The operator's page, served by waitress on loopback from a real SQLite file and the files a
live view writes: access rules over plain HTTP, then the page driven in a real headless
Chromium (Debian's chromium and chromium-driver)."""

import http.cookiejar
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace

import numpy as np
import pytest
import waitress
from werkzeug.security import generate_password_hash

from edge.config import Config
from edge.store.allowlist import AllowList
from edge.store.config import StoreConfig
from edge.store.db import EventStore
from edge.stream.lane import PlateInView
from edge.stream.live import LiveView
from edge.web.app import create_app
from edge.web.config import WebConfig
from tests.conftest import wait_for
from tests.test_store import make_event

PASSWORD = "gate-keeper-42"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


class Site:
    """The page for one lane: a database with two events, a live view, and the server."""

    def __init__(self, folder):
        self.config = replace(Config(), store=StoreConfig(path=str(folder / "events.db")),
                              web=WebConfig(password_hash=generate_password_hash(PASSWORD)))
        store = EventStore(self.config.store)
        self.events = [make_event("品川 300 さ 12-34", when=time.time() - 60),
                       make_event("横浜 580 む 13-76", "yellow", when=time.time() - 30)]
        store.add(self.events[0], "open", "listed: Suzuki")
        store.add(self.events[1], "deny", "not on the allow-list")
        store.close()
        self.live = LiveView(self.config.store.path, 0.0, print)
        self.show(12.5)
        self.app = create_app(self.config.store, self.config.gate, self.config.web)
        self.channels: dict = {}  # the server's own: its listener, trigger and connections
        self.server = waitress.create_server(self.app, map=self.channels, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):  # close() shut the listening socket under the loop: the end
            pass

    def show(self, fps: float) -> None:
        """What the daemon does while it runs: a frame with a plate drawn, and the lane's figures."""
        image = np.full((720, 1280, 3), 90, np.uint8)
        plate = PlateInView(((500.0, 400.0), (700.0, 400.0), (700.0, 500.0), (500.0, 500.0)), "品川 300 さ 12-34",
                            True, False)
        self.live.offer(image, [plate], {"running": True, "lane": "lane-1", "camera_connected": True,
                                         "frames_per_second": 30.0, "frames_analysed_per_second": fps,
                                         "events": 2, "started": time.time() - 100, "precision": "fp32",
                                         "models": {"plate-seg": {"file": "plate-seg.onnx", "backend": "x"}}},
                        (0, 0, 1280, 720))
        time.sleep(0.3)

    def close(self):
        """Stop the page as a process's exit would: its workers first (a worker finishing a request
        wakes the loop by writing a byte to the trigger; once the trigger is closed its descriptor
        may be another page's new connection, which then starts with that byte), then every
        channel, so that the loop ends."""
        self.live.close()
        self.server.task_dispatcher.shutdown()
        for channel in list(self.channels.values()):
            channel.close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("site"))
    yield s
    s.close()


class Session:
    """A plain HTTP client with cookies, as a script (or an attacker) would be."""

    def __init__(self, site):
        self.site = site
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect)

    def request(self, path, data=None, accept="text/html"):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.site.url + path, data=body, headers={"Accept": accept})
        try:
            with self.opener.open(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode("utf-8", "replace")

    def token(self, path="/login"):
        return re.search(r'name="csrf_token" value="([^"]+)"', self.request(path)[2]).group(1)

    def login(self, password=PASSWORD):
        return self.request("/login", {"user": "operator", "password": password, "csrf_token": self.token()})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_nothing_is_readable_without_logging_in(site):
    anonymous = Session(site)
    event_id = site.events[0].event_id
    for path in ("/", "/events", "/events.csv", f"/events/{event_id}", f"/events/{event_id}/frame.jpg", "/allow",
                 "/health", "/api/health"):
        status, headers, body = anonymous.request(path)
        assert status == 302 and headers["Location"].startswith("/login"), path
        assert "品川" not in body and "13-76" not in body
    for path in ("/live.jpg", "/api/status"):
        assert anonymous.request(path)[0] == 401, path


def test_a_wrong_password_is_refused_and_repeated_guesses_are_stopped(tmp_path):
    own = Site(tmp_path)  # its own page: the throttle it trips would refuse the other tests' logins
    try:
        guesser = Session(own)
        for _ in range(5):
            assert guesser.login("guess")[0] == 401
        status, _, body = guesser.login()  # the right password, too late: this address waits
        assert status == 401 and "しばらく" in body
        assert guesser.request("/events")[0] == 302
    finally:
        own.close()


def test_a_change_without_its_csrf_token_is_refused(site):
    s, other = Session(site), Session(site)
    assert s.login()[0] == 302 and s.request("/events")[0] == 200
    status, _, body = s.request("/allow/add", {"plate": "品川 300 さ 99-99"})
    assert status == 400 and "CSRF" in body and not _listed(site, "品川 300 さ 99-99")
    assert s.request("/allow/add", {"plate": "品川 300 さ 99-99", "csrf_token": "forged"})[0] == 400
    assert not _listed(site, "品川 300 さ 99-99")
    # another session's token does not work for this one
    assert s.request("/allow/add", {"plate": "品川 300 さ 99-99", "csrf_token": other.token()})[0] == 400
    assert not _listed(site, "品川 300 さ 99-99")
    assert s.request("/allow/add", {"plate": "品川 300 さ 99-99", "csrf_token": s.token("/allow")})[0] == 302
    assert _listed(site, "品川 300 さ 99-99")
    assert s.request("/allow/remove", {"plate": "品川 300 さ 99-99", "csrf_token": s.token("/allow")})[0] == 302
    assert not _listed(site, "品川 300 さ 99-99")


def _listed(site, text) -> bool:
    store = EventStore(site.config.store)
    try:
        return any(e.plate.format() == text for e in AllowList(store).entries())
    finally:
        store.close()


def test_a_session_unused_for_its_lifetime_is_logged_out(site):
    client = site.app.test_client()
    with client.session_transaction() as session:
        session.update(user="operator", seen=time.time())
    assert client.get("/events").status_code == 200
    with client.session_transaction() as session:
        session["seen"] = time.time() - site.config.web.session_minutes * 60 - 1
    answer = client.get("/events")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert client.get("/api/status", headers={"Accept": "application/json"}).status_code == 401


def test_events_export_as_csv_filtered_like_the_page(site):
    client = site.app.test_client()
    with client.session_transaction() as session:
        session.update(user="operator", seen=time.time())
    answer = client.get("/events.csv?decision=deny")
    lines = answer.get_data(as_text=True).splitlines()
    assert answer.status_code == 200 and len(lines) == 2 and "横浜 580 む 13-76" in lines[1]
    assert client.get("/events.csv?plate=not-a-plate").status_code == 400


# -- in a real browser ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("chromium and chromium-driver are not installed (Debian; `make test` installs them)")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


def test_the_operator_logs_in_watches_finds_and_lists_in_a_real_browser(site, browser, tmp_path_factory):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By

    # a fresh page (and throttle) for the browser
    browser_site = Site(tmp_path_factory.mktemp("browser-site"))
    try:
        by_id = lambda i: browser.find_element(By.ID, i)  # noqa: E731

        def text_of(element_id: str) -> str:
            """The element's text now; "" while the page it was on is being replaced."""
            try:
                return browser.find_element(By.ID, element_id).text
            except WebDriverException as e:  # Chromium also says "does not belong to the document" for a stale one
                if isinstance(e, (NoSuchElementException, StaleElementReferenceException)) \
                        or "does not belong to the document" in str(e):
                    return ""
                raise
        browser.get(browser_site.url + "/events")
        assert "/login" in browser.current_url
        by_id("user").send_keys("operator")
        by_id("password").send_keys(PASSWORD)
        by_id("login").click()
        # the path, not the URL: the login page's own URL (/login?next=/events) holds "/events"
        assert wait_for(lambda: urllib.parse.urlparse(browser.current_url).path == "/events")

        # the live view updates by itself
        browser.get(browser_site.url + "/")
        assert wait_for(lambda: text_of("fps") == "12.5")
        assert wait_for(lambda: browser.execute_script("return document.getElementById('live-frame').naturalWidth") > 0)
        browser_site.show(27.5)
        assert wait_for(lambda: text_of("fps") == "27.5")
        assert by_id("camera").text == "接続中"

        # find an event by typing its plate as people write it
        browser.get(browser_site.url + "/events")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#events tr.event")) == 2
        by_id("plate-filter").send_keys("品川300さ1234")
        by_id("search").click()
        assert wait_for(lambda: "plate=" in browser.current_url)  # the filtered page, not the one before
        rows = browser.find_elements(By.CSS_SELECTOR, "#events tr.event")
        assert len(rows) == 1 and "品川 300 さ 12-34" in rows[0].text
        rows[0].find_element(By.TAG_NAME, "a").click()
        assert wait_for(lambda: text_of("event-plate") == "品川 300 さ 12-34")
        assert wait_for(lambda: browser.execute_script(
            "var i = document.getElementById('frame-image'); return i ? i.naturalWidth : 0") == 640)

        # add a listed plate, then remove it
        browser.get(browser_site.url + "/allow")
        by_id("allow-plate").send_keys("横浜 580 む 13-76")
        by_id("allow-label").send_keys("鈴木")
        by_id("allow-add-button").click()
        # each form posts and the page comes back: wait for the new page, not the one before
        assert wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#allow-list tr.listed")) == 1)
        listed = browser.find_elements(By.CSS_SELECTOR, "#allow-list tr.listed")
        assert len(listed) == 1 and "横浜 580 む 13-76" in listed[0].text and "鈴木" in listed[0].text
        listed[0].find_element(By.CSS_SELECTOR, "button.remove").click()
        assert wait_for(lambda: browser.find_elements(By.ID, "no-entries"))

        # a bad CSV line is refused with the grammar's message beside it, and nothing is imported
        by_id("import-text").send_keys("plate,color\n品川 300 さ 12-34,white\n品川 300 あ 12-34,white\n")
        by_id("import-button").click()
        assert wait_for(lambda: "pasted:3" in text_of("import-errors"))
        errors = text_of("import-errors")
        assert "pasted:3" in errors and "green" in errors
        assert browser.find_elements(By.ID, "no-entries")

        # the English switch
        by_id("lang").click()
        assert wait_for(lambda: text_of("nav-events") == "Events")
    finally:
        browser_site.close()


def test_the_page_will_not_start_without_a_password_and_says_how_to_set_one(tmp_path):
    from tests.conftest import anpr

    config = tmp_path / "anpr.toml"
    config.write_text(f'[store]\npath = "{tmp_path}/events.db"\n', encoding="utf-8")
    run = anpr("web", "--config", str(config), timeout=60)
    assert run.returncode == 2 and "anpr web password" in run.stderr
    made = anpr("web", "password", input="short\n", timeout=60)
    assert made.returncode == 2 and "at least 8" in made.stderr
    made = anpr("web", "password", input=PASSWORD + "\n", timeout=60)
    line = made.stdout.strip().splitlines()[-1]
    assert made.returncode == 0 and line.startswith('password_hash = "scrypt:')
    config.write_text(config.read_text() + "[web]\n" + line + "\nlisten = \"127.0.0.1:1\"\n", encoding="utf-8")
    from edge.config import load_config
    from werkzeug.security import check_password_hash
    assert check_password_hash(load_config(config).web.password_hash, PASSWORD)


def test_a_database_that_cannot_be_read_gets_a_clear_page_not_a_crash(tmp_path):
    own = Site(tmp_path)
    try:
        client = own.app.test_client()
        with client.session_transaction() as session:
            session.update(user="operator", seen=time.time())
        for name in ("events.db-wal", "events.db-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        (tmp_path / "events.db").write_bytes(b"this is not a database" * 100)
        answer = client.get("/events")
        assert answer.status_code == 503 and "events.db" in answer.get_data(as_text=True)
    finally:
        own.close()
