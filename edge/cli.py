"""The ``anpr`` command. Wiring only: each subcommand hands over to the module that owns the job."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from edge import __version__
from edge.vision.manifest import PRECISIONS
from edge.plates import Color, PlateText, PlateTextError, Problem


class UsageError(Exception):
    """A command that cannot run as asked (missing file, bad option value): exit status 2."""


@dataclass(frozen=True)
class PlateCheck:
    """The verdict on one written plate: the plate when valid, else the problems."""

    written: str
    color: str | None
    source: str  # "argument N" or "FILE:LINE"
    plate: PlateText | None
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return self.plate is not None

    def to_dict(self) -> dict:
        out: dict = {"input": self.written, "source": self.source, "valid": self.valid}
        if self.plate is not None:
            out.update(self.plate.to_dict())
        out["errors"] = [{"field": p.field, "rule": p.rule, "message": p.message} for p in self.problems]
        return out


def check_plate(written: str, color: str | None, source: str) -> PlateCheck:
    try:
        plate = PlateText.parse(written, color)
    except PlateTextError as exc:
        return PlateCheck(written, color, source, None, exc.problems)
    return PlateCheck(written, color, source, plate, ())


def read_plate_list(path: str, default_color: str | None, stdin: TextIO) -> list[tuple[str, str | None, str]]:
    """Lines of an allow-list file: ``TEXT`` or ``TEXT,COLOUR``; blank lines and ``#`` comments skipped."""
    if path == "-":
        lines, name = stdin.read().splitlines(), "<stdin>"
    else:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            lines, name = raw.decode("utf-8-sig").splitlines(), path
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    entries = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        text, color = stripped, default_color
        if "," in stripped:
            text, _, color = (part.strip() for part in stripped.rpartition(","))
        entries.append((text, color, f"{name}:{number}"))
    return entries


def _print_check(check: PlateCheck, out: TextIO) -> None:
    shown = check.written + (f"  [{check.color}]" if check.color else "")
    if check.plate is None:
        out.write(f"INVALID  {shown}  ({check.source})\n")
        for problem in check.problems:
            out.write(f"         {problem}\n")
        return
    plate, meaning = check.plate, check.plate.meaning
    region = meaning.region
    where = f"{region.name} ({region.reading}, {region.romaji}; {'/'.join(region.prefectures)})"
    facts = [meaning.category or "class or use not told by the text", meaning.kind, where]
    if meaning.color is not None:
        facts.append(f"{meaning.color.value} plate" + ("" if plate.color else " (implied)"))
    out.write(f"ok       {plate.format()}  " + " · ".join(f for f in facts if f) + "\n")
    for warning in plate.warnings:
        out.write(f"         warning: {warning}\n")


def cmd_plate_check(args: argparse.Namespace) -> int:
    if args.color is not None:
        try:
            Color.parse(args.color)
        except ValueError as exc:
            raise UsageError(f"--color: {exc}") from exc
    entries = [(text, args.color, f"argument {i}") for i, text in enumerate(args.text, start=1)]
    if args.file:
        entries += read_plate_list(args.file, args.color, sys.stdin)
    if not entries:
        raise UsageError("give plate texts or --file (see anpr plate check --help)")
    checks = [check_plate(text, color, source) for text, color, source in entries]
    for check in checks:
        if args.json:
            sys.stdout.write(json.dumps(check.to_dict(), ensure_ascii=False) + "\n")
        else:
            _print_check(check, sys.stdout)
    invalid = sum(not c.valid for c in checks)
    if not args.json:
        sys.stdout.write(f"{len(checks) - invalid} valid, {invalid} invalid\n")
    return 1 if invalid else 0


def cmd_synth(args: argparse.Namespace) -> int:
    # Imported here: the plate commands must not need the imaging libraries.
    from edge.common.fonts import NoFontError, use_lettering
    from edge.synth.backgrounds import BackgroundError, Backgrounds, default_backgrounds_dir
    from edge.synth.compare import compare_sheet
    from edge.synth.dataset import SynthError, write_dataset, write_sheet

    backgrounds_dir = None if args.backgrounds == "none" else (args.backgrounds or default_backgrounds_dir())
    try:
        use_lettering(args.lettering)
        if args.compare:
            if args.out:
                raise UsageError("--compare writes a picture (--picture), not a dataset: drop OUT")
            backgrounds = Backgrounds(backgrounds_dir) if backgrounds_dir else None
            picture, key = compare_sheet(args.compare, args.picture, args.seed, backgrounds)
            print(f"wrote {picture} (which side is real: {key})")
            return 0
        if not args.out:
            raise UsageError("give OUT, the folder to write samples to (or --compare DIR)")
        if args.kind == "clip":
            if args.digits is not None:
                raise UsageError("--digits: for --kind scenes or plates, not clip")
            return _synth_clip(args, Backgrounds(backgrounds_dir) if backgrounds_dir else None)
        clip_only = [flag for flag, value in (("--wait", args.wait), ("--size", args.size), ("--fps", args.fps))
                     if value is not None]
        if clip_only:
            raise UsageError(f"{', '.join(clip_only)}: only for --kind clip")
        summary = write_dataset(args.out, args.count, args.seed, args.kind, backgrounds_dir, args.workers,
                                progress=not args.quiet, conditions=args.conditions, shadowed=args.shadowed,
                                digits=args.digits)
        print(f"wrote {summary.count} {args.kind} to {summary.folder} in {summary.seconds:.1f} s "
              f"({summary.per_second:.1f}/s, backgrounds: {backgrounds_dir or 'procedural only'})")
        if args.sheet:
            print(f"wrote {write_sheet(args.out, args.sheet)}")
        return 0
    except (SynthError, BackgroundError, NoFontError) as exc:
        raise UsageError(str(exc)) from exc


