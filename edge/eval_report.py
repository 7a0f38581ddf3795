"""``anpr eval --report DIR``: the evaluation as pictures for people who would rather look than
read: the stress suite's table as a coloured grid (``conditions.png``), the reliability diagram
of the field confidences (``reliability.png``), and one HTML page holding both with the tables
(``index.html``). Drawn with matplotlib (which matplotlib-fontja brings), no display needed."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from edge.evaluate import Report  # noqa: E402
from edge.field_score import SURE  # noqa: E402


class ReportError(OSError):
    """The report folder cannot be written."""


def _conditions_png(report: Report, path: Path) -> bool:
    rows = report.condition_rows()
    if len(rows) < 2:
        return False
    at = {name: 1 + k for k, name in enumerate(report.CONDITION_COLUMNS)}  # column of each figure in a row
    rates = [at[name] for name in report.CONDITION_RATES]
    header, body = [rows[0][k] for k in rates], rows[1:]
    values = [[float("nan") if r[k] == "n/a" else float(r[k]) for k in rates] for r in body]
    fig, ax = plt.subplots(figsize=(1.1 * len(header) + 3.2, 0.32 * len(body) + 1.2))
    ax.imshow(values, cmap="RdYlGn", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(header)), header, rotation=30, ha="right")
    ax.set_yticks(range(len(body)), [f"{r[0]} ({r[at['plates']]}; {r[at['fields_wrong']]} wrong, "
                                     f"{r[at['fields_withheld']]} withheld)" for r in body])
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            ax.text(j, i, "n/a" if v != v else f"{v:.2f}", ha="center", va="center", fontsize=8)
    ax.set_title("by condition (plates; fields given wrong, withheld)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _reliability_png(report: Report, path: Path) -> bool:
    rows = [r for r in report.reliability.rows() if r["fields"]]
    if not rows:
        return False
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.5, 6), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    means = [r["mean_confidence"] for r in rows]
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
    top.plot(means, [r["accuracy"] for r in rows], marker="o", label="fields read")
    top.set_ylabel("share right")
    top.set_xlim(0, 1.01)
    top.set_ylim(0, 1.01)
    error = report.reliability.calibration_error()
    top.set_title("reliability of field confidences" + (f" (calibration error {error:.3f})" if error is not None else ""))
    top.legend(loc="upper left")
    bottom.bar(means, [r["fields"] for r in rows], width=0.03)
    bottom.set_yscale("log")
    bottom.set_xlabel("confidence given")
    bottom.set_ylabel("fields")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _table_html(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(v)}</th>" for v in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(report: Report, folder: str | Path) -> Path:
    """Write the pictures and the page into ``folder``; returns the page's path."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        pictures = [name for name, draw in (("conditions.png", _conditions_png), ("reliability.png", _reliability_png))
                    if draw(report, folder / name)]
        d = report.to_dict()
        summary = [["measure", "value"], ["images", str(d["images"])],
                   ["plate recall, readable plates", f"{d['recall_readable']} ({d['readable_found']}/{d['readable_plates']})"],
                   ["false plates per image", str(d["false_plates_per_image"])],
                   ["exact match", str(d["reading"].get("exact_match"))],
                   *[[name, str(v)] for name, v in d["reading"].get("field_accuracy", {}).items()],
                   ["grammar-invalid outputs", f"{d['grammar_invalid_outputs']} of {d['plates_output']}"],
                   ["calibration error", str(d["calibration_error"])]]
        parts = [f"<h1>anpr eval: {html.escape(report.folder)}</h1>", _table_html(summary)]
        if report.conditions:
            parts += ["<h2>By condition</h2>", '<img src="conditions.png" alt="by condition">',
                      _table_html(report.condition_rows())]
        if "reliability.png" in pictures:
            parts += ["<h2>Reliability</h2>", '<img src="reliability.png" alt="reliability diagram">']
        sure = d["sure_mistakes"]
        parts.append(f"<h2>Fields read wrong at {SURE} or more: {len(sure)}</h2>")
        if sure:
            parts.append(_table_html([["image", "plate", "field", "label", "read", "confidence", "condition", "pasted"],
                                      *[[m["file"], str(m["plate_index"]), m["field"], m["label"], str(m["read"]),
                                         f"{m['confidence']:.4f}", m["condition"] or "", "yes" if m["pasted"] else ""]
                                        for m in sure]]))
        gate = d["gate"]
        parts.append(f"<h2>Readings the gate would take wrongly: {gate['taken_wrong']} of {gate['taken']} taken "
                     f"({gate['plates']} readable plates found)</h2>")
        if gate["mistakes"]:
            parts.append(_table_html([["image", "plate", "label", "read", "wrong", "condition"],
                                      *[[m["file"], str(m["plate_index"]), m["label"], m["read"], ", ".join(m["fields"]),
                                         m["condition"] or ""] for m in gate["mistakes"]]]))
        style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
                 "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child{text-align:left}")
        page = folder / "index.html"
        page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>anpr eval</title>"
                        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n", encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"cannot write the report to {folder}: {exc.strerror or exc}") from exc
    return page
