"""The operator's page (Flask, served by waitress from ``anpr web``): live view, events, the
allow-list and health, in Japanese with an English switch.

It reads the event database (WAL: readers never block the daemon's writer) and the files the
daemon shares (edge/common/live.py), never the models, and runs in a process of its own, so it
cannot slow the frame loop beyond the CPU its requests take.

Access: one user, whose password is stored hashed in ``web.password_hash``. Every page and
picture needs a logged-in session except the login form and its stylesheet; a session unused
for ``web.session_minutes`` (the live view's own polling does not count as use) is logged out;
every change is a POST carrying the session's CSRF token (Flask-WTF); failed logins from one
address are slowed down.
"""

from __future__ import annotations

import io
import os
import secrets
import threading
import time
from datetime import timedelta
from pathlib import Path

from flask import (Flask, Response, abort, flash, g, jsonify, redirect, render_template, request, send_file,
                   send_from_directory, session, url_for)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.security import check_password_hash

from edge.common.fonts import bundled_font
from edge.common.live import live_paths
from edge.gate.config import GateConfig
from edge.gate.policy import ACTIONS
from edge.plates import Color, PlateText, PlateTextError
from edge.plates.japanese import describe
from edge.plates.reading import READ_FIELDS
from edge.plates.regions import UnknownRegion, region_table
from edge.plates.serial import SerialError, format_serial, parse_serial
from edge.store.allowlist import AllowList, AllowListError, entry
from edge.store.config import StoreConfig
from edge.store.db import EventQuery, EventStore, StoreError
from edge.store.export import parse_since, write_export
from edge.web.health import daemon_state, health
from edge.web.config import WebConfig
from edge.web.i18n import LANGUAGES, word

DECISIONS = ("log-only", *ACTIONS)
# Polling by an open page is not an operator's use: it neither keeps a session alive nor needs CSRF.
POLLING = {"live_frame", "api_status"}
FAILED_LOGINS = 5  # per address within FAILED_WINDOW_SECONDS, then refused until the window passes
FAILED_WINDOW_SECONDS = 300.0