def _synth_clip(args: argparse.Namespace, backgrounds) -> int:
    from tqdm import tqdm

    from edge.synth.clip import ClipError, ClipFormat, write_clip

    bar = None if args.quiet else tqdm(total=0, unit="frame", desc="clip", disable=None)  # None: no bar off a terminal

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        fmt = ClipFormat.parse(args.size or "1280x720", args.fps or 30)
        summary = write_clip(args.out, args.count, args.seed, backgrounds,
                             progress if bar is not None else None, args.wait, fmt)
    except ClipError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        if bar is not None:
            bar.close()
    print(f"wrote {Path(args.out) / summary['video']} ({summary['width']}x{summary['height']}, {summary['fps']} fps, "
          f"{summary['frames']} frames, {summary['vehicles']} vehicles) and {Path(args.out) / 'vehicles.jsonl'}")
    return 0


def _vision_config(args: argparse.Namespace):
    from edge.common.errors import ConfigError
    from edge.vision.config import HEAD_KEYS, VisionConfig

    try:
        extra = {} if args.second_opinion is None else {
            "second_opinion": () if args.second_opinion == "off" else tuple(args.second_opinion.split(","))}
        for key in HEAD_KEYS.values():  # unset: the configuration's default
            if getattr(args, key) is not None:
                extra[key] = getattr(args, key)
        return VisionConfig(models_dir=args.models, backend=args.backend, precision=args.precision,
                            vehicle_detector=not args.no_detector, text_route=not args.no_text_route,
                            roi=tuple(args.roi) if args.roi else None, **extra)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


def _pipeline(args: argparse.Namespace):
    from edge.vision.manifest import ModelError
    from edge.vision.pipeline import Pipeline

    try:
        return Pipeline(_vision_config(args))
    except ModelError as exc:
        raise UsageError(str(exc)) from exc


def cmd_read(args: argparse.Namespace) -> int:
    from edge.vision.annotate import annotate
    from edge.vision.pipeline import ImageError, load_image

    pipeline = _pipeline(args)
    if args.annotate:
        try:
            Path(args.annotate).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--annotate {args.annotate}: {exc.strerror or exc}") from exc
    failed = 0
    for name in args.images:
        try:
            image = load_image(name)
            result = pipeline.read_image(image)
        except ImageError as exc:
            failed += 1
            print(f"anpr read: {exc}", file=sys.stderr)
            if args.json:
                print(json.dumps({"image": name, "error": str(exc), "plates": [], "timing_ms": {}}, ensure_ascii=False))
            continue
        if args.json:
            print(json.dumps({"image": name, "plates": [p.to_dict() for p in result.plates],
                              "timing_ms": result.timing_ms}, ensure_ascii=False), flush=True)
        else:
            print(f"{name}: {len(result.plates)} plate(s), {len(result.vehicles)} vehicle(s), "
                  f"{result.timing_ms['total']:.0f} ms")
            for p in result.plates:
                x1, y1, x2, y2 = (round(v) for v in p.bbox)
                print(f"  plate at [{x1}, {y1}, {x2}, {y2}] score {p.score:.2f}  {_reading_line(p)}")
        if args.annotate:
            out = Path(args.annotate) / (Path(name).stem + ".jpg")
            try:
                annotate(image, result, out)
            except OSError as exc:
                raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return 1 if failed else 0


def _reading_line(p) -> str:
    """``横浜 580 む 13-76 yellow kei/private valid 0.93``; ``?`` for a field withheld."""
    if p.reading is None:
        return "(fields not read)"
    parts = [p.spelled("?")]
    parts += [p.category] if p.category else []
    parts += ["valid" if p.valid else "incomplete", f"{p.confidence:.2f}"]
    return " ".join(parts)


def _baselines(wanted: bool) -> dict[str, object]:
    from edge.baselines import BASELINES, BaselineUnavailable

    out: dict[str, object] = {}
    for engine in BASELINES if wanted else ():
        try:
            out[engine.name] = engine()
        except BaselineUnavailable as exc:
            out[engine.name] = f"not installed: {exc}"
    return out


def cmd_eval(args: argparse.Namespace) -> int:
    from edge.evaluate import LabelError, evaluate, read_labels

    folder = Path(args.dir)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    if (folder / "vehicles.jsonl").exists():
        if args.against:
            raise UsageError("--against compares two model folders on a labelled folder of stills, not on a clip")
        return _eval_clip(args, folder)
    if args.db:
        raise UsageError(f"--db scores a run on a clip; {folder} has no vehicles.jsonl")
    if args.report and Path(args.report).is_file():
        raise UsageError(f"--report {args.report}: is a file; give a folder")
    if args.against and args.report:
        raise UsageError("--report draws one reader's report; run it without --against")
    if args.against and not (Path(args.against).is_dir() or Path(args.against).suffix == ".toml"):
        raise UsageError(f"--against {args.against}: neither a folder of models nor a .toml configuration")
    labels_path = Path(args.labels) if args.labels else folder / "labels.csv"
    if not labels_path.exists() and not labels_path.is_absolute() and (folder / labels_path).exists():
        labels_path = folder / labels_path
    try:
        labels = read_labels(labels_path)
    except LabelError as exc:
        raise UsageError(str(exc)) from exc
    pipeline = _pipeline(args)
    if args.against:
        return _eval_against(args, pipeline, folder, labels)
    report = evaluate(pipeline, folder, labels, baselines=_baselines(not args.no_baselines))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print(report.table())
    if args.report:
        from edge.eval_report import ReportError, write_report

        try:
            print(f"wrote {write_report(report, args.report)}", file=sys.stderr)
        except ReportError as exc:
            raise UsageError(str(exc)) from exc
    return 0


