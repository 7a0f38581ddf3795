"""What the running daemon shares with the operator's page, as two files beside the database:
the latest analysed frame with its plates drawn (``DB_STEM-live.jpg``) and the lane's state
(``DB_STEM-live.json``: frames per second, camera, uptime, models). Files, so the page (another
process) never takes a lock or a cycle from the frame loop; each is replaced whole (written to a
temporary file, then renamed), so a reader never sees half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def live_paths(db_path: str | Path) -> tuple[Path, Path]:
    """(latest frame JPEG, state JSON) for the database at ``db_path``."""
    db = Path(db_path)
    return db.with_name(db.stem + "-live.jpg"), db.with_name(db.stem + "-live.json")


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole: a temporary file in the same folder, then a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_state(path: Path) -> dict | None:
    """The state the daemon last wrote, or None when there is none (or it cannot be read)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
