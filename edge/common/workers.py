"""Worker threads shared by a process: one named pool per job, made on first use.

Work handed to them must let go of the GIL to pay (OpenCV's resizes, ONNX Runtime's runs do).
A forked child cannot use its parent's threads, so each process makes its own pools.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_pools: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_lock = threading.Lock()


def pool(name: str, workers: int) -> ThreadPoolExecutor:
    """This process's pool called ``name`` (of ``workers`` threads the first time it is asked for)."""
    with _lock:
        made = _pools.get(name)
        if made is None or made[0] != os.getpid():
            made = _pools[name] = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix=name))
        return made[1]