def _eval_against(args: argparse.Namespace, pipeline, folder: Path, labels) -> int:
    """``anpr eval DIR --against MODELS|FILE.toml``: the reader as the options give it, and the same
    with another model folder or with the [vision] settings a configuration file changes from their
    defaults, on the same images in turns."""
    from dataclasses import fields, replace

    from edge.common.errors import ConfigError
    from edge.config import Config, load_config
    from edge.evaluate import compare
    from edge.vision.config import VisionConfig
    from edge.vision.manifest import DEFAULT_MODELS_DIR, ModelError
    from edge.vision.pipeline import Pipeline

    against = Path(args.against)
    try:
        if against.is_dir():
            config = replace(_vision_config(args), models_dir=str(against))
        else:
            vision, default = load_config(against).vision, Config().vision  # the appliance's defaults
            # threads stay the options' so that both readers' times are taken on the same threads
            changed = {f.name: getattr(vision, f.name) for f in fields(VisionConfig)
                       if f.name != "threads" and getattr(vision, f.name) != getattr(default, f.name)}
            config = replace(_vision_config(args), **changed)
        other = Pipeline(config)
    except (ConfigError, ModelError) as exc:
        raise UsageError(str(exc)) from exc
    comparison = compare(pipeline, other, folder, labels)
    models = str(args.models or DEFAULT_MODELS_DIR)
    if args.json:
        print(json.dumps({"models": models, "against": str(args.against), **comparison.to_dict()}, ensure_ascii=False))
    else:
        print(comparison.table((f"first: {models}", f"second: {args.against}")))
    return 0


def _eval_clip(args: argparse.Namespace, folder: Path) -> int:
    from edge.clip_score import TruthError, read_truth, score_clip

    if not args.db:
        raise UsageError(f"{folder} is a clip: give --db, the database `anpr run {folder}/clip.mp4 --db PATH` wrote")
    try:
        truth, fps = read_truth(folder)
    except TruthError as exc:
        raise UsageError(str(exc)) from exc
    score = score_clip(truth, _store_rows(args.db), fps)
    print(json.dumps(score.to_dict(), ensure_ascii=False) if args.json else score.table())
    return 0


def _store_rows(db: str, since: float | None = None) -> list[dict]:
    from edge.store.config import StoreConfig
    from edge.store.db import EventStore, StoreError

    if not Path(db).is_file():
        raise UsageError(f"{db}: no such database")
    try:
        store = EventStore(StoreConfig(path=db))
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    try:
        return store.rows(since)
    finally:
        store.close()


def cmd_db_export(args: argparse.Namespace) -> int:
    from edge.store.export import parse_since, write_export

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from exc
    rows = _store_rows(args.db, since)
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8", newline="") as f:
                count = write_export(rows, args.format, f)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
        print(f"wrote {count} event(s) to {args.out}", file=sys.stderr)
    else:
        write_export(rows, args.format, sys.stdout)
    return 0


def _config(args: argparse.Namespace):
    """--config's tree (or the defaults), with the command line's SOURCE, --db, --mode and --relay
    over it where the command has them; a bad file is a UsageError naming the key."""
    from edge.common.errors import ConfigError
    from edge.config import Config, load_config

    try:
        config = load_config(args.config) if args.config else Config()
        return config.with_overrides(*(getattr(args, k, None) for k in ("source", "db", "mode", "relay")))
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


def cmd_run(args: argparse.Namespace) -> int:
    from edge.daemon import Daemon
    from edge.gate.relays import RelayError
    from edge.store.db import StoreError
    from edge.stream.sources import SourceError, open_source
    from edge.vision.manifest import ModelError

    config = _config(args)
    if not config.lane.source:
        raise UsageError("give SOURCE (a camera URI, a video file or an image folder) or lane.source in --config")
    report = lambda message: print(f"anpr run: {message}", file=sys.stderr, flush=True)  # noqa: E731
    try:
        source = open_source(config.lane.source, report=report, realtime=args.realtime)
    except SourceError as exc:
        raise UsageError(str(exc)) from exc
    try:
        daemon = Daemon(config, json_events=args.json)
    except (ModelError, StoreError, RelayError) as exc:
        source.close()
        raise UsageError(str(exc)) from exc
    summary = daemon.run(source)
    if not args.quiet:
        s = summary.stats
        print(f"anpr run: {summary.events} event(s), {summary.written} written to {config.store.path} "
              f"(pictures in {daemon.store.evidence_root}); {s['frames_seen']} frames seen, "
              f"{s['frames_analysed']} analysed, {s['frames_per_second']} frames/s"
              + (f" ({summary.source['dropped']} dropped for newer ones, {s['frames_late']} done more than a frame "
                 f"late, worst lag {s['camera_lag_max_ms']:.0f} ms)" if source.live else "") + "; "
              "ms per frame: " + ", ".join(f"{k} {v}" for k, v in s["stage_ms_per_frame"].items()),
              file=sys.stderr)
        if args.stats:
            print(json.dumps({"events": summary.events, "written": summary.written, "unsaved": summary.unsaved,
                              "lane": s, "source": summary.source}), file=sys.stderr)
    return 1 if summary.unsaved else 0


def _allow_store(args: argparse.Namespace):
    from edge.common.errors import ConfigError
    from edge.config import load_config
    from edge.store.config import StoreConfig
    from edge.store.db import EventStore, StoreError

    try:
        path = args.db or (load_config(args.config).store.path if args.config else StoreConfig().path)
        return EventStore(StoreConfig(path=path))
    except (ConfigError, StoreError) as exc:
        raise UsageError(str(exc)) from exc