def secret_key(store: StoreConfig, web: WebConfig) -> bytes:
    """The key that signs sessions: ``web.secret_file``, or DB_STEM-web.key beside the database;
    made once (random, 0600), so sessions survive a restart and no key is ever in the config."""
    path = Path(web.secret_file) if web.secret_file else Path(store.path).with_name(Path(store.path).stem + "-web.key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def plate_query(text: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """What the operator typed as a plate, parsed by the plate grammar: a whole plate (its
    canonical text), or a part people search by, a serial (``12-34``, ``1234``) or a region
    (``品川``, ``shinagawa``). PlateTextError (the grammar's message) for anything else."""
    try:
        return PlateText.parse(text).format(), ()
    except PlateTextError as whole:
        part = text.strip()
        try:
            return None, (("serial", format_serial(parse_serial(part))),)
        except SerialError:
            pass
        try:
            return None, (("region", region_table().lookup(part).region.name),)
        except UnknownRegion:
            raise whole from None


class LoginThrottle:
    """Failed logins per address in a sliding window."""

    def __init__(self):
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, address: str, now: float) -> bool:
        with self._lock:
            recent = [t for t in self._failures.get(address, []) if now - t < FAILED_WINDOW_SECONDS]
            self._failures[address] = recent
            return len(recent) >= FAILED_LOGINS

    def failed(self, address: str, now: float) -> None:
        with self._lock:
            self._failures.setdefault(address, []).append(now)


def create_app(store_config: StoreConfig, gate: GateConfig, web: WebConfig) -> Flask:
    """The page for the lane whose events ``store_config`` keeps and whose gate ``gate``
    drives; ``web.password_hash`` must be set."""
    if not web.password_hash:
        raise ValueError("web.password_hash is not set: run `anpr web password` and put the line it prints "
                         "into the config's [web] section")
    app = Flask("edge.web", root_path=str(Path(__file__).parent))
    app.config.update(
        SECRET_KEY=secret_key(store_config, web), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=web.secure_cookie, SESSION_COOKIE_NAME="anpr_session",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=web.session_minutes),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which expires by itself
        MAX_CONTENT_LENGTH=4 * 1024 * 1024)
    CSRFProtect(app)
    frame_path, state_path = live_paths(store_config.path)
    throttle = LoginThrottle()
    idle_seconds = web.session_minutes * 60

    def lang() -> str:
        return session.get("lang") if session.get("lang") in LANGUAGES else "ja"

    @app.context_processor
    def words():
        current = lang()
        return {"t": lambda key: word(current, key), "lang": current, "user": session.get("user"),
                "describe": describe, "fields": READ_FIELDS, "decisions": DECISIONS, "colors": [c.value for c in Color],
                "when": lambda t: "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)),
                "mib": lambda n: f"{n / 1024 / 1024:.1f} MiB"}

    def store() -> EventStore:
        if "store" not in g:
            g.store = EventStore(store_config)
        return g.store

    @app.teardown_appcontext
    def close_store(_exc):
        s = g.pop("store", None)
        if s is not None:
            s.close()

    @app.before_request
    def require_login():
        if request.endpoint in ("login", "static", "set_language", "font"):
            return None
        now = time.time()
        if not session.get("user") or now - session.get("seen", 0) > idle_seconds:
            expired = bool(session.get("user"))
            session.pop("user", None)
            if request.endpoint in POLLING or request.accept_mimetypes.best == "application/json":
                return jsonify({"error": "not logged in"}), 401
            if expired:
                flash(word(lang(), "expired"))
            return redirect(url_for("login", next=request.full_path if request.method == "GET" else None))
        if request.endpoint not in POLLING:
            session["seen"] = now
        return None

    @app.get("/font.ttf")
    def font():
        """The Japanese font the package ships (IPAex Gothic), so a device without one still shows kanji."""
        return send_file(bundled_font(), mimetype="font/ttf", max_age=30 * 86400)

    @app.after_request
    def no_caching(response: Response) -> Response:
        if request.endpoint in ("font", "static"):
            return response
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self'; style-src 'self'; "
                                                       "font-src 'self'; script-src 'self'; frame-ancestors 'none'")
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(exc):
        return render_template("error.html", message=f"CSRF: {exc.description}"), 400

    @app.errorhandler(StoreError)
    def store_unavailable(exc):
        """A locked, missing or damaged database: say so (the daemon goes on writing regardless)."""
        return render_template("error.html", message=str(exc)), 503

    # -- access --------------------------------------------------------------------------------

    @app.route("/login", methods=["GET", "POST"])
    def login():
        error = None
        if request.method == "POST":
            now, address = time.time(), request.remote_addr or "?"
            if throttle.blocked(address, now):
                error = word(lang(), "too_many")
            elif (secrets.compare_digest(request.form.get("user", ""), web.user)
                  and check_password_hash(web.password_hash, request.form.get("password", ""))):
                keep = lang()
                session.clear()  # a fresh session (and CSRF token) at every login
                session.update(user=web.user, seen=now, lang=keep)
                session.permanent = True
                target = request.args.get("next") or ""
                return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("live"))
            else:
                throttle.failed(address, now)
                time.sleep(0.5)  # slows guessing; the throttle stops it
                error = word(lang(), "login_failed")
        return render_template("login.html", error=error), (401 if error else 200)

    @app.post("/logout")
    def logout():
        keep = lang()
        session.clear()
        session["lang"] = keep
        return redirect(url_for("login"))

    @app.post("/language")
    def set_language():
        session["lang"] = "en" if lang() == "ja" else "ja"
        target = request.form.get("back") or ""
        return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("live"))

    # -- live view -----------------------------------------------------------------------------

    @app.get("/")
    def live():
        return render_template("live.html", state=daemon_state(state_path))

    @app.get("/live.jpg")
    def live_frame():
        try:
            data = frame_path.read_bytes()
        except OSError:
            abort(404)
        return Response(data, mimetype="image/jpeg")

    @app.get("/api/status")
    def api_status():
        state = daemon_state(state_path)
        keys = ("alive", "running", "camera_connected", "frames_seen", "frames_analysed", "frames_per_second",
                "frames_analysed_per_second", "events", "updated", "age_s", "lane", "source")
        return jsonify({k: state.get(k) for k in keys})

    # -- events --------------------------------------------------------------------------------

    def event_query(limit: int | None) -> tuple[EventQuery, dict]:
        """The filter in the request's arguments, and the message for each part that is wrong."""
        errors, text, parts, since, until = {}, None, (), None, None
        typed = request.args.get("plate", "").strip()
        if typed:
            try:
                text, parts = plate_query(typed)
            except PlateTextError as exc:
                errors["plate"] = str(exc)
        for key in ("from", "to"):
            value = request.args.get(key, "").strip()
            if value:
                try:
                    moment = parse_since(value)
                except ValueError as exc:
                    errors[key] = str(exc)
                    continue
                since, until = (moment, until) if key == "from" else (since, moment)
        decision = request.args.get("decision") or None
        if decision is not None and decision not in DECISIONS:
            errors["decision"] = f"{decision!r}: one of {', '.join(DECISIONS)}"
            decision = None
        page = max(0, request.args.get("page", 0, type=int))
        query = EventQuery(text, parts, since, until, decision, limit=limit, offset=page * (limit or 0))
        return query, errors

    @app.get("/events")
    def events():
        query, errors = event_query(web.page_size)
        rows = [] if errors else store().search(query)
        return render_template("events.html", rows=rows, errors=errors, args=request.args,
                               page=query.offset // web.page_size, more=len(rows) == web.page_size)

    @app.get("/events.csv")
    def events_csv():
        query, errors = event_query(None)
        if errors:
            return Response("\n".join(f"{k}: {v}" for k, v in errors.items()) + "\n", status=400, mimetype="text/plain")
        out = io.StringIO()
        write_export(list(reversed(store().search(query))), "csv", out)
        return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "attachment; filename=anpr-events.csv"})

    @app.get("/events/<event_id>")
    def event(event_id: str):
        row = store().event(event_id)
        if row is None:
            abort(404)
        return render_template("event.html", row=row)

    @app.get("/events/<event_id>/<picture>.jpg")
    def evidence(event_id: str, picture: str):
        row = store().event(event_id)
        if row is None or picture not in ("frame", "plate") or not row[f"{picture}_image"]:
            abort(404)
        return send_from_directory(store().evidence_root, row[f"{picture}_image"], mimetype="image/jpeg")

    # -- allow-list ----------------------------------------------------------------------------

    def allow_page(status: int = 200, **extra):
        return render_template("allow.html", entries=AllowList(store()).entries(), form=request.form, **extra), status

    @app.get("/allow")
    def allow():
        return allow_page()

    @app.post("/allow/add")
    def allow_add():
        f = request.form
        try:
            listed = entry(f.get("plate", ""), f.get("color") or None, f.get("label", ""), f.get("valid_from") or None,
                           f.get("valid_until") or None, session.get("user", ""))
        except AllowListError as exc:
            return allow_page(400, add_error=str(exc))
        AllowList(store()).add(listed)
        flash(f"{word(lang(), 'added')}: {listed.plate.format()}")
        return redirect(url_for("allow"))

    @app.post("/allow/remove")
    def allow_remove():
        try:
            gone = AllowList(store()).remove(request.form.get("plate", ""), request.form.get("color") or None)
        except (AllowListError, ValueError) as exc:
            return allow_page(400, add_error=str(exc))
        flash(f"{word(lang(), 'removed')}: {request.form.get('plate', '')} ({gone})")
        return redirect(url_for("allow"))

    @app.post("/allow/import")
    def allow_import():
        upload = request.files.get("file")
        name = upload.filename if upload and upload.filename else "pasted"
        try:
            data = upload.read().decode("utf-8-sig") if upload and upload.filename else request.form.get("csv", "")
        except UnicodeDecodeError as exc:
            return allow_page(400, import_errors=[f"{name}: not UTF-8 text (byte {exc.start})"])
        try:
            count = AllowList(store()).import_csv(data, name)
        except AllowListError as exc:
            return allow_page(400, import_errors=str(exc).splitlines())
        flash(f"{count} {word(lang(), 'imported')}")
        return redirect(url_for("allow"))

    # -- health --------------------------------------------------------------------------------

    @app.get("/health")
    def health_page():
        return render_template("health.html", h=health(store(), gate, state_path))

    @app.get("/api/health")
    def api_health():
        return jsonify(health(store(), gate, state_path))

    return app
