"""``anpr plate check`` as an operator runs it: a real process, real files, exit statuses."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def anpr(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], input=stdin, capture_output=True,
                          text=True, encoding="utf-8", cwd=REPO, timeout=60)


def test_valid_plates_exit_zero_and_print_canonical_form_and_meaning():
    run = anpr("plate", "check", "品川300さ1234", "横浜 580 む 13-76", "--color", "white")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "品川 300 さ 12-34" in run.stdout
    assert "registered/private" in run.stdout and "東京都" in run.stdout
    assert "warning: color: white plate with kei class 580" in run.stdout
    assert run.stdout.rstrip().endswith("2 valid, 0 invalid")


def test_any_invalid_plate_exits_one_and_names_the_field():
    run = anpr("plate", "check", "品川 300 さ 12-34", "品川 300 お 12-34", "東京 300 さ 1")
    assert run.returncode == 1
    assert "INVALID  品川 300 お 12-34" in run.stdout
    assert "kana: お is never used" in run.stdout
    assert "region: '東京' is not one of the 138 region names" in run.stdout
    assert "1 valid, 2 invalid" in run.stdout


def test_json_lines():
    run = anpr("plate", "check", "--json", "袖ケ浦 500 さ ・・12", "品川 300 さ 12345")
    assert run.returncode == 1
    first, second = (json.loads(line) for line in run.stdout.splitlines())
    assert first["valid"] and first["text"] == "袖ヶ浦 500 さ ・・12" and first["number"] == 12
    assert first["category"] == "registered/private" and first["errors"] == []
    assert not second["valid"] and second["errors"][0]["field"] == "serial"
    assert second["input"] == "品川 300 さ 12345" and second["source"] == "argument 2"


def test_allow_list_file_with_comments_colours_and_bom(tmp_path: Path):
    allow = tmp_path / "allow.txt"
    allow.write_text("\ufeff# gate 1\n\n品川 300 さ 12-34\n横浜 480 り 45-67, black\n横浜 480 り 45-67, yellow\n",
                     encoding="utf-8")
    run = anpr("plate", "check", "--file", str(allow), "--json")
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["valid"] for r in rows] == [True, True, False]
    assert rows[2]["source"] == f"{allow}:5"
    assert rows[2]["errors"][0]["rule"] == "kana.color"
    assert run.returncode == 1


def test_allow_list_from_stdin():
    run = anpr("plate", "check", "--file", "-", stdin="品川 300 さ 12-34\n")
    assert run.returncode == 0 and "1 valid, 0 invalid" in run.stdout


def test_example_allow_list_shipped_in_boot_is_valid():
    run = anpr("plate", "check", "--file", "boot/allowlist.example.txt")
    assert run.returncode == 0, run.stdout


@pytest.mark.parametrize("args,fragment", [
    (["plate", "check"], "give plate texts or --file"),
    (["plate", "check", "--file", "/nonexistent/allow.txt"], "cannot read /nonexistent/allow.txt"),
    (["plate", "check", "--color", "pink", "品川 300 さ 1"], "--color: colour 'pink' is not one of: white"),
    (["plate"], "required"),
    (["nonsense"], "invalid choice"),
])
def test_usage_errors_exit_two_with_a_message(args, fragment):
    run = anpr(*args)
    assert run.returncode == 2
    assert fragment in run.stderr


def test_binary_file_is_refused_clearly(tmp_path: Path):
    bad = tmp_path / "allow.txt"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    run = anpr("plate", "check", "--file", str(bad))
    assert run.returncode == 2
    assert "is not UTF-8 text" in run.stderr