def cmd_allow(args: argparse.Namespace) -> int:
    from edge.store.allowlist import AllowList, AllowListError, entry

    store = _allow_store(args)
    allow = AllowList(store)
    try:
        if args.allow_command == "add":
            new = allow.add(entry(args.text, args.color, args.label or "", args.since, args.until, args.by or ""))
            print(f"{'added' if new else 'updated'} {PlateText.parse(args.text, args.color).format()}"
                  + (f" [{args.color}]" if args.color else ""))
        elif args.allow_command == "remove":
            gone = allow.remove(args.text, args.color)
            if not gone:
                raise UsageError(f"{args.text}: not on the allow-list")
            print(f"removed {gone} entr{'y' if gone == 1 else 'ies'}")
        elif args.allow_command == "list":
            for e in allow.entries():
                if args.json:
                    print(json.dumps({"plate": e.plate.format(), "color": e.plate.color.value if e.plate.color else None,
                                      "label": e.label, "valid_from": e.valid_from, "valid_until": e.valid_until,
                                      "added_by": e.added_by}, ensure_ascii=False))
                else:
                    print(f"{e.plate.format():<22} {e.plate.color.value if e.plate.color else 'any colour':<12} "
                          f"{e.label}")
        elif args.allow_command == "import":
            try:
                data = Path(args.file).read_bytes().decode("utf-8-sig")
            except OSError as exc:
                raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
            except UnicodeDecodeError as exc:
                raise UsageError(f"{args.file} is not UTF-8 text (byte {exc.start})") from exc
            print(f"imported {allow.import_csv(data, args.file)} plate(s) from {args.file}")
        elif args.allow_command == "export":
            text = allow.export_csv()
            if args.out:
                Path(args.out).write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
    except (AllowListError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    finally:
        store.close()
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    import waitress

    from edge.store.db import StoreError
    from edge.web.app import create_app
    from edge.web.config import split_listen

    config = _config(args)
    if not config.web.password_hash:
        raise UsageError("no password is set, and nothing is served without one: run `anpr web password`, put the "
                         "line it prints into the [web] section of " + (args.config or "the config (--config FILE)"))
    try:
        host, port = split_listen(args.listen or config.web.listen)
    except ValueError:
        raise UsageError(f"--listen {args.listen!r}: expected HOST:PORT, e.g. 192.168.1.20:8080") from None
    try:
        app = create_app(config.store, config.gate, config.web)
    except (OSError, StoreError) as exc:
        raise UsageError(str(exc)) from exc
    print(f"anpr web: the operator's page on http://{host if ':' not in host else f'[{host}]'}:{port}/ "
          f"(events: {config.store.path})", file=sys.stderr, flush=True)
    try:
        waitress.serve(app, host=host, port=port, threads=4, ident="anpr", _quiet=True)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return 0


def cmd_web_password(args: argparse.Namespace) -> int:
    import getpass

    from werkzeug.security import generate_password_hash

    if sys.stdin.isatty():
        first = getpass.getpass("password for the operator's page: ")
        if getpass.getpass("again: ") != first:
            raise UsageError("the two passwords differ; nothing set")
    else:
        first = sys.stdin.readline().rstrip("\n")
    if len(first) < 8:
        raise UsageError("a password of at least 8 characters, please")
    print("# put this line into the [web] section of the config (e.g. /etc/anpr/anpr.toml), then restart anpr-web")
    print(f'password_hash = "{generate_password_hash(first)}"')
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    import time

    from edge.publish.deliver import Publisher, open_sinks
    from edge.store.db import EventStore, StoreError

    config = _config(args)
    if not config.sinks:
        raise UsageError("neither [mqtt] host nor [webhook] url is set: nothing to deliver to")
    report = lambda message: print(f"anpr publish: {message}", file=sys.stderr, flush=True)  # noqa: E731
    try:
        EventStore(config.store, report).close()  # the schema (and its outbox) brought up to date
        publisher = Publisher(config.store.path, open_sinks(config.mqtt, config.webhook, config.lane.name, report),
                              report, config.store.busy_timeout_ms)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    try:
        if args.drain is not None:
            done = publisher.drain(args.drain)
            print("anpr publish: delivered " + ", ".join(f"{n} to {sink}" for sink, n in publisher.delivered.items())
                  + "; " + ("outbox empty" if done else
                  f"messages still waiting after {args.drain} s"), file=sys.stderr)
            return 0 if done else 1
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        publisher.close()


def cmd_relay_test(args: argparse.Namespace) -> int:
    from edge.common.errors import ConfigError
    from edge.gate.config import GateConfig
    from edge.gate.relays import RelayError, open_relay

    try:
        config = GateConfig(relay=args.driver, channel=args.channel, pulse_ms=args.ms, baudrate=args.baudrate)
        relay = open_relay(config, lambda m: print(f"anpr relay: {m}", file=sys.stderr))
    except (ConfigError, RelayError) as exc:
        raise UsageError(str(exc)) from exc
    outcome = relay.pulse()
    relay.close()
    print(f"{args.driver} channel {args.channel}: {outcome}")
    return 0 if outcome.executed else 1


def cmd_gate_soak(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from edge.common.errors import ConfigError
    from edge.config import Config, load_config
    from edge.soak import soak

    try:
        gate = (load_config(args.config) if args.config else Config()).gate
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    bar = tqdm(total=args.vehicles, unit="vehicle", desc="soak", file=sys.stderr, disable=True if args.quiet else None)
    report = soak(args.vehicles, args.listed, args.seed, args.workers, gate, progress=lambda: bar.update(1))
    bar.close()
    print(json.dumps(report.to_dict(), ensure_ascii=False) if args.json else report.table())
    return 1 if report.wrong_opens else 0


ENGINE_DATA = Path(__file__).resolve().parents[1] / "engines" / "data"
DEFAULT_MODELS = ENGINE_DATA.parent / "models"
# The labelled set the INT8 models are checked on and `anpr bench` scores: synthetic scenes of a
# stream no training or deciding set uses.
CHECK_SET = ("quant-check", 150, 61001)
BENCH_CLIP = ("bench-clip", 10, 7)  # 10 vehicles at 1280x720, 30 fps


def _synthetic(kind: str, spec: tuple[str, int, int]) -> Path:
    """engines/data/NAME, rendered by `anpr synth` the first time it is needed."""
    name, count, seed = spec
    folder = ENGINE_DATA / name
    done = folder / ("clip.json" if kind == "clip" else "meta.json")
    if not done.exists():
        print(f"rendering {folder} (anpr synth {folder} --kind {kind} --count {count} --seed {seed})", file=sys.stderr)
        with contextlib.redirect_stdout(sys.stderr):  # the caller's standard output may be JSON (anpr bench --json)
            failed = main(["synth", str(folder), "--kind", kind, "--count", str(count), "--seed", str(seed), "--quiet"])
        if failed:
            raise UsageError(f"could not render {folder}")
    return folder


def _backgrounds():
    from edge.synth.backgrounds import Backgrounds, default_backgrounds_dir

    found = default_backgrounds_dir()
    return Backgrounds(found) if found else None


def cmd_engines_calibrate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from edge.quantize import record_calibration
    from edge.vision.manifest import ModelError

    bar = tqdm(total=args.scenes, unit="scene", desc="calibrate", file=sys.stderr, disable=True if args.quiet else None)
    try:
        written = record_calibration(args.scenes, Path(args.sets), Path(args.models) if args.models else
                                     DEFAULT_MODELS, _backgrounds(), progress=lambda i, n: bar.update(1))
    except ModelError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        bar.close()
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def cmd_engines_quantize(args: argparse.Namespace) -> int:
    from edge.quantize import MODELS, quantize_all
    from edge.vision.manifest import ModelError

    check_set = Path(args.check) if args.check else _synthetic("scenes", CHECK_SET)
    try:
        outcomes = quantize_all(check_set, Path(args.models) if args.models else DEFAULT_MODELS, Path(args.sets),
                                tuple(args.only or MODELS))
    except ModelError as exc:
        raise UsageError(str(exc)) from exc
    refused = [n for n, o in outcomes.items() if o.startswith("refused")]
    if refused:
        print(f"refused, so run in FP32 under vision.precision = \"int8\": {', '.join(refused)}")
    return 1 if len(refused) == len(outcomes) else 0


def cmd_engines_build(args: argparse.Namespace) -> int:
    import datetime

    from edge.common.errors import ConfigError
    from edge.config import Config, load_config
    from edge.quantize import MODELS
    from edge.vision import tensorrt
    from edge.vision.calibration import DEFAULT_CALIBRATION_DIR, CalibrationBatches, CalibrationCache, CalibrationSet
    from edge.vision.manifest import ModelError, model_file
    from edge.vision.plans import DEFAULT_PLANS_DIR, WindowSizes, build_plans, sha256_of, write_record

    try:
        vision = (load_config(args.config) if args.config else Config()).vision
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    device = tensorrt.device()
    if device is None:
        raise UsageError("TensorRT and a CUDA GPU are not here: `anpr engines build` runs on the Jetson "
                         "(JetPack's python3-libnvinfer and pycuda: pip install '.[jetson]')")
    models_dir = Path(vision.models_dir) if vision.models_dir else DEFAULT_MODELS
    plans_dir = Path(vision.plans_dir) if vision.plans_dir else DEFAULT_PLANS_DIR
    precision = args.precision or vision.precision
    limits = WindowSizes.of(vision)
    try:
        files = {name: model_file(models_dir, name, precision) for name in MODELS}
        for name, plan, profiles, qdq in build_plans(files, plans_dir, limits, device.version, device.gpu):
            batches = None
            if precision == "int8" and not qdq:
                stem = files[name].name[: -len(".onnx")]
                batches = CalibrationBatches(CalibrationSet.load(DEFAULT_CALIBRATION_DIR / "sets" / f"{name}.npz"),
                                             next(iter(profiles.values()))[1],
                                             CalibrationCache.for_model(DEFAULT_CALIBRATION_DIR / "cache", stem,
                                                                        sha256_of(files[name])))
            print(f"{name}: building {plan.name} ({precision}{', from Q/DQ' if qdq else ''})", flush=True)
            tensorrt.build_plan(files[name], plan, profiles, args.workspace_mb, precision == "int8", qdq, batches)
            write_record(plan, files[name], profiles, precision, device.version, device.gpu,
                         datetime.datetime.now().isoformat(timespec="seconds"))
    except ModelError as exc:
        raise UsageError(str(exc)) from exc
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from edge.bench import PHASES, bench, dumps, still_frame, table
    from edge.vision.manifest import ModelError

    precisions = PRECISIONS if args.precision == "both" else (args.precision,)
    clip = _synthetic("clip", BENCH_CLIP)
    labelled = None if args.no_accuracy else _synthetic("scenes", CHECK_SET)
    try:
        still = still_frame(clip, clip / "still.png")
    except ValueError as exc:
        raise UsageError(f"{exc}: delete {clip} to render it again") from exc
    bar = tqdm(total=len(precisions) * len(PHASES), unit="phase", desc="bench", file=sys.stderr,
               disable=True if args.quiet else None)
    try:
        result = bench(precisions, clip / "clip.mp4", still, labelled, args.repeats, args.models, args.threads,
                       progress=lambda what: (bar.set_postfix_str(what), bar.update(1)))
    except ModelError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        bar.close()
    print(dumps(result) if args.json else table(result))
    return 0


def _add_vision_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="auto", help="auto (TensorRT plan if built, else ONNX Runtime), "
                                                     "onnxruntime or tensorrt")
    p.add_argument("--models", metavar="DIR", help="model folder (default engines/models)")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS,
                   help="fp32 (the models as trained) or int8 (their Q/DQ copies, `make quantize`)")
    p.add_argument("--no-detector", action="store_true",
                   help="skip the vehicle detector: look for plates on the whole frame (or --roi) only")
    p.add_argument("--roi", type=float, nargs=4, metavar=("X1", "Y1", "X2", "Y2"),
                   help="region of interest as fractions of the frame (default: the whole frame)")
    p.add_argument("--second-opinion", metavar="FIELDS",
                   help="the PP-OCR recogniser's CTC opinion on unsure fields, for measuring: region, kana, "
                        "class_number, comma-separated, or off, the default (vision.second_opinion)")
    from edge.vision.config import HEAD_KEYS

    for field, key in HEAD_KEYS.items():  # --region-text, --class-number-text, --kana-text, --serial-text
        words = field.replace("_", " ")
        p.add_argument(f"--{key.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=None,
                       help=f"where our {words} is unsure, a head on PP-OCRv5's features read too "
                            f"(vision.{key}; on by default)")
    p.add_argument("--no-text-route", action="store_true",
                   help="skip the second route: plates found by their lettering where the segmenter finds "
                        "none (vision.text_route)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anpr", description="Japanese number-plate reader for gates and toll lanes.")
    parser.add_argument("--version", action="version", version=f"anpr {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plate = commands.add_parser("plate", help="work with plate texts (check an allow-list before importing it)")
    plate_commands = plate.add_subparsers(dest="plate_command", required=True, metavar="SUBCOMMAND")
    check = plate_commands.add_parser(
        "check",
        help="parse and validate plate texts; exit status 1 if any is invalid",
        description="Parse and validate plate texts such as '品川 300 あ 12-34' or '品川300あ1234', print the "
                    "canonical form and meaning. Exit status 1 when any is invalid.",
    )
    check.add_argument("text", nargs="*", help="plate texts, e.g. '品川 300 さ 12-34'")
    check.add_argument("--color", help="plate colour for every text: " + ", ".join(c.value for c in Color))
    check.add_argument("--file", metavar="PATH",
                       help="one plate per line, 'TEXT' or 'TEXT,COLOUR'; '#' starts a comment; '-' reads stdin")
    check.add_argument("--json", action="store_true", help="one JSON object per plate per line")
    check.set_defaults(func=cmd_plate_check)

    synth = commands.add_parser(
        "synth",
        help="make synthetic plates or scenes with exact labels, or compare them with real crops",
        description="Write COUNT synthetic samples (images, label masks, labels.jsonl) to OUT. Sample i of a "
                    "seed is always the same picture. With --compare DIR, write one picture of real plate "
                    "crops from DIR/labels.csv beside synthetic crops of the same plates.",
    )
    synth.add_argument("out", nargs="?", metavar="OUT", help="folder to write (must not hold a dataset)")
    synth.add_argument("--count", type=_positive, default=100, help="how many samples (default 100)")
    synth.add_argument("--seed", type=_seed, default=0, help="random stream (default 0)")
    synth.add_argument("--kind", choices=("plates", "scenes", "stress", "clip"), default="plates",
                       help="plates: crops round one plate; scenes: whole camera frames; stress: scenes condition "
                            "by condition for `anpr eval` (sample i is the i-th condition, round and round); clip: OUT/clip.mp4 "
                            "(1280x720, 30 fps unless --size, --fps) of COUNT vehicles at a gate and OUT/vehicles.jsonl "
                            "(default plates)")
    synth.add_argument("--conditions", metavar="TEXT",
                       help="stress: only the conditions whose names hold TEXT (e.g. 'close range'), round and round")
    synth.add_argument("--shadowed", action="store_true",
                       help="scenes: a hard shadow across each plate the sun lights (by day, or a real frame as "
                            "photographed); the scenes otherwise as the same seed's without it")
    synth.add_argument("--digits", metavar="DIGITS",
                       help="scenes, plates: every class-number and serial digit drawn from DIGITS where the "
                            "plate's grammar lets it (e.g. 17: a set that asks whether 7 and 1 are told apart), "
                            "lettered in the plate's own face")
    synth.add_argument("--wait", type=float, metavar="SECONDS",
                       help="clip: every vehicle stops at the barrier and waits this long")
    synth.add_argument("--size", metavar="WIDTHxHEIGHT",
                       help="clip: the camera's picture (default 1280x720; 2688x1520 is a 4-megapixel IP camera's); "
                            "plates grow with it, the same lane seen through the same lens")
    synth.add_argument("--fps", type=_positive, help="clip: frames per second (default 30)")
    synth.add_argument("--sheet", metavar="PNG", help="also draw the first samples with their labels")
    synth.add_argument("--workers", type=_positive, help="processes (default: one per core)")
    synth.add_argument("--lettering", metavar="NAME", default="installed",
                       help="the fonts plates are lettered in: installed, every Japanese face found (default); "
                            "bundled, IPAex Gothic alone; unseen, faces no model here is taught on (BIZ UD "
                            "Gothic, Monapo: `make unseen-fonts`), as the sets that decide changes are")
    synth.add_argument("--backgrounds", metavar="DIR",
                       help="real road frames (images/ + plates.csv); default ../shared/data/backgrounds "
                            "when present; 'none' for procedural backgrounds only")
    synth.add_argument("--compare", metavar="DIR", help="labelled real photographs (images/ + labels.csv)")
    synth.add_argument("--picture", metavar="PNG", default="synth-compare.png",
                       help="where --compare writes (default synth-compare.png)")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.set_defaults(func=cmd_synth)
    read = commands.add_parser(
        "read", help="find and read the plates in images",
        description="Find and read every plate in each image. With --json, one object per image per line: "
                    "plates with text, fields and their confidences (null where not read with confidence), "
                    "colour, category, quad, bbox, vehicle, and timing.")
    read.add_argument("images", nargs="+", metavar="IMAGE")
    read.add_argument("--json", action="store_true", help="one JSON object per image per line")
    read.add_argument("--annotate", metavar="DIR", help="write each image with its plates drawn to DIR")
    _add_vision_options(read)
    read.set_defaults(func=cmd_read)

    ev = commands.add_parser(
        "eval", help="score the reader against labelled photographs",
        description="Run `read` on every image of DIR (DIR/images/ or DIR) and score it against the labels: "
                    "plate recall on readable real plates (IoU >= 0.5), false plates per image, corner "
                    "error, time per image; per-field accuracy, exact match, commonest mistakes, grammar "
                    "checks, a reliability table of the confidences, and Tesseract and RapidOCR reading "
                    "the same plates.")
    ev.add_argument("dir", metavar="DIR", help="a labelled folder, or a clip folder of `anpr synth --kind clip`")
    ev.add_argument("--db", metavar="PATH", help="for a clip: the database `anpr run DIR/clip.mp4 --db PATH` wrote; "
                                                 "scores events per vehicle, fused and single-frame reads, latency")
    ev.add_argument("--labels", metavar="CSV", help="labels file (default DIR/labels.csv; a relative name is "
                                                    "also looked for in DIR)")
    ev.add_argument("--json", action="store_true", help="the report as one JSON object")
    ev.add_argument("--report", metavar="DIR", help="also write the tables and the reliability diagram as pictures "
                                                    "(conditions.png, reliability.png) and one page, DIR/index.html")
    ev.add_argument("--no-baselines", action="store_true",
                    help="skip reading the plates again with Tesseract and RapidOCR (where installed)")
    ev.add_argument("--against", metavar="MODELS|FILE.toml",
                    help="also read every image with the models of folder MODELS, or with the [vision] settings "
                         "that FILE.toml (an appliance configuration) changes from their defaults, the rest as "
                         "the options give it; the two take turns image by image so their times are compared "
                         "under the same load; prints both side by side and the plates and stress conditions "
                         "where they differ (no baselines)")
    _add_vision_options(ev)
    ev.set_defaults(func=cmd_eval)

    run = commands.add_parser(
        "run", help="the lane daemon: watch a camera (or a video, or a folder), one event per vehicle",
        description="Watch SOURCE (csi://0, v4l2:///dev/video0, rtsp://..., http://... MJPEG, a video file or a "
                    "folder of images), read every vehicle's plate, fuse it over the frames it is seen in and "
                    "commit one event per vehicle to the SQLite database, with its pictures. Log-only: no gate "
                    "is driven. Each event is printed as it is written. A file or folder ends the run at its end; "
                    "SIGTERM or Ctrl-C finish the current frame, write every open vehicle and exit 0.")
    run.add_argument("source", nargs="?", metavar="SOURCE", help="overrides lane.source of --config")
    run.add_argument("--config", metavar="FILE.toml", help="the appliance's configuration (see boot/anpr.toml)")
    run.add_argument("--db", metavar="PATH", help="the events database (overrides store.path; default anpr-events.db)")
    run.add_argument("--json", action="store_true", help="print each event as one JSON object per line")
    run.add_argument("--mode", choices=("log-only", "allow-list", "open-all"),
                     help="the gate (overrides gate.mode; default log-only): allow-list opens for listed plates only")
    run.add_argument("--relay", metavar="DRIVER",
                     help="dry-run, lcus:/dev/ttyUSB0, modbus:PORT[@ADDRESS], ascii:PORT (overrides gate.relay)")
    run.add_argument("--realtime", action="store_true",
                     help="play a video file at its own frame rate, as a camera: frames the loop has no time "
                          "for are dropped and counted (how to see whether it keeps up)")
    run.add_argument("--stats", action="store_true", help="at the end, the loop's and the source's counters as JSON")
    run.add_argument("--quiet", action="store_true", help="no summary at the end")
    run.set_defaults(func=cmd_run)

    allow = commands.add_parser("allow", help="the allow-list the gate opens for (in the events database)")
    allow_commands = allow.add_subparsers(dest="allow_command", required=True, metavar="SUBCOMMAND")
    for name, text in (("add", "add or update a plate"), ("remove", "remove a plate"), ("list", "the listed plates"),
                       ("import", "plates from a CSV file, all or nothing"), ("export", "the list as CSV")):
        sub = allow_commands.add_parser(name, help=text)
        sub.add_argument("--db", metavar="PATH", help="the events database (default: --config's store.path, else "
                                                      "anpr-events.db)")
        sub.add_argument("--config", metavar="FILE.toml")
        if name in ("add", "remove"):
            sub.add_argument("text", metavar="TEXT", help="the plate as people write it, e.g. '品川 300 さ 12-34'")
            sub.add_argument("--color", help="white, green, yellow, black, design-green, design-yellow (optional); the "
                                             "gate matches it by what it says of the vehicle, so a kei car's yellow, "
                                             "design-yellow and white plates are one")
        if name == "add":
            sub.add_argument("--label", help="who or what it is (shown on each event)")
            sub.add_argument("--from", dest="since", metavar="DATE", help="valid from (2026-12-01, or an ISO time)")
            sub.add_argument("--until", metavar="DATE", help="valid until (the whole day of a date)")
            sub.add_argument("--by", help="who added it")
        if name == "import":
            sub.add_argument("file", metavar="FILE.csv", help="columns plate (required), color, label, valid_from, "
                                                              "valid_until, added_by")
        if name == "list":
            sub.add_argument("--json", action="store_true")
        if name == "export":
            sub.add_argument("--out", metavar="FILE")
        sub.set_defaults(func=cmd_allow)

    relay = commands.add_parser("relay", help="the barrier relay")
    relay_commands = relay.add_subparsers(dest="relay_command", required=True, metavar="SUBCOMMAND")
    test = relay_commands.add_parser("test", help="pulse the relay once (for the installer)")
    test.add_argument("driver", metavar="DRIVER:PORT", help="lcus:/dev/ttyUSB0, modbus:/dev/ttyUSB0@1, ascii:PORT, dry-run")
    test.add_argument("--channel", type=_positive, default=1)
    test.add_argument("--ms", type=_positive, default=800, help="pulse length (default 800)")
    test.add_argument("--baudrate", type=int, default=9600)
    test.set_defaults(func=cmd_relay_test)

    gate = commands.add_parser("gate", help="the gate's safety figure")
    gate_commands = gate.add_subparsers(dest="gate_command", required=True, metavar="SUBCOMMAND")
    soak_cmd = gate_commands.add_parser(
        "soak", help="many synthetic vehicles, most one character from a listed plate: wrong opens, listed opened",
        description="Vehicles seen in three frames each (synthetic scenes, the full pipeline), fused as a track is, "
                    "decided in allow-list mode with the --config's gate thresholds. Exit 1 on any wrong open.")
    soak_cmd.add_argument("--vehicles", type=_positive, default=1000)
    soak_cmd.add_argument("--listed", type=_positive, default=50, help="plates on the allow-list (default 50)")
    soak_cmd.add_argument("--seed", type=_seed, default=0)
    soak_cmd.add_argument("--workers", type=_positive, default=2)
    soak_cmd.add_argument("--config", metavar="FILE.toml", help="its [gate] section (thresholds, tolerance)")
    soak_cmd.add_argument("--json", action="store_true")
    soak_cmd.add_argument("--quiet", action="store_true")
    soak_cmd.set_defaults(func=cmd_gate_soak)

    engines = commands.add_parser("engines", help="INT8 models and TensorRT plans")
    engines_commands = engines.add_subparsers(dest="engines_command", required=True, metavar="SUBCOMMAND")
    calibrate = engines_commands.add_parser(
        "calibrate", help="record each model's inputs from the FP32 pipeline on synthetic scenes (calibration/sets/)")
    calibrate.add_argument("--scenes", type=_positive, default=120)
    quantize = engines_commands.add_parser(
        "quantize", help="write NAME.int8.onnx beside each model; refuse one that costs more than 1 point of "
                         "exact match or recall on the check set")
    quantize.add_argument("--check", metavar="DIR", help="labelled check set (default: engines/data/quant-check, "
                                                         "rendered when missing)")
    quantize.add_argument("--only", nargs="+", metavar="MODEL", help="these models only")
    for sub in (calibrate, quantize):
        sub.add_argument("--models", metavar="DIR", help="model folder (default engines/models)")
        sub.add_argument("--sets", metavar="DIR", default=str(Path(__file__).resolve().parents[1] / "calibration" / "sets"))
        sub.add_argument("--quiet", action="store_true")
    calibrate.set_defaults(func=cmd_engines_calibrate)
    quantize.set_defaults(func=cmd_engines_quantize)
    build = engines_commands.add_parser("build", help="TensorRT plans for this device (on the Jetson)")
    build.add_argument("--config", metavar="TOML", help="the appliance's config (its vision section)")
    build.add_argument("--precision", choices=PRECISIONS, help="default: vision.precision")
    build.add_argument("--workspace-mb", type=_positive, default=512)
    build.set_defaults(func=cmd_engines_build)

    bench_cmd = commands.add_parser("bench", help="speed of the pipeline and the lane loop, FP32 and INT8 side by side")
    bench_cmd.add_argument("--precision", choices=(*PRECISIONS, "both"), default="both")
    bench_cmd.add_argument("--json", action="store_true", help="one JSON object, a section per precision")
    bench_cmd.add_argument("--repeats", type=_positive, default=30, help="runs over the still frame")
    bench_cmd.add_argument("--models", metavar="DIR", help="model folder (default engines/models)")
    bench_cmd.add_argument("--threads", type=_positive, help="ONNX Runtime threads (default: up to 4)")
    bench_cmd.add_argument("--no-accuracy", action="store_true", help="skip scoring the labelled set")
    bench_cmd.add_argument("--quiet", action="store_true", help="no progress bar")
    bench_cmd.set_defaults(func=cmd_bench)

    web = commands.add_parser(
        "web", help="the operator's web page: live view, events, allow-list, health",
        description="Serve the operator's page for the lane of --config (web.listen; log in with web.user and the "
                    "password whose hash is web.password_hash). It reads the events database and what the daemon "
                    "shares beside it, never the models.")
    web.add_argument("--config", metavar="FILE.toml")
    web.add_argument("--db", metavar="PATH", help="the events database (overrides store.path)")
    web.add_argument("--listen", metavar="HOST:PORT", help="overrides web.listen")
    web.set_defaults(func=cmd_web)
    web_commands = web.add_subparsers(dest="web_command", metavar="SUBCOMMAND")
    password = web_commands.add_parser("password", help="make the web.password_hash line for a new password")
    password.set_defaults(func=cmd_web_password)

    publish = commands.add_parser(
        "publish", help="deliver the events waiting in the outbox to MQTT and the webhook",
        description="The daemon delivers as it goes; this delivers what is waiting (after an outage, or when the "
                    "daemon is not running) with the [mqtt] and [webhook] settings of --config.")
    publish.add_argument("--config", metavar="FILE.toml", required=True)
    publish.add_argument("--db", metavar="PATH", help="the events database (overrides store.path)")
    publish.add_argument("--drain", type=float, metavar="SECONDS",
                         help="stop when the outbox is empty (exit 0) or after SECONDS (exit 1)")
    publish.set_defaults(func=cmd_publish)

    db = commands.add_parser("db", help="the events database")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    export = db_commands.add_parser(
        "export", help="events as CSV or JSON lines (a toll operator's billing import)",
        description="Every event (or those first seen from --since), oldest first, with its fields, "
                    "confidences, decision and picture paths; times in ISO 8601 with the box's UTC offset.")
    export.add_argument("--db", required=True, metavar="PATH")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--since", metavar="TIME", help="2026-12-01, 2026-12-01T08:00+09:00, or back from now: 15m, 24h, 7d")
    export.add_argument("--out", metavar="FILE", help="write there instead of standard output")
    export.set_defaults(func=cmd_db_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `anpr plate check --file big.txt | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 1
    except UsageError as exc:
        sub = next((getattr(args, k) for k in ("plate_command", "db_command", "allow_command", "relay_command",
                                               "gate_command", "engines_command", "web_command")
                    if getattr(args, k, None)), None)
        prog = f"anpr {args.command}" + (f" {sub}" if sub else "")
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
