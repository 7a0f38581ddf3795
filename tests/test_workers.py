"""The process's named worker pools."""

import multiprocessing
import threading

from edge.common.workers import pool


def test_a_pool_is_made_once_per_name_and_runs_work_off_the_calling_thread():
    first = pool("test-workers", 2)
    assert pool("test-workers", 2) is first
    assert pool("test-workers-other", 1) is not first
    assert first.submit(lambda: threading.current_thread().name).result().startswith("test-workers")


def _pool_works_in_child(queue):
    queue.put(pool("test-workers", 2).submit(lambda: 41 + 1).result(timeout=10))


def test_a_forked_child_makes_its_own_pool():
    pool("test-workers", 2).submit(lambda: None).result()  # the parent's threads exist
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_pool_works_in_child, args=(queue,))
    child.start()
    child.join(30)
    assert child.exitcode == 0 and queue.get(timeout=5) == 42
