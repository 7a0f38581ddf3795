"""Shared test helpers. Data beside the project (../shared) is optional: tests that need it skip."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside this checkout")
    return SHARED


def wait_for(predicate, timeout: float = 10.0, every: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds have passed (its last value)."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def anpr(*args, timeout=600, **kwargs):
    """``anpr ARGS`` as a user runs it, in the checkout."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=REPO, timeout=timeout, **kwargs)


def _clip(folder: Path, *args) -> Path:
    run = anpr("synth", str(folder), "--kind", "clip", "--backgrounds", "none", "--quiet", *args)
    assert run.returncode == 0, run.stderr
    return folder


@pytest.fixture(scope="session")
def lane_clip(tmp_path_factory) -> Path:
    """A clip of four vehicles (`anpr synth --kind clip --count 4 --seed 3`, drawn lane)."""
    return _clip(tmp_path_factory.mktemp("clip") / "four", "--count", "4", "--seed", "3")


@pytest.fixture(scope="session")
def idle_clip(tmp_path_factory) -> Path:
    """One vehicle that stops at the barrier and idles for 12 seconds."""
    return _clip(tmp_path_factory.mktemp("clip") / "idle", "--count", "1", "--seed", "5", "--wait", "12")
